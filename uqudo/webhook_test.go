package uqudo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

type hookEnv struct {
	srv      *uqudotest.Server
	verifier *uqudo.Verifier
	calls    atomic.Int32
	got      atomic.Value // *uqudo.Result
	fail     atomic.Bool
	panicV   atomic.Pointer[any] // what the callback panics with, if set
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	clock := newClock()
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{Audience: uqudotest.DefaultClientID})
	return &hookEnv{srv: srv, verifier: v}
}

func (e *hookEnv) callback(_ context.Context, r *uqudo.Result) error {
	e.calls.Add(1)
	e.got.Store(r)
	if p := e.panicV.Load(); p != nil {
		panic(*p)
	}
	if e.fail.Load() {
		return errors.New("database down")
	}
	return nil
}

func (e *hookEnv) handler(t *testing.T, cfg uqudo.WebhookConfig, opts ...uqudo.WebhookOption) http.Handler {
	t.Helper()
	cfg.Verifier = e.verifier
	h, err := uqudo.NewWebhookHandler(cfg, e.callback, opts...)
	require.NoError(t, err)
	return h
}

func post(h http.Handler, body string, mod func(*http.Request)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/hooks/uqudo", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if mod != nil {
		mod(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWebhook_Accepts(t *testing.T) {
	e := newHookEnv(t)
	jws, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	rec := post(e.handler(t, uqudo.WebhookConfig{}), `{"jwsResult":"`+jws+`"}`, nil)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.EqualValues(t, 1, e.calls.Load())
	assert.Equal(t, sid, e.got.Load().(*uqudo.Result).SessionID)
}

func TestWebhook_Rejections(t *testing.T) {
	e := newHookEnv(t)
	good, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sid, Nonce: "n-1"})
	require.NoError(t, err)
	forged, err := uqudotest.SignPayload(attackerKey(), e.srv.KeyID(), claimsJSON(t, newClock(), sid))
	require.NoError(t, err)
	body := `{"jwsResult":"` + good + `"}`
	basic := uqudo.WebhookConfig{Username: "uqudo", Password: "hook-password-1"}
	header := uqudo.WebhookConfig{Header: "X-Hook-Secret", HeaderValue: "hook-secret-value"}
	expectOther := uqudo.WebhookConfig{Expect: func(_ context.Context, id string) (uqudo.VerifyOptions, error) {
		return uqudo.VerifyOptions{}, fmt.Errorf("unknown session %s: %w", id, uqudo.ErrNotFound)
	}}
	expectMismatch := uqudo.WebhookConfig{Expect: func(_ context.Context, id string) (uqudo.VerifyOptions, error) {
		return uqudo.VerifyOptions{}, uqudo.ErrSessionMismatch
	}}
	expectDown := uqudo.WebhookConfig{Expect: func(_ context.Context, id string) (uqudo.VerifyOptions, error) {
		return uqudo.VerifyOptions{}, errors.New("ledger store unavailable")
	}}
	expectNonce := uqudo.WebhookConfig{Expect: func(_ context.Context, id string) (uqudo.VerifyOptions, error) {
		return uqudo.VerifyOptions{SessionID: id, Nonce: "n-2"}, nil
	}}
	cases := []struct {
		name   string
		cfg    uqudo.WebhookConfig
		opts   []uqudo.WebhookOption
		method string
		body   string
		mod    func(*http.Request)
		want   int
	}{
		{"GET", uqudo.WebhookConfig{}, nil, http.MethodGet, body, nil, http.StatusMethodNotAllowed},
		{"basic auth missing", basic, nil, "", body, nil, http.StatusUnauthorized},
		{"basic auth wrong password", basic, nil, "", body, func(r *http.Request) { r.SetBasicAuth("uqudo", "nope") }, http.StatusUnauthorized},
		{"basic auth wrong user", basic, nil, "", body, func(r *http.Request) { r.SetBasicAuth("other", "hook-password-1") }, http.StatusUnauthorized},
		{"basic auth empty password", basic, nil, "", body, func(r *http.Request) { r.SetBasicAuth("uqudo", "") }, http.StatusUnauthorized},
		{"header missing", header, nil, "", body, nil, http.StatusUnauthorized},
		{"header empty", header, nil, "", body, func(r *http.Request) { r.Header.Set("X-Hook-Secret", "") }, http.StatusUnauthorized},
		{"header wrong", header, nil, "", body, func(r *http.Request) { r.Header.Set("X-Hook-Secret", "hook-secret-valuE") }, http.StatusUnauthorized},
		{"too large", uqudo.WebhookConfig{}, []uqudo.WebhookOption{uqudo.WithWebhookMaxBodySize(100)}, "", body, nil, http.StatusRequestEntityTooLarge},
		{"not JSON", uqudo.WebhookConfig{}, nil, "", "jwsResult=" + good, nil, http.StatusBadRequest},
		{"no jwsResult", uqudo.WebhookConfig{}, nil, "", `{"result":"x"}`, nil, http.StatusBadRequest},
		{"garbage JWS", uqudo.WebhookConfig{}, nil, "", `{"jwsResult":"a.b.c"}`, nil, http.StatusUnauthorized},
		{"forged", uqudo.WebhookConfig{}, nil, "", `{"jwsResult":"` + forged + `"}`, nil, http.StatusUnauthorized},
		{"unexpected session", expectOther, nil, "", body, nil, http.StatusUnauthorized},
		{"session mismatch", expectMismatch, nil, "", body, nil, http.StatusUnauthorized},
		{"lookup failed is retried later", expectDown, nil, "", body, nil, http.StatusServiceUnavailable},
		{"nonce mismatch", expectNonce, nil, "", body, nil, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.calls.Load()
			h := e.handler(t, tc.cfg, tc.opts...)
			req := httptest.NewRequest(tc.method, "/hooks/uqudo", strings.NewReader(tc.body))
			if tc.method == "" {
				req.Method = http.MethodPost
			}
			if tc.mod != nil {
				tc.mod(req)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code)
			assert.Equal(t, before, e.calls.Load(), "callback not called")
			assert.NotContains(t, rec.Body.String(), good)
			assert.NotContains(t, rec.Body.String(), "hook-")
		})
	}
	// The right credentials pass.
	rec := post(e.handler(t, basic), body, func(r *http.Request) { r.SetBasicAuth("uqudo", "hook-password-1") })
	assert.Equal(t, http.StatusOK, rec.Code)
	rec = post(e.handler(t, header), body, func(r *http.Request) { r.Header.Set("X-Hook-Secret", "hook-secret-value") })
	assert.Equal(t, http.StatusOK, rec.Code)
	nonceOK := uqudo.WebhookConfig{Expect: func(_ context.Context, id string) (uqudo.VerifyOptions, error) {
		return uqudo.VerifyOptions{SessionID: sid, Nonce: "n-1"}, nil
	}}
	rec = post(e.handler(t, nonceOK), body, nil)
	assert.Equal(t, http.StatusOK, rec.Code)
}

// A failing callback gets no 2xx, so uqudo delivers again.
func TestWebhook_CallbackError(t *testing.T) {
	e := newHookEnv(t)
	e.fail.Store(true)
	jws, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	logger, buf := logCapture()
	rec := post(e.handler(t, uqudo.WebhookConfig{}, uqudo.WithWebhookLogger(logger)), `{"jwsResult":"`+jws+`"}`, nil)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.EqualValues(t, 1, e.calls.Load())
	assert.Contains(t, buf.String(), "callback failed")
	assert.NotContains(t, buf.String(), jws[len(jws)-30:])
}

// A panic in the callback is recovered: 500, one log line without the
// payload, and the server goes on serving (issue 11 item 14).
func TestWebhook_CallbackPanic(t *testing.T) {
	e := newHookEnv(t)
	jws, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	body := `{"jwsResult":"` + jws + `"}`
	for name, p := range map[string]any{
		"string":        "boom",
		"error":         errors.New("boom"),
		"other value":   struct{ JWS string }{jws},
		"runtime error": nil, // replaced below by an index out of range
		"result value":  &uqudo.Result{SessionID: sid, Raw: []byte(jws)},
	} {
		t.Run(name, func(t *testing.T) {
			logger, buf := logCapture()
			e.panicV.Store(nil)
			h := e.handler(t, uqudo.WebhookConfig{}, uqudo.WithWebhookLogger(logger))
			if p == nil {
				h2, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{Verifier: e.verifier}, func(_ context.Context, r *uqudo.Result) error {
					var docs []uqudo.ResultDocument
					_ = docs[len(r.SessionID)] // runtime panic: index out of range
					return nil
				}, uqudo.WithWebhookLogger(logger))
				require.NoError(t, err)
				h = h2
			} else {
				e.panicV.Store(&p)
			}
			var rec *httptest.ResponseRecorder
			require.NotPanics(t, func() { rec = post(h, body, nil) })
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			logs := buf.String()
			assert.Contains(t, logs, "panicked")
			assert.NotContains(t, logs, jws[len(jws)-30:], "no payload in the log")
			assert.NotContains(t, logs, jws[:30])
		})
	}
	// http.ErrAbortHandler keeps its meaning.
	var abort any = http.ErrAbortHandler
	e.panicV.Store(&abort)
	h := e.handler(t, uqudo.WebhookConfig{})
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { post(h, body, nil) })
}

// Unavailable keys answer 503 (try again), not 401.
func TestWebhook_JWKSUnavailable(t *testing.T) {
	e := newHookEnv(t)
	jws, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	e.srv.FailNext(10, uqudotest.Failure{Route: uqudotest.RouteJWKS, Status: http.StatusBadGateway})
	rec := post(e.handler(t, uqudo.WebhookConfig{}), `{"jwsResult":"`+jws+`"}`, nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Zero(t, e.calls.Load())
}

// The constructor refuses a nil callback, a missing verifier and every
// half-configured check, so none of them can fail open (issue 11 item 7).
func TestNewWebhookHandler_Validation(t *testing.T) {
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	fn := func(context.Context, *uqudo.Result) error { return nil }
	cases := []struct {
		name  string
		cfg   uqudo.WebhookConfig
		fn    func(context.Context, *uqudo.Result) error
		opts  []uqudo.WebhookOption
		field string
	}{
		{"nil callback", uqudo.WebhookConfig{Verifier: v}, nil, nil, "callback"},
		{"nil verifier", uqudo.WebhookConfig{}, fn, nil, "verifier"},
		{"password without username", uqudo.WebhookConfig{Verifier: v, Password: "hook-password-1"}, fn, nil, "username"},
		{"username without password", uqudo.WebhookConfig{Verifier: v, Username: "uqudo"}, fn, nil, "password"},
		{"username with colon", uqudo.WebhookConfig{Verifier: v, Username: "a:b", Password: "hook-password-1"}, fn, nil, "username"},
		{"header without value", uqudo.WebhookConfig{Verifier: v, Header: "X-Hook"}, fn, nil, "header_value"},
		{"value without header", uqudo.WebhookConfig{Verifier: v, HeaderValue: "hook-secret-value"}, fn, nil, "header"},
		{"bad header name", uqudo.WebhookConfig{Verifier: v, Header: "X Hook", HeaderValue: "hook-secret-value"}, fn, nil, "header"},
		{"nil option", uqudo.WebhookConfig{Verifier: v}, fn, []uqudo.WebhookOption{nil}, "option"},
		{"nil logger", uqudo.WebhookConfig{Verifier: v}, fn, []uqudo.WebhookOption{uqudo.WithWebhookLogger(nil)}, "logger"},
		{"zero body size", uqudo.WebhookConfig{Verifier: v}, fn, []uqudo.WebhookOption{uqudo.WithWebhookMaxBodySize(0)}, "max_body_size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := uqudo.NewWebhookHandler(tc.cfg, tc.fn, tc.opts...)
			require.Nil(t, h)
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
			var ve *uqudo.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
			assert.NotContains(t, err.Error(), "hook-password-1")
			assert.NotContains(t, err.Error(), "hook-secret-value")
		})
	}
	h, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{Verifier: v, Username: "u", Password: "p", Header: "X-A", HeaderValue: "b"}, fn)
	require.NoError(t, err)
	require.NotNil(t, h)
}

// WebhookConfig (and its deprecated alias WebhookOptions) never prints
// Password or HeaderValue: fmt verbs, slog Text and JSON, nested or not,
// and JSON encoding (issue 11 item 2).
func TestWebhookConfig_Redacted(t *testing.T) {
	const pw, hv = "hook-password-1", "hook-secret-value"
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	cfg := uqudo.WebhookConfig{Verifier: v, Username: "uqudo", Password: pw, Header: "X-Hook", HeaderValue: hv}
	var legacy uqudo.WebhookOptions = cfg
	assertNoSecrets(t, []any{cfg, &cfg, legacy}, pw, hv)
	assert.Contains(t, cfg.String(), `Username: "uqudo"`)
	assert.Contains(t, cfg.String(), `Header: "X-Hook"`)
	assert.Contains(t, cfg.String(), "[REDACTED]")
	assert.Contains(t, uqudo.WebhookConfig{}.String(), `Password: ""`)
}

// assertNoSecrets checks that no value of vals shows any of secrets under
// fmt verbs, slog Text and JSON (top-level and nested in a struct and a
// group) and json.Marshal (top-level and nested).
func assertNoSecrets(t *testing.T, vals []any, secrets ...string) {
	t.Helper()
	checkNoSecrets(t, vals, true, secrets)
}

// checkNoSecrets is assertNoSecrets; withJSON false skips json.Marshal
// (and so a plain struct nested in a slog JSON record), for types whose
// JSON deliberately carries the secret.
func checkNoSecrets(t *testing.T, vals []any, withJSON bool, secrets []string) {
	t.Helper()
	type wrapper struct {
		Name  string
		Inner any
	}
	check := func(what, out string) {
		t.Helper()
		for _, s := range secrets {
			assert.NotContains(t, out, s, what)
		}
	}
	for i, v := range vals {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
			check(fmt.Sprintf("%d %s", i, verb), fmt.Sprintf(verb, v))
			check(fmt.Sprintf("%d nested %s", i, verb), fmt.Sprintf(verb, wrapper{"w", v}))
			check(fmt.Sprintf("%d slice %s", i, verb), fmt.Sprintf(verb, []any{v}))
		}
		for j, newHandler := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf bytes.Buffer
			l := slog.New(newHandler(&buf))
			l.Info("msg", "v", v)
			if withJSON || j == 0 { // slog's JSON handler encodes a plain struct with json.Marshal
				l.Info("msg", "nested", wrapper{"w", v})
			}
			l.Info("msg", slog.Group("g", slog.Any("v", v)))
			l.With("v", v).Info("msg")
			check(fmt.Sprintf("%d slog", i), buf.String())
		}
		if !withJSON {
			continue
		}
		raw, err := json.Marshal(v)
		if err == nil {
			check(fmt.Sprintf("%d json", i), string(raw))
		}
		raw, err = json.Marshal(wrapper{"w", v})
		if err == nil {
			check(fmt.Sprintf("%d json nested", i), string(raw))
		}
	}
}
