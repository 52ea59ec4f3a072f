package broker

import (
	"context"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// Store keeps grants where several replicas of your backend can share them
// (Redis, say). The broker keeps every grant in memory and consults the
// Store only when it has no fresh grant of its own: a fresh grant found
// there is reused, otherwise the vendor is called and the result saved.
// Store errors never fail a Start; they are counted and the vendor is asked.
// Keys are "<vendor>:<user id>"; methods must be safe for concurrent use.
type Store interface {
	// Load returns the grant saved under key; ok is false when there is none.
	Load(ctx context.Context, key string) (g StoredGrant, ok bool, err error)
	// Save records g under key until g.ExpiresAt, replacing any earlier one.
	Save(ctx context.Context, key string, g StoredGrant) error
	// Delete forgets key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
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

// storeAdapter presents a Store as one vendor's tokencache.Store.
type storeAdapter struct {
	s      Store
	vendor Vendor
}

func (a storeAdapter) key(user string) string { return string(a.vendor) + ":" + user }

func (a storeAdapter) Load(ctx context.Context, user string) (tokencache.Entry[*held], bool, error) {
	sg, ok, err := a.s.Load(ctx, a.key(user))
	if err != nil || !ok {
		return tokencache.Entry[*held]{}, false, err
	}
	if sg.Grant.Vendor != a.vendor || sg.Grant.UserID != user {
		return tokencache.Entry[*held]{}, false, nil // not ours: ignore rather than hand it out
	}
	return tokencache.Entry[*held]{Value: &held{grant: sg.Grant, variant: variant(sg.Variant)}, Soft: sg.RefreshAfter, Hard: sg.ExpiresAt}, true, nil
}

func (a storeAdapter) Save(ctx context.Context, user string, e tokencache.Entry[*held]) error {
	return a.s.Save(ctx, a.key(user), StoredGrant{Grant: e.Value.grant, Variant: uint64(e.Value.variant), RefreshAfter: e.Soft, ExpiresAt: e.Hard})
}

func (a storeAdapter) Delete(ctx context.Context, user string) error {
	return a.s.Delete(ctx, a.key(user))
}
