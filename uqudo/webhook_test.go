package uqudo_test

import (
	"context"
	"errors"
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
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	clock := newClock()
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{Audience: uqudotest.DefaultClientID})
	return &hookEnv{srv: srv, verifier: v}
}

func (e *hookEnv) handler(opts uqudo.WebhookOptions) http.Handler {
	return uqudo.NewWebhookHandler(e.verifier, opts, func(_ context.Context, r *uqudo.Result) error {
		e.calls.Add(1)
		e.got.Store(r)
		if e.fail.Load() {
			return errors.New("database down")
		}
		return nil
	})
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
	rec := post(e.handler(uqudo.WebhookOptions{}), `{"jwsResult":"`+jws+`"}`, nil)
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
	basic := uqudo.WebhookOptions{Username: "uqudo", Password: "hook-password-1"}
	header := uqudo.WebhookOptions{Header: "X-Hook-Secret", HeaderValue: "hook-secret-value"}
	expectOther := uqudo.WebhookOptions{Expect: func(_ context.Context, id string) (uqudo.VerifyOptions, error) {
		return uqudo.VerifyOptions{}, errors.New("unknown session " + id)
	}}
	expectNonce := uqudo.WebhookOptions{Expect: func(_ context.Context, id string) (uqudo.VerifyOptions, error) {
		return uqudo.VerifyOptions{SessionID: id, Nonce: "n-2"}, nil
	}}
	cases := []struct {
		name   string
		opts   uqudo.WebhookOptions
		method string
		body   string
		mod    func(*http.Request)
		want   int
	}{
		{"GET", uqudo.WebhookOptions{}, http.MethodGet, body, nil, http.StatusMethodNotAllowed},
		{"basic auth missing", basic, "", body, nil, http.StatusUnauthorized},
		{"basic auth wrong password", basic, "", body, func(r *http.Request) { r.SetBasicAuth("uqudo", "nope") }, http.StatusUnauthorized},
		{"basic auth wrong user", basic, "", body, func(r *http.Request) { r.SetBasicAuth("other", "hook-password-1") }, http.StatusUnauthorized},
		{"header missing", header, "", body, nil, http.StatusUnauthorized},
		{"header wrong", header, "", body, func(r *http.Request) { r.Header.Set("X-Hook-Secret", "hook-secret-valuE") }, http.StatusUnauthorized},
		{"too large", uqudo.WebhookOptions{MaxBodyBytes: 100}, "", body, nil, http.StatusRequestEntityTooLarge},
		{"not JSON", uqudo.WebhookOptions{}, "", "jwsResult=" + good, nil, http.StatusBadRequest},
		{"no jwsResult", uqudo.WebhookOptions{}, "", `{"result":"x"}`, nil, http.StatusBadRequest},
		{"garbage JWS", uqudo.WebhookOptions{}, "", `{"jwsResult":"a.b.c"}`, nil, http.StatusUnauthorized},
		{"forged", uqudo.WebhookOptions{}, "", `{"jwsResult":"` + forged + `"}`, nil, http.StatusUnauthorized},
		{"unexpected session", expectOther, "", body, nil, http.StatusUnauthorized},
		{"nonce mismatch", expectNonce, "", body, nil, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.calls.Load()
			h := e.handler(tc.opts)
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
	rec := post(e.handler(basic), body, func(r *http.Request) { r.SetBasicAuth("uqudo", "hook-password-1") })
	assert.Equal(t, http.StatusOK, rec.Code)
	rec = post(e.handler(header), body, func(r *http.Request) { r.Header.Set("X-Hook-Secret", "hook-secret-value") })
	assert.Equal(t, http.StatusOK, rec.Code)
	nonceOK := uqudo.WebhookOptions{Expect: func(_ context.Context, id string) (uqudo.VerifyOptions, error) {
		return uqudo.VerifyOptions{SessionID: sid, Nonce: "n-1"}, nil
	}}
	rec = post(e.handler(nonceOK), body, nil)
	assert.Equal(t, http.StatusOK, rec.Code)
}

// A failing callback gets no 2xx, so uqudo delivers again.
func TestWebhook_CallbackError(t *testing.T) {
	e := newHookEnv(t)
	e.fail.Store(true)
	jws, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	logger, buf := logCapture()
	rec := post(e.handler(uqudo.WebhookOptions{Logger: logger}), `{"jwsResult":"`+jws+`"}`, nil)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.EqualValues(t, 1, e.calls.Load())
	assert.Contains(t, buf.String(), "callback failed")
	assert.NotContains(t, buf.String(), jws[len(jws)-30:])
}

// Unavailable keys answer 503 (try again), not 401.
func TestWebhook_JWKSUnavailable(t *testing.T) {
	e := newHookEnv(t)
	jws, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	e.srv.FailNextOn(uqudotest.RouteJWKS, 10, http.StatusBadGateway)
	rec := post(e.handler(uqudo.WebhookOptions{}), `{"jwsResult":"`+jws+`"}`, nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Zero(t, e.calls.Load())
}

func TestWebhook_NotConfigured(t *testing.T) {
	rec := post(uqudo.NewWebhookHandler(nil, uqudo.WebhookOptions{}, nil), `{}`, nil)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
}
