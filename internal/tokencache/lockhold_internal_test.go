package tokencache

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"
)

// The work done under one lock (issue 17: no operation holds a lock for work in proportion to the number of
// keys). A table's lock covers at most one table, of at most maxCells cells: a split copies one table's
// cells (and updates the directory, copying it only when it doubles); an eviction looks at no more than
// 2*evictScan cells, a table's lock at a time.

// lockHoldKeys are the keys of the tests and benchmarks below.
func lockHoldKeys(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprintf("vendor:user-%07d", i)
	}
	return k
}

// insertAll adds a node for each key to x as a miss does (add, or grow the full table and try again), and
// calls grown after each growth with what it did under the table's lock: the time it took, the cells it
// copied and the directory's size afterwards.
func insertAll(x *index[string, string], keys []string, grown func(d time.Duration, cells, dirEntries int)) {
	for _, k := range keys {
		h := x.hash(k)
		n := newNode[string, string](h, k)
		for {
			t := x.lock(h)
			if x.add(t, n) {
				t.mu.Unlock()
				break
			}
			start := time.Now()
			x.grow(t)
			d := time.Since(start)
			t.mu.Unlock()
			grown(d, len(t.cells), len(x.dir.Load().tables))
		}
	}
}

// Filling an index with 100k keys, no growth copies more than maxCells cells, and the directory it may
// copy stays at a few entries per thousand keys; evicting from it, no eviction looks at more than
// 2*evictScan cells, whatever the use counts.
func TestLockHolds_WorkIsBounded(t *testing.T) {
	const n = 100000
	c, err := New(farFetch, WithMaxEntries(2*n))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	x := &c.idx
	maxCopied, maxDir := 0, 0
	insertAll(x, lockHoldKeys(n), func(_ time.Duration, cells, dir int) {
		maxCopied, maxDir = max(maxCopied, cells), max(maxDir, dir)
	})
	tables := checkIndex(t, x)
	if maxCopied > maxCells {
		t.Errorf("a growth copied %d cells, more than %d", maxCopied, maxCells)
	}
	if maxDir > n/32 {
		t.Errorf("a directory of %d entries for %d keys", maxDir, n)
	}

	d := x.dir.Load()
	for i := range d.tables { // a third of the keys in steady use
		tb := d.tables[i].Load()
		for j := range tb.cells {
			if nd := tb.cells[j].Load(); nd != nil && nd != x.tomb && nd.hash%3 == 0 {
				nd.ref = maxRef // no other goroutine uses the index
			}
		}
	}
	x.evictMu.Lock()
	maxScanned := 0
	for range n / 2 {
		ok, scanned := x.evictOne()
		if !ok {
			t.Fatal("nothing evicted")
		}
		maxScanned = max(maxScanned, scanned)
	}
	x.evictMu.Unlock()
	if maxScanned > 2*evictScan {
		t.Errorf("an eviction looked at %d cells, more than %d", maxScanned, 2*evictScan)
	}
	t.Logf("%d keys in %d tables (directory %d entries): growth copied at most %d cells; eviction looked at most at %d cells",
		n, tables, maxDir, maxCopied, maxScanned)
}

// BenchmarkLockHolds times, one at a time, the pieces of work done under a table's lock in an index of 100k
// keys: every growth or split of a table while the keys go in (with its directory update, or copy), 50k
// evictions from it (each looking at up to 2*evictScan cells, a table's lock at a time), and then 1500
// evictions with every use count at its most (saturated: each looks at evictScan cells or more, the most an
// eviction does unless the keys it meets are busy). The goroutine is locked to its thread and the garbage
// collector is off; floor is an empty region timed the same way right after each piece, for the machine's
// own pauses, which a piece's time cannot be told apart from. Run with -benchtime 1x (one fill per
// iteration).
func BenchmarkLockHolds(b *testing.B) {
	const n = 100000
	keys := lockHoldKeys(n)
	us := func(d []time.Duration, q float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[min(int(q*float64(len(s))), len(s)-1)].Nanoseconds()) / 1000
	}
	var grows, evicts, saturated, floor []time.Duration
	maxScanned, minSaturated := 0, 2*evictScan
	for b.Loop() {
		c, err := New(farFetch, WithMaxEntries(2*n))
		if err != nil {
			b.Fatal(err)
		}
		x := &c.idx
		grows, evicts, saturated, floor = grows[:0], evicts[:0], saturated[:0], floor[:0]
		empty := func() {
			start := time.Now()
			floor = append(floor, time.Since(start))
		}
		runtime.GC()
		gc := debug.SetGCPercent(-1)
		runtime.LockOSThread()
		insertAll(x, keys, func(d time.Duration, _, _ int) {
			grows = append(grows, d)
			empty()
		})
		x.evictMu.Lock()
		for range n / 2 {
			start := time.Now()
			_, scanned := x.evictOne()
			evicts = append(evicts, time.Since(start))
			maxScanned = max(maxScanned, scanned)
			empty()
		}
		for range 10 {
			d := x.dir.Load()
			for i := range d.tables {
				tb := d.tables[i].Load()
				for j := range tb.cells {
					if nd := tb.cells[j].Load(); nd != nil && nd != x.tomb {
						nd.ref = maxRef // no other goroutine uses the index
					}
				}
			}
			for range 150 { // well within one lap of the hand, so every count it meets is still at its most
				start := time.Now()
				_, scanned := x.evictOne()
				saturated = append(saturated, time.Since(start))
				maxScanned = max(maxScanned, scanned)
				minSaturated = min(minSaturated, scanned)
				empty()
			}
		}
		x.evictMu.Unlock()
		runtime.UnlockOSThread()
		debug.SetGCPercent(gc)
		c.Close()
	}
	b.ReportMetric(float64(len(grows)), "grows")
	b.ReportMetric(us(grows, 0.5), "grow-p50-us")
	b.ReportMetric(us(grows, 0.99), "grow-p99-us")
	b.ReportMetric(us(grows, 1), "grow-max-us")
	b.ReportMetric(us(evicts, 0.5), "evict-p50-us")
	b.ReportMetric(us(evicts, 0.9999), "evict-p99.99-us")
	b.ReportMetric(us(evicts, 1), "evict-max-us")
	b.ReportMetric(float64(maxScanned), "evict-max-cells")
	b.ReportMetric(float64(minSaturated), "saturated-min-cells")
	b.ReportMetric(us(saturated, 0.5), "saturated-p50-us")
	b.ReportMetric(us(saturated, 0.99), "saturated-p99-us")
	b.ReportMetric(us(saturated, 1), "saturated-max-us")
	b.ReportMetric(us(floor, 0.9999), "floor-p99.99-us")
	b.ReportMetric(us(floor, 1), "floor-max-us")
}
