package brokertest_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	ctx = context.Background()
	t0  = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

func TestNew_AllVendors(t *testing.T) {
	env := brokertest.New(t, brokertest.WithTime(t0))
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			g, err := env.Broker.Start(ctx, env.Request(v, "user-0001"))
			require.NoError(t, err)
			assert.Equal(t, v, g.Vendor)
			assert.False(t, g.Reused)
			assert.True(t, g.ExpiresAt.After(t0), "expiry from the shared clock: %v", g.ExpiresAt)
			assert.Equal(t, 1, env.MintCalls(v))

			again, err := env.Broker.Start(ctx, env.Request(v, "user-0001"))
			require.NoError(t, err)
			assert.True(t, again.Reused)
			assert.Equal(t, 1, env.MintCalls(v), "a reused grant costs no vendor call")
		})
	}
	assert.Zero(t, env.MintCalls("nobody"))
}

func TestEnv_FakesSeeTheBrokersCalls(t *testing.T) {
	env := brokertest.New(t, brokertest.WithIDVParams(broker.IDVParams{WorkflowID: "kyc-gold"}))

	g, err := env.Broker.Start(ctx, env.Request(broker.IDV, "user-0001"))
	require.NoError(t, err)
	rec, ok := env.IDV.Session(g.SessionID)
	require.True(t, ok)
	assert.Equal(t, "kyc-gold", rec.WorkflowID)
	assert.Equal(t, "user-0001", rec.Metadata["externalUserId"])

	g, err = env.Broker.Start(ctx, env.Request(broker.Entrupy, "user-0001"))
	require.NoError(t, err)
	uid, ok := env.Entrupy.SignedRequestUser(g.Token)
	require.True(t, ok)
	assert.Equal(t, "user-0001", uid)
	u, _ := env.Entrupy.User("user-0001")
	assert.Equal(t, brokertest.DefaultEmail, u.Email)

	g, err = env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0001"))
	require.NoError(t, err)
	_, restored, err := env.Sentiance.Redeem(g.Token)
	require.NoError(t, err)
	assert.False(t, restored)

	g, err = env.Broker.Start(ctx, env.Request(broker.Uqudo, "user-0001"))
	require.NoError(t, err)
	data, _, ok := env.Uqudo.SessionData(g.SessionID)
	require.True(t, ok)
	assert.Equal(t, uqudo.DocumentTypePassport, data.Documents[0].DocumentType)
}

func TestEnv_SharedClock(t *testing.T) {
	env := brokertest.New(t, brokertest.WithTime(t0))
	first, err := env.Broker.Start(ctx, env.Request(broker.Entrupy, "user-0001"))
	require.NoError(t, err)
	assert.Equal(t, t0.Add(entrupytest.DefaultTokenLifetime), first.ExpiresAt, "the fake dates exp by the shared clock")

	// Past the grant's refresh time by the shared clock, a new one is minted
	// (in the background: the still-valid grant is served meanwhile).
	env.Clock.Set(first.RefreshAfter.Add(time.Second))
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := env.Broker.Start(ctx, env.Request(broker.Entrupy, "user-0001"))
		require.NoError(t, err)
		if g.Token != first.Token {
			break
		}
		require.True(t, time.Now().Before(deadline), "no new grant after the refresh time")
		time.Sleep(time.Millisecond)
	}
	assert.Equal(t, 2, env.MintCalls(broker.Entrupy))

	// Past the code's expiry, the Sentiance fake refuses it.
	g, err := env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0002"))
	require.NoError(t, err)
	env.Clock.Advance(sentiancetest.DefaultCodeTTL)
	_, _, err = env.Sentiance.Redeem(g.Token)
	assert.ErrorIs(t, err, sentiancetest.ErrCodeExpired)
}

func TestEnv_FaultInjection(t *testing.T) {
	env := brokertest.New(t)

	env.Sentiance.FailNext(1, sentiancetest.Failure{Status: http.StatusServiceUnavailable})
	_, err := env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0001"))
	assert.ErrorIs(t, err, broker.ErrServer)
	_, err = env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0001"))
	require.NoError(t, err)
	assert.Equal(t, 2, env.MintCalls(broker.Sentiance))

	// One 429 per vendor, with a long Retry-After: fast retries keep the
	// whole round well under a second.
	env.Entrupy.FailNext(1, entrupytest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	env.Sentiance.FailNext(1, sentiancetest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	env.IDV.FailNext(1, idvtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	env.Uqudo.FailNext(1, uqudotest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	start := time.Now()
	for _, v := range broker.Vendors() {
		_, err := env.Broker.Start(ctx, env.Request(v, "user-0002"))
		require.NoError(t, err, v)
	}
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, 2, env.Entrupy.Calls(entrupytest.RouteAuthorizeUser))
	assert.Equal(t, 2, env.IDV.Calls(idvtest.RouteCreateDevice))
}

func TestWithVendors(t *testing.T) {
	env := brokertest.New(t, brokertest.WithVendors(broker.Entrupy))
	_, err := env.Broker.Start(ctx, env.Request(broker.Entrupy, "user-0001"))
	require.NoError(t, err)
	_, err = env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0001"))
	assert.Error(t, err, "Sentiance is not configured")
	assert.Zero(t, env.MintCalls(broker.Sentiance))
	assert.NotNil(t, env.Sentiance, "every fake runs anyway")

	_, err = brokertest.Start(brokertest.WithVendors("nobody"))
	assert.ErrorContains(t, err, "unknown vendor")
}

func TestWithFakeOptions(t *testing.T) {
	env := brokertest.New(t,
		brokertest.WithEntrupyFake(entrupytest.WithAPIToken("tok_custom_123456")),
		brokertest.WithSentianceFake(sentiancetest.WithCodeTTL(time.Minute)),
		brokertest.WithIDVFake(idvtest.WithAPIKey("k-custom-123456")),
		brokertest.WithUqudoFake(uqudotest.WithClientCredentials("my-client", "my-secret-0123456789")),
		brokertest.WithUqudoParams(broker.UqudoParams{Data: uqudo.SessionData{
			Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypeGenericID}},
		}}),
	)
	assert.Equal(t, "tok_custom_123456", env.Entrupy.Credentials().APIToken)
	for _, v := range broker.Vendors() {
		_, err := env.Broker.Start(ctx, env.Request(v, "user-0001"))
		require.NoError(t, err, "the clients carry each fake's credentials: %s", v)
	}
	g, err := env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0002"))
	require.NoError(t, err)
	assert.True(t, env.Clock.Now().Add(time.Minute).Equal(g.ExpiresAt), "%v", g.ExpiresAt)
	g, err = env.Broker.Start(ctx, env.Request(broker.Uqudo, "user-0002"))
	require.NoError(t, err)
	data, _, _ := env.Uqudo.SessionData(g.SessionID)
	assert.Equal(t, uqudo.DocumentTypeGenericID, data.Documents[0].DocumentType)
}

func TestWithBrokerOptions(t *testing.T) {
	env := brokertest.New(t, brokertest.WithBrokerOptions(broker.WithReuse(broker.Sentiance, false)))
	for range 2 {
		_, err := env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0001"))
		require.NoError(t, err)
	}
	assert.Equal(t, 2, env.MintCalls(broker.Sentiance), "reuse is off")

	_, err := brokertest.Start(brokertest.WithBrokerOptions(broker.WithMaxEntries(0)))
	assert.ErrorIs(t, err, broker.ErrInvalidInput, "a bad broker option fails Start (and what it started is closed)")
}

func TestStart_Close(t *testing.T) {
	env, err := brokertest.Start(nil)
	require.NoError(t, err)
	_, err = env.Broker.Start(ctx, env.Request(broker.IDV, "user-0001"))
	require.NoError(t, err)
	url := env.IDV.URL
	env.Close()
	env.Close() // twice is fine
	resp, err := http.Get(url)
	if resp != nil {
		resp.Body.Close()
	}
	assert.Error(t, err, "the fakes are closed")
}

func TestClock(t *testing.T) {
	var zero brokertest.Clock
	assert.True(t, zero.Now().IsZero())

	c := brokertest.NewClock(t0)
	assert.Equal(t, t0, c.Now())
	assert.Equal(t, t0.Add(time.Hour), c.Advance(time.Hour))
	assert.Equal(t, t0, c.Advance(-time.Hour))
	c.Set(t0.Add(time.Minute))
	assert.Equal(t, t0.Add(time.Minute), c.Now())

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, t0.Add(time.Minute+800*time.Second), c.Now())
}

// gate holds every vendor answer until opened, and tracks calls in flight.
type gate struct {
	open     chan struct{}
	inflight atomic.Int32
	seen     atomic.Int32
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (g *gate) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		g.inflight.Add(1)
		defer g.inflight.Add(-1)
		g.seen.Add(1)
		<-g.open
		return next.RoundTrip(r)
	})
}

func TestWithRoundTripper(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	env := brokertest.New(t, brokertest.WithRoundTripper(g.wrap))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0001")) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.inflight.Load() < 1 {
		require.True(t, time.Now().Before(deadline), "no vendor call went through the wrapper")
		time.Sleep(time.Millisecond)
	}
	assert.EqualValues(t, 1, g.inflight.Load(), "one shared vendor call for concurrent Starts")
	close(g.open)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, env.MintCalls(broker.Sentiance))
	assert.EqualValues(t, 1, g.seen.Load())
}

func TestEnv_NewBroker(t *testing.T) {
	store := broker.NewMemoryStore(nil)
	var calls atomic.Int32
	count := func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return next.RoundTrip(r)
		})
	}
	env, err := brokertest.Start(brokertest.WithTime(t0), brokertest.WithRoundTripper(count),
		brokertest.WithBrokerOptions(broker.WithStore(store)))
	require.NoError(t, err)
	defer env.Close()

	// A second replica: the same Store (from WithBrokerOptions), clients and clock.
	replica, err := env.NewBroker()
	require.NoError(t, err)
	require.NotSame(t, env.Broker, replica)
	first, err := env.Broker.Start(ctx, env.Request(broker.Entrupy, "user-0001"))
	require.NoError(t, err)
	second, err := replica.Start(ctx, env.Request(broker.Entrupy, "user-0001"))
	require.NoError(t, err)
	assert.True(t, second.Reused, "the replica reuses the grant from the shared Store")
	assert.Equal(t, first.Token, second.Token)
	assert.Equal(t, 1, env.MintCalls(broker.Entrupy))

	// opts come last and may replace the Env's.
	noReuse, err := env.NewBroker(broker.WithReuse(broker.Sentiance, false), broker.WithStore(broker.NewMemoryStore(env.Clock.Now)))
	require.NoError(t, err)
	for range 2 {
		g, err := noReuse.Start(ctx, env.Request(broker.Sentiance, "user-0001"))
		require.NoError(t, err)
		assert.False(t, g.Reused)
	}
	assert.Equal(t, 2, env.MintCalls(broker.Sentiance))
	before := calls.Load()
	g, err := noReuse.Start(ctx, env.Request(broker.IDV, "user-0001"))
	require.NoError(t, err)
	assert.Greater(t, calls.Load(), before, "its vendor calls go through WithRoundTripper")
	assert.False(t, g.ExpiresAt.After(t0.Add(24*time.Hour)), "the Env's clock: %v", g.ExpiresAt)

	_, err = env.NewBroker(broker.WithMaxEntries(0))
	assert.ErrorIs(t, err, broker.ErrInvalidInput)

	env.Close()
	_, err = env.NewBroker()
	assert.Error(t, err, "no broker after Close")
	// Closed by env.Close: a held grant is still served, and a new one fails
	// in the closed broker's cache (an open broker would reach the closed
	// client and fail with "client is closed").
	_, err = replica.Start(ctx, env.Request(broker.Entrupy, "user-0001"))
	assert.NoError(t, err)
	for _, b := range []*broker.Broker{replica, noReuse, env.Broker} {
		_, err = b.Start(ctx, env.Request(broker.Entrupy, "user-0002"))
		assert.ErrorContains(t, err, "cache closed")
	}
}
