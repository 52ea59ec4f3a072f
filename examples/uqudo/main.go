// Command uqudo shows the raw uqudo client: it creates a QR session, lets
// the session complete, receives the signed result on a webhook, fetches it
// again and verifies it.
//
// Without UQUDO_CLIENT_ID it runs against the in-memory fake (uqudotest) on
// a loopback port, which also plays the phone that completes the session
// and uqudo posting the result to the webhook.
// With UQUDO_CLIENT_ID and UQUDO_CLIENT_SECRET it talks to uqudo: it creates
// a session and prints its QR text; set UQUDO_SESSION_ID to fetch and verify
// the result of a session completed earlier instead.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
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

// sessionData asks for a passport (uqudo's documented configuration, every
// field explicit), its chip read where the phone has NFC, and a selfie
// matched at level 3.
func sessionData() uqudo.SessionData {
	data := uqudo.NewSessionData(uqudo.DocumentTypePassport)
	data.Documents[0].Reading.Enabled = true
	data.Documents[0].Reading.IsForceReadingIfSupported = true
	data.FacialRecognition.Enabled = true
	data.FacialRecognition.ScanMinimumMatchLevel = 3
	data.FacialRecognition.ReadMinimumMatchLevel = 3
	return data
}

func runFake(ctx context.Context) error {
	srv, err := uqudotest.Start() // loopback only
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Println("UQUDO_CLIENT_ID is not set: using the in-memory fake at", srv.URL)

	client, err := uqudo.NewClient(srv.Credentials(), uqudo.WithBaseURL(srv.URL))
	if err != nil {
		return err
	}
	defer client.Close()

	session, err := client.CreateSession(ctx, sessionData())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	printSession(session)
	owners := map[string]string{session.ID: "user-42"} // your database: session id -> user

	hook, err := webhook(client, owners)
	if err != nil {
		return err
	}
	defer hook.Close()

	jws, err := srv.CompleteSession(session.ID, nil) // the phone finishes the flow
	if err != nil {
		return err
	}
	if err := deliver(ctx, hook.URL, jws); err != nil { // uqudo posts the result
		return err
	}
	return fetch(ctx, client, session.ID)
}

// webhook serves uqudo's result webhook on loopback: it accepts results
// only for sessions in owners and attributes each to its user by the
// result's session id (with sdkbroker's broker: b.Owner(ctx, broker.Uqudo,
// r.SessionID)).
func webhook(client *uqudo.Client, owners map[string]string) (*httptest.Server, error) {
	handler, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{
		Verifier: client.Verifier(),
		Header:   "X-Webhook-Token", HeaderValue: "configured-in-the-portal",
		Expect: func(_ context.Context, sessionID string) (uqudo.VerifyOptions, error) {
			if _, ok := owners[sessionID]; !ok {
				return uqudo.VerifyOptions{}, errors.New("not one of our sessions")
			}
			return uqudo.VerifyOptions{SessionID: sessionID}, nil
		},
	}, func(_ context.Context, r *uqudo.Result) error {
		fmt.Printf("webhook: verified result for %s (%d document(s))\n", owners[r.SessionID], len(r.Documents))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return httptest.NewServer(handler), nil
}

// deliver posts jws to the webhook as uqudo does.
func deliver(ctx context.Context, url, jws string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"jwsResult":"`+jws+`"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Token", "configured-in-the-portal")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
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
