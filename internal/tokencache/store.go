package tokencache

import (
	"context"
	"time"
)

// Entry is a value as a Store keeps it.
type Entry[V any] struct {
	Value V
	// Soft is when the value should be refreshed: the fetcher's Expiry.Soft, or the one derived from the
	// soft-window rule, before jitter (each process draws its own).
	Soft time.Time
	// Hard is the fetcher's Expiry.Hard. A store may drop the entry after it.
	Hard time.Time
}

// Store is a second level below the in-memory cache, shared by several processes (a Redis store, for
// example), so that a value fetched by one replica is reused by the others.
//
// The in-memory level is built in and does not go through Store: a fresh value in memory is returned without
// calling the store. The store is consulted only when a value must be fetched (missing, expired or stale): an
// entry still fresh there is adopted without calling the fetch function; otherwise the fetch runs and its
// result is saved. If the fetch fails while the store holds a stale but still usable entry, that entry is
// served. Store errors never fail a Get: a failed Load falls through to the fetch, a failed Save is only
// counted in Stats.StoreErrors. A failed Delete is counted too, and returned by Invalidate.
//
// Invalidate (and InvalidateIf, when the entry matches) deletes from the store before it returns, once the
// Save calls already under way for the key have ended. A fetch that began before the invalidation and had not
// called Save yet does not call it, and a fetch that begins while it runs calls Load only once the delete is
// done. So once Invalidate has returned nil, no process
// sharing the store loads the invalidated value from it. If the delete fails, the invalidating cache calls
// no Load for the key until a value it fetched has been saved for it or a later Invalidate has succeeded
// (it forgets this if the key is evicted from its memory); other processes may still load the value.
//
// Single flight and invalidation are per process: two replicas missing the same key at once both fetch, and
// the last Save wins. A value invalidated on one replica is deleted from the store but stays in the other
// replicas' memory until their refresh of it, which starts at its refresh point, has ended (a stale value is
// served meanwhile); and a fetch of another replica that loaded the value before the delete may still keep it.
//
// Methods get a context bounded by the fetch timeout and must be safe for concurrent use.
type Store[K comparable, V any] interface {
	// Load returns the entry saved for key; ok is false when there is none.
	Load(ctx context.Context, key K) (e Entry[V], ok bool, err error)
	// Save records e for key, replacing any earlier entry.
	Save(ctx context.Context, key K, e Entry[V]) error
	// Delete forgets key; deleting a missing key is not an error.
	Delete(ctx context.Context, key K) error
}
