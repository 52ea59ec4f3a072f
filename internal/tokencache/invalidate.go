package tokencache

import (
	"context"
	"fmt"
)

// Invalidation is a per-key fence, kept in the key's state (keyState):
//
//   - call: an invalidation detaches the fetch under way from the key (a fetch keeps its result, in memory
//     and in the store, only while it is still the key's call), so that its result is neither kept nor
//     saved, and later callers start a new fetch instead of joining it. The fetch still answers the callers
//     already waiting for it.
//   - barrier, pins: while an invalidation is under way with a store, a fetch waits before reading the store,
//     so that it cannot load the entry the invalidation is deleting. The key's node is not evicted meanwhile,
//     so the fence cannot be lost with it.
//   - saving, saved: an invalidation waits for the Store.Save calls under way before it deletes, so that a
//     fetch fenced out mid-save cannot leave its value in the store after the delete.
//   - distrust: if the store could not be cleared, fetches skip Store.Load for the key until a fetched value
//     has been saved over it or a later invalidation has cleared it.

// Invalidate drops the value for key, for example after its user reported it rejected, and with a store
// deletes the key's store entry before returning. Without a store it never fails and ignores ctx.
//
// Once Invalidate has returned nil, no Get, GetInfo or Peek on this cache that starts afterwards returns the
// value the key had when Invalidate was called (in memory or in the store), nor any value obtained by a fetch
// (fetch function or store load) that began before Invalidate was called. Such a fetch still answers the
// callers already waiting for it, which are concurrent with Invalidate, but its result is neither kept in
// memory nor saved to the store (if its Save had already begun, Invalidate waits for it, then deletes); calls
// made after Invalidate returns start a new fetch. A fetch that begins while Invalidate runs waits for the
// store delete before it reads the store. The remembered failure of the key, if any, is forgotten too.
//
// Other caches sharing the store find the entry gone from then on, but what they already hold in memory is
// theirs: they serve it until it is due for refresh (and a stale value is served until its refresh ends), and
// a fetch of theirs that read the store before the delete may still keep it.
//
// ctx bounds the store calls, together with the fetch timeout. The error is non-nil when the store delete
// failed (counted in Stats.StoreErrors and wrapped in the error), when ctx ended before it was done (also
// while waiting for a Save under way; errors.Is(err, ctx.Err()) holds), or when ctx is nil. The memory copy
// is dropped and the fence above holds all the same, but the store may still hold the value: this cache then
// skips Store.Load for the key, fetching instead, until a fetched value has been saved for it or a later
// Invalidate succeeds. It forgets this if the key is evicted, and other caches may still load the value.
func (c *Cache[K, V]) Invalidate(ctx context.Context, key K) error {
	if c.store == nil {
		h := c.idx.hash(key)
		t := c.idx.lock(h)
		if n, i := c.idx.get(t, h, key); n != nil {
			c.fence(n)
			c.idx.removeAt(t, i)
		}
		t.mu.Unlock()
		return nil
	}
	_, err := c.invalidateStored(ctx, key, nil)
	return err
}

// InvalidateIf drops the value for key only if match reports true for it, so that a caller whose value was
// rejected drops that value and not a newer one fetched meanwhile. It reports whether anything was dropped.
// match is called without locks held; a nil match drops nothing and does nothing else.
//
// Without a store, dropping the value also fences the fetch under way for the key, as Invalidate does: it
// answers its waiters, but its result is not kept and later calls start a new fetch. With a store,
// InvalidateIf fences the fetch under way whether or not anything matches (it may have loaded the store's
// matching entry), waits for a Save under way, then loads the store's entry and deletes it if match reports
// true for it, with the fetch timeout as the bound. Values it drops get Invalidate's guarantee. A failed or
// timed-out store call is counted in Stats.StoreErrors (a timed-out wait is not) and, as with Invalidate,
// makes this cache skip Store.Load for the key until a fetched value has been saved for it.
func (c *Cache[K, V]) InvalidateIf(key K, match func(V) bool) bool {
	if match == nil {
		return false
	}
	if c.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.opt.fetchTimeout)
		defer cancel()
		dropped, _ := c.invalidateStored(ctx, key, match)
		return dropped
	}
	h := c.idx.hash(key)
	t := c.idx.lock(h)
	n, _ := c.idx.get(t, h, key)
	t.mu.Unlock()
	if n == nil || !n.hasValue() || !match(n.val) {
		return false
	}
	t = c.idx.lock(h)
	defer t.mu.Unlock()
	cur, i := c.idx.get(t, h, key)
	if cur != n {
		return false
	}
	c.fence(n)
	c.idx.removeAt(t, i)
	return true
}

// fence detaches the fetch under way for n's key, so that it keeps nothing and later callers start a new
// one, and forgets the key's remembered failure. The caller holds the lock of n's table.
func (c *Cache[K, V]) fence(n *node[K, V]) {
	if st := n.st; st != nil {
		st.call = nil
		st.err, st.retryAt = nil, 0
	}
	n.setRefreshing(false)
}

// drop fences n's key and takes its value away, putting in n's place a node without a value that keeps n's
// state. It returns the key's node. The caller holds t.mu.
func (c *Cache[K, V]) drop(t *table[K, V], n *node[K, V]) *node[K, V] {
	c.fence(n)
	if !n.hasValue() {
		return n
	}
	nn := newNode[K, V](n.hash, n.key)
	nn.st = n.st
	c.idx.replace(t, n, nn)
	return nn
}

// invalidateStored is Invalidate (match nil: drop whatever there is) and InvalidateIf with a store.
func (c *Cache[K, V]) invalidateStored(ctx context.Context, key K, match func(V) bool) (dropped bool, err error) {
	h := c.idx.hash(key)
	var t *table[K, V]
	var n *node[K, V]
	for { // an absent key gets a node to carry the fence; it evicts nothing
		t = c.idx.lock(h)
		if n, _ = c.idx.get(t, h, key); n != nil {
			break
		}
		n = newNode[K, V](h, key)
		if c.idx.add(t, n) {
			break
		}
		c.idx.grow(t)
		t.mu.Unlock()
	}
	st := n.state()
	var snap *node[K, V] // the value match is asked about
	if match == nil {
		dropped = n.hasValue()
		c.drop(t, n)
	} else {
		st.call = nil
		n.setRefreshing(false) // the value stays, and its next stale Get starts a refresh again
		if n.hasValue() {
			snap = n
		}
	}
	st.pins++
	if st.barrier == nil {
		st.barrier = make(chan struct{})
	}
	var idle chan struct{}
	if st.saving > 0 {
		if st.saved == nil {
			st.saved = make(chan struct{})
		}
		idle = st.saved
	}
	t.mu.Unlock()

	clean, done := false, false
	defer func() { // also if match panics
		t := c.idx.lock(h)
		if !done || err != nil {
			st.distrust = true
		} else if clean {
			st.distrust = false
		}
		if st.pins--; st.pins == 0 {
			close(st.barrier)
			st.barrier = nil
		}
		// While pins was above 0 the key's node could be replaced (its state goes along) but not removed.
		if n, i := c.idx.get(t, h, key); n != nil && n.st == st {
			n.dropIdleState()
			if n.st == nil && !n.hasValue() {
				c.idx.removeAt(t, i)
			}
		}
		t.mu.Unlock()
	}()

	// While the fence and the barrier hold, no fetch can change the key's value: only this check can drop snap.
	if snap != nil && match(snap.val) {
		t := c.idx.lock(h)
		if cur, _ := c.idx.get(t, h, key); cur == snap {
			c.drop(t, cur)
			dropped = true
		}
		t.mu.Unlock()
	}
	deleted, clean, err := c.clearStore(ctx, key, idle, match)
	done = true
	return dropped || deleted, err
}

// clearStore waits for the Saves under way (idle), then deletes key from the store: always when match is
// nil, otherwise only if the stored value matches. It reports whether it deleted an entry for match, and
// whether the store is known to hold nothing for key (clean).
func (c *Cache[K, V]) clearStore(ctx context.Context, key K, idle <-chan struct{}, match func(V) bool) (deleted, clean bool, err error) {
	if ctx == nil {
		return false, false, fmt.Errorf("tokencache: invalidate: %w", errNilContext)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opt.fetchTimeout)
	defer cancel()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
			return false, false, fmt.Errorf("tokencache: invalidate: waiting for a store save under way: %w", ctx.Err())
		}
	}
	if match != nil {
		e, ok, err := c.store.Load(ctx, key)
		if err != nil {
			c.stats.storeErrors.Add(1)
			return false, false, fmt.Errorf("tokencache: invalidate: store load: %w", err)
		}
		if !ok || !match(e.Value) {
			return false, !ok, nil
		}
	}
	if err := c.store.Delete(ctx, key); err != nil {
		c.stats.storeErrors.Add(1)
		return false, false, fmt.Errorf("tokencache: invalidate: store delete: %w", err)
	}
	return match != nil, true, nil
}

// admit waits until no invalidation of cl's key is under way, and reports whether the fetch must skip the
// store. It fails only when the fetch context ends first.
func (c *Cache[K, V]) admit(cl *call[K, V]) (skipStore bool, err error) {
	for {
		t := c.idx.lock(cl.hash)
		var b chan struct{}
		if n, _ := c.idx.get(t, cl.hash, cl.key); n != nil && n.st != nil {
			b, skipStore = n.st.barrier, n.st.distrust
		}
		t.mu.Unlock()
		if b == nil {
			return skipStore, nil
		}
		select {
		case <-b:
		case <-cl.ctx.Done():
			return false, fmt.Errorf("tokencache: waiting for an invalidation of the key: %w", cl.ctx.Err())
		}
	}
}

// save records a fetched value in the store, unless cl is no longer the key's fetch (an invalidation has
// fenced it, or the key has left the index: a later invalidation would not wait for this save). The key's
// node is not removed while a save is under way. A save that succeeds with no other save under way ends the
// distrust of the store.
func (c *Cache[K, V]) save(cl *call[K, V], o outcome[V]) {
	t := c.idx.lock(cl.hash)
	n, _ := c.idx.get(t, cl.hash, cl.key)
	if n == nil || n.st == nil || n.st.call != cl {
		t.mu.Unlock()
		return
	}
	st := n.st
	alone := st.saving == 0 // no fenced save can land after this one
	st.saving++
	t.mu.Unlock()

	err := c.store.Save(&cl.ctx, cl.key, Entry[V]{Value: o.val, Soft: c.at(o.soft), Hard: c.at(o.hard)})
	if err != nil {
		c.stats.storeErrors.Add(1)
	}

	t = c.idx.lock(cl.hash)
	defer t.mu.Unlock()
	if err == nil && alone && st.call == cl {
		st.distrust = false
	}
	if st.saving--; st.saving == 0 && st.saved != nil {
		close(st.saved)
		st.saved = nil
	}
}
