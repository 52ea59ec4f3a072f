package tokencache

import (
	"context"
	"fmt"
)

// Invalidation is a per-key fence, kept in the key's slot:
//
//   - gen: every invalidation bumps it. A fetch reads it when it begins (see admit) and keeps its result (in
//     memory, in the store) only if it is unchanged; an invalidation also detaches the fetch under way from
//     the slot, so that later callers start a new one instead of joining it.
//   - barrier, pins: while an invalidation is under way with a store, a fetch waits before reading the store,
//     so that it cannot load the entry the invalidation is deleting. The slot is not evicted meanwhile, so the
//     fence cannot be lost with it.
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
		c.idxMu.Lock()
		if s := c.all[key]; s != nil {
			s.mu.Lock()
			c.dropLocked(s)
			c.removeLocked(s)
			s.mu.Unlock()
		}
		c.idxMu.Unlock()
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
	c.idxMu.Lock()
	s := c.all[key]
	c.idxMu.Unlock()
	if s == nil {
		return false
	}
	snap := s.snap.Load()
	if snap == nil || !match(snap.val) {
		return false
	}
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone.Load() || s.snap.Load() != snap {
		return false
	}
	c.dropLocked(s)
	c.removeLocked(s)
	return true
}

// dropLocked drops the slot's value and remembered failure and fences the fetch under way. The caller holds
// s.mu.
func (c *Cache[K, V]) dropLocked(s *slot[K, V]) {
	c.fenceLocked(s)
	s.snap.Store(nil)
	s.err, s.retryAt = nil, 0
}

// fenceLocked makes the fetches under way for s keep nothing, and detaches the current one so that later
// callers start a new fetch. The caller holds s.mu.
func (c *Cache[K, V]) fenceLocked(s *slot[K, V]) {
	s.gen++
	s.call = nil
}

// invalidateStored is Invalidate (match nil: drop whatever there is) and InvalidateIf with a store.
func (c *Cache[K, V]) invalidateStored(ctx context.Context, key K, match func(V) bool) (dropped bool, err error) {
	s := c.insert(key, false) // locked; an absent key gets a slot to carry the fence, evicting nothing
	var snap *snapshot[V]
	if match == nil {
		dropped = s.snap.Load() != nil
		c.dropLocked(s)
	} else {
		c.fenceLocked(s)
		snap = s.snap.Load()
	}
	s.pins++
	if s.barrier == nil {
		s.barrier = make(chan struct{})
	}
	var idle chan struct{}
	if s.saving > 0 {
		if s.saved == nil {
			s.saved = make(chan struct{})
		}
		idle = s.saved
	}
	s.mu.Unlock()

	clean, done := false, false
	defer func() { // also if match panics
		s.mu.Lock()
		if !done || err != nil {
			s.distrust = true
		} else if clean {
			s.distrust = false
		}
		if s.pins--; s.pins == 0 {
			close(s.barrier)
			s.barrier = nil
		}
		s.mu.Unlock()
		c.removeIfIdle(s)
	}()

	// While the fence and the barrier hold, no fetch can change s.snap: only this check can drop snap.
	if snap != nil && match(snap.val) {
		s.mu.Lock()
		if s.snap.Load() == snap {
			s.snap.Store(nil)
			s.err, s.retryAt = nil, 0
			dropped = true
		}
		s.mu.Unlock()
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

// removeIfIdle takes s out of the index if it holds nothing worth keeping: no value, remembered failure,
// fetch, invalidation, save or distrust of the store.
func (c *Cache[K, V]) removeIfIdle(s *slot[K, V]) {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap.Load() == nil && s.err == nil && s.call == nil && s.pins == 0 && s.saving == 0 && !s.distrust {
		c.removeLocked(s)
	}
}

// admit waits until no invalidation of s is under way and returns the generation a fetch beginning now belongs
// to, and whether it must skip the store. It fails only when ctx ends first.
func (c *Cache[K, V]) admit(ctx context.Context, s *slot[K, V]) (gen uint64, skipStore bool, err error) {
	for {
		s.mu.Lock()
		b := s.barrier
		if b == nil {
			gen, skipStore = s.gen, s.distrust
			s.mu.Unlock()
			return gen, skipStore, nil
		}
		s.mu.Unlock()
		select {
		case <-b:
		case <-ctx.Done():
			return 0, false, fmt.Errorf("tokencache: waiting for an invalidation of the key: %w", ctx.Err())
		}
	}
}

// save records a fetched value in the store, unless an invalidation has fenced the fetch (gen moved) or s has
// left the index (a later invalidation would use another slot and not wait for this save; a slot is not
// removed while a save is under way). A save that succeeds with no other save under way ends the distrust of
// the store.
func (c *Cache[K, V]) save(ctx context.Context, key K, s *slot[K, V], gen uint64, snap *snapshot[V]) {
	s.mu.Lock()
	if s.gen != gen || s.gone.Load() {
		s.mu.Unlock()
		return
	}
	alone := s.saving == 0 // no fenced save can land after this one
	s.saving++
	s.mu.Unlock()

	err := c.store.Save(ctx, key, snap.entry())
	if err != nil {
		c.stats.storeErrors.Add(1)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && alone && s.gen == gen {
		s.distrust = false
	}
	if s.saving--; s.saving == 0 && s.saved != nil {
		close(s.saved)
		s.saved = nil
	}
}
