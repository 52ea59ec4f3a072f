// Package tokencache is a per-key cache of short-lived credentials (access tokens, SDK grants) with a soft and
// a hard expiry, one shared fetch per key, refresh ahead of expiry and a bounded size.
//
// Each value is in one of three states, by the cache's clock:
//
//   - fresh, before its refresh point (its soft expiry, moved earlier by a small random jitter): Get returns it
//     from memory, lock-free, with no allocation and one monotonic clock read;
//   - stale, from the refresh point to its hard expiry minus a safety margin: Get still returns it at once, and
//     starts one background refresh for the key (bounded in number; a failed refresh keeps the value served and
//     waits the negative TTL before trying again);
//   - expired (past hard expiry minus the margin) or missing: callers wait for one fetch shared by all callers
//     of the key. Each caller's context bounds only its own wait; the fetch runs detached from the callers'
//     cancellation with its own timeout, so one caller giving up fails no other. A failed fetch is shared with
//     its waiters and remembered for the negative TTL, during which callers get the same error at once.
//
// A value is never returned past its hard expiry minus the margin. Errors from the fetch function come back
// unchanged, so errors.Is and errors.As tell a permanent failure (an HTTP 401) from a transient one; a panic in
// the fetch function is recovered into an error wrapping ErrFetchPanic.
//
// Defaults: safety margin 30s; soft expiry, when the fetcher gives none, 20% of the lifetime before the hard
// expiry and at least 60s before it (but not before the fetch); jitter up to 10% of the soft window; negative
// TTL 2s; fetch timeout 30s; at most 10000 keys, evicted in approximate least-recently-used order (second-chance
// "clock"); at most 64 background refreshes at once.
//
// Values live in memory. A Store (see NewWithStore) adds a second level shared between processes, such as
// Redis, consulted only when a value must be fetched; the fresh path never calls it.
//
// Invalidate is linearizable on the cache: once it has returned (without error), no call on this cache that
// starts afterwards returns the value the key had, in memory or in the store, nor anything obtained by a fetch
// that began before Invalidate was called. It works with a per-key generation: every invalidation bumps it,
// and a fetch keeps its result (in memory, in the store) only if the generation has not moved since it
// began; the fetch still answers the callers already waiting for it, and later callers start a new one. With
// a store, Invalidate waits for a Save under way, deletes the entry before it returns, and holds back the
// fetches that begin meanwhile until the delete is done, so they cannot load what it deletes. Other
// processes sharing the store no longer find the entry, but keep what they already hold in memory (see
// Store). InvalidateIf, which drops a value only if it is the one a caller saw rejected, gives the values it
// drops the same guarantee.
//
// Close cancels and waits for the fetches under way; afterwards values held are still served and calls that need
// a fetch return ErrClosed.
package tokencache
