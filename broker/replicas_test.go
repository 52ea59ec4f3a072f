package broker_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
)

// replicaStore is an in-process Store that is also a broker.Locker and a
// broker.Notifier, like broker/redisstore on Redis, for the broker's side
// of those interfaces (redisstore's tests cover the Redis side).
type replicaStore struct {
	*broker.MemoryStore

	mu      sync.Mutex
	locks   map[string]chan struct{} // held locks; closed on release
	subs    map[int]func(string)
	nextSub int
	events  []string // "save <key>", "release <key>"
	lockErr error    // if set, Lock fails with it
}

func newReplicaStore(now func() time.Time) *replicaStore {
	return &replicaStore{MemoryStore: broker.NewMemoryStore(now), locks: map[string]chan struct{}{}, subs: map[int]func(string){}}
}

func (s *replicaStore) log(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *replicaStore) Save(ctx context.Context, key string, g broker.StoredGrant) error {
	s.log("save " + key)
	return s.MemoryStore.Save(ctx, key, g)
}

func (s *replicaStore) Lock(ctx context.Context, key string) (func(), error) {
	for {
		s.mu.Lock()
		if s.lockErr != nil {
			s.mu.Unlock()
			return nil, s.lockErr
		}
		held, ok := s.locks[key]
		if !ok {
			ch := make(chan struct{})
			s.locks[key] = ch
			s.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					s.mu.Lock()
					delete(s.locks, key)
					s.events = append(s.events, "release "+key)
					s.mu.Unlock()
					close(ch)
				})
			}, nil
		}
		s.mu.Unlock()
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Delete deletes and tells every subscriber, as redisstore's does.
func (s *replicaStore) Delete(ctx context.Context, key string) error {
	if err := s.MemoryStore.Delete(ctx, key); err != nil {
		return err
	}
	s.notify(key)
	return nil
}

func (s *replicaStore) notify(key string) {
	s.mu.Lock()
	fns := make([]func(string), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(key)
	}
}

func (s *replicaStore) Subscribe(fn func(string)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

func (s *replicaStore) subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

func (s *replicaStore) heldLocks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.locks)
}

func (s *replicaStore) eventLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// replicaEnv is three brokers over the same fakes sharing store, with
// vendor answers slowed by delay.
func replicaEnv(t *testing.T, delay time.Duration) (*brokertest.Env, *replicaStore, []*broker.Broker) {
	t.Helper()
	var env *brokertest.Env
	store := newReplicaStore(func() time.Time { return env.Clock.Now() })
	env = brokertest.New(t, brokertest.WithBrokerOptions(broker.WithStore(store)),
		brokertest.WithRoundTripper(func(next http.RoundTripper) http.RoundTripper {
			return replicaRoundTrip(func(r *http.Request) (*http.Response, error) {
				time.Sleep(delay)
				return next.RoundTrip(r)
			})
		}))
	replicas := []*broker.Broker{env.Broker}
	for range 2 {
		b, err := env.NewBroker()
		require.NoError(t, err)
		replicas = append(replicas, b)
	}
	return env, store, replicas
}

type replicaRoundTrip func(*http.Request) (*http.Response, error)

func (f replicaRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// With a Locker store, replicas missing the same grant at once mint it once:
// the holder saves it, then releases; the others find it in the store.
func TestLocker_OneMintAcrossReplicas(t *testing.T) {
	env, store, replicas := replicaEnv(t, 50*time.Millisecond)
	for _, vendor := range broker.Vendors() {
		t.Run(string(vendor), func(t *testing.T) {
			req := env.Request(vendor, "replica-user-01")
			var wg sync.WaitGroup
			grants := make([]*broker.Grant, 60)
			for i := range grants {
				wg.Go(func() {
					g, err := replicas[i%3].Start(context.Background(), req)
					if assert.NoError(t, err) {
						grants[i] = g
					}
				})
			}
			wg.Wait()
			assert.Equal(t, 1, env.MintCalls(vendor), "one vendor call across three replicas")
			shared := 0
			for _, g := range grants {
				require.NotNil(t, g)
				assert.Equal(t, grants[0].Token, g.Token)
				assert.Equal(t, grants[0].SessionID, g.SessionID)
				if g.Reused {
					shared++
				}
			}
			assert.GreaterOrEqual(t, shared, 40, "the other replicas' Starts reuse the grant")
		})
	}
	// Every lock taken was released, after the grant was saved.
	events := store.eventLog()
	saved := map[string]bool{}
	for _, e := range events {
		if key, ok := strings.CutPrefix(e, "save "); ok {
			saved[key] = true
		}
		if key, ok := strings.CutPrefix(e, "release "); ok {
			assert.True(t, saved[key], "release of %s before its save: %v", key, events)
		}
	}
	assert.Zero(t, store.heldLocks())
}

// A failed mint releases the lock, so another replica can try.
func TestLocker_ReleasedWhenMintFails(t *testing.T) {
	env, store, replicas := replicaEnv(t, 0)
	env.Entrupy.FailNext(1, entrupytest.Failure{Route: entrupytest.RouteAuthorizeUser, Status: http.StatusBadRequest})
	req := env.Request(broker.Entrupy, "replica-user-02")
	_, err := replicas[0].Start(context.Background(), req)
	require.Error(t, err)
	assert.Equal(t, []string{"release entrupy:replica-user-02"}, store.eventLog())
	g, err := replicas[1].Start(context.Background(), req)
	require.NoError(t, err)
	assert.NotEmpty(t, g.Token)
}

// A Locker that cannot be reached does not fail Starts: the broker mints
// without the lock.
func TestLocker_UnavailableMintsWithoutLock(t *testing.T) {
	env, store, replicas := replicaEnv(t, 0)
	store.mu.Lock()
	store.lockErr = errors.New("store unavailable")
	store.mu.Unlock()
	for _, r := range replicas {
		g, err := r.Start(context.Background(), env.Request(broker.Sentiance, "replica-user-03"))
		require.NoError(t, err)
		assert.NotEmpty(t, g.Token)
	}
	assert.Equal(t, 1, env.MintCalls(broker.Sentiance), "the store still shares the saved grant")
}

// A Start whose context ends while it waits for another replica's lock
// gets a TransportError naming the vendor call; the lock holder goes on.
func TestLocker_WaitEndsWithContext(t *testing.T) {
	env, store, replicas := replicaEnv(t, 0)
	release, err := store.Lock(context.Background(), "entrupy:replica-user-04")
	require.NoError(t, err)
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = replicas[0].Start(ctx, env.Request(broker.Entrupy, "replica-user-04"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var te *broker.TransportError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "entrupy", te.Vendor)
	assert.Zero(t, env.MintCalls(broker.Entrupy))
}

// With a Notifier store, Invalidate on one replica makes the others drop
// the grant they hold in memory.
func TestNotifier_InvalidateDropsOtherReplicasCopies(t *testing.T) {
	env, store, replicas := replicaEnv(t, 0)
	assert.Equal(t, 3, store.subscribers())
	req := env.Request(broker.Entrupy, "replica-user-05")
	old, err := replicas[0].Start(context.Background(), req)
	require.NoError(t, err)
	for _, r := range replicas[1:] {
		g, err := r.Start(context.Background(), req)
		require.NoError(t, err)
		require.Equal(t, old.Token, g.Token)
		require.True(t, g.Reused)
	}
	require.NoError(t, replicas[0].Invalidate(context.Background(), broker.Entrupy, "replica-user-05"))
	next, err := replicas[1].Start(context.Background(), req)
	require.NoError(t, err)
	assert.NotEqual(t, old.Token, next.Token, "replica 1 dropped its copy")
	again, err := replicas[2].Start(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, next.Token, again.Token, "replica 2 dropped its copy and reuses the new grant")
	assert.Equal(t, 2, env.MintCalls(broker.Entrupy))

	// A late or repeated message drops only what was held before it: the
	// store's newer grant stays there.
	store.notify("entrupy:replica-user-05")
	_, ok, err := store.Load(context.Background(), "entrupy:replica-user-05")
	require.NoError(t, err)
	assert.True(t, ok, "the newer grant stays in the store")
	// Messages for unknown vendors or bad user ids are ignored.
	store.notify("nosuchvendor:replica-user-05")
	store.notify("entrupy:")
	store.notify("garbage")

	replicas[1].Close()
	replicas[2].Close()
	assert.Equal(t, 1, store.subscribers(), "Close unsubscribes")
}

// The receiving replica's fetch under way when the message comes keeps
// nothing: it may have read the old grant before the delete.
func TestNotifier_FencesFetchUnderWay(t *testing.T) {
	var gate atomic.Pointer[chan struct{}]
	var env *brokertest.Env
	store := newReplicaStore(func() time.Time { return env.Clock.Now() })
	env = brokertest.New(t, brokertest.WithBrokerOptions(broker.WithStore(store)),
		brokertest.WithRoundTripper(func(next http.RoundTripper) http.RoundTripper {
			return replicaRoundTrip(func(r *http.Request) (*http.Response, error) {
				if g := gate.Load(); g != nil {
					<-*g
				}
				return next.RoundTrip(r)
			})
		}))
	b, err := env.NewBroker()
	require.NoError(t, err)
	req := env.Request(broker.Entrupy, "replica-user-06")
	hold := make(chan struct{})
	gate.Store(&hold)
	done := make(chan *broker.Grant, 1)
	go func() {
		g, err := b.Start(context.Background(), req)
		assert.NoError(t, err)
		done <- g
	}()
	require.Eventually(t, func() bool { return store.heldLocks() == 1 },
		5*time.Second, time.Millisecond)
	store.notify("entrupy:replica-user-06") // the message comes while b mints
	gate.Store(nil)
	close(hold)
	first := <-done
	second, err := b.Start(context.Background(), req)
	require.NoError(t, err)
	assert.NotEqual(t, first.Token, second.Token, "the fenced mint was not kept")
}
