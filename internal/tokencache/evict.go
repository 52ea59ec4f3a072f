package tokencache

// Eviction is second-chance ("clock"), an approximation of least-recently-used that costs the fresh path one
// read of a flag: each slot has a ref flag, set when it is used. Slots sit in a ring in insertion order. To make
// room, the hand looks at the oldest slot: if its flag is set, the flag is cleared and the slot goes to the back
// of the ring (a second chance); otherwise it is evicted. A new slot starts with its flag clear (the call that
// adds it is not counted as a use, or every slot would be marked and the order would fall back to first-in
// first-out), but it is never the one evicted to make room for itself.

// ring is the eviction order of the slots in the map, oldest first. Guarded by Cache.evictMu; a slot is in the
// ring exactly when it is in the map.
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

// insert returns the slot for key, adding an empty one if there is none and evicting past the bound.
func (c *Cache[K, V]) insert(key K) *slot[K, V] {
	added := &slot[K, V]{key: key}
	c.evictMu.Lock()
	defer c.evictMu.Unlock()
	if v, loaded := c.m.LoadOrStore(key, added); loaded {
		return v.(*slot[K, V])
	}
	c.ring.pushBack(added)
	for c.ring.n > c.opt.maxEntries {
		s := c.ring.head
		if s == added || s.ref.Load() {
			s.ref.Store(false)
			c.ring.remove(s)
			c.ring.pushBack(s)
			continue
		}
		c.removeLocked(s)
		c.stats.evictions.Add(1)
	}
	return added
}

// removeLocked takes s out of the map and the ring. Goroutines already holding s finish their work on it, but
// no later call finds it. The caller holds c.evictMu.
func (c *Cache[K, V]) removeLocked(s *slot[K, V]) {
	s.gone.Store(true)
	c.m.CompareAndDelete(s.key, s)
	c.ring.remove(s)
}
