package broker_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// memStore is a Store shared by two brokers, standing in for Redis.
type memStore struct {
	mu   sync.Mutex
	m    map[string]broker.StoredGrant
	fail bool
}

func (s *memStore) Load(_ context.Context, key string) (broker.StoredGrant, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return broker.StoredGrant{}, false, errors.New("store down")
	}
	g, ok := s.m[key]
	return g, ok, nil
}

func (s *memStore) Save(_ context.Context, key string, g broker.StoredGrant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("store down")
	}
	s.m[key] = g
	return nil
}

func (s *memStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func TestBroker_StoreSharesGrantsBetweenReplicas(t *testing.T) {
	h := newHarness(t)
	store := &memStore{m: map[string]broker.StoredGrant{}}
	a := h.broker(broker.WithStore(store))
	b := h.broker(broker.WithStore(store))

	first, err := a.Start(background, entrupyReq("user-000001"))
	require.NoError(t, err)
	assert.Contains(t, store.m, "entrupy:user-000001")

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
	assert.NotContains(t, store.m, "entrupy:user-000001", "Invalidate deletes the shared copy")
}

func TestBroker_StoreErrorsDoNotFailStart(t *testing.T) {
	h := newHarness(t)
	store := &memStore{m: map[string]broker.StoredGrant{}, fail: true}
	b := h.broker(broker.WithStore(store))
	g, err := b.Start(background, request(broker.Sentiance, "user-000001"))
	require.NoError(t, err)
	assert.NotEmpty(t, g.Token)
	again, err := b.Start(background, request(broker.Sentiance, "user-000001"))
	require.NoError(t, err)
	assert.True(t, again.Reused, "memory still reuses")
}
