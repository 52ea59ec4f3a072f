package broker_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
)

// testStart is where every test's clock starts.
var testStart = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// testEnv is a brokertest.Env whose vendor calls are watched: counted, held
// back (hold) or slowed (delay), with the number in flight tracked.
type testEnv struct {
	*brokertest.Env

	gate        atomic.Pointer[chan struct{}]
	delay       atomic.Int64 // nanoseconds
	calls       atomic.Int32 // every vendor call the clients sent
	inflight    atomic.Int32
	maxInflight atomic.Int32
}

// newEnv starts a brokertest.Env at testStart, with IDV workflow "wf-default"
// and a TTL of one hour, plus opts.
func newEnv(t testing.TB, opts ...brokertest.Option) *testEnv {
	t.Helper()
	e := &testEnv{}
	e.Env = brokertest.New(t, append([]brokertest.Option{
		brokertest.WithTime(testStart),
		brokertest.WithIDVParams(broker.IDVParams{WorkflowID: "wf-default", TTL: time.Hour}),
		brokertest.WithRoundTripper(e.watch),
	}, opts...)...)
	return e
}

// newBroker is another broker over the Env's fakes (Env.NewBroker), with opts.
func (e *testEnv) newBroker(t testing.TB, opts ...broker.Option) *broker.Broker {
	t.Helper()
	b, err := e.NewBroker(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (e *testEnv) watch(next http.RoundTripper) http.RoundTripper {
	return transportFunc(func(r *http.Request) (*http.Response, error) {
		e.calls.Add(1)
		n := e.inflight.Add(1)
		defer e.inflight.Add(-1)
		for {
			m := e.maxInflight.Load()
			if n <= m || e.maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		if g := e.gate.Load(); g != nil {
			<-*g
		}
		if d := time.Duration(e.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		return next.RoundTrip(r)
	})
}

// hold makes vendor calls wait until the returned release is called.
func (e *testEnv) hold() (release func()) {
	ch := make(chan struct{})
	e.gate.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			e.gate.Store(nil)
			close(ch)
		})
	}
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

func userID(i int) string { return fmt.Sprintf("user-%06d", i) }

var background = context.Background()
