// Command uqudo shows the raw uqudo client: it creates a QR session, lets
// the session complete, fetches the signed result and verifies it.
//
// Without UQUDO_CLIENT_ID it runs against the in-memory fake (uqudotest) on
// a loopback port, which also plays the phone that completes the session.
// With UQUDO_CLIENT_ID and UQUDO_CLIENT_SECRET it talks to uqudo: it creates
// a session and prints its QR text; set UQUDO_SESSION_ID to fetch and verify
// the result of a session completed earlier instead.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"time"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if os.Getenv("UQUDO_CLIENT_ID") == "" {
		return runFake(ctx)
	}
	return runLive(ctx)
}

// sessionData asks for a passport, its chip read where the phone has NFC,
// and a selfie matched at level 3.
func sessionData() uqudo.SessionData {
	return uqudo.SessionData{
		Documents: []uqudo.Document{{
			DocumentType: uqudo.DocumentTypePassport,
			Reading:      &uqudo.Reading{Enabled: true, IsForceReadingIfSupported: true},
		}},
		FacialRecognition: &uqudo.FacialRecognition{Enabled: true, ScanMinimumMatchLevel: 3, ReadMinimumMatchLevel: 3},
	}
}

func runFake(ctx context.Context) error {
	fake := uqudotest.New()
	srv := httptest.NewServer(fake) // loopback only
	defer srv.Close()
	fmt.Println("UQUDO_CLIENT_ID is not set: using the in-memory fake at", srv.URL)

	client, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(srv.URL))
	if err != nil {
		return err
	}
	defer client.Close()

	session, err := client.CreateSession(ctx, sessionData())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	printSession(session)

	if _, err := fake.CompleteSession(session.ID, nil); err != nil { // the phone finishes the flow
		return err
	}
	return fetch(ctx, client, session.ID)
}

func runLive(ctx context.Context) error {
	client, err := uqudo.NewClient(uqudo.Credentials{
		ClientID:     os.Getenv("UQUDO_CLIENT_ID"),
		ClientSecret: os.Getenv("UQUDO_CLIENT_SECRET"),
	})
	if err != nil {
		return err
	}
	defer client.Close()
	if id := os.Getenv("UQUDO_SESSION_ID"); id != "" {
		return fetch(ctx, client, id)
	}
	session, err := client.CreateSession(ctx, sessionData())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	printSession(session)
	fmt.Println("scan the QR code with uqudo's app, then run again with UQUDO_SESSION_ID set")
	return nil
}

func printSession(s *uqudo.Session) {
	fmt.Println("session id:  ", s.ID)
	fmt.Println("QR code text:", s.QRCodeText)
	fmt.Println("dynamic link:", s.QRCodeTextWithDynamicLink)
	fmt.Println("expires at:  ", s.ExpiresAt.Format(time.RFC3339))
}

func fetch(ctx context.Context, client *uqudo.Client, sessionID string) error {
	result, err := client.Info(ctx, sessionID)
	switch {
	case errors.Is(err, uqudo.ErrNotFound):
		fmt.Println("no result yet for", sessionID)
		return nil
	case errors.Is(err, uqudo.ErrInvalidResult):
		return fmt.Errorf("result rejected: %w", err)
	case err != nil:
		return fmt.Errorf("fetch result: %w", err)
	}
	fmt.Println("verified result, signed with key", result.KeyID)
	for i, doc := range result.Documents {
		fmt.Printf("document %d: %s", i+1, doc.DocumentType)
		if doc.Face != nil {
			fmt.Printf(", face match %t (level %d)", doc.Face.Match, doc.Face.MatchLevel)
		}
		fmt.Printf(", chip read %t\n", doc.Reading != nil)
	}
	if err := client.DeleteInfo(ctx, sessionID); err != nil {
		return fmt.Errorf("purge result: %w", err)
	}
	fmt.Println("result purged at uqudo")
	return nil
}
