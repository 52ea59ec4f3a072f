package redisstore

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// Three replicas, 300 concurrent Starts for one cold user spread over them:
// exactly one vendor call, and every Start gets that grant. The vendor is
// slowed down so that all Starts overlap the mint.
func TestReplicas_ExactlyOneMint(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		v := newVendors(t)
		v.delay.Store(int64(100 * time.Millisecond))
		var replicas []*broker.Broker
		for range 3 {
			replicas = append(replicas, v.broker(e.store()))
		}
		for _, vendor := range broker.Vendors() {
			t.Run(string(vendor), func(t *testing.T) {
				user := newUser()
				var wg sync.WaitGroup
				grants := make([]*broker.Grant, 300)
				errs := make([]error, 300)
				for i := range grants {
					wg.Go(func() {
						grants[i], errs[i] = replicas[i%3].Start(background, request(vendor, user))
					})
				}
				wg.Wait()
				for i := range grants {
					require.NoError(t, errs[i], "start %d", i)
					assert.Equal(t, grants[0].Token, grants[i].Token, "start %d", i)
					assert.Equal(t, grants[0].SessionID, grants[i].SessionID, "start %d", i)
				}
				assert.Equal(t, 1, v.mints(vendor), "one vendor call across the replicas")
			})
		}
	})
}

// A grant minted on one replica is reused by another (from Redis), and a
// session minted on one replica is resolved by Owner on another.
func TestReplicas_GrantReusedAndOwnerResolved(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		v := newVendors(t)
		a, b := v.broker(e.store()), v.broker(e.store())
		for _, vendor := range broker.Vendors() {
			t.Run(string(vendor), func(t *testing.T) {
				user := newUser()
				first, err := a.Start(background, request(vendor, user))
				require.NoError(t, err)
				assert.False(t, first.Reused)
				second, err := b.Start(background, request(vendor, user))
				require.NoError(t, err)
				assert.True(t, second.Reused, "B reuses A's grant")
				assert.Equal(t, first.Token, second.Token)
				assert.Equal(t, first.SessionID, second.SessionID)
				assert.Equal(t, first.ExpiresAt.UnixMilli(), second.ExpiresAt.UnixMilli())
				assert.Equal(t, 1, v.mints(vendor))
				assert.Equal(t, uint64(1), b.Stats()[vendor].Misses, "B went to Redis once")

				// The vendor-side user id (here the user id itself) and the
				// session id resolve on B, which never minted.
				owner, err := b.Owner(background, vendor, user)
				require.NoError(t, err)
				assert.Equal(t, user, owner)
				if first.SessionID != "" {
					owner, err = b.Owner(background, vendor, first.SessionID)
					require.NoError(t, err)
					assert.Equal(t, user, owner)
				}
				_, err = b.Owner(background, vendor, "no-such-session")
				assert.ErrorIs(t, err, broker.ErrNotFound)
			})
		}
	})
}

// Nothing in Redis shows a token, a user id or a session id: not the key
// names, not the values (GET and DUMP), not the messages (checked in the
// notify tests). Keys are "<prefix>{<32 hex>}:<kind>".
func TestRedis_NoPlaintext(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		v := newVendors(t)
		a := v.broker(e.store())
		var secrets []string
		for _, vendor := range broker.Vendors() {
			user := newUser()
			g, err := a.Start(background, request(vendor, user))
			require.NoError(t, err)
			secrets = append(secrets, user, hex.EncodeToString([]byte(user)))
			secrets = append(secrets, grantSecrets(g)...)
		}
		keys := e.keys()
		assert.Len(t, keys, 4+4+2, "4 grants, 4 vendor-side user ids, 2 sessions")
		for _, k := range keys {
			rest, ok := strings.CutPrefix(k, e.prefix)
			require.True(t, ok)
			require.Len(t, rest, 1+32+1+2, "key %q", k)
			assert.Equal(t, "{", rest[:1])
			_, err := hex.DecodeString(rest[1:33])
			assert.NoError(t, err, "key %q", k)
			assert.Contains(t, []string{"}:g", "}:o"}, rest[33:])
			raw, err := e.admin.Get(background, k).Bytes()
			require.NoError(t, err)
			dump, err := e.admin.Dump(background, k).Bytes()
			require.NoError(t, err)
			ttl, err := e.admin.PTTL(background, k).Result()
			require.NoError(t, err)
			assert.Greater(t, ttl, time.Duration(0), "every entry has a TTL")
			for _, s := range secrets {
				assert.NotContains(t, k, s)
				assert.NotContains(t, string(raw), s)
				assert.NotContains(t, string(dump), s)
			}
			for _, word := range []string{"user", "token", "entrupy", "session", "vendor"} {
				assert.NotContains(t, string(raw), word, "the value is ciphertext")
			}
		}
	})
}

// A value copied to another key does not decrypt there (the user id and
// vendor are bound as additional data); it is a miss, counted.
func TestRedis_MovedValueDoesNotDecrypt(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		s := e.store()
		exp := time.Now().Add(time.Hour)
		alice := broker.StoredGrant{Grant: broker.Grant{Vendor: broker.Entrupy, UserID: "alice-0001", Token: "tok-alice", ExpiresAt: exp},
			RefreshAfter: exp.Add(-time.Minute), ExpiresAt: exp}
		require.NoError(t, s.Save(background, "entrupy:alice-0001", alice))
		got, ok, err := s.Load(background, "entrupy:alice-0001")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "tok-alice", got.Grant.Token)

		raw, err := e.admin.Get(background, s.redisKey(0, "entrupy:alice-0001", suffixGrant)).Bytes()
		require.NoError(t, err)
		for _, to := range []string{"entrupy:mallory-01", "idv:alice-0001"} { // another user; another vendor
			require.NoError(t, e.admin.Set(background, s.redisKey(0, to, suffixGrant), raw, time.Hour).Err())
			_, ok, err := s.Load(background, to)
			require.NoError(t, err)
			assert.False(t, ok, "a value moved to %s must not decrypt", to)
		}
		// A grant value moved to a ledger key does not open either.
		require.NoError(t, e.admin.Set(background, s.redisKey(0, "entrupy:alice-0001", suffixLedger), raw, time.Hour).Err())
		_, ok, err = s.LoadLedger(background, "entrupy:alice-0001")
		require.NoError(t, err)
		assert.False(t, ok)
		assert.Equal(t, uint64(3), s.Stats().DecryptFailures)

		// A store with another key finds nothing it can read.
		other := e.store(WithEncryptionKey(make([]byte, KeySize)))
		_, ok, err = other.Load(background, "entrupy:alice-0001")
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

// A dead lock holder (a lock taken with a foreign token and never released)
// holds the mint back for the lock TTL, then exactly one replica mints.
func TestReplicas_DeadLockHolderRecoversWithinTTL(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		v := newVendors(t)
		const ttl = 500 * time.Millisecond
		var replicas []*broker.Broker
		for range 3 {
			replicas = append(replicas, v.broker(e.store(WithLockTTL(ttl), WithLockPoll(20*time.Millisecond))))
		}
		user := newUser()
		dead := e.store(WithLockTTL(ttl))
		_, err := dead.Lock(background, "entrupy:"+user) // its holder "dies": never released
		require.NoError(t, err)
		begin := time.Now()
		var wg sync.WaitGroup
		tokens := make([]string, 30)
		for i := range tokens {
			wg.Go(func() {
				g, err := replicas[i%3].Start(background, request(broker.Entrupy, user))
				if assert.NoError(t, err) {
					tokens[i] = g.Token
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(begin)
		assert.GreaterOrEqual(t, elapsed, ttl*8/10, "the dead holder's lock held the mint back")
		assert.Less(t, elapsed, 10*ttl, "recovered within the lock TTL (10x margin)")
		assert.Equal(t, 1, v.mints(broker.Entrupy), "exactly one replica minted")
		for _, tok := range tokens {
			assert.Equal(t, tokens[0], tok)
		}
	})
}

// Invalidate on one replica: the others, once the message reached them,
// never hand out the old grant again, and none loads it from Redis.
func TestReplicas_InvalidateReachesEveryReplica(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		v := newVendors(t)
		stores := []*Store{e.store(), e.store(), e.store()}
		var replicas []*broker.Broker
		for _, s := range stores {
			replicas = append(replicas, v.broker(s))
		}
		for _, vendor := range broker.Vendors() {
			t.Run(string(vendor), func(t *testing.T) {
				user := newUser()
				old, err := replicas[0].Start(background, request(vendor, user))
				require.NoError(t, err)
				for _, r := range replicas[1:] {
					g, err := r.Start(background, request(vendor, user))
					require.NoError(t, err)
					require.Equal(t, old.Token, g.Token)
					require.Equal(t, old.SessionID, g.SessionID)
				}
				var seen [3]uint64
				for i, s := range stores {
					seen[i] = s.Stats().InvalidationsReceived
				}
				require.NoError(t, replicas[0].Invalidate(background, vendor, user))
				for i, s := range stores {
					eventually(t, func() bool { return s.Stats().InvalidationsReceived > seen[i] }, "the message reaches replica")
				}
				for i, r := range replicas {
					g, err := r.Start(background, request(vendor, user))
					require.NoError(t, err)
					assert.NotEqual(t, old.Token+"/"+old.SessionID, g.Token+"/"+g.SessionID, "replica %d handed out the invalidated grant", i)
				}
			})
		}
	})
}

// Invalidate racing with Starts on the other replicas: every Start that
// begins after the message reached its replica gets a grant other than the
// invalidated one.
func TestReplicas_InvalidateUnderLoad(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		v := newVendors(t)
		stores := []*Store{e.store(), e.store(), e.store()}
		var replicas []*broker.Broker
		for _, s := range stores {
			replicas = append(replicas, v.broker(s))
		}
		user := newUser()
		old, err := replicas[0].Start(background, request(broker.Entrupy, user))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(background)
		var wg sync.WaitGroup
		var seen [3]uint64
		for i, s := range stores {
			seen[i] = s.Stats().InvalidationsReceived
		}
		for i := range 6 {
			r, s := replicas[i%3], stores[i%3]
			wg.Go(func() {
				for ctx.Err() == nil {
					after := s.Stats().InvalidationsReceived > seen[i%3]
					g, err := r.Start(background, request(broker.Entrupy, user))
					if !assert.NoError(t, err) {
						return
					}
					if after {
						assert.NotEqual(t, old.Token, g.Token, "old grant handed out after the message")
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, replicas[1].Invalidate(background, broker.Entrupy, user))
		for i, s := range stores {
			eventually(t, func() bool { return s.Stats().InvalidationsReceived > seen[i] }, "the message reaches replica")
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
		wg.Wait()
		_, ok, err := stores[2].Load(background, "entrupy:"+user)
		require.NoError(t, err)
		if ok {
			g, _, _ := stores[2].Load(background, "entrupy:"+user)
			assert.NotEqual(t, old.Token, g.Grant.Token, "Redis holds no invalidated grant")
		}
	})
}
