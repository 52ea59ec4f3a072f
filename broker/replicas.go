package broker

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// Locker is an optional interface of a [Store] that makes minting a grant
// exactly-once across the replicas sharing it (broker/redisstore implements
// it). With such a Store, a broker that has no fresh grant for a user, in
// memory or in the Store, takes the lock for the grant's key before asking
// the vendor; once it holds it, it looks in the Store again (another replica
// may have saved a grant meanwhile, which it then uses) and only then mints,
// saves the grant and releases the lock. The replicas that lost wait in Lock
// and find the saved grant once they get the lock. Concurrent Starts within
// one broker share one call, so each replica takes the lock at most once at
// a time per user.
//
// Lock never makes a Start fail because the Store is unavailable: when Lock
// returns an error while the fetch's own time has not run out, the broker
// mints without the lock (and the grant may be minted twice).
type Locker interface {
	// Lock blocks until the caller holds the lock for the grant key, ctx
	// ends, or the store cannot be reached (then the error is returned).
	// The release function is called once the grant has been saved, or
	// once the broker has given up on it; it must be safe to call more than
	// once. A lock whose holder dies must expire on its own.
	Lock(ctx context.Context, key string) (release func(), err error)
}

// Notifier is an optional interface of a [Store] that tells every replica
// sharing it about the grants deleted from it (broker/redisstore implements
// it). A broker built with such a Store subscribes in [New] and unsubscribes
// in [Broker.Close]: when another process deletes the grant for a user
// (its [Broker.Invalidate]), this broker drops the grant it holds in memory
// for that user and fences the vendor call under way for the user, whose
// result then is neither kept nor saved (see [Broker.Invalidate]).
type Notifier interface {
	// Subscribe calls fn with the Store key ("<vendor>:<user id>") of every
	// grant another process deleted with Delete, until unsubscribe is
	// called. fn may block for a store round trip; calls are not
	// concurrent for one subscription.
	Subscribe(fn func(key string)) (unsubscribe func())
}

// grantSeq numbers the grants as they are minted or loaded from the Store
// (held.seq), so that an invalidation message drops what this broker held
// when the message came, and not a grant it mints or loads afterwards.
var grantSeq atomic.Uint64

// grantKey is the Store key of a user's grant with a vendor.
func grantKey(v Vendor, user string) string { return string(v) + ":" + user }

// mintShared is the fetch path with a Locker: lock, look in the Store again,
// and mint only if it still holds no fresh grant for the request. The lock
// is released once the cache has saved the grant (storeAdapter.Save) or,
// failing that, when the fetch ends.
func (b *Broker) mintShared(ctx context.Context, vs *vendorState, l Locker, c *call) (*held, tokencache.Expiry, error) {
	key := grantKey(vs.vendor, c.req.UserID)
	release, err := l.Lock(ctx, key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, tokencache.Expiry{}, ctx.Err()
		}
		return b.mint(ctx, vs, c) // the store is unavailable: mint here
	}
	var once sync.Once
	rel := func() { once.Do(release) }
	stop := context.AfterFunc(ctx, rel) // the fetch's context ends when the fetch has ended
	h, exp, err := b.sharedOrMint(ctx, vs, c, key)
	if err != nil {
		stop()
		rel()
		return nil, exp, err
	}
	h.release = rel
	return h, exp, nil
}

// sharedOrMint returns the Store's grant for key if it is fresh and answers
// c's inputs (saved by the replica that held the lock before), and mints
// otherwise.
func (b *Broker) sharedOrMint(ctx context.Context, vs *vendorState, c *call, key string) (*held, tokencache.Expiry, error) {
	want, err := vs.check(c.req)
	if err == nil {
		sg, ok, err := b.store.Load(ctx, key)
		if err == nil && ok && sg.Grant.Vendor == vs.vendor && sg.Grant.UserID == c.req.UserID &&
			variant(sg.Variant) == want && b.now().Before(sg.RefreshAfter) {
			h := &held{grant: sg.Grant, variant: want, shared: true, seq: grantSeq.Add(1)}
			return h, tokencache.Expiry{Soft: sg.RefreshAfter, Hard: sg.ExpiresAt}, nil
		}
	}
	return b.mint(ctx, vs, c)
}

// subscribe wires a Notifier store to the vendors' caches.
func (b *Broker) subscribe() {
	n, ok := b.store.(Notifier)
	if !ok {
		return
	}
	b.unsubscribe = n.Subscribe(b.invalidated)
}

// invalidated drops this broker's memory copy of the grant another process
// deleted from the Store, and fences the fetch under way for its user. It
// matches only grants held before the message came (minted or loaded
// before it), so the Store's current entry, saved after the deletion, is
// neither dropped nor deleted.
func (b *Broker) invalidated(key string) {
	vendor, user, ok := strings.Cut(key, ":")
	if !ok {
		return
	}
	vs := b.state(Vendor(vendor))
	if vs == nil || validateUserID(user) != nil {
		return
	}
	before := grantSeq.Load()
	vs.cache.InvalidateIf(user, func(h *held) bool { return h.seq <= before })
}
