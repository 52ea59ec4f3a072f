package tokencache_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// realClock is the system clock, for fetchers in tests that need no fake time.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// minting returns a fetch function that counts its calls in calls and returns "<key>#<n>", valid for life by clk.
func minting(clk tokencache.Clock, life time.Duration, calls *atomic.Int64) tokencache.FetchFunc[string, string] {
	return func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
		n := calls.Add(1)
		return fmt.Sprintf("%s#%d", key, n), tokencache.Expiry{Hard: clk.Now().Add(life)}, nil
	}
}

// newCache builds a cache closed at the end of the test.
func newCache(t *testing.T, fetch tokencache.FetchFunc[string, string], opts ...tokencache.Option) *tokencache.Cache[string, string] {
	t.Helper()
	c, err := tokencache.New(fetch, opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// eventually waits for cond, failing the test after 10 s (far beyond what any condition here needs).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// result is one Get's answer, collected from a goroutine.
type result struct {
	val     string
	err     error
	elapsed time.Duration
}

func getAsync(c *tokencache.Cache[string, string], ctx context.Context, key string, out chan<- result) {
	start := time.Now()
	v, err := c.Get(ctx, key)
	out <- result{val: v, err: err, elapsed: time.Since(start)}
}

// receive waits for one result, failing the test after 10 s.
func receive(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a Get to return")
		return result{}
	}
}
