package uqudo

import (
	"context"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/dedup"
)

// Deduper remembers which webhook deliveries were processed, so that a
// replay is answered without calling the callback again (see [WithDedup]).
// Packages entrupy, sentiance, uqudo and broker declare this same
// interface, so one Deduper (such as broker's Store-backed one, shared by
// replicas) serves all three handlers.
//
// A delivery is claimed before the callback runs, committed once it
// returned nil, and released when it failed, so a failed delivery is never
// marked as seen.
type Deduper interface {
	// Claim takes key for a delivery about to be processed and returns a
	// token for Commit or Release. It returns an error matching
	// [ErrDuplicateDelivery] when key was committed within the deduper's
	// window, [ErrDeliveryInProgress] when another claim holds it (the
	// claim must expire on its own if neither Commit nor Release comes),
	// and any other error when it cannot tell.
	Claim(ctx context.Context, key string) (token string, err error)
	// Commit marks key as processed for the deduper's window.
	Commit(ctx context.Context, key, token string) error
	// Release drops the claim token holds on key, if it still holds it.
	Release(ctx context.Context, key, token string) error
}

var (
	// ErrDuplicateDelivery is what a [Deduper]'s Claim returns for a
	// delivery processed within its window. The same error value in
	// entrupy, sentiance, uqudo and broker.
	ErrDuplicateDelivery = dedup.ErrDuplicate
	// ErrDeliveryInProgress is what a [Deduper]'s Claim returns for a
	// delivery being processed right now. The same error value in
	// entrupy, sentiance, uqudo and broker.
	ErrDeliveryInProgress = dedup.ErrInProgress
)

const (
	// DefaultDedupWindow is how long [NewMemoryDeduper] remembers a
	// processed delivery when given a zero window (24 hours).
	DefaultDedupWindow = dedup.DefaultWindow
	// DefaultDedupMaxEntries is how many deliveries [NewMemoryDeduper]
	// remembers when given zero (100,000).
	DefaultDedupMaxEntries = dedup.DefaultMaxEntries
)

// NewMemoryDeduper returns a [Deduper] in this process's memory: it
// remembers a processed delivery for window and at most maxEntries
// deliveries (the least recently recorded one is forgotten first), and a
// claim of a delivery being processed for at most 2 minutes. Zero means
// [DefaultDedupWindow] or [DefaultDedupMaxEntries]; a negative value is an
// error (a [*ValidationError]). Replicas do not share it: use broker's
// Store-backed deduper for that.
func NewMemoryDeduper(window time.Duration, maxEntries int) (Deduper, error) {
	m, err := dedup.NewMemory(window, maxEntries, 0, nil)
	if err != nil {
		return nil, err
	}
	return m, nil
}
