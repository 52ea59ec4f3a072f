package tokencache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// gateStore is a memStore whose calls can be held at a gate (a channel closed to let them through) and counted.
// Load reads the entry first and then waits, so a held Load returns what the store held when it began.
type gateStore struct {
	*memStore
	mu                  sync.Mutex
	loadGate, saveGate  chan struct{} // nil: no wait
	deleteGate          chan struct{}
	deleteErr           error
	loads, saves, dels  atomic.Int64 // calls begun
	loadsDone, savesEnd atomic.Int64 // calls ended
}

func newGateStore() *gateStore { return &gateStore{memStore: newMemStore()} }

func (s *gateStore) gates() (load, save, del chan struct{}, delErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadGate, s.saveGate, s.deleteGate, s.deleteErr
}

func (s *gateStore) set(f func(s *gateStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func wait(ctx context.Context, gate chan struct{}) error {
	if gate == nil {
		return nil
	}
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *gateStore) Load(ctx context.Context, key string) (tokencache.Entry[string], bool, error) {
	s.loads.Add(1)
	defer s.loadsDone.Add(1)
	gate, _, _, _ := s.gates()
	e, ok, err := s.memStore.Load(ctx, key)
	if werr := wait(ctx, gate); werr != nil {
		return tokencache.Entry[string]{}, false, werr
	}
	return e, ok, err
}

func (s *gateStore) Save(ctx context.Context, key string, e tokencache.Entry[string]) error {
	s.saves.Add(1)
	defer s.savesEnd.Add(1)
	_, gate, _, _ := s.gates()
	if err := wait(ctx, gate); err != nil {
		return err
	}
	return s.memStore.Save(ctx, key, e)
}

func (s *gateStore) Delete(ctx context.Context, key string) error {
	s.dels.Add(1)
	_, _, gate, delErr := s.gates()
	if err := wait(ctx, gate); err != nil {
		return err
	}
	if delErr != nil {
		return delErr
	}
	return s.memStore.Delete(ctx, key)
}

// storeCacheIn builds a cache over store inside a synctest bubble; the caller defers Close.
func storeCacheIn(t *testing.T, store tokencache.Store[string, string], fetch tokencache.FetchFunc[string, string], opts ...tokencache.Option) *tokencache.Cache[string, string] {
	t.Helper()
	c, err := tokencache.NewWithStore(fetch, store, opts...)
	require.NoError(t, err)
	return c
}

// saveOld puts the value every test invalidates in the store, fresh for an hour.
func saveOld(t *testing.T, s tokencache.Store[string, string]) {
	t.Helper()
	require.NoError(t, s.Save(context.Background(), "k", tokencache.Entry[string]{
		Value: "old", Soft: time.Now().Add(50 * time.Minute), Hard: time.Now().Add(time.Hour),
	}))
}

func peek(c *tokencache.Cache[string, string]) string {
	v, _, _ := c.Peek("k")
	return v
}

// Issue 11 item 4. Invalidate used to drop the memory copy and then delete from the store: a Get in between
// loaded the old value from the store and kept it as fresh, so it outlived the Invalidate. (On the old code,
// the Get's store Load ran during the delete, that Get and the one after Invalidate returned "old".)
func TestInvalidate_GetDuringStoreDeleteCannotBringValueBack(t *testing.T) {
	for _, name := range []string{"Invalidate", "InvalidateIf"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := newGateStore()
				saveOld(t, store)
				var calls atomic.Int64
				c := storeCacheIn(t, store, minting(realClock{}, time.Hour, &calls))
				defer c.Close()
				ctx := context.Background()

				v, err := c.Get(ctx, "k")
				require.NoError(t, err)
				require.Equal(t, "old", v, "adopted from the store")

				gate := make(chan struct{})
				store.set(func(s *gateStore) { s.deleteGate = gate })
				invalidated := make(chan error, 1)
				go func() {
					if name == "Invalidate" {
						invalidated <- c.Invalidate(ctx, "k")
						return
					}
					if !c.InvalidateIf("k", func(v string) bool { return v == "old" }) {
						invalidated <- errors.New("InvalidateIf dropped nothing")
						return
					}
					invalidated <- nil
				}()
				synctest.Wait()
				require.EqualValues(t, 1, store.dels.Load(), "the delete is under way")
				loadsBefore := store.loads.Load()

				during := make(chan result, 1)
				go getAsync(c, ctx, "k", during)
				synctest.Wait()
				assert.Equal(t, loadsBefore, store.loads.Load(),
					"a fetch that begins during the delete must not read the store before the delete ends")
				assert.Empty(t, peek(c))

				close(gate)
				require.NoError(t, <-invalidated)
				synctest.Wait()
				// Invalidate has returned: "old" is gone for good.
				assert.NotEqual(t, "old", peek(c))
				v, err = c.Get(ctx, "k")
				require.NoError(t, err)
				assert.Equal(t, "k#1", v)
				r := <-during
				require.NoError(t, r.err)
				assert.Equal(t, "k#1", r.val, "the Get made during the delete waited for it, then fetched")
				e, ok := store.get("k")
				assert.True(t, ok)
				assert.Equal(t, "k#1", e.Value)
				assert.EqualValues(t, 1, calls.Load())
			})
		})
	}
}

// A fetch that began before Invalidate answers its own waiter, but what it obtained (here the store's old
// value) is not kept, even though a newer fetch keeps the slot in the index.
func TestInvalidate_FetchBegunBeforeIsNotKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		saveOld(t, store)
		release := make(chan struct{})
		var calls atomic.Int64
		c := storeCacheIn(t, store, func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
			<-release
			return fmt.Sprintf("%s#%d", key, calls.Add(1)), tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
		})
		defer c.Close()
		ctx := context.Background()

		loadGate, delGate := make(chan struct{}), make(chan struct{})
		store.set(func(s *gateStore) { s.loadGate, s.deleteGate = loadGate, delGate })
		before := make(chan result, 1)
		go getAsync(c, ctx, "k", before) // its fetch reads "old" and is held in Load
		synctest.Wait()
		require.EqualValues(t, 1, store.loads.Load())

		invalidated := make(chan error, 1)
		go func() { invalidated <- c.Invalidate(ctx, "k") }()
		synctest.Wait()
		during := make(chan result, 1)
		go getAsync(c, ctx, "k", during) // starts a new fetch, held until the delete ends
		synctest.Wait()
		close(delGate)
		require.NoError(t, <-invalidated)
		synctest.Wait() // the new fetch has read the (empty) store and is held in Load too

		close(loadGate) // the first fetch ends with "old"; the second goes on to the fetch function
		r := <-before
		require.NoError(t, r.err)
		assert.Equal(t, "old", r.val, "a Get concurrent with Invalidate may get the value its own fetch loaded")
		synctest.Wait()
		assert.Empty(t, peek(c), `"old" was not kept by the fetch that began before Invalidate`)

		close(release)
		r = <-during
		require.NoError(t, r.err)
		assert.Equal(t, "k#1", r.val)
		v, err := c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "k#1", v)
		assert.EqualValues(t, 1, calls.Load())
	})
}

// A fetch that began before Invalidate and fetches its value after it does not save that value to the store,
// where another replica would find it.
func TestInvalidate_FetchBegunBeforeDoesNotSave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
		var calls atomic.Int64
		c := storeCacheIn(t, store, func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
			n := calls.Add(1)
			<-gates[n-1]
			return fmt.Sprintf("%s#%d", key, n), tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
		})
		defer c.Close()
		ctx := context.Background()

		before := make(chan result, 1)
		go getAsync(c, ctx, "k", before) // fetching k#1
		synctest.Wait()
		delGate := make(chan struct{})
		store.set(func(s *gateStore) { s.deleteGate = delGate })
		invalidated := make(chan error, 1)
		go func() { invalidated <- c.Invalidate(ctx, "k") }()
		synctest.Wait()
		during := make(chan result, 1)
		go getAsync(c, ctx, "k", during) // a new fetch, which keeps the key's slot in the index
		synctest.Wait()
		close(delGate)
		require.NoError(t, <-invalidated)
		synctest.Wait()
		require.EqualValues(t, 2, calls.Load())

		close(gates[0])
		r := <-before
		require.NoError(t, r.err)
		assert.Equal(t, "k#1", r.val)
		synctest.Wait()
		_, ok := store.get("k")
		assert.False(t, ok, "k#1 was not saved")
		c2 := storeCacheIn(t, store, func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
			return "replica-2", tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
		})
		defer c2.Close()
		v, err := c2.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "replica-2", v, "another replica does not find k#1 in the store")

		close(gates[1])
		r = <-during
		require.NoError(t, r.err)
		assert.Equal(t, "k#2", r.val)
	})
}

// A fetch whose Save is under way when Invalidate runs: Invalidate waits for the Save, then deletes, so the
// fetched value does not survive in the store. (The old code deleted at once, and the Save landed after.)
func TestInvalidate_WaitsForSaveUnderWayThenDeletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		var calls atomic.Int64
		c := storeCacheIn(t, store, minting(realClock{}, time.Hour, &calls))
		defer c.Close()
		ctx := context.Background()

		saveGate := make(chan struct{})
		store.set(func(s *gateStore) { s.saveGate = saveGate })
		before := make(chan result, 1)
		go getAsync(c, ctx, "k", before)
		synctest.Wait()
		require.EqualValues(t, 1, store.saves.Load(), "the fetch is saving k#1")

		invalidated := make(chan error, 1)
		go func() { invalidated <- c.Invalidate(ctx, "k") }()
		synctest.Wait()
		assert.Zero(t, store.dels.Load(), "Invalidate waits for the save before deleting")

		close(saveGate)
		require.NoError(t, <-invalidated)
		_, ok := store.get("k")
		assert.False(t, ok, "the value saved by the fetch begun before Invalidate was deleted after its save")
		r := <-before
		require.NoError(t, r.err)
		assert.Equal(t, "k#1", r.val)
		synctest.Wait()
		assert.Empty(t, peek(c))
		v, err := c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "k#2", v)
	})
}

// A fetch detached by one Invalidate and still running when its slot leaves the index must not save its value
// after a later Invalidate: that one uses a new slot, which cannot know of the save.
func TestInvalidate_FetchOnRemovedSlotSavesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		release := make(chan struct{})
		var calls atomic.Int64
		c := storeCacheIn(t, store, func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
			n := calls.Add(1)
			if n == 1 {
				<-release
			}
			return fmt.Sprintf("%s#%d", key, n), tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
		})
		defer c.Close()
		ctx := context.Background()

		delGate := make(chan struct{})
		store.set(func(s *gateStore) { s.deleteGate = delGate })
		invalidated := make(chan error, 2)
		go func() { invalidated <- c.Invalidate(ctx, "k") }()
		synctest.Wait()
		first := make(chan result, 1)
		go getAsync(c, ctx, "k", first) // its fetch waits for the delete
		synctest.Wait()
		go func() { invalidated <- c.Invalidate(ctx, "k") }() // detaches that fetch
		synctest.Wait()
		close(delGate)
		require.NoError(t, <-invalidated)
		require.NoError(t, <-invalidated)
		synctest.Wait() // the detached fetch is in the fetch function; its slot has left the index
		require.EqualValues(t, 1, calls.Load())
		require.Zero(t, c.Len())

		require.NoError(t, c.Invalidate(ctx, "k"))
		close(release)
		r := <-first
		require.NoError(t, r.err)
		assert.Equal(t, "k#1", r.val)
		synctest.Wait()
		_, ok := store.get("k")
		assert.False(t, ok, "k#1, fetched by a fetch begun before the last Invalidate, was not saved")
		v, err := c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "k#2", v)
	})
}

// Without a store, the fetch under way at Invalidate answers its waiters, and later callers start another.
func TestInvalidate_NoStoreLaterCallsStartANewFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
		var calls atomic.Int64
		c, err := tokencache.New(func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
			n := calls.Add(1)
			<-gates[n-1]
			return fmt.Sprintf("%s#%d", key, n), tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
		})
		require.NoError(t, err)
		defer c.Close()
		ctx := context.Background()

		before := make(chan result, 1)
		go getAsync(c, ctx, "k", before)
		synctest.Wait()
		require.NoError(t, c.Invalidate(ctx, "k"))
		after := make(chan result, 1)
		go getAsync(c, ctx, "k", after)
		synctest.Wait()
		assert.EqualValues(t, 2, calls.Load(), "the Get after Invalidate did not join the fetch begun before")

		close(gates[0])
		r := <-before
		require.NoError(t, r.err)
		assert.Equal(t, "k#1", r.val)
		synctest.Wait()
		assert.Empty(t, peek(c), "k#1 is not kept")
		close(gates[1])
		r = <-after
		require.NoError(t, r.err)
		assert.Equal(t, "k#2", r.val)
		assert.Equal(t, "k#2", peek(c))
	})
}

// InvalidateIf without a store fences the background refresh of the value it drops.
func TestInvalidateIf_FencesRefreshUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int64
		c, err := tokencache.New(func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
			n := calls.Add(1)
			if n == 2 {
				<-release
			}
			return fmt.Sprintf("%s#%d", key, n), tokencache.Expiry{Hard: time.Now().Add(10 * time.Minute)}, nil
		}, tokencache.WithJitter(0))
		require.NoError(t, err)
		defer c.Close()
		ctx := context.Background()

		v, err := c.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "k#1", v)
		time.Sleep(9 * time.Minute) // stale: this Get starts the refresh, held in the fetch
		v, err = c.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "k#1", v)
		synctest.Wait()
		require.EqualValues(t, 2, calls.Load())

		require.True(t, c.InvalidateIf("k", func(v string) bool { return v == "k#1" }))
		close(release)
		synctest.Wait()
		assert.Empty(t, peek(c), "the refresh begun before the drop is not kept")
		v, err = c.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "k#3", v)
	})
}

// A failed store delete is reported and counted; the memory copy is dropped all the same, and the cache stops
// trusting the store for the key (which may still hold the value) until a fetched value is saved over it or a
// later Invalidate clears it.
func TestInvalidate_StoreDeleteFailure(t *testing.T) {
	clk := newFakeClock()
	store := newGateStore()
	require.NoError(t, store.Save(context.Background(), "k", tokencache.Entry[string]{
		Value: "old", Soft: clk.Now().Add(50 * time.Minute), Hard: clk.Now().Add(time.Hour),
	}))
	var calls atomic.Int64
	c := newStoreCache(t, minting(clk, time.Hour, &calls), store, tokencache.WithClock(clk), tokencache.WithJitter(0))
	ctx := context.Background()
	other := func() { // another replica saves a value, fresh for 50 minutes
		require.NoError(t, store.Save(ctx, "k", tokencache.Entry[string]{
			Value: "other", Soft: clk.Now().Add(50 * time.Minute), Hard: clk.Now().Add(time.Hour),
		}))
	}

	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "old", v)

	down := errors.New("store down")
	store.set(func(s *gateStore) { s.deleteErr = down })
	err = c.Invalidate(ctx, "k")
	require.ErrorIs(t, err, down)
	assert.Contains(t, err.Error(), "store delete")
	assert.EqualValues(t, 1, c.Stats().StoreErrors)
	assert.Empty(t, peek(c), "memory dropped all the same")
	e, _ := store.get("k")
	require.Equal(t, "old", e.Value, "the store still holds it")

	loads := store.loads.Load()
	v, err = c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k#1", v, "the store is not read for the key: it fetches")
	assert.Equal(t, loads, store.loads.Load())
	e, _ = store.get("k")
	assert.Equal(t, "k#1", e.Value, "and saves over the old value")

	// The save ended the distrust: the refresh of the stale value adopts another replica's saved value.
	other()
	clk.Advance(49 * time.Minute)
	_, err = c.Get(ctx, "k") // stale: starts the refresh
	require.NoError(t, err)
	eventually(t, "the refresh", func() bool { return peek(c) == "other" })
	assert.EqualValues(t, 1, calls.Load())

	// A later Invalidate that succeeds ends the distrust too.
	require.Error(t, c.Invalidate(ctx, "k"))
	other()
	store.set(func(s *gateStore) { s.deleteErr = nil })
	require.NoError(t, c.Invalidate(ctx, "k"))
	other()
	v, err = c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "other", v)
	assert.EqualValues(t, 1, calls.Load())
}

func TestInvalidate_NilOrEndedContext(t *testing.T) {
	store := newGateStore()
	saveOld(t, store)
	var calls atomic.Int64
	c := newStoreCache(t, minting(realClock{}, time.Hour, &calls), store)
	ctx := context.Background()
	_, err := c.Get(ctx, "k")
	require.NoError(t, err)

	var nilCtx context.Context // a nil context must give an error, not a panic
	err = c.Invalidate(nilCtx, "k")
	require.Error(t, err)
	assert.Empty(t, peek(c))
	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k#1", v, "the store, which may still hold the value, is not read")

	ended, cancel := context.WithCancel(ctx)
	cancel()
	store.set(func(s *gateStore) { s.deleteGate = make(chan struct{}) }) // only ctx can end the delete
	err = c.Invalidate(ended, "k")
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, peek(c))

	// Without a store, Invalidate cannot fail.
	c2 := newCache(t, minting(realClock{}, time.Hour, &calls))
	assert.NoError(t, c2.Invalidate(nilCtx, "k"))
}

// After Invalidate on one replica returns, another replica that has not the value in memory cannot load it.
func TestInvalidate_OtherReplicaDoesNotLoadIt(t *testing.T) {
	store := newMemStore()
	saveOld(t, store)
	var calls1, calls2 atomic.Int64
	c1 := newStoreCache(t, minting(realClock{}, time.Hour, &calls1), store)
	c2 := newStoreCache(t, minting(realClock{}, time.Hour, &calls2), store)
	ctx := context.Background()
	v, err := c1.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "old", v)
	require.NoError(t, c1.Invalidate(ctx, "k"))
	v, err = c2.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k#1", v)
}

// A caller whose context ends while its fetch waits for an invalidation's store delete gets ctx's error.
func TestGet_ContextEndsWhileFetchWaitsForInvalidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		var calls atomic.Int64
		c := storeCacheIn(t, store, minting(realClock{}, time.Hour, &calls), tokencache.WithFetchTimeout(time.Minute))
		defer c.Close()
		gate := make(chan struct{})
		store.set(func(s *gateStore) { s.deleteGate = gate })
		invalidated := make(chan error, 1)
		go func() { invalidated <- c.Invalidate(context.Background(), "k") }()
		synctest.Wait()

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Get(ctx, "k")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, err, ctx.Err())

		canceled, cancel2 := context.WithCancel(context.Background())
		go func() { time.Sleep(time.Second); cancel2() }()
		_, err = c.Get(canceled, "k")
		require.ErrorIs(t, err, context.Canceled)

		close(gate)
		require.NoError(t, <-invalidated)
		v, err := c.Get(context.Background(), "k")
		require.NoError(t, err)
		assert.Equal(t, "k#1", v)
	})
}

// A key with a fetch under way is not evicted: its fence lives in its slot.
func TestEviction_KeyWithFetchUnderWayIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		c, err := tokencache.New(func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
			if key == "a" {
				<-release
			}
			return key + "!", tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
		}, tokencache.WithMaxEntries(1))
		require.NoError(t, err)
		defer c.Close()
		ctx := context.Background()
		a := make(chan result, 1)
		go getAsync(c, ctx, "a", a)
		synctest.Wait()
		v, err := c.Get(ctx, "b")
		require.NoError(t, err)
		assert.Equal(t, "b!", v)
		assert.Equal(t, 2, c.Len(), "a is busy: kept over the bound")
		close(release)
		r := <-a
		require.NoError(t, r.err)
		v, err = c.Get(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, "c!", v)
		assert.Equal(t, 1, c.Len(), "back within the bound")
	})
}

// yieldStore is a memStore whose calls yield the processor first, as a networked store would, which widens the
// windows a race needs.
type yieldStore struct{ *memStore }

func (s yieldStore) Load(ctx context.Context, key string) (tokencache.Entry[string], bool, error) {
	runtime.Gosched()
	return s.memStore.Load(ctx, key)
}

func (s yieldStore) Delete(ctx context.Context, key string) error {
	runtime.Gosched()
	return s.memStore.Delete(ctx, key)
}

// Issue 11 item 4, under load: goroutines Get and invalidate two keys; a Get that starts after the Invalidate
// (or a successful InvalidateIf) of a value has returned must never return that value. The old code returned
// such values thousands of times in this test.
func TestInvalidate_RaceNoInvalidatedValueComesBack(t *testing.T) {
	store := yieldStore{newMemStore()}
	var calls atomic.Int64
	c := newStoreCache(t, minting(realClock{}, time.Hour, &calls), store)
	ctx := context.Background()

	var (
		seq         atomic.Int64 // logical time
		mu          sync.Mutex
		invalidated = map[string]int64{} // value -> seq after its first invalidation returned
		violations  atomic.Int64
		gets, invs  atomic.Int64
	)
	keys := []string{"a", "b"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1500 {
				key := keys[(i+g)%len(keys)]
				start := seq.Add(1)
				v, err := c.Get(ctx, key)
				if !assert.NoError(t, err) {
					return
				}
				gets.Add(1)
				mu.Lock()
				at, ok := invalidated[v]
				mu.Unlock()
				if ok && at < start {
					violations.Add(1)
				}
				if (i+g)%5 != 0 {
					continue
				}
				dropped := true
				if i%2 == 0 {
					assert.NoError(t, c.Invalidate(ctx, key))
				} else {
					dropped = c.InvalidateIf(key, func(cur string) bool { return cur == v })
				}
				if dropped {
					invs.Add(1)
					at := seq.Add(1)
					mu.Lock()
					if _, ok := invalidated[v]; !ok {
						invalidated[v] = at
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, violations.Load(), "Gets returned a value invalidated before they began (of %d Gets, %d invalidations)",
		gets.Load(), invs.Load())
	assert.Greater(t, invs.Load(), int64(500))
}
