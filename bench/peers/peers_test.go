package peers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"golang.org/x/oauth2"
)

var errNotLoaded = errors.New("peers: no value")

// far is an expiry no benchmark reaches.
var far = time.Now().Add(24 * time.Hour)

// shared is the token the instant fetcher returns, so that no scenario but "bounded" counts the value's bytes.
var shared = &oauth2.Token{AccessToken: "secret", Expiry: far}

func instant(context.Context, string) (*oauth2.Token, error) { return shared, nil }

// keys returns n distinct keys shaped like the broker's.
func keys(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprintf("vendor:user-%07d", i)
	}
	return k
}

// metrics is one measurement of one implementation; every metric is lower-is-better.
type metrics map[string]float64

// scenario is one comparison. setup runs once per implementation before the rounds and returns what measure
// needs (nil if nothing); measure runs once per round, or, with slices > 1, that many times per round on a
// share of the work each (see runRound).
type scenario struct {
	name    string
	setup   func(im impl, size sizes) any
	measure func(im impl, state any, size sizes) metrics
	slices  int
}

// sizes scales the scenarios: full for the benchmark, tiny for the smoke test.
type sizes struct {
	misses, hitOps, storm, bytesN, bound, pauseN int
	refreshFor                                   time.Duration
}

var full = sizes{misses: 20000, hitOps: 1 << 21, storm: 1000, bytesN: 100000, bound: 10000, pauseN: 100000,
	refreshFor: 400 * time.Millisecond}
var tiny = sizes{misses: 100, hitOps: 1000, storm: 50, bytesN: 1000, bound: 100, pauseN: 1000,
	refreshFor: 50 * time.Millisecond}

// hitSlices is how many slices a round of a hit scenario is cut into (see runRound).
const hitSlices = 8

func scenarios() []scenario {
	s := []scenario{
		{name: "miss", measure: measureMiss},
		{name: "storm", measure: measureStorm},
	}
	for _, n := range []int{1, 10000, 100000} {
		for _, par := range []bool{false, true} {
			name := fmt.Sprintf("hit-%d", n)
			if par {
				name += "-parallel"
			}
			s = append(s, scenario{name: name, slices: hitSlices,
				setup: func(im impl, sz sizes) any { return populated(im, min(n, sz.bytesN)) },
				measure: func(im impl, state any, sz sizes) metrics {
					return measureHit(state.(*filled), sz.hitOps/hitSlices, par)
				}})
		}
	}
	return append(s,
		scenario{name: "refresh", measure: measureRefresh},
		scenario{name: "bytes", measure: measureBytes},
		scenario{name: "bounded", measure: measureBounded},
		scenario{name: "pauses", measure: measurePauses},
	)
}

// filled is a cache holding every key of ks.
type filled struct {
	c  subject
	ks []string
}

func populated(im impl, n int) *filled {
	ks := keys(n)
	c := im.make(spec{fetch: instant, max: n})
	ctx := context.Background()
	for _, k := range ks {
		if _, err := c.Get(ctx, k); err != nil {
			panic(err)
		}
	}
	if s, ok := c.(settler); ok {
		s.settle()
	}
	return &filled{c, ks}
}

// timeOps runs ops calls of op, spread over procs goroutines, and returns the wall time per call and the heap
// allocations per call. It does not collect garbage first: runRound does, once per round.
func timeOps(ops, procs int, op func(g, i int)) (nsPerOp, allocsPerOp float64) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	var wg sync.WaitGroup
	per := ops / procs
	for g := range procs {
		wg.Go(func() {
			for i := range per {
				op(g, i)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	n := float64(per * procs)
	return float64(el.Nanoseconds()) / n, float64(m1.Mallocs-m0.Mallocs) / n
}

// measureMiss: every call is for a new key and the fetcher returns at once; the cache is bounded above the
// number of keys, so nothing is evicted.
func measureMiss(im impl, _ any, sz sizes) metrics {
	ks := keys(sz.misses)
	c := im.make(spec{fetch: instant, max: 2 * sz.misses})
	defer c.Close()
	ctx := context.Background()
	runtime.GC()
	ns, allocs := timeOps(len(ks), 1, func(_, i int) {
		if _, err := c.Get(ctx, ks[i]); err != nil {
			panic(err)
		}
	})
	return metrics{"ns/op": ns, "allocs/op": allocs}
}

// measureStorm: sz.storm callers, each on its own cold key, all released at once; the fetch takes 5 ms.
// The metric is the wall time until the last caller has its value, averaged over 3 storms.
func measureStorm(im impl, _ any, sz sizes) metrics {
	slow := func(context.Context, string) (*oauth2.Token, error) {
		time.Sleep(5 * time.Millisecond)
		return shared, nil
	}
	ks := keys(sz.storm)
	ctx := context.Background()
	var total time.Duration
	var allocs uint64
	const storms = 3
	for range storms {
		c := im.make(spec{fetch: slow, max: 2 * sz.storm})
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		startGate := make(chan struct{})
		var wg sync.WaitGroup
		for _, k := range ks {
			wg.Go(func() {
				<-startGate
				if _, err := c.Get(ctx, k); err != nil {
					panic(err)
				}
			})
		}
		start := time.Now()
		close(startGate)
		wg.Wait()
		total += time.Since(start)
		runtime.ReadMemStats(&m1)
		allocs += m1.Mallocs - m0.Mallocs
		c.Close()
	}
	return metrics{"ms/storm": float64(total.Microseconds()) / 1000 / storms,
		"allocs/caller": float64(allocs) / float64(storms*len(ks))}
}

// measureHit: calls on held keys, visited in a scattered order, from one goroutine or GOMAXPROCS of them.
func measureHit(f *filled, ops int, parallel bool) metrics {
	procs := 1
	if parallel {
		procs = runtime.GOMAXPROCS(0)
	}
	n := len(f.ks)
	const stride = 7919 // prime: visits every key of any count it does not divide
	ctx := context.Background()
	ns, allocs := timeOps(ops, procs, func(g, i int) {
		if _, err := f.c.Get(ctx, f.ks[(g*n/procs+i*stride)%n]); err != nil {
			panic(err)
		}
	})
	return metrics{"ns/op": ns, "allocs/op": allocs}
}

// measureRefresh: one key whose token lives 100 ms and is refreshed (by those that can) 50 ms before it
// expires, with a fetch taking 20 ms; GOMAXPROCS callers each call Get every ~50 µs, waiting in between by
// spinning on the clock (a caller that slept between calls would time mostly its own wake-up: a cold cache
// after each sleep put the 99th percentile of an empty timed region at several microseconds on this machine).
// The metrics are latency percentiles of the calls, and the same percentiles of an empty timed region
// measured in the same loop (floor-*: what the machine adds to any call; about the same for every
// implementation).
func measureRefresh(im impl, _ any, sz sizes) metrics {
	fetch := func(context.Context, string) (*oauth2.Token, error) {
		time.Sleep(20 * time.Millisecond)
		return &oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(100 * time.Millisecond)}, nil
	}
	c := im.make(spec{fetch: fetch, max: 10, ahead: 50 * time.Millisecond})
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Get(ctx, "k"); err != nil {
		panic(err)
	}
	var mu sync.Mutex
	var lat, floor []time.Duration
	deadline := time.Now().Add(sz.refreshFor)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			var mine, empty []time.Duration
			for next := time.Now(); next.Before(deadline); next = next.Add(50 * time.Microsecond) {
				for time.Now().Before(next) {
				}
				start := time.Now()
				if _, err := c.Get(ctx, "k"); err != nil {
					panic(err)
				}
				mine = append(mine, time.Since(start))
				start = time.Now()
				empty = append(empty, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			floor = append(floor, empty...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return metrics{"p99-ns": pct(lat, 0.99), "p99.9-ns": pct(lat, 0.999),
		"floor-p99-ns": pct(floor, 0.99), "floor-p99.9-ns": pct(floor, 0.999)}
}

// measureBytes: heap held by a cache of sz.bytesN keys (bound = that many), per key, after GC. The keys and
// the one shared value are allocated before and not counted.
func measureBytes(im impl, _ any, sz sizes) metrics {
	ks := keys(sz.bytesN)
	ctx := context.Background()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	c := im.make(spec{fetch: instant, max: sz.bytesN})
	for _, k := range ks {
		if _, err := c.Get(ctx, k); err != nil {
			panic(err)
		}
	}
	if s, ok := c.(settler); ok {
		s.settle()
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(c)
	runtime.KeepAlive(ks)
	c.Close()
	return metrics{"B/entry": float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(len(ks))}
}

// measureBounded: a cache bounded at sz.bound is given twice that many keys, each with a value of its own;
// after GC, how many values are still reachable, per bound (1.00 = exactly the bound), and the heap it holds
// per bound entry. Unbounded peers keep everything (2.00).
func measureBounded(im impl, _ any, sz sizes) metrics {
	var weaks []weak.Pointer[oauth2.Token]
	var mu sync.Mutex
	fetch := func(context.Context, string) (*oauth2.Token, error) {
		t := &oauth2.Token{AccessToken: "t", Expiry: far}
		mu.Lock()
		weaks = append(weaks, weak.Make(t))
		mu.Unlock()
		return t, nil
	}
	ctx := context.Background()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	c := im.make(spec{fetch: fetch, max: sz.bound})
	for i := range 2 * sz.bound {
		if _, err := c.Get(ctx, fmt.Sprintf("vendor:user-%07d", i)); err != nil {
			panic(err)
		}
	}
	if s, ok := c.(settler); ok {
		s.settle()
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	live := 0
	for _, w := range weaks {
		if w.Value() != nil {
			live++
		}
	}
	runtime.KeepAlive(c)
	c.Close()
	return metrics{"reachable/bound": float64(live) / float64(sz.bound),
		"B/bound-entry": float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)-int64(len(weaks)*8)) / float64(sz.bound)}
}

// measurePauses: a cache bounded at sz.pauseN is filled with that many keys, then given as many new keys (each
// evicting one), with three calls on held keys after each; every call is timed, by the wall clock and by the
// CPU time of its thread (the goroutine is locked to its thread; the garbage collector is off meanwhile, so
// that the times are the cache's own work). Reports the slowest call and the 99.99th percentile, and the same
// for an empty region timed the same way after each call (floor-*): the machine's own pauses (another
// process, the hypervisor, a timer interrupt), which a call's time cannot be told apart from.
func measurePauses(im impl, _ any, sz sizes) metrics {
	n := sz.pauseN
	ks := keys(2 * n)
	c := im.make(spec{fetch: instant, max: n})
	defer c.Close()
	ctx := context.Background()
	wall := make([]time.Duration, 0, 5*n)
	cpu := make([]time.Duration, 0, 5*n)
	floorWall := make([]time.Duration, 0, 5*n)
	floorCPU := make([]time.Duration, 0, 5*n)
	get := func(k string) {
		c0 := threadCPU()
		start := time.Now()
		if _, err := c.Get(ctx, k); err != nil {
			panic(err)
		}
		wall = append(wall, time.Since(start))
		cpu = append(cpu, threadCPU()-c0)
		c0 = threadCPU()
		start = time.Now()
		floorWall = append(floorWall, time.Since(start))
		floorCPU = append(floorCPU, threadCPU()-c0)
	}
	prefault(320 << 20)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := range n {
		get(ks[i])
	}
	for i := n; i < 2*n; i++ {
		get(ks[i])
		for j := 1; j <= 3; j++ {
			get(ks[i-j*7919%n])
		}
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	return metrics{"max-us": us(slices.Max(wall)), "p99.99-us": pct(wall, 0.9999) / 1000,
		"cpu-max-us": us(slices.Max(cpu)), "cpu-p99.99-us": pct(cpu, 0.9999) / 1000,
		"floor-max-us": us(slices.Max(floorWall)), "floor-p99.99-us": pct(floorWall, 0.9999) / 1000,
		"floor-cpu-max-us": us(slices.Max(floorCPU)), "floor-cpu-p99.99-us": pct(floorCPU, 0.9999) / 1000}
}

// prefault has the runtime map and touch n bytes of heap, then frees them, so that the calls timed next are
// not charged for the kernel's first touch of fresh pages (transparent huge pages make one such fault cost
// hundreds of microseconds).
func prefault(n int) {
	chunks := make([][]byte, n>>20)
	for i := range chunks {
		chunks[i] = make([]byte, 1<<20)
		for j := 0; j < len(chunks[i]); j += 4096 {
			chunks[i][j] = 1
		}
	}
	runtime.KeepAlive(chunks)
	chunks = nil
	runtime.GC()
	runtime.GC()
}

// pct returns the q-quantile of d in nanoseconds.
func pct(d []time.Duration, q float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(int(math.Ceil(q*float64(len(s))))-1, len(s)-1)
	return float64(s[max(i, 0)].Nanoseconds())
}

// rounds collects one scenario's measurements: per implementation, per metric, one value per round.
type rounds map[string]map[string][]float64

// runRound measures every implementation once, starting the order at impls[r % len], after a garbage
// collection. With sc.slices > 1 it measures each implementation that many times, on its share of the work,
// the order rotating from slice to slice (A B C D E, B C D E A, ...), and keeps the median of the slices per
// metric: a burst of other work on the machine then spoils a slice of one implementation, not its whole round.
func runRound(sc scenario, states []any, r int, sz sizes, into rounds) {
	runtime.GC()
	slices := max(sc.slices, 1)
	got := make([]map[string][]float64, len(impls))
	for s := range slices {
		for j := range impls {
			i := (r + s + j) % len(impls)
			for k, v := range sc.measure(impls[i], states[i], sz) {
				if got[i] == nil {
					got[i] = map[string][]float64{}
				}
				got[i][k] = append(got[i][k], v)
			}
		}
	}
	for i, im := range impls {
		for k, v := range got[i] {
			if into[im.name] == nil {
				into[im.name] = map[string][]float64{}
			}
			into[im.name][k] = append(into[im.name][k], median(v))
		}
	}
}

// report formats the ratios library/peer (per round, min/median/max) and the medians of each implementation.
func report(sc scenario, got rounds) string {
	var b strings.Builder
	lib := got[impls[0].name]
	metricNames := make([]string, 0, len(lib))
	for k := range lib {
		metricNames = append(metricNames, k)
	}
	slices.Sort(metricNames)
	for _, m := range metricNames {
		fmt.Fprintf(&b, "%s %s: tokencache median %s over %d rounds\n", sc.name, m, num(median(lib[m])), len(lib[m]))
		for _, p := range impls[1:] {
			peer := got[p.name][m]
			ratios := make([]float64, len(peer))
			for i := range peer {
				ratios[i] = ratio(lib[m][i], peer[i])
			}
			fmt.Fprintf(&b, "  /%-11s ratio min %6.3f  med %6.3f  max %6.3f   (peer median %s)\n",
				p.name, slices.Min(ratios), median(ratios), slices.Max(ratios), num(median(peer)))
		}
	}
	return b.String()
}

// ratio is a/b, except that two values below 0.01 (allocation counts that round to none) compare as equal.
func ratio(a, b float64) float64 {
	if a < 0.01 && b < 0.01 {
		return 1
	}
	return a / b
}

func num(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%.4g", v)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkPeers runs each scenario as a sub-benchmark whose iterations are rounds (-benchtime Nx: N rounds)
// and logs the ratios. Medians of the library/peer ratios are also reported as metrics.
func BenchmarkPeers(b *testing.B) {
	for _, sc := range scenarios() {
		b.Run(sc.name, func(b *testing.B) {
			states := make([]any, len(impls))
			if sc.setup != nil {
				for i, im := range impls {
					states[i] = sc.setup(im, full)
				}
			}
			got := rounds{}
			r := 0
			for b.Loop() {
				runRound(sc, states, r, full, got)
				r++
			}
			b.StopTimer()
			for _, s := range states {
				if f, ok := s.(*filled); ok {
					f.c.Close()
				}
			}
			fmt.Print(report(sc, got))
			for _, p := range impls[1:] {
				for m, lib := range got[impls[0].name] {
					peer := got[p.name][m]
					ratios := make([]float64, len(peer))
					for i := range peer {
						ratios[i] = ratio(lib[i], peer[i])
					}
					b.ReportMetric(median(ratios), fmt.Sprintf("x%s-%s", p.name, m))
				}
			}
		})
	}
}

// TestSmoke runs every scenario on every implementation at tiny sizes, for one round.
func TestSmoke(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			states := make([]any, len(impls))
			if sc.setup != nil {
				for i, im := range impls {
					states[i] = sc.setup(im, tiny)
				}
			}
			got := rounds{}
			runRound(sc, states, 0, tiny, got)
			for _, im := range impls {
				if len(got[im.name]) == 0 {
					t.Fatalf("%s: no metrics", im.name)
				}
			}
			for _, s := range states {
				if f, ok := s.(*filled); ok {
					f.c.Close()
				}
			}
			t.Log("\n" + report(sc, got))
		})
	}
}
