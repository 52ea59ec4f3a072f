package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sdkbroker/sdkbroker/broker"
)

// Store is a [broker.Store] on Redis, also a [broker.Locker], a
// [broker.Notifier] and a [broker.DedupStore]: see the package
// documentation. Build it with [New];
// it is safe for concurrent use and may be shared by several brokers.
type Store struct {
	client  redis.UniversalClient
	cfg     config
	keys    *keyring
	channel string

	br    breaker
	logs  logLimiter
	stats counters

	distrustMu sync.Mutex
	distrust   map[string]struct{} // grant keys whose Delete failed: Load misses them

	waitMu  sync.Mutex
	waiters map[string]*waitSlot // lock tag -> waiters for its release

	subMu   sync.Mutex
	subs    map[uint64]*subscription
	nextSub uint64

	pubsub    *redis.PubSub
	subscribe chan struct{} // closed at the first confirmed subscription
	queue     chan string   // invalidated keys for the subscribers
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

var (
	_ broker.Store    = (*Store)(nil)
	_ broker.Locker   = (*Store)(nil)
	_ broker.Notifier = (*Store)(nil)
)

// maxDistrusted bounds the keys remembered after a failed Delete.
const maxDistrusted = 100_000

// counters are the Stats counters.
type counters struct {
	calls, errors, timeouts, skipped                   atomic.Uint64
	decryptFailures                                    atomic.Uint64
	locks, lockWaits, lockErrors                       atomic.Uint64
	invalidationsSent, invalidationsRecv, subscription atomic.Uint64
}

// Stats are the counters of a Store since New.
type Stats struct {
	// Calls is the number of Redis calls made.
	Calls uint64
	// Errors counts the calls that failed or timed out (Timeouts among them).
	Errors uint64
	// Timeouts counts the calls that took longer than WithTimeout.
	Timeouts uint64
	// Skipped counts the calls not made because the breaker was open.
	Skipped uint64
	// BreakerTrips counts the times the breaker opened.
	BreakerTrips uint64
	// BreakerOpen reports whether the breaker is open (or half-open) now.
	BreakerOpen bool
	// DecryptFailures counts values and messages that did not decrypt or
	// decode: written under another key, moved to another Redis key, or
	// altered. They are treated as absent.
	DecryptFailures uint64
	// Locks counts the mint locks taken.
	Locks uint64
	// LockWaits counts the Lock calls that found the lock taken and waited.
	LockWaits uint64
	// LockErrors counts the Lock calls that gave up because Redis was
	// unavailable (the broker then minted without the lock).
	LockErrors uint64
	// InvalidationsSent counts the invalidation messages published (one
	// per successful Delete).
	InvalidationsSent uint64
	// InvalidationsReceived counts the invalidation messages received and
	// handled by the subscribers (this store's own included); it moves once
	// they have returned.
	InvalidationsReceived uint64
	// Subscriptions counts the subscriptions Redis confirmed: 1 once
	// subscribed, more after reconnections (messages published while the
	// connection was down are lost).
	Subscriptions uint64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.br.mu.Lock()
	trips := s.br.trips
	s.br.mu.Unlock()
	c := &s.stats
	return Stats{
		Calls: c.calls.Load(), Errors: c.errors.Load(), Timeouts: c.timeouts.Load(), Skipped: c.skipped.Load(),
		BreakerTrips: trips, BreakerOpen: s.br.open.Load(), DecryptFailures: c.decryptFailures.Load(),
		Locks: c.locks.Load(), LockWaits: c.lockWaits.Load(), LockErrors: c.lockErrors.Load(),
		InvalidationsSent: c.invalidationsSent.Load(), InvalidationsReceived: c.invalidationsRecv.Load(),
		Subscriptions: c.subscription.Load(),
	}
}

// New returns a Store on client (a *redis.Client, *redis.ClusterClient or
// any redis.UniversalClient). [WithEncryptionKey] is required. New makes no
// Redis call and does not fail because Redis is unreachable; it starts the
// subscription to the store's channel in the background (see
// [Store.WaitSubscribed]). The store does not own client: [Store.Close]
// leaves it open.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, invalid("client", "is nil")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, invalid("option", "is nil")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	kr, err := newKeyring(cfg.keys)
	if err != nil {
		return nil, err
	}
	s := &Store{
		client: client, cfg: cfg, keys: kr, channel: cfg.prefix + "events",
		br:       breaker{threshold: cfg.failures, cooldown: cfg.cooldown},
		distrust: map[string]struct{}{}, waiters: map[string]*waitSlot{}, subs: map[uint64]*subscription{},
		subscribe: make(chan struct{}), queue: make(chan string, 1024), closed: make(chan struct{}),
	}
	s.startSubscriber()
	return s, nil
}

// String describes the store without its keys: the prefix and how many
// encryption keys it has.
func (s *Store) String() string {
	if s == nil || s.keys == nil {
		return "redisstore.Store(nil)"
	}
	return fmt.Sprintf("redisstore.Store{prefix:%q keys:%d}", s.cfg.prefix, len(s.keys.aeads))
}

// GoString is String, so %#v does not print the keys either.
func (s *Store) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *Store) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, s.String()) }

// LogValue logs the store without its keys.
func (s *Store) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Redis key suffixes.
const (
	suffixGrant  = ":g"
	suffixLock   = ":l"
	suffixLedger = ":o"
)

// redisKey is the Redis key of a logical key under key i of the ring: the
// prefix, the keyed hash as the Cluster hash tag, and the suffix, so an
// entry and its lock live in one slot.
func (s *Store) redisKey(i int, logical, suffix string) string {
	return s.cfg.prefix + "{" + s.keys.tag(i, logical) + "}" + suffix
}

func (s *Store) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// Load implements [broker.Store]: it reads the grant under key (looking
// under the names of every encryption key, the first first) and decrypts
// it. A value that does not decrypt or decode, or whose expiry has passed
// by the store's clock, is absent (the first counted in
// Stats.DecryptFailures). A grant whose Delete failed in this process is
// absent until it is saved or deleted again here. Errors wrap
// [ErrUnavailable] (Redis failed, was slow or the breaker is open) or are
// the context's.
func (s *Store) Load(ctx context.Context, key string) (broker.StoredGrant, bool, error) {
	if s.distrusted(key) {
		return broker.StoredGrant{}, false, nil
	}
	var g broker.StoredGrant
	ok, err := s.load(ctx, "load", kindGrant, key, suffixGrant, &g)
	if err != nil || !ok {
		return broker.StoredGrant{}, false, err
	}
	if !s.cfg.now().Before(g.ExpiresAt) {
		return broker.StoredGrant{}, false, nil
	}
	return g, true, nil
}

// load GETs the logical key under each key's name in turn and decodes the
// first value found into v.
func (s *Store) load(ctx context.Context, op string, kind byte, logical, suffix string, v any) (bool, error) {
	for i := range s.keys.aeads {
		raw, err := callValue(s, ctx, op, func(ctx context.Context) ([]byte, error) {
			return s.client.Get(ctx, s.redisKey(i, logical, suffix)).Bytes()
		})
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return false, err
		}
		pt, err := s.keys.open(kind, logical, raw)
		if err == nil {
			err = json.Unmarshal(pt, v)
		}
		if err != nil {
			s.stats.decryptFailures.Add(1)
			return false, nil
		}
		return true, nil
	}
	return false, nil
}

// Save implements [broker.Store]: it encrypts g and writes it with a TTL
// up to g.ExpiresAt (by the store's clock); a grant already expired
// deletes the key instead (without an invalidation message). Errors as
// for Load.
func (s *Store) Save(ctx context.Context, key string, g broker.StoredGrant) error {
	var err error
	if ttl := g.ExpiresAt.Sub(s.cfg.now()); ttl >= time.Millisecond {
		err = s.save(ctx, "save", kindGrant, key, suffixGrant, g, ttl)
	} else {
		err = s.call(ctx, "save", func(ctx context.Context) error {
			return s.client.Del(ctx, s.redisKey(0, key, suffixGrant)).Err()
		})
	}
	if err != nil {
		return err
	}
	s.trust(key)
	return nil
}

func (s *Store) save(ctx context.Context, op string, kind byte, logical, suffix string, v any, ttl time.Duration) error {
	pt, err := json.Marshal(v)
	if err != nil {
		return err
	}
	value := s.keys.seal(kind, logical, pt)
	return s.call(ctx, op, func(ctx context.Context) error {
		return s.client.Set(ctx, s.redisKey(0, logical, suffix), value, ttl).Err()
	})
}

// deleteScript deletes a grant and tells every replica, in one step: a
// replica that gets the message finds the key gone.
var deleteScript = redis.NewScript(`
redis.call('del', KEYS[1])
redis.call('publish', ARGV[1], ARGV[2])
return 1
`)

// Delete implements [broker.Store]: it deletes the grant (under the names
// of every encryption key) and publishes an invalidation message, in the
// same script as the delete under the first key's name, so that every
// subscribed replica drops its memory copy ([Store.Subscribe]). A failed
// Delete makes this process's Loads miss the key until it is saved or
// deleted again here. Errors as for Load.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.deleteGrant(ctx, key)
	if err != nil {
		s.distrustKey(key)
		return err
	}
	s.trust(key)
	return nil
}

func (s *Store) deleteGrant(ctx context.Context, key string) error {
	for i := len(s.keys.aeads) - 1; i > 0; i-- { // the old names first, the message last
		if err := s.call(ctx, "delete", func(ctx context.Context) error {
			return s.client.Del(ctx, s.redisKey(i, key, suffixGrant)).Err()
		}); err != nil {
			return err
		}
	}
	msg := invalidationPrefix + encodeSealed(s.keys.seal(kindInvalidation, "", []byte(key)))
	err := s.call(ctx, "delete", func(ctx context.Context) error {
		return deleteScript.Run(ctx, s.client, []string{s.redisKey(0, key, suffixGrant)}, s.channel, msg).Err()
	})
	if err == nil {
		s.stats.invalidationsSent.Add(1)
	}
	return err
}

// SaveLedger implements [broker.Store]: the entry is encrypted and written
// with ttl. Errors as for Load.
func (s *Store) SaveLedger(ctx context.Context, key string, e broker.LedgerEntry, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return invalid("ttl", "must be at least 1ms")
	}
	return s.save(ctx, "save_ledger", kindLedger, key, suffixLedger, e, ttl)
}

// LoadLedger implements [broker.Store]. Errors as for Load.
func (s *Store) LoadLedger(ctx context.Context, key string) (broker.LedgerEntry, bool, error) {
	var e broker.LedgerEntry
	ok, err := s.load(ctx, "load_ledger", kindLedger, key, suffixLedger, &e)
	if err != nil || !ok {
		return broker.LedgerEntry{}, false, err
	}
	return e, true, nil
}

func (s *Store) distrusted(key string) bool {
	s.distrustMu.Lock()
	defer s.distrustMu.Unlock()
	_, ok := s.distrust[key]
	return ok
}

func (s *Store) distrustKey(key string) {
	s.distrustMu.Lock()
	defer s.distrustMu.Unlock()
	if len(s.distrust) < maxDistrusted {
		s.distrust[key] = struct{}{}
	}
}

func (s *Store) trust(key string) {
	s.distrustMu.Lock()
	defer s.distrustMu.Unlock()
	delete(s.distrust, key)
}

// Close stops the store's subscription and wakes the Lock calls waiting
// (they return [ErrClosed]); later calls return ErrClosed. It does not
// close the Redis client, which the caller owns. Close may be called more
// than once, and on a nil Store.
func (s *Store) Close() {
	if s == nil || s.closed == nil {
		return
	}
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.pubsub != nil {
			_ = s.pubsub.Close()
		}
		s.wg.Wait()
	})
}
