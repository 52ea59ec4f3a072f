package broker_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// dedupClock is a clock the test moves by hand.
type dedupClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dedupClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dedupClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMemoryStore_DedupStore(t *testing.T) {
	ctx := context.Background()
	clock := &dedupClock{t: testStart}
	s := broker.NewMemoryStore(clock.Now)
	var ds broker.DedupStore = s

	saved, cur, err := ds.SetIfAbsent(ctx, "k", "a", time.Minute)
	if err != nil || !saved || cur != "" {
		t.Fatalf("first SetIfAbsent: %v %q %v", saved, cur, err)
	}
	saved, cur, err = ds.SetIfAbsent(ctx, "k", "b", time.Minute)
	if err != nil || saved || cur != "a" {
		t.Fatalf("second SetIfAbsent: %v %q %v", saved, cur, err)
	}
	if err := ds.DeleteIfEqual(ctx, "k", "b"); err != nil {
		t.Fatal(err)
	}
	if _, cur, _ := ds.SetIfAbsent(ctx, "k", "c", time.Minute); cur != "a" {
		t.Fatalf("DeleteIfEqual with another value deleted: %q", cur)
	}
	if err := ds.Overwrite(ctx, "k", "d", time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour - time.Nanosecond)
	if _, cur, _ := ds.SetIfAbsent(ctx, "k", "e", time.Minute); cur != "d" {
		t.Fatalf("Overwrite: %q", cur)
	}
	clock.Advance(time.Nanosecond)
	if saved, _, _ := ds.SetIfAbsent(ctx, "k", "f", time.Minute); !saved {
		t.Fatal("an expired value blocked SetIfAbsent")
	}
	if err := ds.DeleteIfEqual(ctx, "k", "f"); err != nil {
		t.Fatal(err)
	}
	if saved, _, _ := ds.SetIfAbsent(ctx, "k", "g", time.Minute); !saved {
		t.Fatal("DeleteIfEqual did not delete")
	}
	//lint:ignore SA1012 a nil context is the bad input under test
	if _, _, err := ds.SetIfAbsent(nil, "k", "g", time.Minute); !errors.Is(err, broker.ErrInvalidInput) {
		t.Fatalf("nil ctx: %v", err)
	}
}

// storeOnly hides MemoryStore's DedupStore methods.
type storeOnly struct{ broker.Store }

func TestNewStoreDeduper_Invalid(t *testing.T) {
	for name, tc := range map[string]struct {
		s broker.Store
		w time.Duration
	}{
		"nil store":       {nil, time.Hour},
		"no DedupStore":   {storeOnly{broker.NewMemoryStore(nil)}, time.Hour},
		"negative window": {broker.NewMemoryStore(nil), -time.Second},
	} {
		d, err := broker.NewStoreDeduper(tc.s, tc.w)
		if d != nil || !errors.Is(err, broker.ErrInvalidInput) {
			t.Errorf("%s: %v, %v", name, d, err)
		}
	}
	d, err := broker.NewStoreDeduper(broker.NewMemoryStore(nil), 0)
	if err != nil || d.Window() != broker.DefaultDedupWindow {
		t.Fatalf("default window: %v, %v", d, err)
	}
}

// hookUnderTest builds one vendor's webhook handler around fn and d, and
// delivers the same delivery to it.
type hookUnderTest struct {
	newHandler func(t *testing.T, fn func() error, d broker.Deduper) http.Handler
	deliver    func(t *testing.T, h http.Handler) *httptest.ResponseRecorder
}

func dedupHooks(t *testing.T) map[string]hookUnderTest {
	const secret = "whsec_dedup_test_1"
	entrupyBody := `{"id":"evt_9","event":"session.completed","data":{"entrupy_id":"ent_9"}}`
	fhCfg := sentiance.FirehoseConfig{AppID: "app-1", Username: "fh-user", Password: "fh-pass-dedup"}
	fhBody := []byte(`{"data":[{"meta":{"message_type":"TimelineEvent"},"data":{"user_id":"u-9"}}]}`)

	uq := uqudotest.NewServer(t)
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{JWKSURL: uq.URL + "/api/.well-known/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	jws, err := uq.SignResult(uqudotest.ResultClaims{SessionID: "5c0ffee0-0000-4000-8000-000000000009"})
	if err != nil {
		t.Fatal(err)
	}

	return map[string]hookUnderTest{
		"entrupy": {
			newHandler: func(t *testing.T, fn func() error, d broker.Deduper) http.Handler {
				h, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: secret},
					func(context.Context, *entrupy.Event) error { return fn() }, entrupy.WithDedup(d))
				if err != nil {
					t.Fatal(err)
				}
				return h
			},
			deliver: func(_ *testing.T, h http.Handler) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/webhooks/entrupy", strings.NewReader(entrupyBody))
				m := hmac.New(sha256.New, []byte(secret))
				m.Write([]byte(entrupyBody))
				r.Header.Set(entrupy.SignatureHeader, hex.EncodeToString(m.Sum(nil)))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			},
		},
		"sentiance": {
			newHandler: func(t *testing.T, fn func() error, d broker.Deduper) http.Handler {
				h, err := sentiance.NewFirehoseHandler(fhCfg,
					func(context.Context, []sentiance.Message) error { return fn() }, sentiance.WithDedup(d))
				if err != nil {
					t.Fatal(err)
				}
				return h
			},
			deliver: func(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
				r, err := sentiancetest.NewFirehoseRequest(context.Background(), "http://receiver.test/firehose", fhCfg, fhBody)
				if err != nil {
					t.Fatal(err)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			},
		},
		"uqudo": {
			newHandler: func(t *testing.T, fn func() error, d broker.Deduper) http.Handler {
				h, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{Verifier: v},
					func(context.Context, *uqudo.Result) error { return fn() }, uqudo.WithDedup(d))
				if err != nil {
					t.Fatal(err)
				}
				return h
			},
			deliver: func(_ *testing.T, h http.Handler) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/webhooks/uqudo", strings.NewReader(`{"jwsResult":"`+jws+`"}`))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			},
		},
	}
}

// TestStoreDeduper_AcrossHandlers: two handlers (two replicas) for each
// webhook, sharing one Store, process a delivery once: a replay to the
// other is answered 200 without calling back; after the window it is
// processed again; a failed callback does not mark it; a concurrent
// duplicate on the other replica gets 503 and is not processed.
func TestStoreDeduper_AcrossHandlers(t *testing.T) {
	for name, hook := range dedupHooks(t) {
		t.Run(name, func(t *testing.T) {
			clock := &dedupClock{t: testStart}
			store := broker.NewMemoryStore(clock.Now)
			var calls atomic.Int32
			var fail atomic.Bool
			var gate atomic.Pointer[chan struct{}]
			entered := make(chan struct{}, 1)
			fn := func() error {
				calls.Add(1)
				if g := gate.Load(); g != nil {
					entered <- struct{}{}
					<-*g
				}
				if fail.Load() {
					return errors.New("callback failed")
				}
				return nil
			}
			replica := func() http.Handler {
				d, err := broker.NewStoreDeduper(store, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return hook.newHandler(t, fn, d)
			}
			a, b := replica(), replica()
			status := func(h http.Handler) int { return hook.deliver(t, h).Code }

			// A failed callback is not marked: the other replica processes it.
			fail.Store(true)
			if got := status(a); got != http.StatusInternalServerError {
				t.Fatalf("failing callback: %d", got)
			}
			fail.Store(false)
			if got := status(b); got != http.StatusOK || calls.Load() != 2 {
				t.Fatalf("redelivery after a failure: %d, %d calls", got, calls.Load())
			}
			// A replay to either replica: 200, no call.
			for _, h := range []http.Handler{a, b, a} {
				if got := status(h); got != http.StatusOK {
					t.Fatalf("replay: %d", got)
				}
			}
			if calls.Load() != 2 {
				t.Fatalf("%d calls after replays, want 2", calls.Load())
			}
			// After the window: processed again.
			clock.Advance(time.Hour)
			if got := status(a); got != http.StatusOK || calls.Load() != 3 {
				t.Fatalf("after the window: %d, %d calls", got, calls.Load())
			}
			// A concurrent duplicate on the other replica.
			clock.Advance(time.Hour)
			g := make(chan struct{})
			gate.Store(&g)
			first := make(chan int)
			go func() { first <- status(a) }()
			<-entered
			gate.Store(nil)
			w := hook.deliver(t, b)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("concurrent duplicate: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
			}
			close(g)
			if got := <-first; got != http.StatusOK {
				t.Fatalf("first of the concurrent pair: %d", got)
			}
			if got := status(b); got != http.StatusOK || calls.Load() != 4 {
				t.Fatalf("after the concurrent pair: %d, %d calls", got, calls.Load())
			}
		})
	}
}

// TestStoreDeduper_AbandonedClaimExpires: a claim neither committed nor
// released (its replica died) stops blocking after DedupClaimTTL.
func TestStoreDeduper_AbandonedClaimExpires(t *testing.T) {
	ctx := context.Background()
	clock := &dedupClock{t: testStart}
	d, err := broker.NewStoreDeduper(broker.NewMemoryStore(clock.Now), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := d.Claim(ctx, "entrupy:event:abc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Claim(ctx, "entrupy:event:abc"); !errors.Is(err, broker.ErrDeliveryInProgress) {
		t.Fatalf("second claim: %v", err)
	}
	clock.Advance(broker.DedupClaimTTL)
	tok2, err := d.Claim(ctx, "entrupy:event:abc")
	if err != nil {
		t.Fatalf("claim after the first expired: %v", err)
	}
	// The dead replica's late Release does not drop the new claim.
	if err := d.Release(ctx, "entrupy:event:abc", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Claim(ctx, "entrupy:event:abc"); !errors.Is(err, broker.ErrDeliveryInProgress) {
		t.Fatalf("a stale release dropped the live claim: %v", err)
	}
	if err := d.Commit(ctx, "entrupy:event:abc", tok2); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Claim(ctx, "entrupy:event:abc"); !errors.Is(err, broker.ErrDuplicateDelivery) || !errors.Is(err, entrupy.ErrDuplicateDelivery) {
		t.Fatalf("after commit: %v", err)
	}
}
