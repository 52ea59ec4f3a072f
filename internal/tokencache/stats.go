package tokencache

import (
	"sync/atomic"
	"unsafe"
)

// Stats counts what a Cache did since New. Every Get or GetInfo call is counted once, in Hits, StaleHits or
// Misses.
type Stats struct {
	Hits        uint64 // fresh value returned from memory
	StaleHits   uint64 // stale value returned from memory (a refresh may have been started)
	Misses      uint64 // no usable value: the call waited for a fetch, or got a remembered error or ErrClosed
	Fetches     uint64 // calls of the fetch function, foreground and background
	Refreshes   uint64 // background refreshes started (counted by the Get that starts one)
	Failures    uint64 // fetches that failed: error, panic, or a value already expired
	Evictions   uint64 // keys dropped to stay within WithMaxEntries
	StoreErrors uint64 // failed Store.Load, Save and Delete calls, including those of Invalidate and InvalidateIf
}

// counters holds the Stats. Every field is an atomic counter; hits and stale hits are striped because they are
// the counters written without a lock (see Cache.usable), where a single counter written from several cores
// would cost more than the rest of the lookup (cache-line ping-pong).
type counters struct {
	hits                                                         stripedCounters
	misses, fetches, refreshes, failures, evictions, storeErrors atomic.Uint64
}

func (c *counters) snapshot() Stats {
	hits, stale := c.hits.sum()
	return Stats{
		Hits:        hits,
		StaleHits:   stale,
		Misses:      c.misses.Load(),
		Fetches:     c.fetches.Load(),
		Refreshes:   c.refreshes.Load(),
		Failures:    c.failures.Load(),
		Evictions:   c.evictions.Load(),
		StoreErrors: c.storeErrors.Load(),
	}
}

const (
	stripeBits   = 6
	stripes      = 1 << stripeBits
	stripeStride = 128 // two cache lines: the adjacent-line prefetcher moves lines in pairs
)

// stripedCounters are two atomic counters, hits and stale hits, split over stripes, each stripe on its own pair
// of cache lines. A goroutine picks its stripe from the address of a variable on its own stack: goroutine
// stacks are disjoint and at least 2 KiB aligned, so goroutines running at the same time mostly land on
// different stripes, and a goroutine keeps its stripe from one call to the next. The address, in 2 KiB units,
// is spread by a Fibonacci hash (stacks of the same power-of-two size lie a multiple of it apart, which a plain
// mask would map to one stripe). It is only hashed, never turned back into a pointer.
type stripedCounters struct {
	_ [stripeStride]byte // keep the neighbouring fields off the first stripe's lines
	s [stripes]struct {
		hits, stale atomic.Uint64
		_           [stripeStride - 16]byte
	}
}

func (c *stripedCounters) add() {
	var probe byte
	c.s[(uint64(uintptr(unsafe.Pointer(&probe))>>11)*0x9e3779b97f4a7c15)>>(64-stripeBits)].hits.Add(1)
}

func (c *stripedCounters) addStale() {
	var probe byte
	c.s[(uint64(uintptr(unsafe.Pointer(&probe))>>11)*0x9e3779b97f4a7c15)>>(64-stripeBits)].stale.Add(1)
}

func (c *stripedCounters) sum() (hits, stale uint64) {
	for i := range c.s {
		hits += c.s[i].hits.Load()
		stale += c.s[i].stale.Load()
	}
	return hits, stale
}
