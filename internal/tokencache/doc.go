// Package tokencache is a per-key cache of short-lived credentials (access tokens, SDK grants) with a soft and
// a hard expiry, one shared fetch per key, refresh ahead of expiry and a bounded size.
//
// Each value is in one of three states, by the cache's clock:
//
//   - fresh, before its refresh point (its soft expiry, moved earlier by a small random jitter): Get returns it
//     from memory, lock-free, with no allocation and one monotonic clock read;
//   - stale, from the refresh point to its hard expiry minus a safety margin: Get still returns it at once, and
//     starts one background refresh for the key (bounded in number; a failed refresh keeps the value served and
//     waits the negative TTL before trying again). While that refresh runs, Get returns the value lock-free,
//     as for a fresh one; otherwise it takes the key's lock (a table's) to decide;
//   - expired (past hard expiry minus the margin) or missing: callers wait for one fetch shared by all callers
//     of the key. Each caller's context bounds only its own wait; the fetch runs detached from the callers'
//     cancellation with its own timeout, so one caller giving up fails no other. A failed fetch is shared with
//     its waiters and remembered for the negative TTL, during which callers get the same error at once.
//
// A value is never returned past its hard expiry minus the margin. Errors from the fetch function come back
// unchanged, so errors.Is and errors.As tell a permanent failure (an HTTP 401) from a transient one; a panic in
// the fetch function is recovered into an error wrapping ErrFetchPanic.
//
// The fetch function is the one given to New, or the loader passed to the call that starts the fetch (GetWith,
// GetInfoWith), so that a caller can hand the fetch what it needs without putting it in a context. A fetch
// started by a caller whose context can never end (context.Background) runs on that caller's goroutine; any
// other runs on a goroutine of its own, so that its starter can stop waiting. Its context is built lazily: a
// fetch that never asks for Done costs no timer, channel or goroutine. The frames this package leaves on the
// caller's stack under such a fetch take about 470 bytes (620 for GetInfo and GetInfoWith), so that a goroutine started only
// to call Get, which has 2 KiB of stack, runs the fetch function without first having its stack copied into
// a bigger one (the 1.7 KiB it took before made that copy the largest cost of 1000 callers on 1000 cold
// keys).
//
// Defaults: safety margin 30s; soft expiry, when the fetcher gives none, 20% of the lifetime before the hard
// expiry and at least 60s before it (but not before the fetch); jitter up to 10% of the soft window; negative
// TTL 2s; fetch timeout 30s; at most 10000 keys, evicted in approximate least-recently-used order (see below);
// at most 64 background refreshes at once.
//
// # Memory and pauses
//
// Keys live in an extendible hash table (see index.go): a directory of tables of at most 256 cells, read
// without locks and changed under the lock of one table. A cell is a node pointer, a one-byte tag and the
// node's hash; a lookup reads the tag and the pointer, and the node only when the tag matches. A key costs
// one node of 64 bytes with string keys and pointer values (its value, deadlines, hash, use count and state
// pointer) plus its cell, about 100 bytes in all besides the key's and the value's own memory. A miss
// allocates the node and the fetch's state (240 bytes), which is dropped when the fetch ends (and, when the
// caller's context can end, the fetch's goroutine and a channel).
//
// Eviction is a clock with use counts over the tables: a hand passes over the nodes in hash order, lowering
// the count of each node it passes (one for a new node, one more per use, up to 3) and evicting the first
// one whose count it finds at zero, so that a key used again between evictions outlasts keys used once; it
// stops honouring the counts after 256 cells and looks at no more than 512, at most 256 of them under one
// table's lock. The cache keeps no reference to an evicted value (a lookup running at that moment may still
// be reading an older table that holds it), and it keeps the bound after every insertion, unless the keys
// over it are busy (see WithMaxEntries). No lock is held for work proportional to the number of keys: the
// most done under one is the split of a full table, 256 cells, and, when the split needs one more bit of
// hash, a copy of the directory (one pointer per 100 keys or so; otherwise its entries are updated in place).
//
// Timed one at a time at 100k keys (BenchmarkLockHolds: garbage collector off, goroutine locked to its
// thread, 5 runs on the shared 2-core machine), a growth or split of a table took 8.5 to 8.8 µs (median of
// ~840 per fill) and 18 to 53 µs at the 99th percentile; an eviction 0.1 µs, and 2.0 to 2.3 µs (99th
// percentile 4.7 to 5.3 µs) when every use count is at its most, so that it looks at 257 cells. The slowest
// single samples, 65 to 265 µs, are of the same bounded work; an empty region timed the same way reached up
// to 73 µs in those runs. In bench/peers, at 100k keys, the sync.Map+singleflight cache, oauth2 and
// ttlcache show a slowest call of 200 to 320 µs and a 99.99th percentile of 54 to 102 µs (from 130 to 170
// in another run), as this package does (209 and 54 µs; otter 5.1 ms, its table's resize): on this machine
// a single timing cannot tell a pause of the process from work, and only the bound on the work (cells per
// lock) shows that no call holds a lock for long.
//
// # Own engine, not otter as storage
//
// The engine is this package's own rather than github.com/maypok86/otter/v2 with the key state on top,
// decided by the comparison in bench/peers (a module of its own, so that the peers stay out of this one's
// go.mod). In one interleaved run of 7 rounds on a 2-core machine shared with other work (load average 0.9 to
// 1.3; medians of the per-round ratios this package / otter): a miss with a fetcher that returns at once
// took 504 ns and 2.1 allocations against otter's 1096 ns and 5.1 (0.45 and 0.41; otter's miss alone costs
// more than this package's whole miss, and its loader would still need the state for single flight,
// invalidation fences and the store on top); a cache of 100k keys held 102.4 bytes per key against 113.5
// (0.90); a cache bounded at 10k kept exactly 10k values reachable, like otter; 1000 callers on 1000 cold
// keys with a 5 ms fetch took 0.62 of otter's time (and 1.01 of the sync.Map+singleflight cache's, 1.04 of
// oauth2's); with a background refresh under way the 99th percentile of Get was 0.51 of otter's. Hits were
// 0.88 of otter's time with one key and with 10k, 1.01 with one key in parallel, but 1.11 with 10k in
// parallel and 1.25 and 1.30 with 100k, single and parallel: a hit there is memory-bound, and otter's
// lookup reads one 64-byte bucket, from a 2 MB array that stays in a core's cache, where this package reads
// a table header, a tag word and a cell pointer from smaller but separate arrays. Otter's table also grows
// by copying itself whole (O(n) under its resize lock), which the pauses target rules out.
//
// Values live in memory. A Store (see NewWithStore) adds a second level shared between processes, such as
// Redis, consulted only when a value must be fetched; the fresh path never calls it.
//
// Invalidate is linearizable on the cache: once it has returned (without error), no call on this cache that
// starts afterwards returns the value the key had, in memory or in the store, nor anything obtained by a fetch
// that began before Invalidate was called. It works with a per-key fence: every invalidation detaches the
// key's fetch under way, and a fetch keeps its result (in memory, in the store) only while it is still the
// key's fetch; it still answers the callers already waiting for it, and later callers start a new one. With
// a store, Invalidate waits for a Save under way, deletes the entry before it returns, and holds back the
// fetches that begin meanwhile until the delete is done, so they cannot load what it deletes. Other
// processes sharing the store no longer find the entry, but keep what they already hold in memory (see
// Store). InvalidateIf, which drops a value only if it is the one a caller saw rejected, gives the values it
// drops the same guarantee.
//
// Close cancels and waits for the fetches under way; afterwards values held are still served and calls that need
// a fetch return ErrClosed.
package tokencache
