package broker_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

const (
	entrupyToken = "entrupy-api-token-0123456789"
	sentianceKey = "sentiance-api-key-0123456789"
	idvKey       = "idv-api-key-0123456789"
)

// fakeClock is a settable clock shared by the broker, the vendor clients
// and the fakes, so expiry tests never sleep.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness wires the vendor fakes into one httpmock transport (by host) and
// builds vendor clients and a broker on it. Vendor answers can be held back
// (gate) or slowed (delay), and the number of calls in flight is tracked.
type harness struct {
	t     testing.TB
	clock *fakeClock
	mt    *httpmock.MockTransport
	ent   *entrupytest.Fake
	sen   *sentiancetest.Fake
	idv   *idvtest.Fake
	uq    *uqudotest.Fake

	gate        atomic.Pointer[chan struct{}]
	delay       atomic.Int64 // nanoseconds
	inflight    atomic.Int32
	maxInflight atomic.Int32

	entrupy   *entrupy.Client
	sentiance *sentiance.Client
	idvClient *idv.Client
	uqudo     *uqudo.Client
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock(), mt: httpmock.NewMockTransport()}
	h.ent = entrupytest.New(entrupytest.WithAPIToken(entrupyToken), entrupytest.WithClock(h.clock.Now))
	h.sen = sentiancetest.New(sentiancetest.WithAPIKey(sentianceKey), sentiancetest.WithClock(h.clock.Now))
	h.idv = idvtest.New(idvtest.WithAPIKey(idvKey), idvtest.WithClock(h.clock.Now))
	h.uq = uqudotest.New(uqudotest.WithClock(h.clock.Now))
	routes := map[string]httpmock.Responder{
		"uqudo.test":     h.uq.Responder(),
		"entrupy.test":   h.ent.Responder(),
		"sentiance.test": h.sen.Responder(),
		"idv.test":       h.idv.Responder(),
	}
	h.mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		n := h.inflight.Add(1)
		defer h.inflight.Add(-1)
		for {
			m := h.maxInflight.Load()
			if n <= m || h.maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		if g := h.gate.Load(); g != nil {
			<-*g
		}
		if d := time.Duration(h.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		responder, ok := routes[r.URL.Host]
		if !ok {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			return httpmock.NewStringResponse(http.StatusNotImplemented, ""), nil
		}
		return responder(r)
	})
	hc := &http.Client{Transport: h.mt}
	fast := func() (int, time.Duration, time.Duration) { return 0, time.Millisecond, time.Millisecond }
	var err error
	h.entrupy, err = entrupy.NewClient(entrupy.Credentials{APIToken: entrupyToken},
		entrupy.WithBaseURL("https://entrupy.test"), entrupy.WithHTTPClient(hc), entrupy.WithRetry(fast()), entrupy.WithClock(h.clock.Now))
	require.NoError(t, err)
	h.sentiance, err = sentiance.NewClient(sentiance.Credentials{APIKey: sentianceKey},
		sentiance.WithBaseURL("https://sentiance.test"), sentiance.WithHTTPClient(hc), sentiance.WithRetry(fast()))
	require.NoError(t, err)
	h.idvClient, err = idv.NewClient("https://idv.test", idv.Credentials{APIKey: idvKey},
		idv.WithHTTPClient(hc), idv.WithRetry(fast()), idv.WithClock(h.clock.Now))
	require.NoError(t, err)
	h.uqudo, err = uqudo.NewClient(h.uq.Credentials(), uqudo.WithBaseURL("https://uqudo.test"),
		uqudo.WithHTTPClient(hc), uqudo.WithRetry(fast()), uqudo.WithClock(h.clock.Now))
	require.NoError(t, err)
	t.Cleanup(h.uqudo.Close)
	return h
}

// broker builds a broker over all configured vendors plus opts.
func (h *harness) broker(opts ...broker.Option) *broker.Broker {
	h.t.Helper()
	all := append([]broker.Option{
		broker.WithClock(h.clock.Now),
		broker.WithEntrupy(h.entrupy),
		broker.WithSentiance(h.sentiance),
		broker.WithIDV(h.idvClient, broker.IDVParams{WorkflowID: "wf-default", TTL: time.Hour}),
		broker.WithUqudo(h.uqudo, broker.UqudoParams{Data: passportSession()}),
	}, opts...)
	b, err := broker.New(all...)
	require.NoError(h.t, err)
	h.t.Cleanup(b.Close)
	return b
}

// hold makes vendor answers wait until the returned release is called.
func (h *harness) hold() (release func()) {
	ch := make(chan struct{})
	h.gate.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			h.gate.Store(nil)
			close(ch)
		})
	}
}

// upstream is the number of grant-minting calls each vendor's fake saw.
func (h *harness) upstream(v broker.Vendor) int {
	switch v {
	case broker.Entrupy:
		return h.ent.Calls(entrupytest.RouteAuthorizeUser)
	case broker.Sentiance:
		return h.sen.Calls(sentiancetest.RouteCreateAuthCode)
	case broker.IDV:
		return h.idv.Calls(idvtest.RouteStartSession)
	case broker.Uqudo:
		return h.uq.Calls(uqudotest.RouteCreateSession)
	}
	h.t.Fatalf("no upstream counter for %s", v)
	return 0
}

func entrupyReq(user string) broker.Request {
	return broker.Request{Vendor: broker.Entrupy, UserID: user, Entrupy: &broker.EntrupyParams{
		SDKAuthorizationRequest: "sdk-request-" + user, Email: "ann@example.com", FirstName: "Ann",
	}}
}

func request(v broker.Vendor, user string) broker.Request {
	switch v {
	case broker.Entrupy:
		return entrupyReq(user)
	case broker.IDV:
		return broker.Request{Vendor: v, UserID: user, IDV: &broker.IDVParams{Metadata: map[string]any{"plan": "gold"}}}
	}
	return broker.Request{Vendor: v, UserID: user}
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting: " + msg)
		}
		time.Sleep(time.Millisecond)
	}
}

func userID(i int) string { return "user-" + strings.Repeat("0", 6-len(itoa(i))) + itoa(i) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

var background = context.Background()

func passportSession() uqudo.SessionData {
	return uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}}
}
