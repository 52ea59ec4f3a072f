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
// ctx is detached from the callers' cancellation: it carries the values of the caller that started the fetch,
// is bounded by the fetch timeout, and is cancelled by Close. The fetch is shared by every caller of the key
// that arrives while it runs; its error reaches them unchanged (errors.Is and errors.As work on it), and is
// remembered for the negative TTL. A panic is recovered and reported as an error wrapping ErrFetchPanic.
type FetchFunc[K comparable, V any] func(ctx context.Context, key K) (V, Expiry, error)

// Cache holds short-lived values per key, fetching each one once however many callers want it and refreshing
// it before it expires. It is safe for concurrent use. Create one with New or NewWithStore; call Close when done.
//
// K is used as a map key: like a map, a Cache whose K is an interface type panics on a key holding a value that
// cannot be compared. Each Cache takes about 8 KiB of fixed memory (the striped hit counter) plus the entries.
type Cache[K comparable, V any] struct {
	// Read on every Get.
	read  atomic.Pointer[map[K]*slot[K, V]] // immutable; see index.go
	clock Clock                             // nil: the real clock
	base  time.Time

	stats counters

	fetch FetchFunc[K, V]
	store Store[K, V] // nil: memory only
	opt   options

	idxMu  sync.Mutex // guards all, ring and misses, and publishes read
	all    map[K]*slot[K, V]
	ring   ring[K, V]
	misses int

	background atomic.Int64 // background refreshes running

	lifeMu  sync.Mutex // guards closed and wg.Add
	closed  bool
	wg      sync.WaitGroup // fetch goroutines
	closing context.Context
	close   context.CancelFunc
}

// slot is one key's place in the cache.
type slot[K comparable, V any] struct {
	snap atomic.Pointer[snapshot[V]] // current value, nil when none
	ref  atomic.Bool                 // used since the eviction hand last passed
	gone atomic.Bool                 // removed from the index: later callers use a new slot

	key        K
	prev, next *slot[K, V] // eviction ring, guarded by Cache.idxMu

	mu      sync.Mutex // guards the fields below; taken after Cache.idxMu when both are held
	call    *call[V]   // fetch under way whose result the slot keeps, nil when none
	err     error      // last failure, returned to callers until retryAt
	retryAt int64      // no new fetch before this

	// Invalidation fence (see invalidate.go).
	gen      uint64        // bumped by each invalidation: a fetch keeps its result only if gen is unchanged
	pins     int           // invalidations under way; the slot is not evicted while any is
	barrier  chan struct{} // non-nil while pins > 0, closed when it drops to 0; fetches wait on it
	saving   int           // Store.Save calls under way for the key
	saved    chan struct{} // closed when saving drops to 0; made only when an invalidation waits for it
	distrust bool          // an invalidation could not clear the store: fetches skip Store.Load
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
	c := &Cache[K, V]{clock: o.clock, fetch: fetch, store: store, opt: o, all: map[K]*slot[K, V]{}}
	c.read.Store(&map[K]*slot[K, V]{})
	if c.clock == nil {
		c.base = time.Now()
	} else {
		c.base = c.clock.Now()
	}
	c.closing, c.close = context.WithCancel(context.Background())
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
func (c *Cache[K, V]) Get(ctx context.Context, key K) (V, error) {
	v, _, err := c.GetInfo(ctx, key)
	return v, err
}

// GetInfo is Get that also tells when the value is due for refresh and when it expires, and whether it was
// already held (Reused) or has just been fetched for this call.
func (c *Cache[K, V]) GetInfo(ctx context.Context, key K) (V, Info, error) {
	s, snap := c.fresh(key)
	if snap == nil {
		return c.slowGet(ctx, key, s)
	}
	return snap.val, Info{Soft: snap.soft, Hard: snap.hard, Reused: true}, nil
}

// Peek returns the value for key only if it is fresh, without fetching, waiting or allocating: the fresh path
// of GetInfo, for callers that must check something about the value before deciding to go the slow way (the
// broker compares the inputs a grant answers). A fresh value counts as a hit; otherwise Peek reports false and
// counts nothing, and the caller is expected to call Get or GetInfo.
func (c *Cache[K, V]) Peek(key K) (V, Info, bool) {
	_, snap := c.fresh(key)
	if snap == nil {
		var zero V
		return zero, Info{}, false
	}
	return snap.val, Info{Soft: snap.soft, Hard: snap.hard, Reused: true}, true
}

// fresh is the fresh path: it returns the slot for key (nil if the read map has none) and, if its value is
// fresh, the value, counting the hit. No lock, no allocation, one clock read.
func (c *Cache[K, V]) fresh(key K) (*slot[K, V], *snapshot[V]) {
	s := (*c.read.Load())[key]
	if s == nil || s.gone.Load() {
		return nil, nil
	}
	snap := s.snap.Load()
	if snap == nil || c.now() >= snap.refreshAt {
		return s, nil
	}
	if !s.ref.Load() {
		s.ref.Store(true)
	}
	c.stats.hits.add()
	return s, snap
}

// Len returns the number of keys held in memory, with or without a usable value.
func (c *Cache[K, V]) Len() int {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	return c.ring.n
}

// Stats returns the counters since New.
func (c *Cache[K, V]) Stats() Stats { return c.stats.snapshot() }

// Close cancels the fetches under way (their waiters get an error wrapping ErrClosed) and waits for them to
// end, so that no goroutine is left behind. After Close, values held in memory are still returned by Get, stale
// ones without refresh; a call that would need a fetch returns ErrClosed. Close may be called more than once.
func (c *Cache[K, V]) Close() {
	c.lifeMu.Lock()
	c.closed = true
	c.lifeMu.Unlock()
	c.close()
	c.wg.Wait()
}
