// Package peers compares internal/tokencache with four peers, in one process and interleaved: each round runs
// every implementation once per scenario, in an order that rotates from round to round, and the report gives,
// for each peer, the ratio library/peer of that round's measurements as min / median / max over the rounds.
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
