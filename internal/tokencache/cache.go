package tokencache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// FetchFunc obtains a new value for key and says when it expires.
//
// ctx carries the values of the caller that started the fetch but not its cancellation: it is bounded by
// the fetch timeout and cancelled by Close. The fetch is shared by every caller of the key that arrives
// while it runs; its error reaches them unchanged (errors.Is and errors.As work on it), and is remembered for
// the negative TTL. A panic is recovered and reported as an error wrapping ErrFetchPanic.
type FetchFunc[K comparable, V any] func(ctx context.Context, key K) (V, Expiry, error)

// Cache holds short-lived values per key, fetching each one once however many callers want it and refreshing
// it before it expires. It is safe for concurrent use. Create one with New or NewWithStore; call Close when done.
//
// K is used as a map key: like a map, a Cache whose K is an interface type panics on a key holding a value that
// cannot be compared. Each Cache takes about 8 KiB of fixed memory (the striped hit counter) plus the entries.
type Cache[K comparable, V any] struct {
	// Read on every Get.
	idx     index[K, V]
	clock   Clock // nil: the real clock
	base    time.Time
	baseOff int64 // base - procStart, with the real clock

	stats counters

	fetch FetchFunc[K, V]
	store Store[K, V] // nil: memory only
	opt   options

	background atomic.Int64 // background refreshes running
	life       lifecycle
}

// lifecycle counts the fetches under way so that Close can wait for them.
type lifecycle struct {
	closed   atomic.Bool
	inflight atomic.Int64
	closing  context.Context // cancelled by Close
	cancel   context.CancelFunc
	idle     chan struct{} // closed when the last fetch ends after Close
	idleOnce sync.Once
	timeout  time.Duration // the fetch timeout
}

// enter counts a fetch in, unless the cache is closed.
func (l *lifecycle) enter() bool {
	l.inflight.Add(1)
	if l.closed.Load() {
		l.exit()
		return false
	}
	return true
}

// exit counts a fetch out.
func (l *lifecycle) exit() {
	if l.inflight.Add(-1) == 0 && l.closed.Load() {
		l.idleOnce.Do(func() { close(l.idle) })
	}
}

// New returns a Cache that obtains values with fetch and keeps them in memory.
// A nil fetch or a bad option gives an error wrapping ErrInvalidConfig.
func New[K comparable, V any](fetch FetchFunc[K, V], opts ...Option) (*Cache[K, V], error) {
	return newCache(fetch, nil, opts)
}

// NewWithStore is New with a Store below the in-memory cache, shared with other processes. See Store for how
// the two levels work together. A nil store is an error wrapping ErrInvalidConfig.
func NewWithStore[K comparable, V any](fetch FetchFunc[K, V], store Store[K, V], opts ...Option) (*Cache[K, V], error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidConfig)
	}
	return newCache(fetch, store, opts)
}

func newCache[K comparable, V any](fetch FetchFunc[K, V], store Store[K, V], opts []Option) (*Cache[K, V], error) {
	if fetch == nil {
		return nil, fmt.Errorf("%w: nil fetch function", ErrInvalidConfig)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			o.invalid("nil option")
			continue
		}
		opt(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	c := &Cache[K, V]{clock: o.clock, fetch: fetch, store: store, opt: o}
	c.idx.init(o.maxEntries)
	if c.clock == nil {
		c.base = time.Now()
		c.baseOff = int64(c.base.Sub(procStart))
	} else {
		c.base = c.clock.Now()
	}
	c.life.closing, c.life.cancel = context.WithCancel(context.Background())
	c.life.idle = make(chan struct{})
	c.life.timeout = o.fetchTimeout
	return c, nil
}

// Get returns the value for key. A fresh value is returned from memory at once; a stale one too, and its
// refresh starts in the background; otherwise Get waits for the key's one shared fetch, or until ctx is done
// (then it returns ctx.Err() and the fetch goes on for the others). An error is the fetch's own error
// (possibly remembered from a fetch less than the negative TTL ago), an error wrapping ErrFetchPanic,
// ErrInvalidExpiry or ErrClosed, or ctx.Err(). A nil ctx gives an error when a fetch is needed, not a panic.
//
// When ctx ends before the value is there (already done when Get needs a fetch, or done while it waits for
// the shared fetch, including a fetch held back by an Invalidate under way), the error is ctx.Err() itself,
// unwrapped, so errors.Is(err, context.Canceled) or errors.Is(err, context.DeadlineExceeded) holds; a caller
// that reports transport failures with its own error type wraps it. If the value arrives at the same time,
// Get returns the value. A fetch that itself runs out of time (the fetch timeout, also while held back by an
// Invalidate) gives an error wrapping context.DeadlineExceeded even though ctx has not ended.
//
// A fetch started by a call whose ctx can never end (ctx.Done() returns nil, as for context.Background())
// runs on the caller's goroutine, which waits for it anyway; other fetches run on a goroutine of their own.
// Either way the fetch gets the context described at FetchFunc, and a fetch function that calls
// runtime.Goexit ends the goroutine it runs on (the caller's in the first case) and fails the waiters.
func (c *Cache[K, V]) Get(ctx context.Context, key K) (V, error) {
	h := c.idx.hash(key)
	if n := c.usable(h, key); n != nil {
		return n.val, nil
	}
	n, cl, how, err := c.begin(ctx, h, key, c.fetch)
	// A key without a fresh value: begin says what to do. The steps are written out in each method rather than
	// in a function of their own so that no more frames than this one and run's lie under a fetch function
	// run on the caller's goroutine (see begin).
	switch how {
	case runHere:
		c.run(ctx, cl)
	case waitFor:
		err = c.await(ctx, cl)
	}
	return c.value(n, cl, err)
}

// GetInfo is Get that also tells when the value is due for refresh and when it expires, and whether it was
// already held (Reused) or has just been fetched for this call.
func (c *Cache[K, V]) GetInfo(ctx context.Context, key K) (V, Info, error) {
	h := c.idx.hash(key)
	if n := c.usable(h, key); n != nil {
		return n.val, c.info(n, true), nil
	}
	n, cl, how, err := c.begin(ctx, h, key, c.fetch)
	switch how { // as in Get
	case runHere:
		c.run(ctx, cl)
	case waitFor:
		err = c.await(ctx, cl)
	}
	return c.answer(n, cl, err)
}

// GetWith is Get with load as the fetch function of this call: if the call starts a fetch for key (the
// value is missing or expired, or is stale and due for its background refresh), load performs it instead of
// the function given to New. Callers that arrive while that fetch runs share it, whatever loader they pass;
// a nil load means the function given to New. This is how a caller passes what the fetch needs (a request,
// credentials) without putting it in ctx.
func (c *Cache[K, V]) GetWith(ctx context.Context, key K, load FetchFunc[K, V]) (V, error) {
	h := c.idx.hash(key)
	if n := c.usable(h, key); n != nil {
		return n.val, nil
	}
	n, cl, how, err := c.begin(ctx, h, key, load)
	switch how { // as in Get
	case runHere:
		c.run(ctx, cl)
	case waitFor:
		err = c.await(ctx, cl)
	}
	return c.value(n, cl, err)
}

// GetInfoWith is GetInfo with load as the fetch function of this call, as for GetWith.
func (c *Cache[K, V]) GetInfoWith(ctx context.Context, key K, load FetchFunc[K, V]) (V, Info, error) {
	h := c.idx.hash(key)
	if n := c.usable(h, key); n != nil {
		return n.val, c.info(n, true), nil
	}
	n, cl, how, err := c.begin(ctx, h, key, load)
	switch how { // as in Get
	case runHere:
		c.run(ctx, cl)
	case waitFor:
		err = c.await(ctx, cl)
	}
	return c.answer(n, cl, err)
}

// Peek returns the value for key only if it is fresh, without fetching, waiting or allocating: the fresh path
// of GetInfo, for callers that must check something about the value before deciding to go the slow way (the
// broker compares the inputs a grant answers). A fresh value counts as a hit; otherwise Peek reports false and
// counts nothing, and the caller is expected to call Get or GetInfo.
func (c *Cache[K, V]) Peek(key K) (V, Info, bool) {
	n := c.fresh(c.idx.hash(key), key)
	if n == nil {
		var zero V
		return zero, Info{}, false
	}
	return n.val, c.info(n, true), true
}

// fresh is the fresh path: it returns the node for key if its value is fresh, counting the hit, and nil
// otherwise. No lock, no allocation, one clock read.
func (c *Cache[K, V]) fresh(h uint64, key K) *node[K, V] {
	n := c.idx.find(h, key)
	if n == nil || c.now() >= n.loadRefresh() {
		return nil
	}
	n.touch()
	c.stats.hits.add()
	return n
}

// usable is the lock-free path of Get: fresh, and also a stale value whose background refresh is under way
// (counted as a stale hit), as long as it is usable. Such a value would be served by the locked path too,
// which would start no other refresh; serving it without the lock keeps a key in steady use from queueing
// on its table's lock for as long as its refresh takes.
func (c *Cache[K, V]) usable(h uint64, key K) *node[K, V] {
	n := c.idx.find(h, key)
	if n == nil {
		return nil
	}
	now := c.now()
	if now < n.loadRefresh() {
		n.touch()
		c.stats.hits.add()
		return n
	}
	if n.loadRef()&refreshing == 0 || !n.hasValue() || now >= subSat(n.hard, int64(c.opt.margin)) {
		return nil
	}
	n.touch()
	c.stats.hits.addStale()
	return n
}

// info describes the value of n, which has one.
func (c *Cache[K, V]) info(n *node[K, V], reused bool) Info {
	return Info{Soft: c.at(n.loadRefresh()), Hard: c.at(n.hard), Reused: reused}
}

// Len returns the number of keys held in memory, with or without a usable value.
func (c *Cache[K, V]) Len() int { return int(c.idx.count.Load()) }

// Stats returns the counters since New.
func (c *Cache[K, V]) Stats() Stats { return c.stats.snapshot() }

// Close cancels the fetches under way (their waiters get an error wrapping ErrClosed) and waits for them to
// end, so that no goroutine is left behind. After Close, values held in memory are still returned by Get, stale
// ones without refresh; a call that would need a fetch returns ErrClosed. Close may be called more than once.
func (c *Cache[K, V]) Close() {
	c.life.closed.Store(true)
	c.life.cancel()
	if c.life.inflight.Load() == 0 {
		return
	}
	<-c.life.idle
}
