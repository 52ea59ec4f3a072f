package entrupy_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

const webhookSecret = "whsec_4b1d9c7e2f0a8e6d"

// newWebhook builds a webhook handler for webhookSecret that must be valid.
func newWebhook(t testing.TB, fn func(context.Context, *entrupy.Event) error, opts ...entrupy.WebhookOption) http.Handler {
	t.Helper()
	h, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: webhookSecret}, fn, opts...)
	require.NoError(t, err)
	require.NotNil(t, h)
	return h
}

// sign computes the expected signature independently of the package.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

const sessionCompletedBody = `{"id":"evt_1","event":"session.completed","created_at":1772366400,
	"data":{"entrupy_id":"ent_1","customer_item_id":"sku-1","status":"completed","result":"authentic","certificate_url":"https://cert.test/1"}}`

func TestVerifySignature(t *testing.T) {
	body := []byte(sessionCompletedBody)
	good := sign(webhookSecret, body)
	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   error
	}{
		{"lowercase hex", webhookSecret, body, good, nil},
		{"uppercase hex", webhookSecret, body, strings.ToUpper(good), nil},
		{"sha256= prefix", webhookSecret, body, "sha256=" + good, nil},
		{"SHA256= prefix and spaces", webhookSecret, body, "  SHA256=" + good + " ", nil},
		{"empty body signed", webhookSecret, nil, sign(webhookSecret, nil), nil},
		{"missing", webhookSecret, body, "", entrupy.ErrSignatureMissing},
		{"blank", webhookSecret, body, "   ", entrupy.ErrSignatureMissing},
		{"prefix only", webhookSecret, body, "sha256=", entrupy.ErrSignatureMalformed},
		{"not hex", webhookSecret, body, strings.Repeat("zz", 32), entrupy.ErrSignatureMalformed},
		{"too short", webhookSecret, body, good[:62], entrupy.ErrSignatureMalformed},
		{"too long", webhookSecret, body, good + "00", entrupy.ErrSignatureMalformed},
		{"base64 instead of hex", webhookSecret, body, "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=", entrupy.ErrSignatureMalformed},
		{"other secret", "whsec_other_secret", body, good, entrupy.ErrSignatureMismatch},
		{"body altered", webhookSecret, append([]byte(sessionCompletedBody), ' '), good, entrupy.ErrSignatureMismatch},
		{"sha1 length", webhookSecret, body, good[:40], entrupy.ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := entrupy.VerifySignature(tt.secret, tt.body, tt.header)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
			assert.ErrorIs(t, err, entrupy.ErrInvalidSignature)
			noSecret(t, "error", err.Error(), tt.secret, good, strings.TrimSpace(tt.header))
		})
	}
	// The three failures are distinct.
	assert.False(t, errors.Is(entrupy.ErrSignatureMissing, entrupy.ErrSignatureMismatch))
	assert.False(t, errors.Is(entrupy.ErrSignatureMalformed, entrupy.ErrSignatureMissing))

	err := entrupy.VerifySignature("", body, good)
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
	assert.False(t, errors.Is(err, entrupy.ErrInvalidSignature))
}

func TestParseEvent(t *testing.T) {
	t.Run("session.completed", func(t *testing.T) {
		ev, err := entrupy.ParseEvent([]byte(sessionCompletedBody))
		require.NoError(t, err)
		assert.Equal(t, "evt_1", ev.ID)
		assert.Equal(t, entrupy.EventSessionCompleted, ev.Type)
		assert.Equal(t, fixedNow, ev.CreatedAt)
		assert.Equal(t, "ent_1", ev.EntrupyID)
		assert.Equal(t, "sku-1", ev.CustomerItemID)
		require.NotNil(t, ev.SessionCompleted)
		assert.Nil(t, ev.SupportMessage)
		assert.Nil(t, ev.CertificateTransfer)
		assert.Equal(t, entrupy.StatusCompleted, ev.SessionCompleted.Status)
		assert.Equal(t, entrupy.ResultAuthentic, ev.SessionCompleted.Result)
		assert.Equal(t, "https://cert.test/1", ev.SessionCompleted.CertificateURL)
		assert.JSONEq(t, string(ev.Data), string(ev.SessionCompleted.Raw))
	})
	t.Run("support.message", func(t *testing.T) {
		ev, err := entrupy.ParseEvent([]byte(`{"event":"support.message","created_at":"2026-03-01T12:00:00Z","data":{
			"entrupy_id":"ent_2","customer_item_id":"sku-2",
			"message":{"id":"m1","sender":"entrupy","text":"Is there a date code?","created_at":"1772366400"},
			"structured_responses":[{"id":"r1","text":"Yes"},{"id":"r2","text":"No"}]}}`))
		require.NoError(t, err)
		assert.Equal(t, fixedNow, ev.CreatedAt)
		require.NotNil(t, ev.SupportMessage)
		assert.Equal(t, entrupy.SupportMessageEvent{
			EntrupyID: "ent_2", CustomerItemID: "sku-2",
			Message:             entrupy.Message{ID: "m1", Sender: entrupy.SenderEntrupy, Text: "Is there a date code?", CreatedAt: fixedNow},
			StructuredResponses: []entrupy.StructuredResponse{{ID: "r1", Text: "Yes"}, {ID: "r2", Text: "No"}},
		}, *ev.SupportMessage)
	})
	t.Run("certificate.transfer", func(t *testing.T) {
		ev, err := entrupy.ParseEvent([]byte(`{"event":"certificate.transfer","data":{"entrupy_id":"ent_3",
			"certificate_url":"https://cert.test/3","from_user":"seller-0001","to_user":"buyer-0002"}}`))
		require.NoError(t, err)
		assert.True(t, ev.CreatedAt.IsZero())
		require.NotNil(t, ev.CertificateTransfer)
		assert.Equal(t, entrupy.CertificateTransferEvent{EntrupyID: "ent_3", CertificateURL: "https://cert.test/3",
			FromUser: "seller-0001", ToUser: "buyer-0002"}, *ev.CertificateTransfer)
	})
	t.Run("unknown type kept raw", func(t *testing.T) {
		ev, err := entrupy.ParseEvent([]byte(`{"event":"item.flagged","data":{"entrupy_id":"ent_4","x":[1,2]}}`))
		require.NoError(t, err)
		assert.Equal(t, entrupy.EventType("item.flagged"), ev.Type)
		assert.Equal(t, "ent_4", ev.EntrupyID)
		assert.JSONEq(t, `{"entrupy_id":"ent_4","x":[1,2]}`, string(ev.Data))
		assert.Nil(t, ev.SessionCompleted)
		assert.Nil(t, ev.SupportMessage)
		assert.Nil(t, ev.CertificateTransfer)
	})
	t.Run("unknown type without data", func(t *testing.T) {
		ev, err := entrupy.ParseEvent([]byte(`{"event":"ping"}`))
		require.NoError(t, err)
		assert.Nil(t, ev.Data)
	})
}

func TestParseEvent_Malformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		also error
	}{
		{"empty", ``, entrupy.ErrEmptyBody},
		{"spaces", "  \n", entrupy.ErrEmptyBody},
		{"not JSON", `event=session.completed`, entrupy.ErrNotJSON},
		{"HTML", `<html></html>`, entrupy.ErrNotJSON},
		{"truncated", `{"event":"session.completed","data":{`, entrupy.ErrTruncatedJSON},
		{"array", `[{"event":"x"}]`, nil},
		{"no event", `{"data":{"entrupy_id":"e"}}`, nil},
		{"event not a string", `{"event":5}`, nil},
		{"known type without data", `{"event":"session.completed"}`, nil},
		{"known type with null data", `{"event":"support.message","data":null}`, nil},
		{"data not an object", `{"event":"session.completed","data":"x"}`, nil},
		{"missing entrupy_id", `{"event":"certificate.transfer","data":{"customer_item_id":"c"}}`, nil},
		{"bad created_at", `{"event":"x","created_at":"last week"}`, nil},
		{"bad nested message", `{"event":"support.message","data":{"entrupy_id":"e","message":"hi"}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := entrupy.ParseEvent([]byte(tt.body))
			assert.Nil(t, ev)
			require.Error(t, err)
			assert.ErrorIs(t, err, entrupy.ErrMalformedEvent)
			if tt.also != nil {
				assert.ErrorIs(t, err, tt.also)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "entrupy: malformed webhook event: "), err.Error())
		})
	}
}

// deliver sends body to h as Entrupy would, signed with secret.
func deliver(h http.Handler, secret, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/entrupy", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if secret != "" {
		r.Header.Set(entrupy.SignatureHeader, sign(secret, []byte(body)))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWebhookHandler_Success(t *testing.T) {
	var got *entrupy.Event
	var ctxOK bool
	h := newWebhook(t, func(ctx context.Context, ev *entrupy.Event) error {
		got, ctxOK = ev, ctx != nil && ctx.Err() == nil
		return nil
	})
	w := deliver(h, webhookSecret, sessionCompletedBody)
	assert.Equal(t, http.StatusOK, w.Code)
	require.NotNil(t, got)
	assert.True(t, ctxOK)
	assert.Equal(t, entrupy.EventSessionCompleted, got.Type)
	assert.Equal(t, "ent_1", got.EntrupyID)

	// An unknown event type is handed over, not refused.
	w = deliver(h, webhookSecret, `{"event":"item.archived","data":{"entrupy_id":"ent_5"}}`)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, entrupy.EventType("item.archived"), got.Type)
}

func TestWebhookHandler_Rejections(t *testing.T) {
	var called atomic.Int32
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fail := errors.New("database down")
	h := newWebhook(t, func(_ context.Context, ev *entrupy.Event) error {
		called.Add(1)
		switch ev.EntrupyID {
		case "fails":
			return fail
		case "panics":
			panic("boom")
		}
		return nil
	}, entrupy.WithWebhookMaxBodySize(512), entrupy.WithWebhookLogger(logger))

	big := `{"event":"x","data":{"pad":"` + strings.Repeat("a", 600) + `"}}`
	tests := []struct {
		name       string
		method     string
		body       string
		sign       string // secret to sign with; "" leaves the header out
		header     string // explicit header, overrides sign
		chunked    bool
		status     int
		wantCalled bool
	}{
		{"GET", http.MethodGet, "", "", "", false, http.StatusMethodNotAllowed, false},
		{"PUT", http.MethodPut, sessionCompletedBody, webhookSecret, "", false, http.StatusMethodNotAllowed, false},
		{"too large by length", http.MethodPost, big, webhookSecret, "", false, http.StatusRequestEntityTooLarge, false},
		{"too large streamed", http.MethodPost, big, webhookSecret, "", true, http.StatusRequestEntityTooLarge, false},
		{"no signature", http.MethodPost, sessionCompletedBody, "", "", false, http.StatusUnauthorized, false},
		{"wrong secret", http.MethodPost, sessionCompletedBody, "whsec_wrong_000000", "", false, http.StatusUnauthorized, false},
		{"malformed signature", http.MethodPost, sessionCompletedBody, "", "sha256=xyz", false, http.StatusUnauthorized, false},
		{"bad signature checked before parsing", http.MethodPost, `not json`, "whsec_wrong_000000", "", false, http.StatusUnauthorized, false},
		{"signed but not JSON", http.MethodPost, `not json`, webhookSecret, "", false, http.StatusBadRequest, false},
		{"signed but no event", http.MethodPost, `{"data":{}}`, webhookSecret, "", false, http.StatusBadRequest, false},
		{"callback fails", http.MethodPost, `{"event":"x","data":{"entrupy_id":"fails"}}`, webhookSecret, "", false, http.StatusInternalServerError, true},
		{"callback panics", http.MethodPost, `{"event":"x","data":{"entrupy_id":"panics"}}`, webhookSecret, "", false, http.StatusInternalServerError, true},
		{"ok", http.MethodPost, sessionCompletedBody, webhookSecret, "", false, http.StatusOK, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called.Store(0)
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(strings.NewReader(tt.body)) // hides the length
			}
			r := httptest.NewRequest(tt.method, "/hook", body)
			if tt.chunked {
				r.ContentLength = -1
			}
			if tt.sign != "" {
				r.Header.Set(entrupy.SignatureHeader, sign(tt.sign, []byte(tt.body)))
			}
			if tt.header != "" {
				r.Header.Set(entrupy.SignatureHeader, tt.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, tt.wantCalled, called.Load() == 1)
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, w.Header().Get("Allow"))
			}
			noSecret(t, "response", w.Body.String(), webhookSecret)
		})
	}
	out := logs.String()
	assert.Contains(t, out, "database down")
	assert.Contains(t, out, "panicked")
	assert.Contains(t, out, "status=401")
	noSecret(t, "log", out, webhookSecret)
}

func TestNewWebhookHandler_Invalid(t *testing.T) {
	ok := func(context.Context, *entrupy.Event) error { return nil }
	good := entrupy.WebhookConfig{Secret: webhookSecret}
	tests := map[string]struct {
		cfg   entrupy.WebhookConfig
		fn    func(context.Context, *entrupy.Event) error
		opts  []entrupy.WebhookOption
		field string
	}{
		"empty secret":       {entrupy.WebhookConfig{}, ok, nil, "webhook_secret"},
		"nil callback":       {good, nil, nil, "callback"},
		"zero body size":     {good, ok, []entrupy.WebhookOption{entrupy.WithWebhookMaxBodySize(0)}, "webhook_max_body_size"},
		"negative body size": {good, ok, []entrupy.WebhookOption{entrupy.WithWebhookMaxBodySize(-5)}, "webhook_max_body_size"},
		"nil option":         {good, ok, []entrupy.WebhookOption{nil}, "option"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h, err := entrupy.NewWebhookHandler(tt.cfg, tt.fn, tt.opts...)
			assert.Nil(t, h)
			var ve *entrupy.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
			noSecret(t, "error", err.Error(), webhookSecret)
		})
	}
	// A nil logger is allowed: the handler is silent.
	newWebhook(t, ok, entrupy.WithWebhookLogger(nil))
}

// TestWebhookHandler_CallbackPanicLogsNoPayload: a panic is recovered (500,
// the server keeps serving) and logged by kind, without the event or the
// panic value, which may carry it.
func TestWebhookHandler_CallbackPanicLogsNoPayload(t *testing.T) {
	const marker = "payload-marker-51ab"
	// The entrupy_id is logged on purpose (to find the item); the rest is not.
	body := `{"event":"session.completed","data":{"entrupy_id":"ent_1","customer_item_id":"` + marker + `","brand":"` + marker + `"}}`
	for name, value := range map[string]any{"string": "boom " + marker, "error": errors.New(marker), "runtime error": nil} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			h := newWebhook(t, func(_ context.Context, ev *entrupy.Event) error {
				if value == nil {
					var list []string
					_ = list[len(ev.CustomerItemID)] // index out of range
				}
				panic(value)
			}, entrupy.WithWebhookLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			srv := httptest.NewServer(h)
			defer srv.Close()
			for range 2 {
				req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
				require.NoError(t, err)
				req.Header.Set(entrupy.SignatureHeader, sign(webhookSecret, []byte(body)))
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			}
			out := logs.String()
			assert.Contains(t, out, "panicked")
			assert.NotContains(t, out, marker)
			noSecret(t, "log", out, webhookSecret)
			if value == nil {
				assert.Contains(t, out, "index out of range")
			}
		})
	}
}

// TestWebhookConfig_Redacted: the secret never prints, under any verb, in
// slog (text and JSON, nested) or in JSON.
func TestWebhookConfig_Redacted(t *testing.T) {
	cfg := entrupy.WebhookConfig{Secret: webhookSecret}
	type wrapper struct{ Hook entrupy.WebhookConfig }
	for _, v := range []any{cfg, &cfg, wrapper{cfg}, &wrapper{cfg}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			noSecret(t, verb, fmt.Sprintf(verb, v), webhookSecret)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cfg", cfg, "nested", slog.GroupValue(slog.Any("cfg", cfg)))
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cfg", cfg, "w", wrapper{cfg})
	noSecret(t, "slog", buf.String(), webhookSecret)
	assert.Contains(t, buf.String(), "REDACTED")
	b, err := json.Marshal(wrapper{cfg})
	require.NoError(t, err)
	noSecret(t, "json", string(b), webhookSecret)
	assert.Contains(t, cfg.String(), "REDACTED")
	assert.NoError(t, cfg.Validate())
}

// TestParseEvent_UniqueUserID: an event's unique_user_id, the vendor-side
// user id, is surfaced for attribution.
func TestParseEvent_UniqueUserID(t *testing.T) {
	ev, err := entrupy.ParseEvent([]byte(`{"event":"session.completed","data":{"entrupy_id":"e1","customer_item_id":"sku","unique_user_id":"user-0001"}}`))
	require.NoError(t, err)
	assert.Equal(t, "user-0001", ev.UniqueUserID)
	ev, err = entrupy.ParseEvent([]byte(sessionCompletedBody))
	require.NoError(t, err)
	assert.Empty(t, ev.UniqueUserID)
}

func TestWebhookHandler_CallbackErrorLogRedactsSecret(t *testing.T) {
	var logs bytes.Buffer
	h := newWebhook(t, func(context.Context, *entrupy.Event) error {
		return errors.New("config " + webhookSecret + " rejected")
	}, entrupy.WithWebhookLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	w := deliver(h, webhookSecret, sessionCompletedBody)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Contains(t, logs.String(), "rejected")
	noSecret(t, "log", logs.String(), webhookSecret)
}

func TestWebhookHandler_OverHTTP(t *testing.T) {
	events := make(chan *entrupy.Event, 1)
	srv := httptest.NewServer(newWebhook(t, func(_ context.Context, ev *entrupy.Event) error {
		events <- ev
		return nil
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(sessionCompletedBody))
	require.NoError(t, err)
	req.Header.Set(entrupy.SignatureHeader, "sha256="+sign(webhookSecret, []byte(sessionCompletedBody)))
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	select {
	case ev := <-events:
		assert.Equal(t, "evt_1", ev.ID)
	case <-time.After(5 * time.Second):
		t.Fatal("callback not called")
	}
}

func FuzzVerifySignature(f *testing.F) {
	body := []byte(sessionCompletedBody)
	f.Add(webhookSecret, body, sign(webhookSecret, body))
	f.Add(webhookSecret, body, "sha256="+strings.ToUpper(sign(webhookSecret, body)))
	f.Add("s", []byte{}, "")
	f.Add("secret", []byte("x"), "sha256=")
	f.Add("secret", []byte("x"), strings.Repeat("g", 64))
	f.Add("secret", []byte("x"), "SHA256= 00")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		err := entrupy.VerifySignature(secret, body, header)
		if secret == "" {
			if !errors.Is(err, entrupy.ErrInvalidInput) {
				t.Fatalf("empty secret: got %v", err)
			}
			return
		}
		want := sign(secret, body)
		norm := strings.TrimSpace(header)
		if len(norm) >= 7 && strings.EqualFold(norm[:7], "sha256=") {
			norm = strings.TrimSpace(norm[7:])
		}
		if strings.EqualFold(norm, want) {
			if err != nil {
				t.Fatalf("valid signature refused: %v", err)
			}
		} else {
			if err == nil {
				t.Fatalf("invalid signature accepted")
			}
			if !errors.Is(err, entrupy.ErrSignatureMissing) && !errors.Is(err, entrupy.ErrSignatureMalformed) && !errors.Is(err, entrupy.ErrSignatureMismatch) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		}
		// The correct signature always verifies.
		if err := entrupy.VerifySignature(secret, body, want); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		sessionCompletedBody,
		`{"event":"support.message","data":{"entrupy_id":"e","message":{"id":"m","created_at":"1772366400"}}}`,
		`{"event":"certificate.transfer","data":{"entrupy_id":"e"}}`,
		`{"event":"x","created_at":1.5e9}`,
		`{"event":"session.completed","data":{"entrupy_id":"e","status":{"id":"completed"}}}`,
		``, `null`, `[]`, `{"event":""}`, `{"event":"x","data":null}`,
	} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"event_session_completed.json", "event_support_message.json", "event_certificate_transfer.json", "event_unknown.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := entrupy.ParseEvent(body)
		if err != nil {
			if ev != nil {
				t.Fatal("event and error both returned")
			}
			if !errors.Is(err, entrupy.ErrMalformedEvent) {
				t.Fatalf("error outside ErrMalformedEvent: %v", err)
			}
			return
		}
		if ev.Type == "" {
			t.Fatal("event without a type")
		}
		known := 0
		for _, p := range []bool{ev.SupportMessage != nil, ev.SessionCompleted != nil, ev.CertificateTransfer != nil} {
			if p {
				known++
			}
		}
		switch ev.Type {
		case entrupy.EventSupportMessage, entrupy.EventSessionCompleted, entrupy.EventCertificateTransfer:
			if known != 1 || ev.EntrupyID == "" {
				t.Fatalf("known type %q: %d payloads, entrupy_id %q", ev.Type, known, ev.EntrupyID)
			}
		default:
			if known != 0 {
				t.Fatalf("unknown type %q got a typed payload", ev.Type)
			}
		}
		if ev.Data != nil && !json.Valid(ev.Data) {
			t.Fatal("Data is not valid JSON")
		}
	})
}
