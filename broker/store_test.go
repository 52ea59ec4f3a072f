package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
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
	h := newHarness(t)
	store := broker.NewMemoryStore(h.clock.Now)
	a := h.broker(broker.WithStore(store))
	b := h.broker(broker.WithStore(store))

	first, err := a.Start(background, entrupyReq("user-000001"))
	require.NoError(t, err)
	assert.True(t, stored(t, store, "entrupy:user-000001"))

	second, err := b.Start(background, entrupyReq("user-000001"))
	require.NoError(t, err)
	assert.Equal(t, first.Token, second.Token, "the other replica reuses the stored grant")
	assert.True(t, second.Reused)
	assert.Equal(t, 1, h.upstream(broker.Entrupy))

	// Other inputs on the second replica replace the grant everywhere.
	req := entrupyReq("user-000001")
	req.Entrupy.SDKAuthorizationRequest = "new-sdk-request"
	third, err := b.Start(background, req)
	require.NoError(t, err)
	assert.False(t, third.Reused)
	assert.Equal(t, 2, h.upstream(broker.Entrupy))

	require.NoError(t, b.Invalidate(background, broker.Entrupy, "user-000001"))
	assert.False(t, stored(t, store, "entrupy:user-000001"), "Invalidate deletes the shared copy")
}

func TestBroker_StoreErrorsDoNotFailStart(t *testing.T) {
	h := newHarness(t)
	b := h.broker(broker.WithStore(downStore{}))
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
