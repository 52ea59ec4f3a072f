package entrupy_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
)

// exampleClock is the fixed time of the examples' fake and client.
func exampleClock() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// startFake serves a fake Entrupy on loopback and returns a client for it.
func startFake(opts ...entrupytest.Option) (*entrupy.Client, *entrupytest.Fake, func()) {
	fake := entrupytest.New(append([]entrupytest.Option{entrupytest.WithClock(exampleClock)}, opts...)...)
	srv := httptest.NewServer(fake)
	client, err := entrupy.NewClient(entrupy.Credentials{APIToken: entrupytest.DefaultAPIToken},
		entrupy.WithBaseURL(srv.URL), entrupy.WithClock(exampleClock))
	if err != nil {
		log.Fatal(err)
	}
	return client, fake, srv.Close
}

func ExampleClient_AuthorizeUser() {
	client, _, stop := startFake()
	defer stop()

	tok, err := client.AuthorizeUser(context.Background(), entrupy.AuthorizeUserParams{
		SDKAuthorizationRequest: "request-from-the-entrupy-sdk",
		UniqueUserID:            "customer-1001",
		Email:                   "ann@example.com",
		FirstName:               "Ann",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Send tok.SignedRequest to the app; never log it. Printing the token is safe:
	fmt.Println(tok)
	fmt.Println("refresh needed now:", tok.NeedsRefresh(exampleClock()))
	fmt.Println("refresh needed in 24h:", tok.NeedsRefresh(exampleClock().Add(24*time.Hour)))
	// Output:
	// entrupy.SDKToken{SignedRequest:[REDACTED], Username:"entrupy_customer-1001", ExpiresAt:2026-03-02T12:00:00Z, SoftExpiresAt:2026-03-02T11:30:00Z}
	// refresh needed now: false
	// refresh needed in 24h: true
}

func ExampleClient_AuthorizeUser_invalidInput() {
	client, _, stop := startFake()
	defer stop()

	_, err := client.AuthorizeUser(context.Background(), entrupy.AuthorizeUserParams{
		SDKAuthorizationRequest: "request-from-the-entrupy-sdk",
		UniqueUserID:            "short",
		Email:                   "ann@example.com",
	})
	var ve *entrupy.ValidationError
	if errors.As(err, &ve) {
		fmt.Println("field:", ve.Field)
		fmt.Println(errors.Is(err, entrupy.ErrInvalidInput))
	}
	// Output:
	// field: unique_user_id
	// true
}

func ExampleClient_ListSupportMessages() {
	client, fake, stop := startFake()
	defer stop()
	fake.AddSupportMessage("ent_42", entrupy.Message{Text: "Is there a date code inside the bag?"})
	fake.SetStructuredResponses("ent_42",
		entrupy.StructuredResponse{ID: "yes", Text: "Yes, I will photograph it"},
		entrupy.StructuredResponse{ID: "no", Text: "No date code"})

	ctx := context.Background()
	page, err := client.ListSupportMessages(ctx, "ent_42", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range page.Messages {
		fmt.Printf("%s: %s\n", m.Sender, m.Text)
	}
	for _, r := range page.StructuredResponses {
		fmt.Printf("  [%s] %s\n", r.ID, r.Text)
	}

	reply, err := client.PostSupportMessage(ctx, "ent_42", entrupy.SupportReplyParams{ResponseID: "no"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s\n", reply.Sender, reply.Text)
	// Output:
	// entrupy: Is there a date code inside the bag?
	//   [yes] Yes, I will photograph it
	//   [no] No date code
	// user: No date code
}

func ExampleClient_Escalate() {
	client, fake, stop := startFake()
	defer stop()
	fake.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_7", CustomerItemID: "sku-7", Status: entrupy.StatusCompleted})

	e, err := client.Escalate(context.Background(), entrupy.EscalationParams{
		EntrupyID: "ent_7", CustomerItemID: "sku-7", Reason: "The customer disputes the result",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Status, e.EntrupyID, e.CustomerItemID)

	_, err = client.Escalate(context.Background(), entrupy.EscalationParams{
		EntrupyID: "ent_7", CustomerItemID: "sku-7", Reason: "Again",
	})
	fmt.Println(errors.Is(err, entrupy.ErrConflict))
	// Output:
	// open ent_7 sku-7
	// true
}

func ExampleClient_GetAuthentication() {
	client, fake, stop := startFake()
	defer stop()
	fake.AddAuthentication(entrupy.Authentication{
		EntrupyID: "ent_9", CustomerItemID: "sku-9",
		Status: entrupy.StatusCompleted, Result: entrupy.ResultAuthentic, CertificateURL: "https://example.com/cert/9",
	})

	a, err := client.LookupAuthentication(context.Background(), "sku-9")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.EntrupyID, a.Status, a.Result, a.CertificateURL)

	_, err = client.GetAuthentication(context.Background(), "ent_unknown")
	fmt.Println(errors.Is(err, entrupy.ErrNotFound))
	// Output:
	// ent_9 completed authentic https://example.com/cert/9
	// true
}

func ExampleVerifySignature() {
	secret := "whsec_example"
	body := []byte(`{"event":"session.completed","data":{"entrupy_id":"ent_1"}}`)
	header := entrupytest.SignWebhook(secret, body)

	fmt.Println(entrupy.VerifySignature(secret, body, header))
	err := entrupy.VerifySignature(secret, []byte(`{"event":"tampered"}`), header)
	fmt.Println(errors.Is(err, entrupy.ErrSignatureMismatch), errors.Is(err, entrupy.ErrInvalidSignature))
	// Output:
	// <nil>
	// true true
}

func ExampleNewWebhookHandler() {
	secret := "whsec_example"
	handler, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: secret}, func(ctx context.Context, ev *entrupy.Event) error {
		// Attribution: ev.UniqueUserID is the unique_user_id the item's SDK
		// token was signed for; with package broker,
		// broker.Owner(ctx, "entrupy", ev.UniqueUserID) gives your user.
		switch ev.Type {
		case entrupy.EventSessionCompleted:
			fmt.Println("completed:", ev.EntrupyID, ev.SessionCompleted.Result, "for", ev.UniqueUserID)
		default:
			fmt.Println("other event:", ev.Type)
		}
		return nil // a non-nil error (or a panic) answers 500 and Entrupy delivers again
	}, entrupy.WithWebhookMaxBodySize(256<<10))
	if err != nil {
		log.Fatal(err) // an empty secret or a nil callback is refused at start-up
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	post := func(body, signature string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set(entrupy.SignatureHeader, signature)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println("status:", resp.StatusCode)
	}
	body := `{"event":"session.completed","data":{"entrupy_id":"ent_1","unique_user_id":"user-0042","status":"completed","result":"authentic"}}`
	post(body, entrupytest.SignWebhook(secret, []byte(body)))
	post(body, entrupytest.SignWebhook("wrong secret", []byte(body)))
	// Output:
	// completed: ent_1 authentic for user-0042
	// status: 200
	// status: 401
}

func ExampleParseEvent() {
	ev, err := entrupy.ParseEvent([]byte(`{"event":"support.message","created_at":1772366400,
		"data":{"entrupy_id":"ent_3","message":{"id":"m1","sender":"entrupy","text":"Please retake photo 2"}}}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Type, ev.CreatedAt.UTC().Format(time.RFC3339), ev.SupportMessage.Message.Text)
	// Output:
	// support.message 2026-03-01T12:00:00Z Please retake photo 2
}

func ExampleNewClient() {
	_, err := entrupy.NewClient(entrupy.Credentials{})
	fmt.Println(err)

	client, err := entrupy.NewClient(entrupy.Credentials{APIToken: "secret-token"},
		entrupy.WithLanguage(entrupy.LanguageJapanese),
		entrupy.WithRetry(5, 100*time.Millisecond, 2*time.Second))
	fmt.Println(client, err)
	// Output:
	// invalid input: api_token: is empty
	// entrupy.Client{BaseURL:https://api.entrupy.com/} <nil>
}
