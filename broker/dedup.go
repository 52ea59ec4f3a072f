package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/dedup"
	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Deduper remembers which webhook deliveries were processed, so that a
// replay is answered without calling the callback again. It is the same
// interface as entrupy.Deduper, sentiance.Deduper and uqudo.Deduper: pass
// a [StoreDeduper] to their handlers' WithDedup option so that every
// replica sharing the Store knows which deliveries were processed.
type Deduper interface {
	// Claim takes key for a delivery about to be processed and returns a
	// token for Commit or Release. It returns an error matching
	// [ErrDuplicateDelivery] when key was committed within the window,
	// [ErrDeliveryInProgress] when another claim holds it, and any other
	// error when it cannot tell.
	Claim(ctx context.Context, key string) (token string, err error)
	// Commit marks key as processed for the window.
	Commit(ctx context.Context, key, token string) error
	// Release drops the claim token holds on key, if it still holds it.
	Release(ctx context.Context, key, token string) error
}

var (
	// ErrDuplicateDelivery is what [Deduper.Claim] returns for a delivery
	// processed within the window (the same error value as in entrupy,
	// sentiance and uqudo).
	ErrDuplicateDelivery = dedup.ErrDuplicate
	// ErrDeliveryInProgress is what [Deduper.Claim] returns for a delivery
	// being processed (the same error value as in entrupy, sentiance and
	// uqudo).
	ErrDeliveryInProgress = dedup.ErrInProgress
)

// DedupStore is an optional interface of a [Store] that keeps short-lived
// string values, so that webhook handlers on several replicas share which
// deliveries they processed (see [NewStoreDeduper]). [MemoryStore] and
// broker/redisstore's Store implement it. Keys are "dedup:" followed by a vendor, a kind and a
// SHA-256 in hex; values are short ASCII strings. Each method must be
// atomic with respect to the others for one key.
type DedupStore interface {
	// SetIfAbsent saves value under key for ttl (always positive) unless
	// a value whose ttl has not passed is there. It reports whether it
	// saved value and, when it did not, returns the value found.
	SetIfAbsent(ctx context.Context, key, value string, ttl time.Duration) (saved bool, current string, err error)
	// Overwrite saves value under key for ttl (always positive), replacing
	// any value.
	Overwrite(ctx context.Context, key, value string, ttl time.Duration) error
	// DeleteIfEqual deletes key if it holds value; otherwise it does
	// nothing (and returns nil).
	DeleteIfEqual(ctx context.Context, key, value string) error
}

const (
	// DefaultDedupWindow is how long a [StoreDeduper] remembers a
	// processed delivery when given a zero window (24 hours).
	DefaultDedupWindow = dedup.DefaultWindow
	// DedupClaimTTL is how long a [StoreDeduper]'s claim on a delivery
	// lasts when the replica holding it neither commits nor releases it
	// (it died mid-callback): 2 minutes. A callback that runs longer may
	// see its delivery processed twice.
	DedupClaimTTL = dedup.DefaultClaimTTL
)

// dedupDone is the value of a committed delivery; a claim's is
// dedupClaimPrefix followed by its token.
const (
	dedupDone        = "done"
	dedupClaimPrefix = "claim:"
	dedupKeyPrefix   = "dedup:"
)

// StoreDeduper is a [Deduper] over a [Store] that implements [DedupStore],
// shared by every replica using that Store. Build it with
// [NewStoreDeduper]. Safe for concurrent use.
type StoreDeduper struct {
	s      DedupStore
	window time.Duration
}

// NewStoreDeduper returns a [StoreDeduper] over store remembering a
// processed delivery for window (zero means [DefaultDedupWindow]). It
// returns an error matching [ErrInvalidInput] for a nil store, a store
// that does not implement [DedupStore], or a negative window.
//
//	d, err := broker.NewStoreDeduper(store, 24*time.Hour)
//	h, err := entrupy.NewWebhookHandler(cfg, fn, entrupy.WithDedup(d))
func NewStoreDeduper(store Store, window time.Duration) (*StoreDeduper, error) {
	if store == nil {
		return nil, httpx.Invalid("store", "is nil")
	}
	ds, ok := store.(DedupStore)
	if !ok {
		return nil, httpx.Invalid("store", "does not implement broker.DedupStore")
	}
	if window < 0 {
		return nil, httpx.Invalid("dedup_window", "must not be negative")
	}
	if window == 0 {
		window = DefaultDedupWindow
	}
	return &StoreDeduper{s: ds, window: window}, nil
}

// Window returns how long a processed delivery is remembered.
func (d *StoreDeduper) Window() time.Duration { return d.window }

// Claim implements [Deduper]: it saves a claim for [DedupClaimTTL] unless
// the Store holds a claim or a commit for key.
func (d *StoreDeduper) Claim(ctx context.Context, key string) (string, error) {
	if err := ctxErr(ctx); err != nil {
		return "", err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	saved, cur, err := d.s.SetIfAbsent(ctx, dedupKeyPrefix+key, dedupClaimPrefix+token, DedupClaimTTL)
	switch {
	case err != nil:
		return "", err
	case saved:
		return token, nil
	case cur == dedupDone:
		return "", ErrDuplicateDelivery
	default:
		return "", ErrDeliveryInProgress
	}
}

// Commit implements [Deduper]: key is saved as processed for the window.
func (d *StoreDeduper) Commit(ctx context.Context, key, _ string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return d.s.Overwrite(ctx, dedupKeyPrefix+key, dedupDone, d.window)
}

// Release implements [Deduper]: the claim is deleted if it is still token's.
func (d *StoreDeduper) Release(ctx context.Context, key, token string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return d.s.DeleteIfEqual(ctx, dedupKeyPrefix+key, dedupClaimPrefix+token)
}

// memoryDedup is MemoryStore's DedupStore part, guarded by its mutex.
type memoryDedup struct {
	values map[string]memoryDedupValue
	writes int
}

type memoryDedupValue struct {
	value    string
	deadline time.Time
}

// liveDedupLocked returns key's value if its ttl has not passed.
func (s *MemoryStore) liveDedupLocked(key string, now time.Time) (string, bool) {
	v, ok := s.dedup.values[key]
	if !ok || !now.Before(v.deadline) {
		return "", false
	}
	return v.value, true
}

// setDedupLocked saves value, sweeping expired values every 1024 writes.
func (s *MemoryStore) setDedupLocked(key, value string, ttl time.Duration, now time.Time) {
	if s.dedup.values == nil {
		s.dedup.values = map[string]memoryDedupValue{}
	}
	s.dedup.values[key] = memoryDedupValue{value: value, deadline: now.Add(ttl)}
	s.dedup.writes++
	if s.dedup.writes%1024 == 0 {
		for k, v := range s.dedup.values {
			if !now.Before(v.deadline) {
				delete(s.dedup.values, k)
			}
		}
	}
}

// SetIfAbsent implements [DedupStore].
func (s *MemoryStore) SetIfAbsent(ctx context.Context, key, value string, ttl time.Duration) (bool, string, error) {
	if err := ctxErr(ctx); err != nil {
		return false, "", err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.liveDedupLocked(key, now); ok {
		return false, cur, nil
	}
	s.setDedupLocked(key, value, ttl, now)
	return true, "", nil
}

// Overwrite implements [DedupStore].
func (s *MemoryStore) Overwrite(ctx context.Context, key, value string, ttl time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setDedupLocked(key, value, ttl, now)
	return nil
}

// DeleteIfEqual implements [DedupStore].
func (s *MemoryStore) DeleteIfEqual(ctx context.Context, key, value string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.dedup.values[key]; ok && v.value == value {
		delete(s.dedup.values, key)
	}
	return nil
}
