package tokencache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// memStore is a Store in a map, standing in for Redis; failLoad makes Load fail.
type memStore struct {
	mu       sync.Mutex
	m        map[string]tokencache.Entry[string]
	failLoad bool
}

func newMemStore() *memStore { return &memStore{m: map[string]tokencache.Entry[string]{}} }

func (s *memStore) Load(_ context.Context, key string) (tokencache.Entry[string], bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLoad {
		return tokencache.Entry[string]{}, false, errors.New("store down")
	}
	e, ok := s.m[key]
	return e, ok, nil
}

func (s *memStore) Save(_ context.Context, key string, e tokencache.Entry[string]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = e
	return nil
}

func (s *memStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memStore) get(key string) (tokencache.Entry[string], bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	return e, ok
}

func newStoreCache(t *testing.T, fetch tokencache.FetchFunc[string, string], store tokencache.Store[string, string], opts ...tokencache.Option) *tokencache.Cache[string, string] {
	t.Helper()
	c, err := tokencache.NewWithStore(fetch, store, opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestStore_ReplicasShareValues(t *testing.T) {
	clk := newFakeClock()
	store := newMemStore()
	var calls1, calls2 atomic.Int64
	c1 := newStoreCache(t, minting(clk, time.Hour, &calls1), store, tokencache.WithClock(clk))
	c2 := newStoreCache(t, minting(clk, time.Hour, &calls2), store, tokencache.WithClock(clk))
	ctx := context.Background()

	v, info, err := c1.GetInfo(ctx, "k")
	require.NoError(t, err)
	require.False(t, info.Reused)
	saved, ok := store.get("k")
	require.True(t, ok, "a fetched value is saved")
	assert.Equal(t, "k#1", saved.Value)
	assert.Equal(t, clk.Now().Add(48*time.Minute), saved.Soft, "saved with the soft expiry before jitter")

	v2, info, err := c2.GetInfo(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, v, v2)
	assert.True(t, info.Reused, "taken from the store")
	assert.Zero(t, calls2.Load(), "no fetch on the second replica")

	// Past hard expiry, the second replica fetches and saves for the others.
	clk.Advance(time.Hour)
	v, err = c2.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k#1", v, "c2's first fetch")
	assert.EqualValues(t, 1, calls2.Load())
	saved, _ = store.get("k")
	assert.Equal(t, clk.Now().Add(time.Hour), saved.Hard)
	v, err = c1.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k#1", v)
	assert.EqualValues(t, 1, calls1.Load(), "c1 took c2's value from the store")
}

func TestStore_LoadErrorFallsThroughToFetch(t *testing.T) {
	store := newMemStore()
	store.failLoad = true
	var calls atomic.Int64
	c := newStoreCache(t, minting(realClock{}, time.Hour, &calls), store)
	v, err := c.Get(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "k#1", v)
	assert.EqualValues(t, 1, c.Stats().StoreErrors)
}

func TestStore_StaleEntryServedWhenFetchFails(t *testing.T) {
	clk := newFakeClock()
	store := newMemStore()
	require.NoError(t, store.Save(context.Background(), "k", tokencache.Entry[string]{
		Value: "shared", Soft: clk.Now().Add(-time.Minute), Hard: clk.Now().Add(5 * time.Minute),
	}))
	var calls atomic.Int64
	c := newStoreCache(t, func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
		calls.Add(1)
		return "", tokencache.Expiry{}, errors.New("vendor down")
	}, store, tokencache.WithClock(clk))

	v, info, err := c.GetInfo(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "shared", v)
	assert.True(t, info.Reused)
	assert.EqualValues(t, 1, calls.Load(), "the stale store entry was not adopted without trying a fetch")

	// The failure arms the backoff: the stale value is served without a new fetch.
	v, err = c.Get(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "shared", v)
	c.Close()
	assert.EqualValues(t, 1, calls.Load())
}

func TestStore_InvalidateDeletesFromStore(t *testing.T) {
	store := newMemStore()
	var calls atomic.Int64
	c := newStoreCache(t, minting(realClock{}, time.Hour, &calls), store)
	ctx := context.Background()

	_, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.False(t, c.InvalidateIf("k", func(v string) bool { return v == "other" }))
	_, ok := store.get("k")
	assert.True(t, ok)

	assert.True(t, c.InvalidateIf("k", func(v string) bool { return v == "k#1" }))
	_, ok = store.get("k")
	assert.False(t, ok)

	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "k#2", v)
	require.NoError(t, c.Invalidate(ctx, "k"))
	_, ok = store.get("k")
	assert.False(t, ok)
	assert.Equal(t, 0, c.Len())
}

func TestStore_EntryWithoutSoftIsAdoptedWhileFresh(t *testing.T) {
	clk := newFakeClock()
	store := newMemStore()
	require.NoError(t, store.Save(context.Background(), "k", tokencache.Entry[string]{
		Value: "shared", Hard: clk.Now().Add(time.Hour), // no Soft: derived, 48m from now
	}))
	var calls atomic.Int64
	c := newStoreCache(t, minting(clk, time.Hour, &calls), store, tokencache.WithClock(clk))
	v, info, err := c.GetInfo(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "shared", v)
	assert.True(t, info.Reused)
	assert.Zero(t, calls.Load())
}
