package sentiance_test

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

	"github.com/sdkbroker/sdkbroker/sentiance"
)

const dedupDelivery = `{"data":[{"meta":{"message_type":"TimelineEvent","message_timestamp":"2021-02-03T14:32:03.076Z"},"data":{"user_id":"u-1"}}]}`

func memoryDeduper(t *testing.T, window time.Duration) sentiance.Deduper {
	t.Helper()
	d, err := sentiance.NewMemoryDeduper(window, 100)
	require.NoError(t, err)
	return d
}

func counting(calls *atomic.Int32) func(context.Context, []sentiance.Message) error {
	return func(context.Context, []sentiance.Message) error { calls.Add(1); return nil }
}

// TestFirehoseHandler_Dedup_Replay: a replay inside the window, plain or
// compressed differently, is answered 200 without calling back.
func TestFirehoseHandler_Dedup_Replay(t *testing.T) {
	var calls atomic.Int32
	h := newFirehose(t, firehoseConfig(), counting(&calls), sentiance.WithDedup(memoryDeduper(t, time.Hour)))
	assert.Equal(t, http.StatusOK, post(t, h, gz(t, []byte(dedupDelivery)), nil).Code)
	assert.Equal(t, http.StatusOK, post(t, h, gz(t, []byte(dedupDelivery)), nil).Code)
	assert.Equal(t, http.StatusOK, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.EqualValues(t, 1, calls.Load())

	other := bytes.Replace([]byte(dedupDelivery), []byte("u-1"), []byte("u-2"), 1)
	assert.Equal(t, http.StatusOK, post(t, h, other, nil).Code)
	assert.EqualValues(t, 2, calls.Load())
}

// TestFirehoseHandler_Dedup_TestDeliveriesAlwaysCallBack: a test delivery
// is processed every time.
func TestFirehoseHandler_Dedup_TestDeliveriesAlwaysCallBack(t *testing.T) {
	var calls atomic.Int32
	h := newFirehose(t, firehoseConfig(), counting(&calls), sentiance.WithDedup(memoryDeduper(t, time.Hour)))
	test := http.Header{sentiance.PayloadTypeHeader: {"test"}}
	for range 3 {
		assert.Equal(t, http.StatusOK, post(t, h, []byte(`{"data":[]}`), test).Code)
	}
	assert.EqualValues(t, 3, calls.Load())
}

// TestFirehoseHandler_Dedup_AfterWindow: once the window passed, the same
// delivery is processed again.
func TestFirehoseHandler_Dedup_AfterWindow(t *testing.T) {
	const window = 20 * time.Millisecond
	var calls atomic.Int32
	h := newFirehose(t, firehoseConfig(), counting(&calls), sentiance.WithDedup(memoryDeduper(t, window)))
	assert.Equal(t, http.StatusOK, post(t, h, []byte(dedupDelivery), nil).Code)
	time.Sleep(2 * window)
	assert.Equal(t, http.StatusOK, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.EqualValues(t, 2, calls.Load())
}

// TestFirehoseHandler_Dedup_CallbackErrorNotMarked: a delivery whose
// callback failed (error or panic) is processed again when redelivered.
func TestFirehoseHandler_Dedup_CallbackErrorNotMarked(t *testing.T) {
	var calls atomic.Int32
	h := newFirehose(t, firehoseConfig(), func(context.Context, []sentiance.Message) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("queue full")
		case 2:
			panic("still full")
		}
		return nil
	}, sentiance.WithDedup(memoryDeduper(t, time.Hour)))
	assert.Equal(t, http.StatusInternalServerError, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.Equal(t, http.StatusInternalServerError, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.Equal(t, http.StatusOK, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.Equal(t, http.StatusOK, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.EqualValues(t, 3, calls.Load())
}

// TestFirehoseHandler_Dedup_Concurrent: duplicates arriving while the first
// is processed get 503 with Retry-After and never reach the callback.
func TestFirehoseHandler_Dedup_Concurrent(t *testing.T) {
	var calls atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	h := newFirehose(t, firehoseConfig(), func(context.Context, []sentiance.Message) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return nil
	}, sentiance.WithDedup(memoryDeduper(t, time.Hour)))
	first := make(chan int)
	go func() { first <- post(t, h, []byte(dedupDelivery), nil).Code }()
	<-entered
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			w := post(t, h, gz(t, []byte(dedupDelivery)), nil)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.NotEmpty(t, w.Header().Get("Retry-After"))
		})
	}
	wg.Wait()
	close(release)
	assert.Equal(t, http.StatusOK, <-first)
	assert.Equal(t, http.StatusOK, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.EqualValues(t, 1, calls.Load())
}

type failingDeduper struct{}

func (failingDeduper) Claim(context.Context, string) (string, error) {
	return "", errors.New("dedup store unreachable: " + fhPass)
}
func (failingDeduper) Commit(context.Context, string, string) error  { return nil }
func (failingDeduper) Release(context.Context, string, string) error { return nil }

// TestFirehoseHandler_Dedup_FailsOpen: when the deduper fails, the delivery
// is processed and the failure logged, redacted.
func TestFirehoseHandler_Dedup_FailsOpen(t *testing.T) {
	var calls atomic.Int32
	var logs bytes.Buffer
	h := newFirehose(t, firehoseConfig(), counting(&calls), sentiance.WithDedup(failingDeduper{}),
		sentiance.WithWebhookLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	assert.Equal(t, http.StatusOK, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.Equal(t, http.StatusOK, post(t, h, []byte(dedupDelivery), nil).Code)
	assert.EqualValues(t, 2, calls.Load())
	assert.Contains(t, logs.String(), "dedup failed")
	assert.NotContains(t, logs.String(), fhPass)
}

func TestWithDedup_Invalid(t *testing.T) {
	_, err := sentiance.NewFirehoseHandler(firehoseConfig(), counting(new(atomic.Int32)), sentiance.WithDedup(nil))
	assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
	_, err = sentiance.NewMemoryDeduper(-time.Second, 0)
	assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
}
