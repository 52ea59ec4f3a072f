package tokencache

import (
	"context"
	"fmt"
	"time"
)

// keyState is what a key has besides its value: the fetch whose result it keeps, the failure it remembers
// and its invalidation fence (see invalidate.go). It lives in the key's node while any of it is set, and is
// guarded by the lock of the key's live table.
type keyState[K comparable, V any] struct {
	call    *call[K, V] // fetch whose result the key keeps, nil when none
	err     error       // last failure, returned to callers until retryAt
	retryAt int64       // no new fetch before this

	barrier  chan struct{} // non-nil while pins > 0, closed when it drops to 0; fetches wait on it
	saved    chan struct{} // closed when saving drops to 0; made only when an invalidation waits for it
	pins     int32         // invalidations under way; the node is not evicted while any is
	saving   int32         // Store.Save calls under way for the key
	distrust bool          // an invalidation could not clear the store: fetches skip Store.Load

	firstUsed bool
	first     call[K, V] // the first fetch of the state, allocated with it (a miss allocates one object)
}

// idle reports whether st holds nothing worth keeping.
func (st *keyState[K, V]) idle() bool {
	return st.call == nil && st.err == nil && st.pins == 0 && st.saving == 0 && !st.distrust
}

// startCall makes a new call the fetch of n's key and returns it, for the caller to fill in; a key without
// state gets one, with the call as its first fetch (one allocation for both). The caller holds the lock of
// n's table.
//
// A new state is written before it is read: memory the runtime has just taken from the operating system is
// mapped on first touch, and a first touch that reads maps the shared zero page, which the first write then
// has to replace (a second fault, and a flush of that page from every core's TLB).
func (n *node[K, V]) startCall() *call[K, V] {
	st := n.st
	var cl *call[K, V]
	switch {
	case st == nil:
		st = &keyState[K, V]{firstUsed: true}
		n.st = st
		cl = &st.first
	case !st.firstUsed:
		st.firstUsed = true
		cl = &st.first
	default:
		cl = new(call[K, V])
	}
	st.call = cl
	return cl
}

// state returns n's state, adding one if it has none. The caller holds the lock of n's table.
func (n *node[K, V]) state() *keyState[K, V] {
	if n.st == nil {
		n.st = &keyState[K, V]{} // written before it is read (see startCall)
	}
	return n.st
}

// dropIdleState forgets n's state if it holds nothing. The caller holds the lock of n's table.
func (n *node[K, V]) dropIdleState() {
	if n.st != nil && n.st.idle() {
		n.st = nil
	}
}

// call is one fetch under way, shared by the callers of its key.
type call[K comparable, V any] struct {
	key        K
	hash       uint64
	load       FetchFunc[K, V]
	done       chan struct{} // closed when res is set; made by the first waiter, under the key's lock
	res        outcome[V]
	ctx        fetchCtx // its deadline is set when the call starts, the rest by run
	background bool
	inFetch    bool // the fetch function, called by run itself, has not returned
}

// outcome is what a fetch produced: a value, an error, or both when the fetch failed but the store held a
// value still usable.
type outcome[V any] struct {
	val      V
	refresh  int64
	soft     int64 // soft expiry before jitter
	hard     int64
	err      error
	ok       bool // val is set
	reused   bool // the value came from the store
	fallback bool // the value is the store's stale one, served because the fetch failed
}

// value is Get's result from begin's, once the fetch begin left to run or wait for has ended.
func (c *Cache[K, V]) value(n *node[K, V], cl *call[K, V], err error) (V, error) {
	var zero V
	switch {
	case err != nil:
		return zero, err
	case n != nil:
		return n.val, nil
	case !cl.res.ok:
		return zero, cl.res.err
	}
	return cl.res.val, nil
}

// answer is GetInfo's result from begin's, as value is Get's.
//
//go:noinline
func (c *Cache[K, V]) answer(n *node[K, V], cl *call[K, V], err error) (V, Info, error) {
	var zero V
	switch {
	case err != nil:
		return zero, Info{}, err
	case n != nil:
		return n.val, c.info(n, true), nil
	}
	r := &cl.res
	if !r.ok {
		return zero, Info{}, r.err
	}
	return r.val, Info{Soft: c.at(r.refresh), Hard: c.at(r.hard), Reused: r.reused}, nil
}

// What begin leaves its caller to do.
const (
	failed  = iota // return the error
	served         // return the node's value, held already
	runHere        // run the fetch, started by this caller, on its goroutine
	waitFor        // wait for the fetch (joined, or started on a goroutine of its own)
)

// begin serves a key that has no fresh value in memory, as far as it can without waiting: under the key's
// lock it finds or adds the key's node and serves its value if usable (starting a background refresh of a
// stale one), joins the fetch under way, answers with the remembered failure, or starts a fetch, and it runs
// the eviction a new node calls for. It returns the node whose value to serve, or the fetch to run on the
// caller's goroutine or to wait for, or an error, and says which (how); value and answer turn that, once the
// fetch has ended, into the caller's results.
//
// begin is kept out of line, and the caller's steps after it are written out in each public method, so that
// the frames on the stack while a fetch runs on the caller's goroutine are only the public method's and
// run's: a few hundred bytes. A new goroutine has 2 KiB of stack, about 1.1 KiB of it usable before the
// runtime copies the stack into one twice as big; a goroutine started only to call Get on a cold key (a storm
// of callers, each on its own key) then runs the fetch function without that copy
// (TestMiss_LittleStackUnderTheFetch).
//
//go:noinline
func (c *Cache[K, V]) begin(ctx context.Context, h uint64, key K, load FetchFunc[K, V]) (*node[K, V], *call[K, V], int, error) {
	if ctx == nil {
		return nil, nil, failed, errNilContext
	}
	if load == nil {
		load = c.fetch
	}
	var t *table[K, V]
	var n *node[K, V]
	for {
		t = c.idx.lock(h)
		if n, _ = c.idx.get(t, h, key); n != nil {
			break
		}
		if c.life.closed.Load() {
			t.mu.Unlock()
			c.stats.misses.Add(1)
			return nil, nil, failed, ErrClosed
		}
		n = newNode[K, V](h, key)
		if c.idx.add(t, n) {
			break
		}
		c.idx.grow(t)
		t.mu.Unlock()
	}

	now, real := c.clocks()
	if n.hasValue() && now < subSat(n.hard, int64(c.opt.margin)) {
		if now < n.loadRefresh() {
			t.mu.Unlock()
			c.stats.hits.add()
		} else {
			c.refreshLocked(ctx, n, now, real, load)
			t.mu.Unlock()
			c.stats.hits.addStale()
		}
		n.touch()
		return n, nil, served, nil
	}
	c.stats.misses.Add(1)
	if st := n.st; st != nil && st.call != nil {
		cl := st.call
		if cl.done == nil {
			cl.done = make(chan struct{})
		}
		t.mu.Unlock()
		return nil, cl, waitFor, nil
	}
	if st := n.st; st != nil && now < st.retryAt {
		err := st.err
		t.mu.Unlock()
		return nil, nil, failed, err
	}
	if st := n.st; st != nil {
		st.err, st.retryAt = nil, 0 // past retryAt: forgotten
	}
	if err := ctx.Err(); err != nil {
		n.dropIdleState()
		c.removeIfEmpty(t, n)
		t.mu.Unlock()
		return nil, nil, failed, err
	}
	if !c.life.enter() {
		n.dropIdleState()
		c.removeIfEmpty(t, n)
		t.mu.Unlock()
		return nil, nil, failed, ErrClosed
	}
	cl := n.startCall()
	cl.key, cl.hash, cl.load = key, h, load
	cl.ctx.start(since(real), &c.life)
	inline := ctx.Done() == nil
	if !inline {
		cl.done = make(chan struct{})
	}
	t.mu.Unlock()
	if ev := c.idx.evict(int64(c.opt.maxEntries)); ev > 0 {
		c.stats.evictions.Add(ev)
	}
	if inline {
		return nil, cl, runHere, nil
	}
	go c.run(context.WithoutCancel(ctx), cl)
	return nil, cl, waitFor, nil
}

// removeIfEmpty takes n out of the index if it has no value and no state. The caller holds t.mu.
func (c *Cache[K, V]) removeIfEmpty(t *table[K, V], n *node[K, V]) {
	if n.st == nil && !n.hasValue() {
		c.idx.remove(t, n)
	}
}

// await waits for cl to end or ctx to be done, and returns ctx.Err() in the second case.
func (c *Cache[K, V]) await(ctx context.Context, cl *call[K, V]) error {
	select {
	case <-cl.done:
	case <-ctx.Done():
		select {
		case <-cl.done: // both ready: prefer the result
		default:
			return ctx.Err()
		}
	}
	return nil
}

// refreshLocked starts the background refresh of n's stale value unless one is under way, a recent failure
// asks to wait, or too many refreshes are running. The caller holds the lock of n's table.
func (c *Cache[K, V]) refreshLocked(ctx context.Context, n *node[K, V], now int64, real time.Duration, load FetchFunc[K, V]) {
	if st := n.st; st != nil && (st.call != nil || now < st.retryAt) {
		return
	}
	if c.background.Add(1) > int64(c.opt.maxBackground) {
		c.background.Add(-1)
		return
	}
	if !c.life.enter() {
		c.background.Add(-1)
		return
	}
	cl := n.startCall()
	cl.key, cl.hash, cl.load, cl.background = n.key, n.hash, load, true
	cl.ctx.start(since(real), &c.life)
	n.setRefreshing(true)
	c.stats.refreshes.Add(1)
	go c.run(context.WithoutCancel(ctx), cl)
}

// run performs the fetch cl and publishes its outcome, whatever happens inside the fetch function. ctx gives
// the values of the fetch context; it is never cancelled. Without a store, run calls the fetch function
// itself, so that its frame is the last this package puts under it (see begin); a panic of the fetch
// function is recovered by ended.
func (c *Cache[K, V]) run(ctx context.Context, cl *call[K, V]) {
	cl.res.err = errGoexit // kept only if the fetch function never returns
	cl.ctx.values = ctx
	defer c.ended(cl)
	if c.store != nil {
		c.runStored(cl)
		return
	}
	c.stats.fetches.Add(1)
	cl.inFetch = true
	v, exp, err := cl.load(&cl.ctx, cl.key)
	cl.inFetch = false
	c.settle(cl, v, &exp, err)
}

// ended is run's deferred work: it turns a panic of the fetch function (run's direct call of it) into the
// fetch's error, releases the fetch context, records and hands out the outcome, and counts the fetch out.
// A panic anywhere else goes on.
func (c *Cache[K, V]) ended(cl *call[K, V]) {
	if cl.inFetch {
		if r := recover(); r != nil {
			cl.res.err = panicError(r)
		}
		cl.inFetch = false
	}
	cl.ctx.release()
	c.finish(cl)
	if cl.background {
		c.background.Add(-1)
	}
	c.life.exit()
}

// settle makes what the fetch function returned cl's outcome.
//
//go:noinline
func (c *Cache[K, V]) settle(cl *call[K, V], v V, exp *Expiry, err error) {
	if err == nil {
		err = c.expiry(&cl.res, v, exp, c.now())
	}
	if err != nil {
		cl.res = outcome[V]{err: c.closedErr(err)}
	}
}

// runStored is run with a store: it waits for an invalidation under way, then obtains the value.
//
//go:noinline
func (c *Cache[K, V]) runStored(cl *call[K, V]) {
	skipStore, err := c.admit(cl)
	if err != nil {
		cl.res = outcome[V]{err: c.closedErr(err)}
		return
	}
	cl.res = c.obtain(cl, skipStore)
}

// closedErr wraps ErrClosed around err if the cache is closed.
func (c *Cache[K, V]) closedErr(err error) error {
	if c.life.closed.Load() {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// obtain gets a value from the store if it holds a fresh one (unless skipStore), and from the fetch function
// otherwise, saving what it fetched while cl is still the key's fetch.
func (c *Cache[K, V]) obtain(cl *call[K, V], skipStore bool) outcome[V] {
	ctx := &cl.ctx
	var shared outcome[V] // the store's value, stale but usable
	if !skipStore {
		e, ok, err := c.store.Load(ctx, cl.key)
		if err != nil {
			c.stats.storeErrors.Add(1)
		}
		if err == nil && ok {
			now := c.now()
			var o outcome[V]
			if err := c.expiry(&o, e.Value, &Expiry{Soft: e.Soft, Hard: e.Hard}, now); err == nil {
				o.reused = true
				if now < o.soft {
					return o
				}
				shared = o
			}
		}
	}

	c.stats.fetches.Add(1)
	v, exp, err := c.callFetch(cl)
	var o outcome[V]
	if err == nil {
		err = c.expiry(&o, v, &exp, c.now())
	}
	if err != nil {
		shared.fallback = shared.ok
		shared.err = c.closedErr(err)
		return shared
	}
	c.save(cl, o)
	return o
}

// callFetch calls the fetch function, turning a panic into an error.
func (c *Cache[K, V]) callFetch(cl *call[K, V]) (v V, exp Expiry, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	return cl.load(&cl.ctx, cl.key)
}

// panicError is the error a panic of the fetch function with value r becomes.
func panicError(r any) error {
	if rerr, ok := r.(error); ok {
		return fmt.Errorf("%w: %w", ErrFetchPanic, rerr)
	}
	return fmt.Errorf("%w: %v", ErrFetchPanic, r)
}

// finish records the outcome of cl for its key, if cl is still the key's fetch (an invalidation detaches the
// fetch it fences), and wakes the waiters, who get the outcome either way. A failure arms the negative cache.
// Failures are counted once the key is updated, so a caller seeing the count sees the backoff too.
func (c *Cache[K, V]) finish(cl *call[K, V]) {
	res := &cl.res
	t := c.idx.lock(cl.hash)
	if n, _ := c.idx.get(t, cl.hash, cl.key); n != nil && n.st != nil && n.st.call == cl {
		st := n.st
		st.call = nil
		if cl.background {
			n.setRefreshing(false) // kept: replaced by a node without the flag; failed: the next stale Get locks
		}
		if res.ok && (!res.fallback || !n.hasValue() || c.now() >= subSat(n.hard, int64(c.opt.margin))) {
			c.keep(t, n, res)
		}
		if res.err != nil && c.opt.negativeTTL > 0 {
			st.err, st.retryAt = res.err, addSat(c.now(), int64(c.opt.negativeTTL))
		} else {
			st.err, st.retryAt = nil, 0
		}
		if n = c.current(t, n); n.st == st {
			n.dropIdleState() // a key whose fetch failed stays, without value, until evicted
		}
	}
	done := cl.done
	t.mu.Unlock()
	if res.err != nil {
		c.stats.failures.Add(1)
	}
	if done != nil {
		close(done)
	}
}

// keep makes res the value of n's key: in n itself if n has no value yet, otherwise in a new node that takes
// n's place. The caller holds t.mu.
func (c *Cache[K, V]) keep(t *table[K, V], n *node[K, V], res *outcome[V]) {
	if !n.hasValue() {
		n.val, n.hard = res.val, res.hard
		n.storeRefresh(res.refresh) // publishes val and hard to the lock-free readers
		if r := n.loadRef(); r&refCount == 0 {
			n.casRef(r, r+1)
		}
		return
	}
	// The key's uses carry over to its new value (which is not being refreshed).
	nn := &node[K, V]{refresh: res.refresh, hash: n.hash, hard: res.hard, ref: max(n.loadRef()&refCount, 1),
		key: n.key, val: res.val, st: n.st}
	c.idx.replace(t, n, nn)
}

// current returns the node the index holds for n's key (n, or the node that replaced it), or n if none.
// The caller holds t.mu.
func (c *Cache[K, V]) current(t *table[K, V], n *node[K, V]) *node[K, V] {
	if cur, _ := c.idx.get(t, n.hash, n.key); cur != nil {
		return cur
	}
	return n
}
