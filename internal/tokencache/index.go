package tokencache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// The index maps keys to nodes. It is an extendible hash table: a directory, indexed by the top bits of a
// key's hash, points to tables of at most maxCells cells each; a table is an open-addressing array (linear
// probing) of cells, each an atomic pointer to a node with a one-byte tag beside it, so that a probe reads a
// node only when its tag matches, and the node's hash, so that growing a table reads no node (see table).
//
// Lookups take no lock and write nothing: they load the directory, the table and the cells with atomic loads
// (see find). Changes to a table are made under its mutex, which is also the lock of every key the table
// holds (see node.st). When a table fills up it is replaced, under its lock, by a bigger one or, past
// maxCells, by two tables each taking half of its hash range; the directory's entries for it are then
// pointed at the new tables (in place, or in a copy of the directory twice as big when a split needs one
// more bit of hash to tell its halves apart) and the old table is marked dead, so that writers that find it
// dead look again.
// A replacement copies at most maxCells pointers, and the directory copy has one pointer per maxCells*3/8
// keys or so: no operation does work in proportion to the number of keys while holding a lock.
//
// Readers still on an old directory or table see the nodes as they were and may miss a node added since;
// a miss is checked again under the lock of the key's live table before anything is added.
//
// Eviction is a clock with use counts (GCLOCK) over the tables themselves: a hand walks the cells in hash
// order; a node whose count (one when the node is added, and when it gets a value with none left; one more
// per use, up to maxRef) is above zero has it lowered by one and is passed over, a node whose count is zero
// is evicted. A key used again between two evictions therefore outlasts keys used once, even when every key
// was used since the hand last passed (with a single used flag, the hand would clear every flag in one lap
// and evict whichever came first). The hand looks at no more than evictScan cells per eviction; when every
// node it saw was still counted, it evicts the first node it meets that is not busy.

const (
	minCells  = 8   // cells of a new table
	maxCells  = 256 // past this a full table splits instead of growing
	evictScan = 256 // cells the hand looks at before it stops honouring the use counts

	maxInitialTables = 16
)

// node is one key in the index: its value, immutable once set, and its per-key state.
//
// refresh and ref are read and written atomically (loadRefresh, storeRefresh, loadRef, storeRef) once the
// node is in the index, and set plainly by newNode and keep before it is: a new node costs no atomic store
// (an exchange instruction, which waits for every store before it to land). refresh is the first field so
// that it is 64-bit aligned on 32-bit platforms too.
type node[K comparable, V any] struct {
	// refresh is when the value stops being fresh (nanoseconds since the cache's base time); noValue while
	// the node has none yet. It is the node's publication point: val and hard are written before it is
	// set, and read after it is loaded.
	refresh int64
	hash    uint64
	hard    int64  // hard expiry, nanoseconds since the cache's base time
	ref     uint32 // uses (refCount bits), and refreshing; see touch
	key     K
	val     V
	// st is the key's fetch, failure and invalidation state; nil when there is none. Guarded by the lock of
	// the key's live table, as are all changes to which node the index holds for the key.
	st *keyState[K, V]
}

// noValue is node.refresh of a node that has no value yet.
const noValue = -1 << 63

// newNode returns a node for key, without a value, counted as used once.
func newNode[K comparable, V any](h uint64, key K) *node[K, V] {
	return &node[K, V]{refresh: noValue, hash: h, ref: 1, key: key}
}

func (n *node[K, V]) loadRefresh() int64   { return atomic.LoadInt64(&n.refresh) }
func (n *node[K, V]) storeRefresh(r int64) { atomic.StoreInt64(&n.refresh, r) }
func (n *node[K, V]) loadRef() uint32      { return atomic.LoadUint32(&n.ref) }
func (n *node[K, V]) casRef(old, r uint32) bool {
	return atomic.CompareAndSwapUint32(&n.ref, old, r)
}
func (n *node[K, V]) hasValue() bool { return n.loadRefresh() != noValue }

// The bits of node.ref. The count of uses (refCount) goes up by one per use, to at most maxRef, and down by
// one each time the eviction hand passes: a node used that often survives that many passes with no use in
// between. refreshing is set while a background refresh of the node's value is under way, so that a Get
// that finds the value stale serves it without taking the key's lock (see usable). Every change is a
// compare-and-swap, so that a use counted without the lock never brings back a flag cleared meanwhile.
const (
	refCount   = 3
	maxRef     = 3
	refreshing = 4
)

// touch counts a use of n. Once the count is at maxRef (a key in steady use) it only reads it, so that
// goroutines using the same key on several cores do not write its cache line.
func (n *node[K, V]) touch() {
	if r := n.loadRef(); r&refCount < maxRef {
		n.casRef(r, r+1) // a use lost to a concurrent change only makes eviction approximate
	}
}

// setRefreshing sets or clears n's refreshing flag. The caller holds the lock of n's table.
func (n *node[K, V]) setRefreshing(on bool) {
	for {
		r := n.loadRef()
		nr := r &^ refreshing
		if on {
			nr |= refreshing
		}
		if r == nr || n.casRef(r, nr) {
			return
		}
	}
}

// busy reports whether n must not be evicted: its state holds a fetch, an invalidation or a store save
// under way. The caller holds the lock of n's table.
func (n *node[K, V]) busy() bool {
	st := n.st
	return st != nil && (st.call != nil || st.pins > 0 || st.saving > 0)
}

type directory[K comparable, V any] struct {
	shift  uint // 64 minus the directory's depth: tables[hash>>shift] (a shift of 64 gives 0)
	tables []atomic.Pointer[table[K, V]]
}

// table is an open-addressing table of cells, in three arrays: the cells' nodes, their tags (one byte per
// cell, four to a word) and their hashes. A lookup reads a cell's tag, and its node only if the tag matches
// the key's (see tagOf), so that what lookups read of the tables (a byte and a pointer per cell, against 64
// bytes a key for the nodes) stays in a core's cache for as long as possible; the hashes, which growing a
// table needs so that it reads no node, are read and written only under the lock.
type table[K comparable, V any] struct {
	mu     sync.Mutex
	cells  []atomic.Pointer[node[K, V]] // nil: never used; index.tomb: removed. Length a power of two, at least 4
	tags   []atomic.Uint32              // tags[i/4] holds cell i's tag in byte i%4: tagEmpty, tagTomb or tagOf its hash
	hashes []uint64                     // the hash of each cell's node; guarded by mu
	depth  uint                         // the top depth bits of every hash here are prefix
	prefix uint64
	live   int  // nodes held; guarded by mu
	used   int  // cells not nil (nodes and tombstones); guarded by mu
	dead   bool // replaced in the directory; guarded by mu
}

// Cell tags. A writer (under the table's lock) stores a cell's node before its tag, and a reader loads the tag
// before the node; a cell is never empty again once used.
const (
	tagEmpty = 0
	tagTomb  = 1
)

// tagOf is the tag of a node with hash h: 8 bits of it (2 to 255) that select neither its table nor its cell.
func tagOf(h uint64) uint32 {
	t := uint32(h>>32) & 0xff
	if t < 2 {
		t += 2
	}
	return t
}

// tag returns cell i's tag.
func (t *table[K, V]) tag(i uint64) uint32 { return t.tags[i>>2].Load() >> (i & 3 * 8) & 0xff }

// setTag sets cell i's tag. The caller holds t.mu or has not published t yet.
func (t *table[K, V]) setTag(i uint64, tag uint32) {
	w, shift := &t.tags[i>>2], i&3*8
	w.Store(w.Load()&^(0xff<<shift) | tag<<shift)
}

// put fills the empty or removed cell i with n. The caller holds t.mu.
func (t *table[K, V]) put(i uint64, n *node[K, V]) {
	t.hashes[i] = n.hash
	t.cells[i].Store(n)
	t.setTag(i, tagOf(n.hash))
}

// retag sets every tag from the cells and their hashes, a word at a time: for a table being filled before it
// is published (see copyInto), which has no tombstones.
func (t *table[K, V]) retag() {
	for w := range t.tags {
		var word uint32
		for b := range 4 {
			if i := 4*w + b; t.cells[i].Load() != nil {
				word |= tagOf(t.hashes[i]) << (8 * b)
			}
		}
		t.tags[w].Store(word)
	}
}

func newTable[K comparable, V any](depth uint, prefix uint64, cells int) *table[K, V] {
	t := &table[K, V]{depth: depth, prefix: prefix, cells: make([]atomic.Pointer[node[K, V]], cells),
		tags: make([]atomic.Uint32, cells/4), hashes: make([]uint64, cells)}
	// Written before the probes read them: fresh memory first read is mapped to the zero page and faults again,
	// with a TLB flush on every core, at the first write (see startCall).
	clear(t.cells)
	clear(t.tags)
	return t
}

// full reports whether one more cell would take t past three quarters used.
func (t *table[K, V]) full() bool { return 4*(t.used+1) > 3*len(t.cells) }

type index[K comparable, V any] struct {
	dir   atomic.Pointer[directory[K, V]]
	seed  maphash.Seed
	tomb  *node[K, V] // marks a removed node's cell
	count atomic.Int64

	dirMu sync.Mutex // serializes directory updates; taken with a table's lock held, never the other way

	evictMu  sync.Mutex // guards the hand; taken with no table lock held
	handPos  uint64     // a hash in the table the hand is in
	handCell int
}

// init readies an empty index for up to max keys: with one table per maxCells/2 of them, up to
// maxInitialTables, so that the first keys added at once do not all queue on one table's lock.
func (x *index[K, V]) init(max int) {
	x.seed = maphash.MakeSeed()
	x.tomb = &node[K, V]{}
	depth := uint(0)
	for 1<<depth < maxInitialTables && (maxCells/2)<<depth < max {
		depth++
	}
	d := &directory[K, V]{shift: 64 - depth, tables: make([]atomic.Pointer[table[K, V]], 1<<depth)}
	for i := range d.tables {
		d.tables[i].Store(newTable[K, V](depth, uint64(i), minCells))
	}
	x.dir.Store(d)
}

func (x *index[K, V]) hash(key K) uint64 { return maphash.Comparable(x.seed, key) }

// find returns the node for key, or nil, without locking. The node may have just left the index.
func (x *index[K, V]) find(h uint64, key K) *node[K, V] {
	d := x.dir.Load()
	t := d.tables[h>>d.shift].Load()
	mask, want := uint64(len(t.cells)-1), tagOf(h)
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.tag(i) {
		case tagEmpty:
			return nil
		case want:
			// The cell may hold another node by now (removed and filled again): its key tells.
			if n := t.cells[i].Load(); n != nil && n != x.tomb && n.hash == h && n.key == key {
				return n
			}
		}
	}
}

// lock returns the live table for hash h, locked.
func (x *index[K, V]) lock(h uint64) *table[K, V] {
	for {
		d := x.dir.Load()
		t := d.tables[h>>d.shift].Load()
		t.mu.Lock()
		if !t.dead {
			return t
		}
		t.mu.Unlock()
	}
}

// get returns the node for key in t and its cell, or nil and -1. The caller holds t.mu.
func (x *index[K, V]) get(t *table[K, V], h uint64, key K) (*node[K, V], int) {
	mask := uint64(len(t.cells) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		n := t.cells[i].Load()
		if n == nil {
			return nil, -1
		}
		if t.hashes[i] == h && n != x.tomb && n.key == key {
			return n, int(i)
		}
	}
}

// add puts n, whose key t does not hold, into t. It reports false, leaving t alone, when t has no room: the
// caller then calls grow, unlocks t and starts again from lock. The caller holds t.mu.
func (x *index[K, V]) add(t *table[K, V], n *node[K, V]) bool {
	mask := uint64(len(t.cells) - 1)
	for i := n.hash & mask; ; i = (i + 1) & mask {
		switch t.cells[i].Load() {
		case x.tomb:
		case nil:
			if t.full() {
				return false
			}
			t.used++
		default:
			continue
		}
		t.put(i, n)
		t.live++
		x.count.Add(1)
		return true
	}
}

// removeAt takes the node in cell i of t out of the index. The caller holds t.mu.
func (x *index[K, V]) removeAt(t *table[K, V], i int) {
	t.cells[i].Store(x.tomb)
	t.setTag(uint64(i), tagTomb)
	t.live--
	x.count.Add(-1)
}

// remove takes n out of the index if it is still there. The caller holds t.mu, the live table of n's key.
func (x *index[K, V]) remove(t *table[K, V], n *node[K, V]) {
	if cur, i := x.get(t, n.hash, n.key); cur == n {
		x.removeAt(t, i)
	}
}

// replace puts nn in the place of n, the node for the same key in t. The caller holds t.mu.
func (x *index[K, V]) replace(t *table[K, V], n, nn *node[K, V]) {
	if cur, i := x.get(t, n.hash, n.key); cur == n {
		t.cells[i].Store(nn)
	}
}

// grow replaces the full table t: by one of the same size without its tombstones when they take much of it,
// by one twice its size (four times, from under maxCells/4) up to maxCells, and past that by two tables
// splitting its hash range. t is dead afterwards; the caller holds t.mu and unlocks it.
func (x *index[K, V]) grow(t *table[K, V]) {
	size := len(t.cells)
	switch {
	case 8*t.live < 3*size: // half of the used cells or more are tombstones: same size
	case size < maxCells/4:
		size *= 4 // small tables grow four times over: half as many copies while a cache fills
	default:
		size *= 2
	}
	var repl []*table[K, V]
	if size <= maxCells || t.depth == 64 {
		nt := newTable[K, V](t.depth, t.prefix, size)
		x.copyInto(t, nt, nil)
		repl = []*table[K, V]{nt}
	} else {
		size = maxCells
		lo := newTable[K, V](t.depth+1, t.prefix<<1, size)
		hi := newTable[K, V](t.depth+1, t.prefix<<1|1, size)
		x.copyInto(t, lo, hi)
		repl = []*table[K, V]{lo, hi}
	}

	x.dirMu.Lock()
	d := x.dir.Load()
	depth := 64 - d.shift
	grown := t.depth+uint(len(repl)-1) > depth // the split needs one more bit of directory
	if grown {                                 // copy it, twice as big
		nd := &directory[K, V]{shift: d.shift - 1, tables: make([]atomic.Pointer[table[K, V]], 2*len(d.tables))}
		for i := range d.tables {
			tt := d.tables[i].Load()
			nd.tables[2*i].Store(tt)
			nd.tables[2*i+1].Store(tt)
		}
		d, depth = nd, depth+1
	}
	span := 1 << (depth - t.depth) // directory entries of t
	first := int(t.prefix) << (depth - t.depth)
	for j := range span {
		d.tables[first+j].Store(repl[j*len(repl)/span])
	}
	if grown {
		x.dir.Store(d)
	}
	x.dirMu.Unlock()
	t.dead = true
}

// copyInto copies t's nodes into lo, or, if hi is not nil, into lo and hi by the next bit of their hash.
func (x *index[K, V]) copyInto(t, lo, hi *table[K, V]) {
	for i := range t.cells {
		n := t.cells[i].Load()
		if n == nil || n == x.tomb {
			continue
		}
		h := t.hashes[i]
		dst := lo
		if hi != nil && h&(1<<(63-t.depth)) != 0 {
			dst = hi
		}
		mask := uint64(len(dst.cells) - 1)
		j := h & mask
		for dst.cells[j].Load() != nil {
			j = (j + 1) & mask
		}
		dst.hashes[j] = h
		dst.cells[j].Store(n)
		dst.live++
		dst.used++
	}
	lo.retag()
	if hi != nil {
		hi.retag()
	}
}

// evict evicts nodes until the index is within max, or until the hand finds nothing it may evict. It takes no
// lock the caller holds.
func (x *index[K, V]) evict(max int64) (evicted uint64) {
	if x.count.Load() <= max {
		return 0
	}
	x.evictMu.Lock()
	defer x.evictMu.Unlock()
	for x.count.Load() > max {
		if ok, _ := x.evictOne(); !ok {
			break
		}
		evicted++
	}
	return evicted
}

// evictOne moves the hand until it evicts a node: the first one not busy whose use count it finds at zero
// within evictScan cells (lowering the others'), otherwise the first one not busy within as many more. It
// reports false if it found none, and how many cells it looked at (under the lock of one table at a time,
// at most maxCells under one). The caller holds evictMu.
func (x *index[K, V]) evictOne() (ok bool, scanned int) {
	for scanned < 2*evictScan {
		t := x.lock(x.handPos)
		for x.handCell < len(t.cells) && scanned < 2*evictScan {
			i := x.handCell
			x.handCell++
			scanned++
			n := t.cells[i].Load()
			if n == nil || n == x.tomb || n.busy() {
				continue
			}
			if r := n.loadRef(); scanned <= evictScan && r&refCount > 0 {
				n.casRef(r, r-1)
				continue
			}
			x.removeAt(t, i)
			t.mu.Unlock()
			return true, scanned
		}
		if x.handCell >= len(t.cells) {
			x.handCell = 0
			x.handPos = (t.prefix + 1) << (64 - t.depth) // the next table's range (0 past the last one)
		}
		t.mu.Unlock()
	}
	return false, scanned
}
