package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// Store keeps grants and the ledger where several replicas of your backend
// can share them (Redis, say; [NewMemoryStore] is an in-process one for
// tests and single-process programs). Keys are strings; values are the
// structs below, which a store may encode as it likes (JSON works); every
// method must be safe for concurrent use.
//
// Grants: the broker keeps every grant in memory and consults the Store
// only when it has no fresh grant of its own: a fresh grant found there is
// reused, otherwise the vendor is called and the result saved. Store
// errors never fail a Start; they are counted and the vendor is asked.
// Grant keys are "<vendor>:<user id>" (your user id).
//
// Ledger: every grant minted is also recorded with SaveLedger under
// "ledger:<vendor>:session:<vendor session id>" (IDV, uqudo) and
// "ledger:<vendor>:user:<vendor-side user id>", so that [Broker.Owner] on
// any replica resolves it. A failed SaveLedger does not fail the Start (it
// is counted in [LedgerStats]); a failed LoadLedger fails the Owner call.
// Grant keys start with a vendor name and ledger keys with "ledger:", so
// one key space holds both.
//
// This interface is not frozen before v1: methods may be added.
type Store interface {
	// Load returns the grant saved under key; ok is false when there is none.
	Load(ctx context.Context, key string) (g StoredGrant, ok bool, err error)
	// Save records g under key until g.ExpiresAt, replacing any earlier one.
	Save(ctx context.Context, key string, g StoredGrant) error
	// Delete forgets the grant under key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// SaveLedger records e under key for ttl (always positive), replacing
	// any earlier entry.
	SaveLedger(ctx context.Context, key string, e LedgerEntry, ttl time.Duration) error
	// LoadLedger returns the entry saved under key; ok is false when there
	// is none (or its ttl passed).
	LoadLedger(ctx context.Context, key string) (e LedgerEntry, ok bool, err error)
}

// StoredGrant is a grant as a Store keeps it. It holds the token: a Store
// must keep it as carefully as the vendor keys.
type StoredGrant struct {
	// Grant is the grant as minted.
	Grant Grant `json:"grant"`
	// Variant identifies the inputs the grant answers (a hash, never the inputs).
	Variant uint64 `json:"variant"`
	// RefreshAfter is when a new grant should be fetched.
	RefreshAfter time.Time `json:"refresh_after"`
	// ExpiresAt is when the grant stops working.
	ExpiresAt time.Time `json:"expires_at"`
}

// String describes the stored grant without its token (see [Grant.String]).
func (g StoredGrant) String() string {
	return fmt.Sprintf("broker.StoredGrant{Grant:%s Variant:%d RefreshAfter:%s ExpiresAt:%s}",
		g.Grant.String(), g.Variant, g.RefreshAfter.Format(time.RFC3339), g.ExpiresAt.Format(time.RFC3339))
}

// GoString is String, so %#v does not print the token either.
func (g StoredGrant) GoString() string { return g.String() }

// Format prints String for every verb.
func (g StoredGrant) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, g.String()) }

// LogValue logs the stored grant without its token.
func (g StoredGrant) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("grant", g.Grant), slog.Time("expires_at", g.ExpiresAt))
}

// MemoryStore is a [Store] in this process's memory: replicas cannot share
// it, but several brokers in one process can (tests, or a program that
// builds a broker per tenant). Entries are dropped when their time is up
// (grants at ExpiresAt, ledger entries after their ttl), by the clock given
// to NewMemoryStore; expired entries are swept as new ones are saved. It
// has no size bound beyond that: the brokers' own bounds do not apply to it.
type MemoryStore struct {
	now func() time.Time

	mu     sync.Mutex
	grants map[string]StoredGrant
	ledger map[string]memoryLedgerEntry
	writes int
	dedup  memoryDedup // see dedup.go
}

type memoryLedgerEntry struct {
	e        LedgerEntry
	deadline time.Time
}

// NewMemoryStore returns an empty [MemoryStore]. now is its clock (nil
// means time.Now); give it the clock given to the brokers' WithClock, so a
// test that moves that clock expires the store's entries too.
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, grants: map[string]StoredGrant{}, ledger: map[string]memoryLedgerEntry{}}
}

// Load implements [Store].
func (s *MemoryStore) Load(ctx context.Context, key string) (StoredGrant, bool, error) {
	if err := ctxErr(ctx); err != nil {
		return StoredGrant{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[key]
	if !ok || !s.now().Before(g.ExpiresAt) {
		return StoredGrant{}, false, nil
	}
	return g, true, nil
}

// Save implements [Store].
func (s *MemoryStore) Save(ctx context.Context, key string, g StoredGrant) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[key] = g
	s.sweepLocked()
	return nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.grants, key)
	return nil
}

// SaveLedger implements [Store].
func (s *MemoryStore) SaveLedger(ctx context.Context, key string, e LedgerEntry, ttl time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger[key] = memoryLedgerEntry{e: e, deadline: s.now().Add(ttl)}
	s.sweepLocked()
	return nil
}

// LoadLedger implements [Store].
func (s *MemoryStore) LoadLedger(ctx context.Context, key string) (LedgerEntry, bool, error) {
	if err := ctxErr(ctx); err != nil {
		return LedgerEntry{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.ledger[key]
	if !ok || s.now().After(m.deadline) {
		return LedgerEntry{}, false, nil
	}
	return m.e, true, nil
}

// Len returns the number of grants and ledger entries held, expired ones
// not yet swept included.
func (s *MemoryStore) Len() (grants, ledger int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.grants), len(s.ledger)
}

// sweepLocked drops expired entries every 1024 writes, so the cost is
// amortised and memory follows the live entries.
func (s *MemoryStore) sweepLocked() {
	s.writes++
	if s.writes%1024 != 0 {
		return
	}
	now := s.now()
	for k, g := range s.grants {
		if !now.Before(g.ExpiresAt) {
			delete(s.grants, k)
		}
	}
	for k, m := range s.ledger {
		if now.After(m.deadline) {
			delete(s.ledger, k)
		}
	}
}

// ctxErr is ctx.Err(), with a nil ctx an ErrInvalidInput rather than a panic.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return httpx.Invalid("ctx", "is nil")
	}
	return ctx.Err()
}

// storeAdapter presents a Store as one vendor's tokencache.Store.
type storeAdapter struct {
	s      Store
	vendor Vendor
}

func (a storeAdapter) key(user string) string { return grantKey(a.vendor, user) }

func (a storeAdapter) Load(ctx context.Context, user string) (tokencache.Entry[*held], bool, error) {
	sg, ok, err := a.s.Load(ctx, a.key(user))
	if err != nil || !ok {
		return tokencache.Entry[*held]{}, false, err
	}
	if sg.Grant.Vendor != a.vendor || sg.Grant.UserID != user {
		return tokencache.Entry[*held]{}, false, nil // not ours: ignore rather than hand it out
	}
	h := &held{grant: sg.Grant, variant: variant(sg.Variant), seq: grantSeq.Add(1)}
	return tokencache.Entry[*held]{Value: h, Soft: sg.RefreshAfter, Hard: sg.ExpiresAt}, true, nil
}

// Save saves the grant, unless it came from the Store (found there by a
// Locker's holder), then releases the Locker's lock if one is held for it.
func (a storeAdapter) Save(ctx context.Context, user string, e tokencache.Entry[*held]) error {
	h := e.Value
	var err error
	if !h.shared {
		err = a.s.Save(ctx, a.key(user), StoredGrant{Grant: h.grant, Variant: uint64(h.variant), RefreshAfter: e.Soft, ExpiresAt: e.Hard})
	}
	if h.release != nil {
		h.release()
	}
	return err
}

func (a storeAdapter) Delete(ctx context.Context, user string) error {
	return a.s.Delete(ctx, a.key(user))
}
