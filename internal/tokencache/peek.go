package tokencache

// Peek returns the value for key only if it is fresh (before its refresh
// point), without fetching, waiting or allocating: the fast path of GetInfo,
// for callers that must check something about the value before deciding to
// go the slow way (the broker compares the inputs a grant answers). A fresh
// value counts as a hit; otherwise Peek reports false and counts nothing, and
// the caller is expected to call Get or GetInfo.
func (c *Cache[K, V]) Peek(key K) (V, Info, bool) {
	if v, ok := c.m.Load(key); ok {
		s := v.(*slot[K, V])
		if snap := s.snap.Load(); snap != nil && c.now() < snap.refreshAt {
			if !s.ref.Load() {
				s.ref.Store(true)
			}
			c.stats.hits.add()
			return snap.val, Info{Soft: snap.soft, Hard: snap.hard, Reused: true}, true
		}
	}
	var zero V
	return zero, Info{}, false
}
