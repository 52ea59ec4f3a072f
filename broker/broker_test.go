package broker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

func TestBroker_StartEachVendor(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			g, err := b.Start(background, request(v, "user-000001"))
			require.NoError(t, err)
			assert.Equal(t, v, g.Vendor)
			assert.Equal(t, "user-000001", g.UserID)
			assert.False(t, g.Reused)
			assert.True(t, g.ExpiresAt.After(env.Clock.Now()), "expires in the future")
			assert.True(t, g.RefreshAfter.After(env.Clock.Now()) && g.RefreshAfter.Before(g.ExpiresAt), "refresh before expiry")
			assert.Equal(t, 1, env.MintCalls(v))
			switch v {
			case broker.Entrupy:
				user, ok := env.Entrupy.SignedRequestUser(g.Token)
				assert.True(t, ok, "the token is a signed request the fake issued")
				assert.Equal(t, "user-000001", user)
			case broker.Sentiance:
				userID, restored, err := env.Sentiance.Redeem(g.Token)
				require.NoError(t, err, "the token is a code the fake issued")
				assert.NotEmpty(t, userID)
				assert.False(t, restored)
			case broker.IDV:
				rec, ok := env.IDV.Session(g.SessionID)
				require.True(t, ok)
				assert.Equal(t, "wf-default", rec.WorkflowID)
				assert.Equal(t, "user-000001", rec.Metadata["externalUserId"])
				assert.Equal(t, "gold", rec.Metadata["plan"])
				u, err := url.Parse(g.HandoffURL)
				require.NoError(t, err)
				inner, err := url.Parse(u.Query().Get("url"))
				require.NoError(t, err)
				assert.Equal(t, g.Token, inner.Query().Get("authorization"))
				assert.Equal(t, g.SessionID, inner.Query().Get("sessionId"))
			case broker.Uqudo:
				data, _, ok := env.Uqudo.SessionData(g.SessionID)
				require.True(t, ok)
				assert.Equal(t, uqudo.DocumentTypePassport, data.Documents[0].DocumentType)
				assert.NotEmpty(t, g.QRCodeText)
				assert.NotEmpty(t, g.QRCodeTextWithDynamicLink)
			}
		})
	}
}

func TestBroker_SecondStartIsReused(t *testing.T) {
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			env := newEnv(t)
			b := env.Broker
			first, err := b.Start(background, request(v, "user-000001"))
			require.NoError(t, err)
			env.Clock.Advance(time.Minute)
			second, err := b.Start(background, request(v, "user-000001"))
			require.NoError(t, err)
			assert.True(t, second.Reused)
			assert.Equal(t, 1, env.MintCalls(v), "no upstream call for a reused grant")
			first.Reused = true
			assert.Equal(t, *first, *second)

			other, err := b.Start(background, request(v, "user-000002"))
			require.NoError(t, err)
			assert.False(t, other.Reused, "grants are per user")
			assert.Equal(t, 2, env.MintCalls(v))
		})
	}
}

func TestBroker_ReturnedGrantIsACopy(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	g, err := b.Start(background, entrupyReq("user-000001"))
	require.NoError(t, err)
	token := g.Token
	g.Token = "tampered"
	again, err := b.Start(background, entrupyReq("user-000001"))
	require.NoError(t, err)
	assert.Equal(t, token, again.Token)
}

func TestBroker_EntrupyReuseNeedsTheSameSDKRequest(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	req := entrupyReq("user-000001")
	first, err := b.Start(background, req)
	require.NoError(t, err)
	req.Entrupy.SDKAuthorizationRequest = "another-sdk-request"
	second, err := b.Start(background, req)
	require.NoError(t, err)
	assert.False(t, second.Reused)
	assert.NotEqual(t, first.Token, second.Token)
	assert.Equal(t, 2, env.MintCalls(broker.Entrupy))
	third, err := b.Start(background, req)
	require.NoError(t, err)
	assert.True(t, third.Reused)
	assert.Equal(t, second.Token, third.Token)
	assert.Equal(t, 2, env.MintCalls(broker.Entrupy))
}

func TestBroker_IDVReuseNeedsTheSameWorkflow(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	_, err := b.Start(background, request(broker.IDV, "user-000001"))
	require.NoError(t, err)
	g, err := b.Start(background, broker.Request{Vendor: broker.IDV, UserID: "user-000001", IDV: &broker.IDVParams{WorkflowID: "wf-other"}})
	require.NoError(t, err)
	assert.False(t, g.Reused)
	rec, ok := env.IDV.Session(g.SessionID)
	require.True(t, ok)
	assert.Equal(t, "wf-other", rec.WorkflowID)
}

func TestBroker_AfterSoftExpiryOneRefreshWithoutBlocking(t *testing.T) {
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			env := newEnv(t)
			b := env.Broker
			first, err := b.Start(background, request(v, "user-000001"))
			require.NoError(t, err)
			// Past the refresh point (and its jitter), before expiry.
			env.Clock.Advance(first.RefreshAfter.Sub(env.Clock.Now()) + time.Second)
			require.True(t, env.Clock.Now().Before(first.ExpiresAt.Add(-time.Minute)), "still well before expiry")

			release := env.hold()
			defer release()
			for i := 0; i < 20; i++ {
				start := time.Now()
				g, err := b.Start(background, request(v, "user-000001"))
				require.NoError(t, err)
				assert.Less(t, time.Since(start), 500*time.Millisecond, "a stale grant is served at once")
				assert.True(t, g.Reused)
				assert.Equal(t, first.Token, g.Token)
				assert.Equal(t, first.SessionID, g.SessionID)
			}
			release()
			eventually(t, func() bool { return env.MintCalls(v) == 2 }, "one background refresh")
			eventually(t, func() bool {
				g, err := b.Start(background, request(v, "user-000001"))
				return err == nil && (g.Token != first.Token || g.SessionID != first.SessionID)
			}, "the refreshed grant is served")
			time.Sleep(20 * time.Millisecond)
			assert.Equal(t, 2, env.MintCalls(v), "exactly one refresh")
		})
	}
}

func TestBroker_InvalidateMakesExactlyOneNewCall(t *testing.T) {
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			env := newEnv(t)
			b := env.Broker
			first, err := b.Start(background, request(v, "user-000001"))
			require.NoError(t, err)
			require.NoError(t, b.Invalidate(background, v, "user-000001"))
			var wg sync.WaitGroup
			grants := make([]*broker.Grant, 50)
			for i := range grants {
				wg.Add(1)
				go func() {
					defer wg.Done()
					g, err := b.Start(background, request(v, "user-000001"))
					assert.NoError(t, err)
					grants[i] = g
				}()
			}
			wg.Wait()
			assert.Equal(t, 2, env.MintCalls(v))
			for _, g := range grants {
				require.NotNil(t, g)
				assert.NotEqual(t, first.Token+first.SessionID, g.Token+g.SessionID, "the dropped grant is not handed out")
			}
		})
	}
}

func TestBroker_ConcurrentStartsForOneUserShareOneCall(t *testing.T) {
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			env := newEnv(t)
			b := env.Broker
			env.delay.Store(int64(20 * time.Millisecond))
			var wg sync.WaitGroup
			tokens := make([]string, 500)
			for i := range tokens {
				wg.Add(1)
				go func() {
					defer wg.Done()
					g, err := b.Start(background, request(v, "user-000001"))
					if assert.NoError(t, err) {
						tokens[i] = g.Token + "|" + g.SessionID
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, env.MintCalls(v), "one upstream session for 500 concurrent Starts")
			for _, tok := range tokens {
				assert.Equal(t, tokens[0], tok)
			}
		})
	}
}

func TestBroker_ManyUsersRunConcurrently(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	env.delay.Store(int64(20 * time.Millisecond))
	start := time.Now()
	var wg sync.WaitGroup
	sessions := sync.Map{}
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, err := b.Start(background, request(broker.IDV, userID(i)))
			if assert.NoError(t, err) {
				sessions.Store(g.SessionID, true)
			}
		}()
	}
	wg.Wait()
	n := 0
	sessions.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, 500, n, "500 users, 500 sessions")
	assert.Equal(t, 500, env.MintCalls(broker.IDV))
	// Serially, 500 users x 2 calls x 20 ms would take 20 s.
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Greater(t, env.maxInflight.Load(), int32(10), "vendor calls overlapped")
}

func TestBroker_VendorFailureIsTypedAndNotCached(t *testing.T) {
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			env := newEnv(t)
			b := env.Broker
			switch v {
			case broker.Entrupy:
				env.Entrupy.FailNext(1, entrupytest.Failure{Route: entrupytest.RouteAuthorizeUser, Status: 500})
			case broker.Sentiance:
				env.Sentiance.FailNext(1, sentiancetest.Failure{Route: sentiancetest.RouteCreateAuthCode, Status: 500})
			case broker.IDV:
				env.IDV.FailNext(1, idvtest.Failure{Route: idvtest.RouteCreateDevice, Status: 500})
			case broker.Uqudo:
				env.Uqudo.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Status: 500})
			}
			_, err := b.Start(background, request(v, "user-000001"))
			require.Error(t, err)
			var opErr *broker.OpError
			require.ErrorAs(t, err, &opErr)
			assert.Equal(t, v, opErr.Vendor)
			assert.Contains(t, err.Error(), string(v))
			assert.ErrorIs(t, err, broker.ErrServer)
			var apiErr *broker.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, 500, apiErr.StatusCode)

			g, err := b.Start(background, request(v, "user-000001"))
			require.NoError(t, err, "the failure was not cached")
			assert.False(t, g.Reused)
		})
	}
}

func TestBroker_BadRequestsMakeNoCall(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	onlyEntrupy, err := broker.New(broker.WithEntrupy(env.EntrupyClient))
	require.NoError(t, err)
	defer onlyEntrupy.Close()
	longID := strings.Repeat("x", broker.MaxUserIDLen+1)
	cases := map[string]struct {
		b   *broker.Broker
		req broker.Request
	}{
		"unknown vendor":          {b, broker.Request{Vendor: "acme", UserID: "user-000001"}},
		"unconfigured vendor":     {onlyEntrupy, request(broker.Sentiance, "user-000001")},
		"empty user":              {b, request(broker.Sentiance, "")},
		"blank user":              {b, request(broker.Sentiance, "  ")},
		"long user":               {b, request(broker.Sentiance, longID)},
		"control char user":       {b, request(broker.Sentiance, "user\n01")},
		"invalid utf8 user":       {b, request(broker.Sentiance, "user\xff")},
		"entrupy without params":  {b, broker.Request{Vendor: broker.Entrupy, UserID: "user-000001"}},
		"entrupy without request": {b, broker.Request{Vendor: broker.Entrupy, UserID: "user-000001", Entrupy: &broker.EntrupyParams{Email: "a@b.co"}}},
		"entrupy bad email":       {b, broker.Request{Vendor: broker.Entrupy, UserID: "user-000001", Entrupy: &broker.EntrupyParams{SDKAuthorizationRequest: "r", Email: "nope"}}},
		"entrupy short user":      {b, entrupyReq("u1")},
		"uqudo bad data":          {b, broker.Request{Vendor: broker.Uqudo, UserID: "user-000001", Uqudo: &broker.UqudoParams{Data: uqudo.SessionData{}}}},
		"uqudo empty raw data":    {b, broker.Request{Vendor: broker.Uqudo, UserID: "user-000001", Uqudo: &broker.UqudoParams{Data: uqudo.RawSessionData("")}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g, err := tc.b.Start(background, tc.req)
			assert.Nil(t, g)
			require.ErrorIs(t, err, broker.ErrInvalidInput)
			var opErr *broker.OpError
			require.ErrorAs(t, err, &opErr)
		})
	}
	assert.Zero(t, env.calls.Load(), "no vendor call for bad input")
	_, err = b.Start(background, request(broker.Sentiance, "user-000001"))
	require.NoError(t, err)
	assert.Positive(t, env.calls.Load(), "the count sees the broker's vendor calls")

	//lint:ignore SA1012 a nil context is the bad input under test
	_, err = b.Start(nil, request(broker.Sentiance, "user-000001"))
	assert.ErrorIs(t, err, broker.ErrInvalidInput)
	assert.ErrorIs(t, b.Invalidate(background, "acme", "user-000001"), broker.ErrInvalidInput)
	assert.ErrorIs(t, onlyEntrupy.Invalidate(background, broker.IDV, "user-000001"), broker.ErrInvalidInput)
	assert.ErrorIs(t, b.Invalidate(background, broker.IDV, ""), broker.ErrInvalidInput)
	//lint:ignore SA1012 a nil context is the bad input under test
	assert.ErrorIs(t, b.Invalidate(nil, broker.IDV, "user-000001"), broker.ErrInvalidInput)
}

func TestBroker_IDVNeedsAWorkflow(t *testing.T) {
	env := newEnv(t)
	b, err := broker.New(broker.WithClock(env.Clock.Now), broker.WithIDV(env.IDVClient, broker.IDVParams{}))
	require.NoError(t, err)
	defer b.Close()
	_, err = b.Start(background, broker.Request{Vendor: broker.IDV, UserID: "user-000001"})
	require.ErrorIs(t, err, broker.ErrInvalidInput)
	g, err := b.Start(background, broker.Request{Vendor: broker.IDV, UserID: "user-000001", IDV: &broker.IDVParams{WorkflowID: "wf-1"}})
	require.NoError(t, err)
	assert.NotEmpty(t, g.SessionID)
}

func TestNew_Validates(t *testing.T) {
	_, err := broker.New()
	assert.ErrorIs(t, err, broker.ErrInvalidInput, "no vendor")
	for name, opt := range map[string]broker.Option{
		"nil option":    nil,
		"nil entrupy":   broker.WithEntrupy(nil),
		"nil sentiance": broker.WithSentiance(nil),
		"nil idv":       broker.WithIDV(nil, broker.IDVParams{}),
		"nil uqudo":     broker.WithUqudo(nil, broker.UqudoParams{}),
		"nil store":     broker.WithStore(nil),
		"nil clock":     broker.WithClock(nil),
		"nil logger":    broker.WithLogger(nil),
		"nil hook":      broker.WithOnGrant(nil),
		"zero entries":  broker.WithMaxEntries(0),
		"bad vendor":    broker.WithReuse("acme", false),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := broker.New(opt)
			assert.ErrorIs(t, err, broker.ErrInvalidInput)
		})
	}
}

func TestBroker_ReuseOff(t *testing.T) {
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithReuse(broker.Sentiance, false)))
	b := env.Broker
	for i := 0; i < 3; i++ {
		g, err := b.Start(background, request(broker.Sentiance, "user-000001"))
		require.NoError(t, err)
		assert.False(t, g.Reused)
	}
	assert.Equal(t, 3, env.MintCalls(broker.Sentiance))
	_, err := b.Start(background, request(broker.Entrupy, "user-000001"))
	require.NoError(t, err)
	_, err = b.Start(background, request(broker.Entrupy, "user-000001"))
	require.NoError(t, err)
	assert.Equal(t, 1, env.MintCalls(broker.Entrupy), "other vendors still reuse")
}

func TestBroker_OnGrantAndStats(t *testing.T) {
	var mu sync.Mutex
	var events []broker.GrantEvent
	logs := &strings.Builder{}
	var logMu sync.Mutex
	env := newEnv(t, brokertest.WithBrokerOptions(
		broker.WithOnGrant(func(_ context.Context, e broker.GrantEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}),
		broker.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&logMu, logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	))
	b := env.Broker
	g, err := b.Start(background, request(broker.Sentiance, "user-000001"))
	require.NoError(t, err)
	_, err = b.Start(background, request(broker.Sentiance, "user-000001"))
	require.NoError(t, err)
	env.Sentiance.FailNext(1, sentiancetest.Failure{Route: sentiancetest.RouteCreateAuthCode, Status: 503})
	_, err = b.Start(background, request(broker.Sentiance, "user-000002"))
	require.Error(t, err)

	require.Len(t, events, 3)
	assert.Equal(t, broker.GrantEvent{Vendor: broker.Sentiance, UserID: "user-000001", Reused: false, Latency: events[0].Latency}, events[0])
	assert.True(t, events[1].Reused)
	assert.Error(t, events[2].Err)
	assert.Equal(t, "user-000002", events[2].UserID)
	for _, e := range events {
		assert.Greater(t, e.Latency, time.Duration(0))
	}

	st := b.Stats()
	require.Contains(t, st, broker.Sentiance)
	s := st[broker.Sentiance]
	assert.EqualValues(t, 1, s.Hits)
	assert.EqualValues(t, 2, s.Misses)
	assert.EqualValues(t, 2, s.Fetches)
	assert.EqualValues(t, 1, s.Failures)
	assert.Equal(t, 2, s.Held, "both users have a slot; the failed one holds no grant")
	assert.Len(t, st, 4)

	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	assert.Contains(t, out, "vendor=sentiance")
	assert.NotContains(t, out, g.Token)
	assert.NotContains(t, out, sentiancetest.DefaultAPIKey)
	assert.NotContains(t, out, "user-000001", "user ids are not logged")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestBroker_MaxEntriesBoundsMemory(t *testing.T) {
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithMaxEntries(10)))
	b := env.Broker
	for i := 0; i < 100; i++ {
		_, err := b.Start(background, request(broker.Sentiance, userID(i)))
		require.NoError(t, err)
	}
	s := b.Stats()[broker.Sentiance]
	assert.LessOrEqual(t, s.Held, 10)
	assert.GreaterOrEqual(t, s.Evictions, uint64(90))
}

func TestBroker_CallerCancelDoesNotFailOthers(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	release := env.hold()
	defer release()
	ctx, cancel := context.WithCancel(background)
	leaderErr := make(chan error, 1)
	go func() {
		_, err := b.Start(ctx, request(broker.Sentiance, "user-000001"))
		leaderErr <- err
	}()
	eventually(t, func() bool { return env.inflight.Load() == 1 }, "the leader's call is in flight")
	follower := make(chan *broker.Grant, 1)
	go func() {
		g, err := b.Start(background, request(broker.Sentiance, "user-000001"))
		assert.NoError(t, err)
		follower <- g
	}()
	cancel()
	select {
	case err := <-leaderErr:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled caller did not return")
	}
	release()
	select {
	case g := <-follower:
		require.NotNil(t, g)
		assert.NotEmpty(t, g.Token)
	case <-time.After(10 * time.Second):
		t.Fatal("the follower did not get the grant")
	}
	assert.Equal(t, 1, env.MintCalls(broker.Sentiance))
}

func TestGrant_NeverPrintsItsToken(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	for _, v := range []broker.Vendor{broker.Entrupy, broker.Sentiance, broker.IDV} {
		g, err := b.Start(background, request(v, "user-000001"))
		require.NoError(t, err)
		require.NotEmpty(t, g.Token)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			assert.NotContains(t, fmt.Sprintf(verb, g), g.Token, verb)
			assert.NotContains(t, fmt.Sprintf(verb, *g), g.Token, verb)
			assert.NotContains(t, fmt.Sprintf(verb, []broker.Grant{*g}), g.Token, verb)
		}
		assert.NotContains(t, g.String(), g.Token)
		var buf strings.Builder
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("grant", "grant", g)
		assert.NotContains(t, buf.String(), g.Token)
		assert.Contains(t, buf.String(), `"user_id":"user-000001"`)

		raw, err := json.Marshal(g)
		require.NoError(t, err)
		var back broker.Grant
		require.NoError(t, json.Unmarshal(raw, &back))
		assert.Equal(t, g.Token, back.Token, "the JSON for the app carries the token")
		assert.Equal(t, g.ExpiresAt.UTC(), back.ExpiresAt.UTC())
		assert.Contains(t, string(raw), `"vendor":"`+string(v)+`"`)
		if v == broker.IDV {
			assert.NotContains(t, fmt.Sprintf("%v", g), "authorization=")
		}
	}
}

func TestOpError(t *testing.T) {
	inner := &entrupy.APIError{Vendor: "entrupy", Method: "POST", Path: "/v2/integrations/authorize-user", StatusCode: 401}
	err := error(&broker.OpError{Vendor: broker.Entrupy, Op: "start", Err: inner})
	assert.Equal(t, "broker: start entrupy: entrupy: POST /v2/integrations/authorize-user: 401 unauthorized", err.Error())
	assert.ErrorIs(t, err, broker.ErrUnauthorized)
	assert.ErrorIs(t, err, entrupy.ErrUnauthorized)
	assert.False(t, broker.IsRetryable(err))
	assert.True(t, errors.Is(&broker.OpError{Err: context.Canceled}, context.Canceled))
}
