package tokencache

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func farFetch(_ context.Context, key string) (string, Expiry, error) {
	return "v-" + key, Expiry{Hard: time.Now().Add(time.Hour)}, nil
}

// checkIndex verifies the index's invariants: every directory entry points to the live table for its range,
// no table is bigger than maxCells or fuller than three quarters, the counts match the cells, every cell's
// tag and hash match its node, and every node sits in the table its hash selects.
func checkIndex[K comparable, V any](t *testing.T, x *index[K, V]) (tables int) {
	t.Helper()
	d := x.dir.Load()
	depth := 64 - d.shift
	total := 0
	for i := range d.tables {
		tb := d.tables[i].Load()
		tb.mu.Lock()
		if tb.dead {
			t.Fatalf("directory entry %d holds a dead table", i)
		}
		if got := uint64(i) >> (depth - tb.depth); got != tb.prefix {
			t.Fatalf("entry %d: table prefix %d, want %d", i, tb.prefix, got)
		}
		first := i == int(tb.prefix)<<(depth-tb.depth)
		if len(tb.cells) > maxCells {
			t.Fatalf("table of %d cells", len(tb.cells))
		}
		live, used := 0, 0
		for j := range tb.cells {
			n, tag := tb.cells[j].Load(), tb.tag(uint64(j))
			if n == nil {
				if tag != tagEmpty {
					t.Fatalf("empty cell with tag %d", tag)
				}
				continue
			}
			used++
			if n == x.tomb {
				if tag != tagTomb {
					t.Fatalf("removed cell with tag %d", tag)
				}
				continue
			}
			live++
			if h := tb.hashes[j]; h != n.hash || tag != tagOf(h) || tb.depth > 0 && h>>(64-tb.depth) != tb.prefix {
				t.Fatalf("node with hash %x (cell's %x, tag %d) in table %d/%d", n.hash, h, tag, tb.prefix, tb.depth)
			}
		}
		if live != tb.live || used != tb.used || 4*used > 3*len(tb.cells) {
			t.Fatalf("table counts live %d/%d used %d/%d of %d cells", live, tb.live, used, tb.used, len(tb.cells))
		}
		if first {
			total += live
			tables++
		}
		tb.mu.Unlock()
	}
	if int64(total) != x.count.Load() {
		t.Fatalf("count %d, nodes %d", x.count.Load(), total)
	}
	return tables
}

// The index splits into tables of at most maxCells cells, so that growing it never copies more than that
// under a lock, and lookups find every key while it grows.
func TestIndex_SplitsIntoBoundedTablesWhileReadersRun(t *testing.T) {
	const n = 30000
	c, err := New(farFetch, WithMaxEntries(n))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
	}
	var inserted sync.WaitGroup
	inserted.Add(1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 2 { // readers of the first keys while the rest are added
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := keys[(i*31+r)%100]
				if v, err := c.Get(ctx, k); err != nil || v != "v-"+k {
					t.Errorf("Get(%s) = %q, %v", k, v, err)
					return
				}
			}
		})
	}
	for _, k := range keys {
		if _, err := c.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	tables := checkIndex(t, &c.idx)
	if tables < n/maxCells {
		t.Fatalf("%d tables for %d keys", tables, n)
	}
	for _, k := range keys {
		if _, _, ok := c.Peek(k); !ok {
			t.Fatalf("%s lost", k)
		}
	}
	if st := c.Stats(); st.Fetches != n || st.Evictions != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Removals leave tombstones; a table full of them is rebuilt at the same size rather than grown.
func TestIndex_TombstonesAreReclaimed(t *testing.T) {
	c, err := New(farFetch)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for i := range 5000 {
		k := fmt.Sprint("k", i%7, "-", i)
		if _, err := c.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := c.Invalidate(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	checkIndex(t, &c.idx)
	d := c.idx.dir.Load()
	if len(d.tables) != maxInitialTables { // the default bound starts at that many
		t.Fatalf("empty cache has %d tables", len(d.tables))
	}
	for i := range d.tables {
		if tb := d.tables[i].Load(); len(tb.cells) != minCells {
			t.Fatalf("empty cache grew a table to %d cells", len(tb.cells))
		}
	}
	if c.Len() != 0 {
		t.Fatalf("Len %d", c.Len())
	}
}

// BenchmarkIndexGrow times the biggest piece of work done under a lock: replacing a full table of maxCells
// cells by two, with the directory copy, in an index of 100k keys.
func BenchmarkIndexGrow(b *testing.B) {
	c, err := New(farFetch, WithMaxEntries(200000))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for i := range 100000 {
		if _, err := c.Get(ctx, fmt.Sprint("vendor:user-", i)); err != nil {
			b.Fatal(err)
		}
	}
	x := &c.idx
	var worst time.Duration
	for b.Loop() {
		b.StopTimer()
		d := x.dir.Load()
		var full *table[string, string]
		for i := range d.tables { // the fullest table, grown in place of the usual insert
			if tb := d.tables[i].Load(); full == nil || tb.used > full.used {
				full = tb
			}
		}
		full.mu.Lock()
		b.StartTimer()
		start := time.Now()
		x.grow(full)
		worst = max(worst, time.Since(start))
		b.StopTimer()
		full.mu.Unlock()
		b.StartTimer()
	}
	b.ReportMetric(float64(worst.Microseconds()), "max-us")
}
