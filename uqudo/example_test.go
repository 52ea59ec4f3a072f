package uqudo_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// The QR payload of uqudo's documentation, from NewSessionData: one
// passport, every field sent explicitly; then the chip read when the phone
// supports NFC and facial recognition turned on.
func ExampleNewSessionData() {
	data := uqudo.NewSessionData(uqudo.DocumentTypePassport)
	data.Documents[0].Reading.Enabled = true
	data.Documents[0].Reading.IsForceReadingIfSupported = true
	data.FacialRecognition.Enabled = true
	encoded, err := data.Encode() // base64 of the JSON, for CreateSession
	if err != nil {
		fmt.Println(err)
		return
	}
	raw, _ := base64.StdEncoding.DecodeString(encoded)
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, raw, "", "  ")
	fmt.Println(pretty.String())

	decoded, err := uqudo.DecodeSessionData(encoded)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(decoded.Documents[0].DocumentType, decoded.BackgroundCheck.CheckType)
	// Output:
	// {
	//   "documents": [
	//     {
	//       "documentType": "PASSPORT",
	//       "reading": {
	//         "enabled": true,
	//         "isForceReading": false,
	//         "isForceReadingIfSupported": true,
	//         "timeoutInSeconds": -1
	//       },
	//       "isExpiredDocumentAllowed": false,
	//       "isFrontSideReviewEnabled": false,
	//       "isBackSideReviewEnabled": false,
	//       "isUploadEnabled": false,
	//       "isHelpPageDisabled": false,
	//       "faceScanMinimumMatchLevel": 2,
	//       "faceReadMinimumMatchLevel": 3
	//     }
	//   ],
	//   "generalConfig": {
	//     "secureWindowsEnabled": true,
	//     "userIdentifier": null,
	//     "returnDataForIncompleteSession": false
	//   },
	//   "backgroundCheck": {
	//     "enabled": false,
	//     "checkType": "RDC",
	//     "disableConsent": false,
	//     "enableMonitoring": false,
	//     "skipView": false
	//   },
	//   "facialRecognition": {
	//     "enabled": true,
	//     "isEnrollFace": false,
	//     "scanMinimumMatchLevel": 2,
	//     "readMinimumMatchLevel": 3,
	//     "maxAttempts": 3
	//   }
	// }
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

	handler, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{
		Verifier: client.Verifier(),
		Header:   "X-Webhook-Token", HeaderValue: "configured-in-the-portal",
		Expect: func(_ context.Context, sessionID string) (uqudo.VerifyOptions, error) {
			if sessionID != session.ID { // look it up in your database
				return uqudo.VerifyOptions{}, errors.New("not one of ours")
			}
			return uqudo.VerifyOptions{SessionID: sessionID}, nil
		},
	}, func(_ context.Context, r *uqudo.Result) error {
		// r.SessionID is the session id stored above: it names the user
		// (with sdkbroker's broker: b.Owner(ctx, broker.Uqudo, r.SessionID)).
		fmt.Println("result received for", len(r.Documents), "document(s)")
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
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
