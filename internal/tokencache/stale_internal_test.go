package tokencache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stepClock is a Clock moved by the test.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (s *stepClock) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t
}

func (s *stepClock) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t = s.t.Add(d)
}

// While a stale value's background refresh runs, Get serves the value without the key's lock: here the lock
// is held by the test (as a long table split or eviction scan would hold it) and Get still answers at once,
// counting a stale hit. Before, every Get of a key being refreshed took the lock, so a key in steady use
// queued on it for as long as the refresh took. Once the refresh has failed, the flag is gone: the next stale
// Get goes through the lock again, where the negative TTL keeps it from starting another refresh.
func TestStaleGet_ServedWithoutTheLockWhileRefreshing(t *testing.T) {
	clk := &stepClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	var calls atomic.Int64
	c, err := New(func(ctx context.Context, key string) (string, Expiry, error) {
		if calls.Add(1) == 1 {
			return "v1", Expiry{Soft: clk.Now().Add(time.Minute), Hard: clk.Now().Add(time.Hour)}, nil
		}
		<-release
		return "", Expiry{}, errors.New("refresh failed")
	}, WithClock(clk), WithJitter(0), WithSafetyMargin(0))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		unblock() // first, if the test fails early: Close waits for the refresh
		c.Close()
	}()
	ctx := context.Background()
	if v, err := c.Get(ctx, "k"); err != nil || v != "v1" {
		t.Fatalf("first Get: %q, %v", v, err)
	}
	clk.advance(2 * time.Minute) // stale: the next Get starts the refresh, which blocks
	if v, err := c.Get(ctx, "k"); err != nil || v != "v1" {
		t.Fatalf("stale Get: %q, %v", v, err)
	}
	for calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}

	h := c.idx.hash("k")
	tb := c.idx.lock(h)
	got := make(chan string, 1)
	go func() {
		v, _ := c.Get(ctx, "k")
		got <- v
	}()
	select {
	case v := <-got:
		if v != "v1" {
			t.Errorf("Get during the refresh: %q", v)
		}
	case <-time.After(10 * time.Second):
		tb.mu.Unlock()
		<-got
		t.Fatal("a Get of a value being refreshed waited for the key's lock")
	}
	tb.mu.Unlock()
	if s := c.Stats(); s.StaleHits != 2 || s.Refreshes != 1 {
		t.Errorf("stats %+v, want 2 stale hits and 1 refresh", s)
	}

	unblock()
	for c.Stats().Failures == 0 {
		time.Sleep(time.Millisecond)
	}
	n := c.idx.find(h, "k")
	if n == nil || n.loadRef()&refreshing != 0 {
		t.Fatal("the failed refresh left its node marked as refreshing")
	}
	if v, err := c.Get(ctx, "k"); err != nil || v != "v1" {
		t.Fatalf("Get after the failed refresh: %q, %v", v, err)
	}
	if s := c.Stats(); s.Refreshes != 1 || calls.Load() != 2 {
		t.Errorf("a refresh started within the negative TTL: %+v, %d calls", s, calls.Load())
	}
}
