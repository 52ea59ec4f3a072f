// Package peers compares internal/tokencache with four peers, in one process and interleaved: each round runs
// every implementation once per scenario, in an order that rotates from round to round, after a garbage
// collection, and the report gives, for each peer, the ratio library/peer of that round's measurements as
// min / median / max over the rounds.
//
// On a machine shared with other work a burst of it can slow whichever implementation is being measured at
// the time. The hit scenarios, whose rounds are short, therefore cut each round into 8 slices, interleaved
// (A B C D E, B C D E A, ...), and keep each implementation's median slice: a burst spoils one slice of one
// implementation, not its round. The latency scenarios also time an empty region the same way as the calls
// (metrics named floor-*): what the machine adds to any timed call, the same for every implementation, so
// that a percentile near its floor is read as noise.
//
// The peers are golang.org/x/oauth2's ReuseTokenSource (one per key, in a sync.Map), a hand-rolled cache
// (sync.Map plus golang.org/x/sync/singleflight), github.com/maypok86/otter/v2 (loader, per-entry expiry,
// refresh after write) and github.com/jellydator/ttlcache/v3 (loader with singleflight, capacity).
//
// This is a module of its own, so that the peers stay out of the library's go.mod. It can still import
// internal/tokencache: in module mode the go command allows an import of an internal package from any package
// whose import path lies under the internal directory's parent (github.com/sdkbroker/sdkbroker here), in
// whichever module it is.
//
// Run it from this directory:
//
//	go test -run '^$' -bench . -benchtime 7x -timeout 30m
//
// where -benchtime Nx sets the number of rounds (each scenario is one sub-benchmark; a b.Loop iteration is a
// round). go test alone runs a smoke test of every scenario with tiny sizes.
package peers
