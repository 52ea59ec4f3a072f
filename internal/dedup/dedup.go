// Package dedup remembers which webhook deliveries were processed, so that
// the webhook handlers of entrupy, sentiance and uqudo answer a replay
// without calling the application's callback a second time.
//
// A delivery goes through three steps: [Deduper.Claim] takes its key before
// the callback runs (a short in-flight claim, so a concurrent duplicate is
// told [ErrInProgress] rather than processed twice); [Deduper.Commit] marks
// it processed for the deduper's window once the callback returned nil;
// [Deduper.Release] drops the claim when the callback failed, so that the
// vendor's redelivery is processed. A failed callback therefore never marks
// a delivery as seen.
//
// The vendor packages and broker declare the same interface under their own
// names (a method set with builtin types only), so one implementation, such
// as [Memory] or broker's Store-backed deduper, satisfies all of them.
package dedup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// ErrDuplicate is what Claim returns for a key committed within the window:
// the delivery was processed already.
var ErrDuplicate = errors.New("webhook delivery already processed")

// ErrInProgress is what Claim returns for a key another claim holds: the
// same delivery is being processed right now.
var ErrInProgress = errors.New("webhook delivery is being processed")

// Deduper is the interface the handlers use; see the package comment.
type Deduper interface {
	// Claim takes key for a delivery about to be processed and returns a
	// token for Commit or Release. It returns an error matching
	// ErrDuplicate when key was committed within the window, ErrInProgress
	// when another claim holds it, and any other error when it cannot
	// tell.
	Claim(ctx context.Context, key string) (token string, err error)
	// Commit marks key processed for the window.
	Commit(ctx context.Context, key, token string) error
	// Release drops the claim token holds on key; it does nothing when the
	// claim is no longer token's.
	Release(ctx context.Context, key, token string) error
}

// Defaults of the in-memory deduper.
const (
	// DefaultWindow is how long a processed delivery is remembered.
	DefaultWindow = 24 * time.Hour
	// DefaultMaxEntries bounds how many keys are remembered.
	DefaultMaxEntries = 100_000
	// DefaultClaimTTL is how long a claim holds a key when neither Commit
	// nor Release comes (a process that died mid-callback); a delivery
	// whose callback runs longer than this may be processed twice.
	DefaultClaimTTL = 2 * time.Minute
)

// FinishTimeout bounds the Commit or Release that follows a callback. It
// runs on a context detached from the request's, so that a sender hanging
// up after the callback ran does not leave the claim in place.
const FinishTimeout = 5 * time.Second

// Key derives the key of a delivery: vendor, kind (what id identifies it:
// "event", "body", "jti") and the SHA-256 of id in hex, so that keys have a
// fixed size whatever the id holds (NUL, CR LF, a megabyte) and never carry
// the delivery's content.
func Key(vendor, kind string, id []byte) string {
	sum := sha256.Sum256(id)
	return vendor + ":" + kind + ":" + hex.EncodeToString(sum[:])
}

// Outcome is what [Run] did with a delivery.
type Outcome int

const (
	// Processed: the callback ran (its error is returned by Run).
	Processed Outcome = iota
	// Replayed: the key was committed within the window; the callback did
	// not run.
	Replayed
	// InProgress: another claim holds the key; the callback did not run.
	InProgress
)

// Run runs fn for the delivery key unless d says it was processed or is
// being processed. With a nil d it just runs fn. When Claim fails with
// another error, fn runs anyway (the deduper being unavailable must not
// refuse deliveries) and that error is returned as dedupErr. After fn, the
// claim is committed when fn returned nil and released otherwise, on a
// context detached from ctx and bounded by FinishTimeout; an error there is
// also returned as dedupErr. When fn panics, the claim is released and the
// panic goes on.
func Run(ctx context.Context, d Deduper, key string, fn func() error) (out Outcome, fnErr, dedupErr error) {
	if d == nil {
		return Processed, fn(), nil
	}
	token, err := d.Claim(ctx, key)
	switch {
	case err == nil:
	case errors.Is(err, ErrDuplicate):
		return Replayed, nil, nil
	case errors.Is(err, ErrInProgress):
		return InProgress, nil, nil
	default:
		return Processed, fn(), err
	}
	finished := false
	defer func() {
		if !finished { // fn panicked (http.ErrAbortHandler, say): let the panic go on, claim released
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FinishTimeout)
			defer cancel()
			_ = d.Release(fctx, key, token)
		}
	}()
	fnErr = fn()
	finished = true
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FinishTimeout)
	defer cancel()
	if fnErr != nil {
		dedupErr = d.Release(fctx, key, token)
	} else {
		dedupErr = d.Commit(fctx, key, token)
	}
	return Processed, fnErr, dedupErr
}
