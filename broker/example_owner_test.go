package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// A uqudo webhook handler that verifies the result's signature and
// attributes it to your user with Owner: the result's session id (its jti)
// is the session the broker created for that user. A result for a session
// this backend did not start through the broker is refused (401).
func ExampleBroker_Owner_uqudoWebhook() {
	fake, err := uqudotest.Start()
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	client, err := fake.NewClient()
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ids, err := broker.PseudonymousIDs([]byte("a 32-byte key kept like a secret")) // uqudo never sees "customer-1234"
	if err != nil {
		panic(err)
	}
	passport := uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}}
	b, err := broker.New(broker.WithUqudo(client, broker.UqudoParams{Data: passport}), broker.WithUserIDs(ids))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	webhook, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{
		Verifier: client.Verifier(),
		// Only sessions this backend started: Owner knows them.
		Expect: func(ctx context.Context, sessionID string) (uqudo.VerifyOptions, error) {
			if _, err := b.Owner(ctx, broker.Uqudo, sessionID); err != nil {
				return uqudo.VerifyOptions{}, err
			}
			return uqudo.VerifyOptions{SessionID: sessionID}, nil
		},
	}, func(ctx context.Context, r *uqudo.Result) error {
		userID, err := b.Owner(ctx, broker.Uqudo, r.SessionID)
		if err != nil {
			return err
		}
		fmt.Println("result for", userID, "with", len(r.Documents), "document")
		return nil
	})
	if err != nil {
		panic(err)
	}

	// The backend starts a session for its user; the phone completes it and
	// uqudo posts the signed result to the webhook.
	g, err := b.Start(context.Background(), broker.Request{Vendor: broker.Uqudo, UserID: "customer-1234"})
	if err != nil {
		panic(err)
	}
	post := func(sessionID string) int {
		jws, err := fake.CompleteSession(sessionID, nil)
		if err != nil {
			panic(err)
		}
		rec := httptest.NewRecorder()
		webhook.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/uqudo", strings.NewReader(`{"jwsResult":"`+jws+`"}`)))
		return rec.Code
	}
	fmt.Println(post(g.SessionID))

	// A session created outside the broker is not attributed to anyone.
	other, err := client.CreateSession(context.Background(), passport)
	if err != nil {
		panic(err)
	}
	fmt.Println(post(other.ID))
	// Output:
	// result for customer-1234 with 1 document
	// 200
	// 401
}

// An IDV "check my verification" endpoint: the app sends the session id it
// was given, and the backend answers only for a session it started for the
// signed-in user (403 otherwise), then reads the result with the API key.
func ExampleBroker_Owner_idvCheckMySession() {
	fake, err := idvtest.Start()
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	client, err := fake.NewClient()
	if err != nil {
		panic(err)
	}
	b, err := broker.New(broker.WithIDV(client, broker.IDVParams{WorkflowID: "kyc-basic"}))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /verification/{session}", func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-User") // stands in for your authentication
		sessionID := r.PathValue("session")
		owner, err := b.Owner(r.Context(), broker.IDV, sessionID)
		switch {
		case errors.Is(err, broker.ErrInvalidInput):
			http.Error(w, "bad session id", http.StatusBadRequest)
			return
		case errors.Is(err, broker.ErrNotFound), err == nil && owner != user:
			http.Error(w, "not your session", http.StatusForbidden)
			return
		case err != nil:
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		res, err := client.GetSession(r.Context(), sessionID)
		if err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, res.Status)
	})
	check := func(user, sessionID string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/verification/"+sessionID, nil)
		req.Header.Set("X-User", user)
		mux.ServeHTTP(rec, req)
		fmt.Println(user, rec.Code, strings.TrimSpace(rec.Body.String()))
	}

	alice, err := b.Start(context.Background(), broker.Request{Vendor: broker.IDV, UserID: "alice"})
	if err != nil {
		panic(err)
	}
	if err := fake.SetResult(alice.SessionID, idv.SessionStatusVerified, nil); err != nil {
		panic(err)
	}
	check("alice", alice.SessionID)
	check("mallory", alice.SessionID)
	check("mallory", "a-session-nobody-started")
	// Output:
	// alice 200 verified
	// mallory 403 not your session
	// mallory 403 not your session
}
