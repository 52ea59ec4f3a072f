package uqudo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// FuzzWebhookHandler posts arbitrary bodies to a handler with dedup: it
// answers only its documented statuses, calls back only with a verified
// result for the genuine session, and a second delivery of an accepted
// result is 200 without a callback (issue 16 items 4 and 5).
func FuzzWebhookHandler(f *testing.F) {
	fake := uqudotest.New(uqudotest.WithResultTTL(24 * time.Hour))
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{
		JWKSURL: "https://id.uqudo.test/api/.well-known/jwks.json", HTTPClient: &http.Client{Transport: mt},
		Audience: uqudotest.DefaultClientID,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Close)
	good, err := fake.SignResult(uqudotest.ResultClaims{SessionID: sid})
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, s := range []string{
		`{"jwsResult":"` + good + `"}`,
		`{"jwsResult":"` + good + `","extra":[1,{"a":null}]}`,
		`{"jwsResult":"x","jwsResult":"` + good + `"}`,
		`{"jwsResult":"` + parts[0] + "." + b64(`{"jti":"`+sid+`"}`) + "." + parts[2] + `"}`,
		`{"jwsResult":"` + b64(`{"alg":"none"}`) + "." + parts[1] + `."}`,
		`{"jwsResult":"a.b.c"}`, `{"jwsResult":""}`, `{"jwsResult":null}`, `{}`, `[]`, ``,
		"{\"jwsResult\":\"\x00\"}", `{"jwsResult":"..\r\n.."}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		calls := 0
		d, err := uqudo.NewMemoryDeduper(time.Hour, 10)
		if err != nil {
			t.Fatal(err)
		}
		h, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{Verifier: v}, func(_ context.Context, r *uqudo.Result) error {
			calls++
			if r.SessionID != sid {
				t.Fatalf("callback for session %q", r.SessionID)
			}
			return nil
		}, uqudo.WithDedup(d))
		if err != nil {
			t.Fatal(err)
		}
		deliver := func() int {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hooks/uqudo", strings.NewReader(body)))
			return w.Code
		}
		switch code := deliver(); code {
		case http.StatusOK:
			if calls != 1 {
				t.Fatalf("200 after %d calls", calls)
			}
			if code := deliver(); code != http.StatusOK || calls != 1 {
				t.Fatalf("replay: %d, %d calls", code, calls)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable:
			if calls != 0 {
				t.Fatalf("%d after %d calls", code, calls)
			}
		default:
			t.Fatalf("status %d", code)
		}
	})
}
