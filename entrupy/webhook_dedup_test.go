package entrupy_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

func memoryDeduper(t *testing.T, window time.Duration) entrupy.Deduper {
	t.Helper()
	d, err := entrupy.NewMemoryDeduper(window, 100)
	require.NoError(t, err)
	return d
}

// TestWebhookHandler_Dedup_Replay: a replay inside the window is answered
// 200 without calling back; another event is processed.
func TestWebhookHandler_Dedup_Replay(t *testing.T) {
	var calls atomic.Int32
	h := newWebhook(t, func(context.Context, *entrupy.Event) error { calls.Add(1); return nil },
		entrupy.WithDedup(memoryDeduper(t, time.Hour)))
	for range 3 {
		assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	}
	assert.EqualValues(t, 1, calls.Load())

	// The same event id, re-serialised differently, is still a replay.
	reordered := `{"event":"session.completed","id":"evt_1","data":{"entrupy_id":"ent_1"}}`
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, reordered).Code)
	assert.EqualValues(t, 1, calls.Load())

	other := `{"id":"evt_2","event":"session.completed","data":{"entrupy_id":"ent_1"}}`
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, other).Code)
	assert.EqualValues(t, 2, calls.Load())
}

// TestWebhookHandler_Dedup_NoIDUsesTheBody: an event without an id is
// identified by its signed body.
func TestWebhookHandler_Dedup_NoIDUsesTheBody(t *testing.T) {
	var calls atomic.Int32
	h := newWebhook(t, func(context.Context, *entrupy.Event) error { calls.Add(1); return nil },
		entrupy.WithDedup(memoryDeduper(t, time.Hour)))
	a := `{"event":"support.message","data":{"entrupy_id":"ent_1","message":{"id":"m1"}}}`
	b := `{"event":"support.message","data":{"entrupy_id":"ent_1","message":{"id":"m2"}}}`
	for _, body := range []string{a, a, b, b} {
		assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, body).Code)
	}
	assert.EqualValues(t, 2, calls.Load())
}

// TestWebhookHandler_Dedup_AfterWindow: once the window passed, the same
// delivery is processed again.
func TestWebhookHandler_Dedup_AfterWindow(t *testing.T) {
	const window = 20 * time.Millisecond
	var calls atomic.Int32
	h := newWebhook(t, func(context.Context, *entrupy.Event) error { calls.Add(1); return nil },
		entrupy.WithDedup(memoryDeduper(t, window)))
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	time.Sleep(2 * window) // past the window whatever the scheduling
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.EqualValues(t, 2, calls.Load())
}

// TestWebhookHandler_Dedup_CallbackErrorNotMarked: a delivery whose callback
// failed (error or panic) is processed again when redelivered.
func TestWebhookHandler_Dedup_CallbackErrorNotMarked(t *testing.T) {
	var calls atomic.Int32
	h := newWebhook(t, func(context.Context, *entrupy.Event) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("database down")
		case 2:
			panic("still down")
		}
		return nil
	}, entrupy.WithDedup(memoryDeduper(t, time.Hour)))
	assert.Equal(t, http.StatusInternalServerError, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.Equal(t, http.StatusInternalServerError, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.EqualValues(t, 3, calls.Load())
}

// TestWebhookHandler_Dedup_Concurrent: duplicates arriving while the first
// is processed get 503 with Retry-After and never reach the callback; once
// the first succeeded, a redelivery is a replay.
func TestWebhookHandler_Dedup_Concurrent(t *testing.T) {
	var calls atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	h := newWebhook(t, func(context.Context, *entrupy.Event) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return nil
	}, entrupy.WithDedup(memoryDeduper(t, time.Hour)))
	first := make(chan int)
	go func() { first <- deliver(h, webhookSecret, sessionCompletedBody).Code }()
	<-entered
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			w := deliver(h, webhookSecret, sessionCompletedBody)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.NotEmpty(t, w.Header().Get("Retry-After"))
		})
	}
	wg.Wait()
	close(release)
	assert.Equal(t, http.StatusOK, <-first)
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.EqualValues(t, 1, calls.Load())
}

// TestWebhookHandler_Dedup_OnlyAfterSignature: an unsigned or badly signed
// copy of a delivery is refused and does not consume it.
func TestWebhookHandler_Dedup_OnlyAfterSignature(t *testing.T) {
	var calls atomic.Int32
	h := newWebhook(t, func(context.Context, *entrupy.Event) error { calls.Add(1); return nil },
		entrupy.WithDedup(memoryDeduper(t, time.Hour)))
	assert.Equal(t, http.StatusUnauthorized, deliver(h, "", sessionCompletedBody).Code)
	assert.Equal(t, http.StatusUnauthorized, deliver(h, "whsec_attacker", sessionCompletedBody).Code)
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.EqualValues(t, 1, calls.Load())
}

type failingDeduper struct{ claims atomic.Int32 }

func (d *failingDeduper) Claim(context.Context, string) (string, error) {
	d.claims.Add(1)
	return "", errors.New("dedup store unreachable")
}
func (*failingDeduper) Commit(context.Context, string, string) error  { return nil }
func (*failingDeduper) Release(context.Context, string, string) error { return nil }

// TestWebhookHandler_Dedup_FailsOpen: when the deduper fails, the delivery
// is processed (and the failure logged) rather than refused.
func TestWebhookHandler_Dedup_FailsOpen(t *testing.T) {
	var calls atomic.Int32
	var logs bytes.Buffer
	d := &failingDeduper{}
	h := newWebhook(t, func(context.Context, *entrupy.Event) error { calls.Add(1); return nil },
		entrupy.WithDedup(d), entrupy.WithWebhookLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.Equal(t, http.StatusOK, deliver(h, webhookSecret, sessionCompletedBody).Code)
	assert.EqualValues(t, 2, calls.Load())
	assert.EqualValues(t, 2, d.claims.Load())
	assert.Contains(t, logs.String(), "dedup failed")
	noSecret(t, "log", logs.String(), webhookSecret)
}

func TestWithDedup_Invalid(t *testing.T) {
	_, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: webhookSecret}, func(context.Context, *entrupy.Event) error { return nil }, entrupy.WithDedup(nil))
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
	_, err = entrupy.NewMemoryDeduper(-time.Second, 0)
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
	_, err = entrupy.NewMemoryDeduper(0, -1)
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
	d, err := entrupy.NewMemoryDeduper(0, 0)
	require.NoError(t, err)
	_, err = d.Claim(context.Background(), "k")
	require.NoError(t, err)
	_, err = d.Claim(context.Background(), "k")
	assert.ErrorIs(t, err, entrupy.ErrDeliveryInProgress)
}
