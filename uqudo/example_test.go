package uqudo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// The QR payload of uqudo's documentation: one passport, its chip read when
// the phone supports NFC, face match levels, an RDC background check and
// facial recognition.
func ExampleSessionData_Encode() {
	data := uqudo.SessionData{
		Documents: []uqudo.Document{{
			DocumentType: uqudo.DocumentTypePassport,
			Reading: &uqudo.Reading{
				Enabled:                   true,
				IsForceReadingIfSupported: true,
				TimeoutInSeconds:          uqudo.Int(uqudo.NoTimeout),
			},
			FaceScanMinimumMatchLevel: 2,
			FaceReadMinimumMatchLevel: 3,
		}},
		GeneralConfig:   &uqudo.GeneralConfig{SecureWindowsEnabled: uqudo.Bool(true)},
		BackgroundCheck: &uqudo.BackgroundCheck{Enabled: true, CheckType: uqudo.BackgroundCheckRDC},
		FacialRecognition: &uqudo.FacialRecognition{
			Enabled: true, ScanMinimumMatchLevel: 2, ReadMinimumMatchLevel: 3, MaxAttempts: 3,
		},
	}
	encoded, err := data.Encode()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(encoded)

	decoded, err := uqudo.DecodeSessionData(encoded)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(decoded.Documents[0].DocumentType, decoded.BackgroundCheck.CheckType)
	// Output:
	// eyJkb2N1bWVudHMiOlt7ImRvY3VtZW50VHlwZSI6IlBBU1NQT1JUIiwicmVhZGluZyI6eyJlbmFibGVkIjp0cnVlLCJpc0ZvcmNlUmVhZGluZ0lmU3VwcG9ydGVkIjp0cnVlLCJ0aW1lb3V0SW5TZWNvbmRzIjotMX0sImZhY2VTY2FuTWluaW11bU1hdGNoTGV2ZWwiOjIsImZhY2VSZWFkTWluaW11bU1hdGNoTGV2ZWwiOjN9XSwiZ2VuZXJhbENvbmZpZyI6eyJzZWN1cmVXaW5kb3dzRW5hYmxlZCI6dHJ1ZX0sImJhY2tncm91bmRDaGVjayI6eyJlbmFibGVkIjp0cnVlLCJjaGVja1R5cGUiOiJSREMifSwiZmFjaWFsUmVjb2duaXRpb24iOnsiZW5hYmxlZCI6dHJ1ZSwic2Nhbk1pbmltdW1NYXRjaExldmVsIjoyLCJyZWFkTWluaW11bU1hdGNoTGV2ZWwiOjMsIm1heEF0dGVtcHRzIjozfX0=
	// PASSPORT RDC
}

// The whole QR flow against the in-memory fake: create a session, let the
// "phone" complete it, fetch and verify the result.
func ExampleClient_CreateSession() {
	fake := uqudotest.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()

	client, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	ctx := context.Background()

	session, err := client.CreateSession(ctx, uqudo.SessionData{
		Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypeUAEID}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("QR code text issued:", session.QRCodeText != "")

	if _, err := client.Info(ctx, session.ID); errors.Is(err, uqudo.ErrNotFound) {
		fmt.Println("no result yet")
	}

	if _, err := fake.CompleteSession(session.ID, nil); err != nil { // the user scans the QR code
		fmt.Println(err)
		return
	}
	result, err := client.Info(ctx, session.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	doc := result.Documents[0]
	fmt.Println("verified result for the session:", result.SessionID == session.ID)
	fmt.Println("document:", doc.DocumentType, "face match:", doc.Face.Match, "level", doc.Face.MatchLevel)

	if err := client.DeleteInfo(ctx, session.ID); err != nil {
		fmt.Println(err)
	}
	// Output:
	// QR code text issued: true
	// no result yet
	// verified result for the session: true
	// document: UAE_ID face match: true level 4
}

// The access token is cached; printing it never shows the token itself.
func ExampleClient_AccessToken() {
	fake := uqudotest.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	tok, err := client.AccessToken(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	again, _ := client.AccessToken(context.Background())
	fmt.Println("same token reused:", tok.Token == again.Token)
	fmt.Println("token requests:", fake.Calls(uqudotest.RouteToken))
	fmt.Println(strings.Contains(fmt.Sprint(tok), tok.Token), fmt.Sprint(tok)[:42])
	// Output:
	// same token reused: true
	// token requests: 1
	// false uqudo.AccessToken{Token: [REDACTED], Type:
}

// A webhook endpoint that accepts results only for sessions this server
// created, verified against uqudo's keys.
func ExampleNewWebhookHandler() {
	fake := uqudotest.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	session, err := client.CreateSession(context.Background(), uqudo.SessionData{
		Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	handler := uqudo.NewWebhookHandler(client.Verifier(), uqudo.WebhookOptions{
		Header: "X-Webhook-Token", HeaderValue: "configured-in-the-portal",
		Expect: func(_ context.Context, sessionID string) (uqudo.VerifyOptions, error) {
			if sessionID != session.ID { // look it up in your database
				return uqudo.VerifyOptions{}, errors.New("not one of ours")
			}
			return uqudo.VerifyOptions{SessionID: sessionID}, nil
		},
	}, func(_ context.Context, r *uqudo.Result) error {
		fmt.Println("result received for", len(r.Documents), "document(s)")
		return nil
	})
	hook := httptest.NewServer(handler)
	defer hook.Close()

	jws, err := fake.CompleteSession(session.ID, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := http.NewRequest(http.MethodPost, hook.URL, strings.NewReader(`{"jwsResult":"`+jws+`"}`))
	req.Header.Set("X-Webhook-Token", "configured-in-the-portal")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("webhook answered", resp.StatusCode)
	// Output:
	// result received for 1 document(s)
	// webhook answered 200
}
