package tokencache

import "maps"

// The index maps keys to slots, in two maps. The fresh path reads an immutable map published through an atomic
// pointer (Cache.read): a plain map lookup, with no lock and no write to shared memory (as sync.Map did before
// Go 1.24; a plain map is about twice as fast as sync.Map's trie at 10000 keys). Changes go to the authoritative
// map (Cache.all) under Cache.idxMu, and read is rebuilt from it once the lookups that missed read add up to the
// size of the map, so the copying costs O(1) per miss, amortized. Until then read may lack new slots (found
// under the lock) and hold removed ones (marked gone, never used).
//
// Eviction is second-chance ("clock"), an approximation of least-recently-used that costs the fresh path one
// read of a flag: each slot has a ref flag, set when it is used. Slots sit in a ring in insertion order. To make
// room, the hand looks at the oldest slot: if its flag is set, the flag is cleared and the slot goes to the back
// of the ring (a second chance); otherwise it is evicted. A new slot starts with its flag clear (the call that
// adds it is not counted as a use, or every slot would be marked and the order would fall back to first-in
// first-out), but it is never the one evicted to make room for itself.

// insert returns the slot for key with its mutex held, adding an empty one if there is none. forGet is true
// when a Get needs the slot: then a lookup of the read map missed, which counts towards its rebuild, and an
// added slot evicts others past the bound. An invalidation's slot evicts nothing (it leaves the index when
// the invalidation ends, unless a fetch has begun in it).
func (c *Cache[K, V]) insert(key K, forGet bool) *slot[K, V] {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	s, ok := c.all[key]
	if ok {
		s.mu.Lock()
	} else {
		s = &slot[K, V]{key: key}
		s.mu.Lock()
		c.all[key] = s
		c.ring.pushBack(s)
		if forGet {
			c.evictLocked(s)
		}
	}
	if !forGet {
		return s
	}
	if c.misses++; c.misses >= len(c.all) {
		read := maps.Clone(c.all)
		c.read.Store(&read)
		c.misses = 0
	}
	return s
}

// evictLocked evicts slots until the index is within its bound, sparing s (just added) and the slots that are
// busy: a fetch, an invalidation or a store save under way, whose fence lives in the slot. If every slot is
// spared, the index stays over its bound until a later insert. The caller holds c.idxMu (and s.mu).
func (c *Cache[K, V]) evictLocked(s *slot[K, V]) {
	for budget := 2 * c.ring.n; c.ring.n > c.opt.maxEntries && budget > 0; budget-- {
		old := c.ring.head
		if old != s && !old.ref.Load() {
			old.mu.Lock()
			busy := old.call != nil || old.pins > 0 || old.saving > 0
			if !busy {
				c.removeLocked(old)
			}
			old.mu.Unlock()
			if !busy {
				c.stats.evictions.Add(1)
				continue
			}
		}
		old.ref.Store(false)
		c.ring.remove(old)
		c.ring.pushBack(old)
	}
}

// removeLocked takes s out of the index, if it is still there, and reports whether it was. Goroutines already
// holding s finish their work on it, but no later call uses it. The caller holds c.idxMu and s.mu.
func (c *Cache[K, V]) removeLocked(s *slot[K, V]) bool {
	if s.gone.Load() {
		return false
	}
	s.gone.Store(true)
	delete(c.all, s.key)
	c.ring.remove(s)
	return true
}

// ring is the eviction order of the slots in the index, oldest first. Guarded by Cache.idxMu; a slot is in the
// ring exactly when it is in Cache.all.
type ring[K comparable, V any] struct {
	head, tail *slot[K, V]
	n          int
}

func (r *ring[K, V]) pushBack(s *slot[K, V]) {
	s.prev, s.next = r.tail, nil
	if r.tail == nil {
		r.head = s
	} else {
		r.tail.next = s
	}
	r.tail = s
	r.n++
}

func (r *ring[K, V]) remove(s *slot[K, V]) {
	if s.prev == nil {
		r.head = s.next
	} else {
		s.prev.next = s.next
	}
	if s.next == nil {
		r.tail = s.prev
	} else {
		s.next.prev = s.prev
	}
	s.prev, s.next = nil, nil
	r.n--
}
