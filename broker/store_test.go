package broker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
)

// downStore is a Store that fails every call, standing in for Redis down.
type downStore struct{}

var errStoreDown = errors.New("store down")

func (downStore) Load(context.Context, string) (broker.StoredGrant, bool, error) {
	return broker.StoredGrant{}, false, errStoreDown
}
func (downStore) Save(context.Context, string, broker.StoredGrant) error { return errStoreDown }
func (downStore) Delete(context.Context, string) error                   { return errStoreDown }
func (downStore) SaveLedger(context.Context, string, broker.LedgerEntry, time.Duration) error {
	return errStoreDown
}
func (downStore) LoadLedger(context.Context, string) (broker.LedgerEntry, bool, error) {
	return broker.LedgerEntry{}, false, errStoreDown
}

func stored(t *testing.T, s broker.Store, key string) bool {
	t.Helper()
	_, ok, err := s.Load(background, key)
	require.NoError(t, err)
	return ok
}

func TestBroker_StoreSharesGrantsBetweenReplicas(t *testing.T) {
	env := newEnv(t)
	store := broker.NewMemoryStore(env.Clock.Now)
	a := env.newBroker(t, broker.WithStore(store))
	b := env.newBroker(t, broker.WithStore(store))

	first, err := a.Start(background, entrupyReq("user-000001"))
	require.NoError(t, err)
	assert.True(t, stored(t, store, "entrupy:user-000001"))

	second, err := b.Start(background, entrupyReq("user-000001"))
	require.NoError(t, err)
	assert.Equal(t, first.Token, second.Token, "the other replica reuses the stored grant")
	assert.True(t, second.Reused)
	assert.Equal(t, 1, env.MintCalls(broker.Entrupy))

	// Other inputs on the second replica replace the grant everywhere.
	req := entrupyReq("user-000001")
	req.Entrupy.SDKAuthorizationRequest = "new-sdk-request"
	third, err := b.Start(background, req)
	require.NoError(t, err)
	assert.False(t, third.Reused)
	assert.Equal(t, 2, env.MintCalls(broker.Entrupy))

	require.NoError(t, b.Invalidate(background, broker.Entrupy, "user-000001"))
	assert.False(t, stored(t, store, "entrupy:user-000001"), "Invalidate deletes the shared copy")
	// A replica that did not hold the grant does not get it back.
	c := env.newBroker(t, broker.WithStore(store))
	fourth, err := c.Start(background, req)
	require.NoError(t, err)
	assert.False(t, fourth.Reused)
	assert.NotEqual(t, third.Token, fourth.Token)
	assert.Equal(t, 3, env.MintCalls(broker.Entrupy))
}

func TestBroker_StoreErrorsDoNotFailStart(t *testing.T) {
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithStore(downStore{})))
	b := env.Broker
	g, err := b.Start(background, request(broker.Sentiance, "user-000001"))
	require.NoError(t, err)
	assert.NotEmpty(t, g.Token)
	again, err := b.Start(background, request(broker.Sentiance, "user-000001"))
	require.NoError(t, err)
	assert.True(t, again.Reused, "memory still reuses")
	assert.EqualValues(t, 1, b.LedgerStats().StoreErrors, "the ledger write failed and was counted")
	owner, err := b.Owner(background, broker.Sentiance, "user-000001")
	require.NoError(t, err, "this replica resolves from memory")
	assert.Equal(t, "user-000001", owner)
	_, err = b.Owner(background, broker.Sentiance, "user-000002")
	require.ErrorIs(t, err, errStoreDown, "a failing store is not a not-found")
	assert.NotErrorIs(t, err, broker.ErrNotFound)
	require.ErrorIs(t, b.Invalidate(background, broker.Sentiance, "user-000001"), errStoreDown)
}

func TestMemoryStore(t *testing.T) {
	clock := brokertest.NewClock(testStart)
	s := broker.NewMemoryStore(clock.Now)
	ctx := background
	g := broker.StoredGrant{Grant: broker.Grant{Vendor: broker.IDV, UserID: "u", Token: "tok-SECRET"},
		ExpiresAt: clock.Now().Add(time.Hour)}
	require.NoError(t, s.Save(ctx, "idv:u", g))
	got, ok, err := s.Load(ctx, "idv:u")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "tok-SECRET", got.Grant.Token)
	e := broker.LedgerEntry{Vendor: broker.IDV, UserID: "u", SessionID: "s1"}
	require.NoError(t, s.SaveLedger(ctx, "ledger:idv:session:s1", e, 2*time.Hour))
	le, ok, err := s.LoadLedger(ctx, "ledger:idv:session:s1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, e, le)
	_, ok, err = s.LoadLedger(ctx, "idv:u")
	require.NoError(t, err)
	assert.False(t, ok, "grants and ledger entries are apart")

	clock.Advance(time.Hour)
	_, ok, _ = s.Load(ctx, "idv:u")
	assert.False(t, ok, "a grant is gone at its ExpiresAt")
	_, ok, _ = s.LoadLedger(ctx, "ledger:idv:session:s1")
	assert.True(t, ok)
	clock.Advance(time.Hour + time.Nanosecond)
	_, ok, _ = s.LoadLedger(ctx, "ledger:idv:session:s1")
	assert.False(t, ok, "a ledger entry is gone after its ttl")

	require.NoError(t, s.Save(ctx, "idv:v", g))
	require.NoError(t, s.Delete(ctx, "idv:v"))
	require.NoError(t, s.Delete(ctx, "idv:missing"))
	_, ok, _ = s.Load(ctx, "idv:v")
	assert.False(t, ok)

	// Expired entries are swept as new ones are saved.
	for i := range 2048 {
		require.NoError(t, s.SaveLedger(ctx, "ledger:idv:user:"+userID(i), e, time.Minute))
	}
	clock.Advance(time.Hour)
	for i := range 1024 {
		require.NoError(t, s.SaveLedger(ctx, "ledger:idv:user:x"+userID(i), e, time.Minute))
	}
	grants, entries := s.Len()
	assert.Zero(t, grants)
	assert.LessOrEqual(t, entries, 1024)

	cancelled, cancel := context.WithCancel(background)
	cancel()
	_, _, err = s.Load(cancelled, "idv:u")
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, s.SaveLedger(cancelled, "k", e, time.Minute), context.Canceled)
	//lint:ignore SA1012 a nil context is the bad input under test
	_, _, err = s.LoadLedger(nil, "k")
	assert.ErrorIs(t, err, broker.ErrInvalidInput)

	// A StoredGrant prints without its token.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		assert.NotContains(t, fmt.Sprintf(verb, g), "tok-SECRET", verb)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("g", "g", g)
	assert.NotContains(t, buf.String(), "tok-SECRET")
}
