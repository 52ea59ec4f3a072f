package uqudo_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

func memoryDeduper(t *testing.T, window time.Duration) uqudo.Deduper {
	t.Helper()
	d, err := uqudo.NewMemoryDeduper(window, 100)
	require.NoError(t, err)
	return d
}

func (e *hookEnv) resultBody(t *testing.T, sessionID string) string {
	t.Helper()
	jws, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sessionID})
	require.NoError(t, err)
	return `{"jwsResult":"` + jws + `"}`
}

// TestWebhook_Dedup_Replay: a replay of a result (the same JWS, or the same
// session's result signed again) is answered 200 without calling back;
// another session's result is processed.
func TestWebhook_Dedup_Replay(t *testing.T) {
	e := newHookEnv(t)
	h := e.handler(t, uqudo.WebhookConfig{}, uqudo.WithDedup(memoryDeduper(t, time.Hour)))
	body := e.resultBody(t, sid)
	for range 3 {
		rec := post(h, body, nil)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.JSONEq(t, `{}`, rec.Body.String())
	}
	assert.Equal(t, http.StatusOK, post(h, e.resultBody(t, sid), nil).Code, "signed again, same jti")
	assert.EqualValues(t, 1, e.calls.Load())

	assert.Equal(t, http.StatusOK, post(h, e.resultBody(t, "5c0ffee0-0000-4000-8000-000000000002"), nil).Code)
	assert.EqualValues(t, 2, e.calls.Load())
}

// TestWebhook_Dedup_AfterWindow: once the window passed, the same result is
// processed again.
func TestWebhook_Dedup_AfterWindow(t *testing.T) {
	const window = 20 * time.Millisecond
	e := newHookEnv(t)
	h := e.handler(t, uqudo.WebhookConfig{}, uqudo.WithDedup(memoryDeduper(t, window)))
	body := e.resultBody(t, sid)
	assert.Equal(t, http.StatusOK, post(h, body, nil).Code)
	time.Sleep(2 * window)
	assert.Equal(t, http.StatusOK, post(h, body, nil).Code)
	assert.EqualValues(t, 2, e.calls.Load())
}

// TestWebhook_Dedup_CallbackErrorNotMarked: a result whose callback failed
// (error or panic) is processed again when redelivered.
func TestWebhook_Dedup_CallbackErrorNotMarked(t *testing.T) {
	e := newHookEnv(t)
	h := e.handler(t, uqudo.WebhookConfig{}, uqudo.WithDedup(memoryDeduper(t, time.Hour)))
	body := e.resultBody(t, sid)
	e.fail.Store(true)
	assert.Equal(t, http.StatusInternalServerError, post(h, body, nil).Code)
	e.fail.Store(false)
	var boom any = "boom"
	e.panicV.Store(&boom)
	assert.Equal(t, http.StatusInternalServerError, post(h, body, nil).Code)
	e.panicV.Store(nil)
	assert.Equal(t, http.StatusOK, post(h, body, nil).Code)
	assert.Equal(t, http.StatusOK, post(h, body, nil).Code)
	assert.EqualValues(t, 3, e.calls.Load())
}

// TestWebhook_Dedup_AbortReleases: http.ErrAbortHandler still goes up, and
// the claim is released so the redelivery is processed.
func TestWebhook_Dedup_AbortReleases(t *testing.T) {
	e := newHookEnv(t)
	h := e.handler(t, uqudo.WebhookConfig{}, uqudo.WithDedup(memoryDeduper(t, time.Hour)))
	body := e.resultBody(t, sid)
	var abort any = http.ErrAbortHandler
	e.panicV.Store(&abort)
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { post(h, body, nil) })
	e.panicV.Store(nil)
	assert.Equal(t, http.StatusOK, post(h, body, nil).Code)
	assert.EqualValues(t, 2, e.calls.Load())
}

// TestWebhook_Dedup_Concurrent: duplicates arriving while the first is
// processed get 503 with Retry-After and never reach the callback.
func TestWebhook_Dedup_Concurrent(t *testing.T) {
	e := newHookEnv(t)
	var calls atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	h, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{Verifier: e.verifier}, func(context.Context, *uqudo.Result) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return nil
	}, uqudo.WithDedup(memoryDeduper(t, time.Hour)))
	require.NoError(t, err)
	body := e.resultBody(t, sid)
	first := make(chan int)
	go func() { first <- post(h, body, nil).Code }()
	<-entered
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			rec := post(h, body, nil)
			assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
			assert.NotEmpty(t, rec.Header().Get("Retry-After"))
		})
	}
	wg.Wait()
	close(release)
	assert.Equal(t, http.StatusOK, <-first)
	assert.Equal(t, http.StatusOK, post(h, body, nil).Code)
	assert.EqualValues(t, 1, calls.Load())
}

// TestWebhook_Dedup_OnlyVerifiedResults: a forged result for a session does
// not consume it.
func TestWebhook_Dedup_OnlyVerifiedResults(t *testing.T) {
	e := newHookEnv(t)
	h := e.handler(t, uqudo.WebhookConfig{}, uqudo.WithDedup(memoryDeduper(t, time.Hour)))
	forged, err := uqudotest.SignPayload(attackerKey(), e.srv.KeyID(), claimsJSON(t, newClock(), sid))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, post(h, `{"jwsResult":"`+forged+`"}`, nil).Code)
	assert.Equal(t, http.StatusOK, post(h, e.resultBody(t, sid), nil).Code)
	assert.EqualValues(t, 1, e.calls.Load())
}

type failingDeduper struct{}

func (failingDeduper) Claim(context.Context, string) (string, error) {
	return "", errors.New("dedup store unreachable: hook-password-1")
}
func (failingDeduper) Commit(context.Context, string, string) error  { return nil }
func (failingDeduper) Release(context.Context, string, string) error { return nil }

// TestWebhook_Dedup_FailsOpen: when the deduper fails, the result is
// processed and the failure logged, redacted.
func TestWebhook_Dedup_FailsOpen(t *testing.T) {
	e := newHookEnv(t)
	logger, buf := logCapture()
	cfg := uqudo.WebhookConfig{Username: "uqudo", Password: "hook-password-1"}
	h := e.handler(t, cfg, uqudo.WithDedup(failingDeduper{}), uqudo.WithWebhookLogger(logger))
	body := e.resultBody(t, sid)
	auth := func(r *http.Request) { r.SetBasicAuth("uqudo", "hook-password-1") }
	assert.Equal(t, http.StatusOK, post(h, body, auth).Code)
	assert.Equal(t, http.StatusOK, post(h, body, auth).Code)
	assert.EqualValues(t, 2, e.calls.Load())
	assert.Contains(t, buf.String(), "dedup failed")
	assert.False(t, strings.Contains(buf.String(), "hook-password-1"), buf.String())
}

func TestWithDedup_Invalid(t *testing.T) {
	e := newHookEnv(t)
	_, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{Verifier: e.verifier}, e.callback, uqudo.WithDedup(nil))
	assert.ErrorIs(t, err, uqudo.ErrInvalidInput)
	_, err = uqudo.NewMemoryDeduper(0, -1)
	assert.ErrorIs(t, err, uqudo.ErrInvalidInput)
}
