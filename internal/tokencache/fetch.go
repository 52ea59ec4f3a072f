package tokencache

import (
	"context"
	"fmt"
)

// call is one fetch under way, shared by the callers of its key.
type call[V any] struct {
	done chan struct{} // closed when res is set
	res  outcome[V]
}

// outcome is what a fetch produced: a value, an error, or both when the fetch failed but the store held a
// value still usable.
type outcome[V any] struct {
	snap     *snapshot[V]
	reused   bool // snap came from the store
	fallback bool // snap is the store's stale value, served because the fetch failed
	err      error
}

// slowGet serves a key that has no fresh value in memory (s is its slot, or nil if the lookup found none).
func (c *Cache[K, V]) slowGet(ctx context.Context, key K, s *slot[K, V]) (V, Info, error) {
	var zero V
	if ctx == nil {
		return zero, Info{}, errNilContext
	}
	s = c.lockSlot(key, s)
	now := c.now()
	if snap := s.snap.Load(); snap != nil && now < snap.usable {
		if now < snap.refreshAt {
			s.mu.Unlock()
			c.stats.hits.add()
		} else {
			c.refreshLocked(ctx, key, s, now)
			s.mu.Unlock()
			c.stats.staleHits.Add(1)
		}
		return snap.val, snap.info(true), nil
	}
	c.stats.misses.Add(1)
	cl := s.call
	if cl == nil {
		if now < s.retryAt {
			err := s.err
			s.mu.Unlock()
			return zero, Info{}, err
		}
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return zero, Info{}, err
		}
		cl = &call[V]{done: make(chan struct{})}
		if !c.launch(ctx, key, s, cl, false) {
			s.mu.Unlock()
			return zero, Info{}, ErrClosed
		}
	}
	s.mu.Unlock()

	select {
	case <-cl.done:
	case <-ctx.Done():
		select {
		case <-cl.done: // both ready: prefer the result
		default:
			return zero, Info{}, ctx.Err()
		}
	}
	if cl.res.snap == nil {
		return zero, Info{}, cl.res.err
	}
	return cl.res.snap.val, cl.res.snap.info(cl.res.reused), nil
}

// lockSlot returns the key's slot in the index with its mutex held: s if it is still there (marking it used),
// otherwise the index's slot, added if there is none.
func (c *Cache[K, V]) lockSlot(key K, s *slot[K, V]) *slot[K, V] {
	if s != nil && !s.gone.Load() {
		if !s.ref.Load() {
			s.ref.Store(true)
		}
		s.mu.Lock()
		if !s.gone.Load() { // removal happens with s.mu held, so s stays in the index until unlocked
			return s
		}
		s.mu.Unlock()
	}
	return c.insert(key, true)
}

// refreshLocked starts the background refresh of a stale value unless one is under way, a recent failure
// asks to wait, or too many refreshes are running. The caller holds s.mu.
func (c *Cache[K, V]) refreshLocked(ctx context.Context, key K, s *slot[K, V], now int64) {
	if s.call != nil || now < s.retryAt {
		return
	}
	if c.background.Add(1) > int64(c.opt.maxBackground) {
		c.background.Add(-1)
		return
	}
	if !c.launch(ctx, key, s, &call[V]{done: make(chan struct{})}, true) {
		c.background.Add(-1)
		return
	}
	c.stats.refreshes.Add(1)
}

// launch starts the fetch cl for s, unless the cache is closed. The caller holds s.mu.
func (c *Cache[K, V]) launch(ctx context.Context, key K, s *slot[K, V], cl *call[V], background bool) bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.closed {
		return false
	}
	s.call = cl
	c.wg.Add(1)
	go c.run(context.WithoutCancel(ctx), key, s, cl, background)
	return true
}

// run performs the fetch cl and publishes its outcome, whatever happens inside the fetch function.
func (c *Cache[K, V]) run(ctx context.Context, key K, s *slot[K, V], cl *call[V], background bool) {
	res := outcome[V]{err: errGoexit} // kept only if the fetch function never returns
	admitted, gen := false, uint64(0)
	defer func() {
		c.finish(s, cl, admitted, gen, res)
		if background {
			c.background.Add(-1)
		}
		c.wg.Done()
	}()
	ctx, cancel := context.WithTimeout(ctx, c.opt.fetchTimeout)
	defer cancel()
	defer context.AfterFunc(c.closing, cancel)()
	gen, skipStore, err := c.admit(ctx, s)
	if err != nil {
		res = outcome[V]{err: c.closedErr(err)}
		return
	}
	admitted = true
	res = c.obtain(ctx, key, s, gen, skipStore)
}

// closedErr wraps ErrClosed around err if the cache is closed.
func (c *Cache[K, V]) closedErr(err error) error {
	if c.closing.Err() != nil {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// obtain gets a value from the store if it holds a fresh one (unless skipStore), and from the fetch function
// otherwise, saving what it fetched unless an invalidation has moved the slot's generation past gen.
func (c *Cache[K, V]) obtain(ctx context.Context, key K, s *slot[K, V], gen uint64, skipStore bool) outcome[V] {
	var shared *snapshot[V] // the store's value, stale but usable
	if c.store != nil && !skipStore {
		e, ok, err := c.store.Load(ctx, key)
		if err != nil {
			c.stats.storeErrors.Add(1)
		}
		if err == nil && ok {
			now := c.now()
			if snap, err := c.newSnapshot(e.Value, Expiry{Soft: e.Soft, Hard: e.Hard}, now); err == nil {
				if now < snap.softAt {
					return outcome[V]{snap: snap, reused: true}
				}
				shared = snap
			}
		}
	}

	c.stats.fetches.Add(1)
	v, exp, err := c.callFetch(ctx, key)
	var snap *snapshot[V]
	if err == nil {
		snap, err = c.newSnapshot(v, exp, c.now())
	}
	if err != nil {
		return outcome[V]{snap: shared, reused: shared != nil, fallback: shared != nil, err: c.closedErr(err)}
	}
	if c.store != nil {
		c.save(ctx, key, s, gen, snap)
	}
	return outcome[V]{snap: snap}
}

// callFetch calls the fetch function, turning a panic into an error.
func (c *Cache[K, V]) callFetch(ctx context.Context, key K) (v V, exp Expiry, err error) {
	defer func() {
		if r := recover(); r != nil {
			if rerr, ok := r.(error); ok {
				err = fmt.Errorf("%w: %w", ErrFetchPanic, rerr)
			} else {
				err = fmt.Errorf("%w: %v", ErrFetchPanic, r)
			}
		}
	}()
	return c.fetch(ctx, key)
}

// finish records the outcome in the slot (a failure arms the negative cache) and wakes the waiters. A fetch
// that was not admitted, or was fenced by an invalidation since (gen moved), records nothing: its waiters get
// its outcome all the same. Failures are counted once the slot is updated, so a caller seeing the count sees
// the backoff too.
func (c *Cache[K, V]) finish(s *slot[K, V], cl *call[V], admitted bool, gen uint64, res outcome[V]) {
	now := c.now()
	s.mu.Lock()
	if s.call == cl {
		s.call = nil
	}
	if admitted && s.gen == gen {
		if res.snap != nil {
			if cur := s.snap.Load(); !res.fallback || cur == nil || now >= cur.usable {
				s.snap.Store(res.snap)
			}
		}
		if res.err != nil {
			s.err, s.retryAt = res.err, addSat(now, int64(c.opt.negativeTTL))
		} else {
			s.err, s.retryAt = nil, 0
		}
	}
	s.mu.Unlock()
	if res.err != nil {
		c.stats.failures.Add(1)
	}
	cl.res = res
	close(cl.done)
}
