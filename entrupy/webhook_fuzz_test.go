package entrupy_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

// FuzzWebhookHandler posts arbitrary bodies, signed or not, to a handler
// with dedup: an unsigned body is 401; a signed one is 400 exactly when
// ParseEvent refuses it, else 200 with one callback of the parsed event,
// and a second delivery of it is 200 without a callback (issue 16 items 4
// and 5).
func FuzzWebhookHandler(f *testing.F) {
	for _, s := range []string{
		sessionCompletedBody,
		`{"event":"support.message","data":{"entrupy_id":"e","message":{"id":"m"}}}`,
		`{"event":"item.archived"}`,
		`{"id":"a","id":"b","event":"x"}`,
		"{\"id\":\"\x00\",\"event\":\"x\"}",
		`{"id":"evt\r\n","event":"x","unknown":[{}]}`,
		``, `null`, `[[[[[]]]]]`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		calls := 0
		var got *entrupy.Event
		d, err := entrupy.NewMemoryDeduper(time.Hour, 10)
		if err != nil {
			t.Fatal(err)
		}
		h, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: webhookSecret}, func(_ context.Context, ev *entrupy.Event) error {
			calls++
			got = ev
			return nil
		}, entrupy.WithDedup(d))
		if err != nil {
			t.Fatal(err)
		}
		sig := sign("not-the-secret", body)
		if signed {
			sig = sign(webhookSecret, body)
		}
		deliver := func() int {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/entrupy", bytes.NewReader(body))
			r.Header.Set(entrupy.SignatureHeader, sig)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code
		}
		code := deliver()
		want, perr := entrupy.ParseEvent(body)
		switch {
		case !signed:
			if code != http.StatusUnauthorized || calls != 0 {
				t.Fatalf("unsigned: %d, %d calls", code, calls)
			}
			return
		case perr != nil:
			if code != http.StatusBadRequest || calls != 0 {
				t.Fatalf("unparsable: %d, %d calls", code, calls)
			}
			return
		}
		if code != http.StatusOK || calls != 1 || got.ID != want.ID || got.Type != want.Type || got.EntrupyID != want.EntrupyID {
			t.Fatalf("valid: %d, %d calls, got %+v want %+v", code, calls, got, want)
		}
		if code := deliver(); code != http.StatusOK || calls != 1 {
			t.Fatalf("replay: %d, %d calls", code, calls)
		}
	})
}
