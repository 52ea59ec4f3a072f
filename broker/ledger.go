package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Ledger defaults.
const (
	// DefaultLedgerRetention is how long a ledger entry outlives its grant
	// unless [WithLedger] says otherwise: 30 days, long enough for late
	// webhooks, results fetched days later and support questions.
	DefaultLedgerRetention = 30 * 24 * time.Hour
	// DefaultLedgerMaxEntries bounds the ledger in memory unless [WithLedger]
	// says otherwise: about 36 MB at the measured 355 bytes per entry (see
	// [WithLedger]).
	DefaultLedgerMaxEntries = 100_000
)

// ledgerStoreTimeout bounds each ledger write to the Store.
const ledgerStoreTimeout = 5 * time.Second

// LedgerEntry is one grant as the ledger records it: whose it is and which
// vendor-side ids it carries. It holds no token.
type LedgerEntry struct {
	// Vendor is the vendor the grant is for.
	Vendor Vendor `json:"vendor"`
	// UserID is your user id, as given to Start.
	UserID string `json:"user_id"`
	// VendorUserID is the id sent to the vendor for the user (see
	// [UserIDMapper]); empty when none was sent (uqudo with
	// uqudo.RawSessionData).
	VendorUserID string `json:"vendor_user_id,omitempty"`
	// SessionID is the vendor session (IDV session id, uqudo session id);
	// empty for Entrupy and Sentiance.
	SessionID string `json:"session_id,omitempty"`
	// CreatedAt is when the grant was minted (for Entrupy and Sentiance, the
	// first grant this entry records; see [Broker.Owner]).
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the (latest) grant recorded here expires; the entry
	// is kept for the ledger's retention after it.
	ExpiresAt time.Time `json:"expires_at"`
}

// WithLedger sets how long ledger entries are kept after their grant
// expires (default [DefaultLedgerRetention], 30 days) and how many the
// broker keeps in memory (default [DefaultLedgerMaxEntries]); the oldest
// are dropped first when there are more. With a Store, entries are also
// saved there for the same time (and may outlive their memory copy).
//
// Memory: BenchmarkLedgerMemory measured 355 B/entry (amd64, Go 1.26) for
// an IDV grant with a 36-byte session id, a 32-byte pseudonymous user id
// and a 12-byte user id of yours, indexed by both ids; longer ids add their
// length. An Entrupy or Sentiance entry (no session id) is somewhat smaller.
func WithLedger(retention time.Duration, maxEntries int) Option {
	return func(cfg *config) error {
		if retention <= 0 {
			return httpx.Invalid("ledger_retention", "must be positive")
		}
		if maxEntries <= 0 {
			return httpx.Invalid("ledger_max_entries", "must be positive")
		}
		cfg.ledgerRetention, cfg.ledgerMax = retention, maxEntries
		return nil
	}
}

// errUnknownRef is Owner's answer for a ref the ledger does not know.
var errUnknownRef = fmt.Errorf("no grant recorded for this ref: %w", ErrNotFound)

// MaxRefLen is the longest ref [Broker.Owner] accepts, in bytes.
const MaxRefLen = 256

// Owner returns your user id for ref, a vendor session id (IDV session id,
// uqudo session id, which is the jti of uqudo's result) or a vendor-side
// user id (Entrupy's unique_user_id, Sentiance's external_id, IDV's
// externalUserId, uqudo's userIdentifier) that this broker, or another
// sharing its Store, sent to vendor. A webhook handler calls it to
// attribute an event to one of your users, and a "my verification is done"
// endpoint to refuse (403) a session its caller did not start.
//
// A session id is looked up first, then a vendor-side user id. A ref never
// recorded, or recorded for a grant that expired more than the ledger's
// retention ago (by the broker's clock, [WithClock]), is an *OpError that
// matches [ErrNotFound]; a bad ref (empty, longer than [MaxRefLen] bytes,
// not UTF-8, with control characters) or an unconfigured vendor matches
// [ErrInvalidInput]. A failing Store is neither (answer 503, not 403). The
// error never repeats ref.
//
// The ledger records every grant Start mints: one entry per IDV or uqudo
// session, and one per vendor-side user id, refreshed by each new grant
// (so Entrupy and Sentiance, which have no session, keep one entry per
// user). It lives in memory (see [WithLedger]) and, with a Store, in the
// Store too, where Owner looks when memory does not know the ref.
func (b *Broker) Owner(ctx context.Context, vendor Vendor, ref string) (userID string, err error) {
	fail := func(err error) (string, error) { return "", &OpError{Vendor: vendor, Op: "owner", Err: err} }
	if ctx == nil {
		return fail(httpx.Invalid("ctx", "is nil"))
	}
	vs := b.state(vendor)
	if vs == nil {
		return fail(httpx.Invalid("vendor", "is not configured"))
	}
	if err := validateRef(ref); err != nil {
		return fail(err)
	}
	now := b.now()
	kinds := []refKind{refSession, refUser}
	if vendor == Entrupy || vendor == Sentiance {
		kinds = kinds[1:] // no sessions recorded: one Store call, not two
	}
	for _, kind := range kinds {
		if e, ok := b.ledger.lookup(vendor, kind, ref, now); ok {
			return e.UserID, nil
		}
	}
	if b.store == nil {
		return fail(errUnknownRef)
	}
	for _, kind := range kinds {
		e, ok, err := b.store.LoadLedger(ctx, ledgerKey(vendor, kind, ref))
		if err != nil {
			return fail(fmt.Errorf("store: %w", err))
		}
		if !ok || e.Vendor != vendor || !b.ledger.live(e, now) {
			continue
		}
		if kind == refSession && e.SessionID != ref || kind == refUser && e.VendorUserID != ref {
			continue // not what the key says: ignore rather than trust it
		}
		b.ledger.add(e, now)
		return e.UserID, nil
	}
	return fail(errUnknownRef)
}

func validateRef(ref string) error {
	switch {
	case ref == "":
		return httpx.Invalid("ref", "is empty")
	case len(ref) > MaxRefLen:
		return httpx.Invalid("ref", "is longer than "+strconv.Itoa(MaxRefLen)+" bytes")
	case !utf8.ValidString(ref):
		return httpx.Invalid("ref", "is not valid UTF-8")
	case strings.ContainsFunc(ref, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return httpx.Invalid("ref", "contains control characters")
	}
	return nil
}

// record adds the entry for a grant just minted, in memory and in the
// Store. A Store failure does not fail the Start: it is counted in
// LedgerStats.StoreErrors, and this replica still resolves the ref.
func (b *Broker) record(ctx context.Context, e LedgerEntry) {
	now := b.now()
	b.ledger.add(e, now)
	if b.store == nil {
		return
	}
	ttl := e.ExpiresAt.Add(b.ledger.retention).Sub(now)
	if ttl <= 0 {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ledgerStoreTimeout)
	defer cancel()
	var errs []error
	if e.SessionID != "" {
		errs = append(errs, b.store.SaveLedger(sctx, ledgerKey(e.Vendor, refSession, e.SessionID), e, ttl))
	}
	if e.VendorUserID != "" {
		errs = append(errs, b.store.SaveLedger(sctx, ledgerKey(e.Vendor, refUser, e.VendorUserID), e, ttl))
	}
	if errors.Join(errs...) != nil {
		b.ledger.storeErrors.Add(1)
	}
}

// refKind tells a session id from a vendor-side user id.
type refKind uint8

const (
	refSession refKind = iota + 1
	refUser
)

// ledgerKey is the Store key of a ledger entry: "ledger:<vendor>:session:<id>"
// or "ledger:<vendor>:user:<vendor user id>". Grant keys start with a vendor
// name, so the two never collide.
func ledgerKey(v Vendor, kind refKind, ref string) string {
	if kind == refSession {
		return "ledger:" + string(v) + ":session:" + ref
	}
	return "ledger:" + string(v) + ":user:" + ref
}

// LedgerStats are the counters of the ledger.
type LedgerStats struct {
	Entries     int    // entries in memory now
	Evictions   uint64 // entries dropped to stay within the max count
	Expired     uint64 // entries dropped after their retention
	StoreErrors uint64 // ledger writes to the Store that failed
}

// LedgerStats returns the ledger's counters.
func (b *Broker) LedgerStats() LedgerStats { return b.ledger.stats() }

// ledger is the in-memory record of minted grants: entries in a list,
// oldest first, indexed by (vendor, kind, ref).
type ledger struct {
	retention time.Duration
	max       int

	mu         sync.Mutex
	index      map[ledgerIndexKey]*ledgerNode
	head, tail *ledgerNode // oldest, newest
	n          int

	evictions, expired uint64
	storeErrors        atomic.Uint64
}

// ledgerIndexKey is (vendor, kind, ref), with the vendor and the kind in
// one byte to keep the index small.
type ledgerIndexKey struct {
	tag uint8 // vendorIndex<<2 | kind
	ref string
}

func indexKey(v Vendor, kind refKind, ref string) ledgerIndexKey {
	return ledgerIndexKey{tag: uint8(vendorIndex(v))<<2 | uint8(kind), ref: ref}
}

// ledgerNode is 128 bytes on 64-bit platforms (one size class): keep it so.
type ledgerNode struct {
	e          LedgerEntry
	prev, next *ledgerNode
}

// expiredAt reports whether n's retention has passed at now.
func (l *ledger) expiredAt(n *ledgerNode, now time.Time) bool {
	return now.After(n.e.ExpiresAt.Add(l.retention))
}

func newLedger(retention time.Duration, max int) *ledger {
	return &ledger{retention: retention, max: max, index: make(map[ledgerIndexKey]*ledgerNode)}
}

func (l *ledger) live(e LedgerEntry, now time.Time) bool {
	return !now.After(e.ExpiresAt.Add(l.retention))
}

// add records e. An entry with no session id whose vendor-side user id the
// ledger already holds for the same user is refreshed in place (moved to
// the newest end, its expiry extended); otherwise a new entry is added, and
// becomes the one its vendor-side user id resolves to.
func (l *ledger) add(e LedgerEntry, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	userKey := indexKey(e.Vendor, refUser, e.VendorUserID)
	if e.SessionID == "" && e.VendorUserID != "" {
		if n, ok := l.index[userKey]; ok && n.e.SessionID == "" && n.e.UserID == e.UserID {
			if e.ExpiresAt.After(n.e.ExpiresAt) {
				n.e.ExpiresAt = e.ExpiresAt
			}
			l.unlinkLocked(n)
			l.pushLocked(n)
			return
		}
	}
	if e.SessionID != "" {
		if old, ok := l.index[indexKey(e.Vendor, refSession, e.SessionID)]; ok {
			l.removeLocked(old) // the same session again (a Store reload): keep one
		}
	}
	n := &ledgerNode{e: e}
	l.pushLocked(n)
	if e.SessionID != "" {
		l.index[indexKey(e.Vendor, refSession, e.SessionID)] = n
	}
	if e.VendorUserID != "" {
		l.index[userKey] = n
	}
	for l.n > l.max {
		l.removeLocked(l.head)
		l.evictions++
	}
}

// lookup finds the live entry for ref; an expired one is dropped.
func (l *ledger) lookup(v Vendor, kind refKind, ref string, now time.Time) (LedgerEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.index[indexKey(v, kind, ref)]
	if !ok {
		return LedgerEntry{}, false
	}
	if l.expiredAt(n, now) {
		l.removeLocked(n)
		l.expired++
		return LedgerEntry{}, false
	}
	return n.e, true
}

// sweepLocked drops expired entries from the oldest end. Entries are in
// creation order, and their deadlines nearly so (retention dominates grant
// lifetimes); an expired entry behind a live one waits for its turn, or
// for a lookup, and is never returned meanwhile.
func (l *ledger) sweepLocked(now time.Time) {
	for l.head != nil && l.expiredAt(l.head, now) {
		l.removeLocked(l.head)
		l.expired++
	}
}

func (l *ledger) pushLocked(n *ledgerNode) {
	n.prev, n.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = n
	} else {
		l.head = n
	}
	l.tail = n
	l.n++
}

func (l *ledger) unlinkLocked(n *ledgerNode) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
	l.n--
}

// removeLocked unlinks n and drops the index keys that still point at it.
func (l *ledger) removeLocked(n *ledgerNode) {
	l.unlinkLocked(n)
	if n.e.SessionID != "" {
		k := indexKey(n.e.Vendor, refSession, n.e.SessionID)
		if l.index[k] == n {
			delete(l.index, k)
		}
	}
	if n.e.VendorUserID != "" {
		k := indexKey(n.e.Vendor, refUser, n.e.VendorUserID)
		if l.index[k] == n {
			delete(l.index, k)
		}
	}
}

func (l *ledger) stats() LedgerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LedgerStats{Entries: l.n, Evictions: l.evictions, Expired: l.expired, StoreErrors: l.storeErrors.Load()}
}
