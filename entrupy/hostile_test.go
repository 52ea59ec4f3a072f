package entrupy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/internal/hostile"
)

func isInvalid(err error) bool { return errors.Is(err, entrupy.ErrInvalidInput) }

// TestClient_HostileIDs: every id that becomes a path segment is refused
// before sending or sent as one escaped segment (never "..", never a
// query), and every id sent in a body is refused or sent as a JSON string;
// no error repeats the id or its control characters (issue 16 item 5).
func TestClient_HostileIDs(t *testing.T) {
	rec := hostile.NewRecorder(t, http.StatusNotFound, `{"detail":"not found"}`)
	c, err := entrupy.NewClient(entrupy.Credentials{APIToken: "tok_hostile_1234567890"},
		entrupy.WithBaseURL(rec.URL), entrupy.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx := context.Background()
	for _, id := range hostile.IDs() {
		t.Run(id.Name, func(t *testing.T) {
			_, err := c.GetAuthentication(ctx, id.Value)
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "GET", "/v2/authentications/", "")
			_, err = c.LookupAuthentication(ctx, id.Value)
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "GET", "/v2/lookup/authentications/", "")
			_, err = c.ListSupportMessages(ctx, id.Value, nil)
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "GET", "/v2/authentications/", "/support/messages")
			_, err = c.PostSupportMessage(ctx, id.Value, entrupy.SupportReplyParams{Text: "hello"})
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "POST", "/v2/authentications/", "/support/messages")

			// Ids sent in a JSON body.
			_, err = c.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: "sdk-req", UniqueUserID: id.Value, Email: "a@example.com"})
			assert.ErrorIs(t, err, entrupy.ErrInvalidInput, "unique_user_id is 8-40 of A-Za-z0-9@.+_-")
			hostile.CheckRefusedOrSent(t, id.Value, err)
			_, err = c.Escalate(ctx, entrupy.EscalationParams{EntrupyID: id.Value, CustomerItemID: "sku-1", Reason: "r"})
			hostile.CheckRefusedOrSent(t, id.Value, err)
			_, err = c.PostSupportMessage(ctx, "ent_1", entrupy.SupportReplyParams{ResponseID: id.Value})
			hostile.CheckRefusedOrSent(t, id.Value, err)
			targets, bodies := rec.Take()
			for i, b := range bodies {
				assert.NotContains(t, string(b), "\x00", targets[i])
				assert.NotContains(t, string(b), "\r\n", targets[i])
			}
		})
	}
}

// webhookRequest is a POST of body to the handler, signed unless sig is
// given.
func webhookRequest(body io.Reader, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/entrupy", body)
	r.Header.Set(entrupy.SignatureHeader, sig)
	return r
}

// TestWebhookHandler_HostileBodies: 100 MiB bodies (streamed, never held
// whole), deep nesting, invalid UTF-8, NUL, CR LF, unknown fields,
// duplicate keys and a gzip body, each signed where that matters.
func TestWebhookHandler_HostileBodies(t *testing.T) {
	var calls atomic.Int32
	var last atomic.Pointer[entrupy.Event]
	h := newWebhook(t, func(_ context.Context, ev *entrupy.Event) error {
		calls.Add(1)
		last.Store(ev)
		return nil
	}, entrupy.WithDedup(memoryDeduper(t, time.Hour)))

	t.Run("100 MiB streamed", func(t *testing.T) {
		body, src := hostile.JSONPrefixed(100 * hostile.MiB)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, webhookRequest(body, strings.Repeat("0", 64)))
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		assert.LessOrEqual(t, src.Consumed(), int64(entrupy.DefaultWebhookMaxBodyBytes+64<<10), "read past the limit")
	})
	t.Run("100 MiB declared", func(t *testing.T) {
		body, src := hostile.JSONPrefixed(100 * hostile.MiB)
		r := webhookRequest(body, strings.Repeat("0", 64))
		r.ContentLength = 100 * hostile.MiB
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		assert.Zero(t, src.Consumed(), "a declared oversize body is refused unread")
	})

	signed := func(body []byte) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, webhookRequest(bytes.NewReader(body), sign(webhookSecret, body)))
		return w
	}
	before := calls.Load()
	for name, body := range map[string][]byte{
		"nested arrays":          hostile.NestedJSON(100_000),
		"nested data objects":    append(append([]byte(`{"event":"session.completed","data":`), hostile.NestedObject("entrupy_id", 50_000)...), '}'),
		"raw NUL":                []byte("{\"event\":\"session.completed\",\"id\":\"a\x00b\",\"data\":{\"entrupy_id\":\"e\"}}"),
		"invalid UTF-8 key only": []byte("{\"\xff\":1}"),
		"gzip":                   hostile.GzipBomb(t, 10*hostile.MiB),
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, http.StatusBadRequest, signed(body).Code)
		})
	}
	assert.Equal(t, before, calls.Load(), "no refused body reached the callback")

	// Accepted as JSON (encoding/json's rules): the callback sees what the
	// parser made of it, and dedup uses that same id.
	accepted := []struct {
		name, body, wantID, wantEntrupyID string
	}{
		{"escaped NUL in id", `{"id":"evt\u0000x","event":"session.completed","data":{"entrupy_id":"ent_1"}}`, "evt\x00x", "ent_1"},
		{"CR LF in id", `{"id":"evt\r\nX-Injected: yes","event":"session.completed","data":{"entrupy_id":"ent_1"}}`, "evt\r\nX-Injected: yes", "ent_1"},
		{"invalid UTF-8 in id", "{\"id\":\"evt\xff\",\"event\":\"session.completed\",\"data\":{\"entrupy_id\":\"ent_1\"}}", "evt\uFFFD", "ent_1"},
		{"../ in ids", `{"id":"../../evt","event":"session.completed","data":{"entrupy_id":"../ent","customer_item_id":"../../etc/passwd"}}`, "../../evt", "../ent"},
		{"unknown fields", `{"id":"evt_u","event":"session.completed","extra":{"deep":[1,2]},"data":{"entrupy_id":"ent_1","new_field":true}}`, "evt_u", "ent_1"},
		{"duplicate keys: the last wins", `{"id":"evt_d1","id":"evt_d2","event":"x","event":"session.completed","data":{"entrupy_id":"a","entrupy_id":"ent_d"}}`, "evt_d2", "ent_d"},
		{"1 MB id", `{"id":"` + strings.Repeat("i", 1_000_000) + `","event":"session.completed","data":{"entrupy_id":"ent_1"}}`, strings.Repeat("i", 1_000_000), "ent_1"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			n := calls.Load()
			require.Equal(t, http.StatusOK, signed([]byte(tc.body)).Code)
			require.Equal(t, n+1, calls.Load())
			ev := last.Load()
			assert.Equal(t, tc.wantID, ev.ID)
			assert.Equal(t, tc.wantEntrupyID, ev.EntrupyID)
			// A replay is recognised by the id the callback saw.
			assert.Equal(t, http.StatusOK, signed([]byte(tc.body)).Code)
			assert.Equal(t, n+1, calls.Load(), "replay called back")
		})
	}
}

// TestClient_HostileAnswers: a gzip bomb, a 100 MiB body, JSON nested 100k
// deep or invalid UTF-8 with NUL from the API is a DecodeError, read no
// further than the response size limit (issue 16 item 5).
func TestClient_HostileAnswers(t *testing.T) {
	for name, answer := range hostile.Answers(t) {
		t.Run(name, func(t *testing.T) {
			srv := hostile.ServeAnswer(t, answer, nil)
			c, err := entrupy.NewClient(entrupy.Credentials{APIToken: "tok_hostile_1234567890"},
				entrupy.WithBaseURL(srv.URL), entrupy.WithRetry(0, time.Millisecond, time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(c.Close)
			_, err = c.GetAuthentication(context.Background(), "ent_1")
			require.ErrorIs(t, err, entrupy.ErrMalformedResponse)
			if strings.Contains(name, "MiB") {
				assert.ErrorIs(t, err, entrupy.ErrBodyTooLarge)
			}
		})
	}
}
