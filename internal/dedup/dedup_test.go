package dedup_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/dedup"
	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newMemory(t *testing.T, window time.Duration, max int, claim time.Duration) (*dedup.Memory, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	m, err := dedup.NewMemory(window, max, claim, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func TestMemory_ClaimCommitReplay(t *testing.T) {
	ctx := context.Background()
	m, c := newMemory(t, time.Hour, 10, time.Minute)
	tok, err := m.Claim(ctx, "k")
	if err != nil || tok == "" {
		t.Fatalf("first claim: %q, %v", tok, err)
	}
	if _, err := m.Claim(ctx, "k"); !errors.Is(err, dedup.ErrInProgress) {
		t.Fatalf("claim while claimed: %v, want ErrInProgress", err)
	}
	if err := m.Commit(ctx, "k", tok); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour - time.Nanosecond)
	if _, err := m.Claim(ctx, "k"); !errors.Is(err, dedup.ErrDuplicate) {
		t.Fatalf("claim within the window: %v, want ErrDuplicate", err)
	}
	c.Advance(time.Nanosecond)
	if tok, err := m.Claim(ctx, "k"); err != nil || tok == "" {
		t.Fatalf("claim after the window: %q, %v", tok, err)
	}
}

func TestMemory_ReleaseLetsTheNextClaimIn(t *testing.T) {
	ctx := context.Background()
	m, _ := newMemory(t, time.Hour, 10, time.Minute)
	tok, _ := m.Claim(ctx, "k")
	if err := m.Release(ctx, "k", "not-the-token"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Claim(ctx, "k"); !errors.Is(err, dedup.ErrInProgress) {
		t.Fatalf("a release with another token dropped the claim: %v", err)
	}
	if err := m.Release(ctx, "k", tok); err != nil {
		t.Fatal(err)
	}
	tok2, err := m.Claim(ctx, "k")
	if err != nil || tok2 == tok {
		t.Fatalf("claim after release: %q, %v (old token %q)", tok2, err, tok)
	}
	// A release never drops a committed key.
	_ = m.Commit(ctx, "k", tok2)
	_ = m.Release(ctx, "k", tok2)
	if _, err := m.Claim(ctx, "k"); !errors.Is(err, dedup.ErrDuplicate) {
		t.Fatalf("release dropped a committed key: %v", err)
	}
}

func TestMemory_AbandonedClaimExpires(t *testing.T) {
	ctx := context.Background()
	m, c := newMemory(t, time.Hour, 10, time.Minute)
	if _, err := m.Claim(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if _, err := m.Claim(ctx, "k"); err != nil {
		t.Fatalf("claim after the first expired: %v", err)
	}
}

func TestMemory_Bounded(t *testing.T) {
	ctx := context.Background()
	m, c := newMemory(t, time.Hour, 3, time.Minute)
	for _, k := range []string{"a", "b", "c", "d"} {
		tok, err := m.Claim(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Commit(ctx, k, tok)
		c.Advance(time.Second)
	}
	if n := m.Len(); n != 3 {
		t.Fatalf("Len %d, want 3", n)
	}
	if _, err := m.Claim(ctx, "a"); err != nil {
		t.Fatalf("the oldest key was not forgotten: %v", err)
	}
	if _, err := m.Claim(ctx, "d"); !errors.Is(err, dedup.ErrDuplicate) {
		t.Fatalf("the newest key was forgotten: %v", err)
	}
	// Expired entries go first, even below the bound.
	c.Advance(2 * time.Hour)
	if _, err := m.Claim(ctx, "e"); err != nil {
		t.Fatal(err)
	}
	if n := m.Len(); n != 1 {
		t.Fatalf("Len %d after everything expired, want 1", n)
	}
}

func TestNewMemory_Invalid(t *testing.T) {
	for _, tc := range []struct {
		window time.Duration
		max    int
		claim  time.Duration
	}{{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}} {
		m, err := dedup.NewMemory(tc.window, tc.max, tc.claim, nil)
		var ve *httpx.ValidationError
		if m != nil || !errors.As(err, &ve) {
			t.Errorf("%v: got %v, %v; want a ValidationError", tc, m, err)
		}
	}
	m, err := dedup.NewMemory(0, 0, 0, nil)
	if err != nil || m.Window() != dedup.DefaultWindow {
		t.Fatalf("defaults: %v, %v", m, err)
	}
}

func TestMemory_NilAndEndedContext(t *testing.T) {
	m, _ := newMemory(t, time.Hour, 10, time.Minute)
	//lint:ignore SA1012 a nil context is the bad input under test
	if _, err := m.Claim(nil, "k"); !errors.Is(err, httpx.ErrInvalidInput) {
		t.Fatalf("nil ctx: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Claim(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended ctx: %v", err)
	}
}

func TestMemory_ConcurrentClaimsOneWinner(t *testing.T) {
	m, _ := newMemory(t, time.Hour, 10, time.Minute)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := m.Claim(context.Background(), "k"); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, dedup.ErrInProgress) {
				t.Errorf("claim: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d winners, want 1", wins.Load())
	}
}

func TestKey(t *testing.T) {
	k := dedup.Key("entrupy", "event", []byte("evt\r\n\x00../"+strings.Repeat("x", 1<<20)))
	if len(k) != len("entrupy:event:")+64 || strings.ContainsAny(k, "\r\n\x00/") {
		t.Fatalf("key %q", k)
	}
	if dedup.Key("a", "b", []byte("1")) == dedup.Key("a", "b", []byte("2")) {
		t.Fatal("different ids, same key")
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	m, _ := newMemory(t, time.Hour, 10, time.Minute)
	calls := 0
	ok := func() error { calls++; return nil }
	fail := func() error { calls++; return errors.New("boom") }

	if out, fnErr, dErr := dedup.Run(ctx, m, "k", fail); out != dedup.Processed || fnErr == nil || dErr != nil {
		t.Fatalf("failing callback: %v %v %v", out, fnErr, dErr)
	}
	if out, fnErr, dErr := dedup.Run(ctx, m, "k", ok); out != dedup.Processed || fnErr != nil || dErr != nil {
		t.Fatalf("after a failure the delivery must run again: %v %v %v", out, fnErr, dErr)
	}
	if out, _, _ := dedup.Run(ctx, m, "k", ok); out != dedup.Replayed {
		t.Fatalf("replay: %v", out)
	}
	if calls != 2 {
		t.Fatalf("%d calls, want 2", calls)
	}
	if out, fnErr, _ := dedup.Run(ctx, nil, "k", ok); out != dedup.Processed || fnErr != nil || calls != 3 {
		t.Fatalf("nil deduper: %v %v calls=%d", out, fnErr, calls)
	}
}

func TestRun_InProgressAndCancelledRequest(t *testing.T) {
	m, _ := newMemory(t, time.Hour, 10, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	out, _, dErr := dedup.Run(ctx, m, "k", func() error {
		if out, _, _ := dedup.Run(context.Background(), m, "k", func() error { t.Error("concurrent duplicate ran"); return nil }); out != dedup.InProgress {
			t.Errorf("concurrent duplicate: %v", out)
		}
		cancel() // the sender hung up while the callback ran
		return nil
	})
	if out != dedup.Processed || dErr != nil {
		t.Fatalf("%v %v", out, dErr)
	}
	if _, err := m.Claim(context.Background(), "k"); !errors.Is(err, dedup.ErrDuplicate) {
		t.Fatalf("commit after the request's context ended: %v", err)
	}
}

type brokenDeduper struct{}

func (brokenDeduper) Claim(context.Context, string) (string, error) {
	return "", errors.New("store down")
}
func (brokenDeduper) Commit(context.Context, string, string) error  { return nil }
func (brokenDeduper) Release(context.Context, string, string) error { return nil }

func TestRun_FailsOpen(t *testing.T) {
	called := false
	out, fnErr, dErr := dedup.Run(context.Background(), brokenDeduper{}, "k", func() error { called = true; return nil })
	if !called || out != dedup.Processed || fnErr != nil || dErr == nil {
		t.Fatalf("called=%v out=%v fnErr=%v dedupErr=%v", called, out, fnErr, dErr)
	}
}

func TestRun_PanicReleasesTheClaim(t *testing.T) {
	m, _ := newMemory(t, time.Hour, 10, time.Minute)
	func() {
		defer func() {
			if p := recover(); p != "abort" {
				t.Fatalf("panic %v, want it to go on", p)
			}
		}()
		_, _, _ = dedup.Run(context.Background(), m, "k", func() error { panic("abort") })
	}()
	if _, err := m.Claim(context.Background(), "k"); err != nil {
		t.Fatalf("claim after a panic: %v", err)
	}
}
