package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deadAddr is a loopback address nothing listens on: every call to it is
// refused at once.
func deadAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// deadStore is a Store on a Redis that is not there (no Redis needed).
func deadStore(t testing.TB, opts ...Option) *Store {
	c := redis.NewClient(&redis.Options{Addr: deadAddr(t), MaxRetries: -1, DialerRetries: 1})
	s, err := New(c, append([]Option{WithEncryptionKey(testKey)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		s.Close()
		_ = c.Close()
	})
	return s
}

// Redis stopped mid-test: Starts keep working on per-process caching (the
// lock path too), failures are counted, the breaker opens, one line is
// logged; when Redis is back, the replicas share grants again.
func TestRedisDown_StartsKeepWorkingAndRecover(t *testing.T) {
	own := startOwnRedis(t)
	v := newVendors(t)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	newStore := func() *Store {
		c := redis.NewClient(&redis.Options{Addr: own.addr(), MaxRetries: -1, DialerRetries: 1})
		s, err := New(c, WithEncryptionKey(testKey), WithTimeout(2*time.Second), WithBreaker(3, 100*time.Millisecond),
			WithLogger(logger), WithLogInterval(time.Hour))
		require.NoError(t, err)
		t.Cleanup(func() {
			s.Close()
			_ = c.Close()
		})
		ctx, cancel := context.WithTimeout(background, 10*time.Second)
		defer cancel()
		require.NoError(t, s.WaitSubscribed(ctx))
		return s
	}
	sa, sb := newStore(), newStore()
	a, b := v.broker(sa), v.broker(sb)

	user := newUser()
	g, err := a.Start(background, request(broker.Entrupy, user))
	require.NoError(t, err)
	g2, err := b.Start(background, request(broker.Entrupy, user))
	require.NoError(t, err)
	require.Equal(t, g.Token, g2.Token, "sharing works before the outage")

	own.stop()
	begin := time.Now()
	for range 10 {
		user := newUser()
		for _, r := range []*broker.Broker{a, b} {
			g, err := r.Start(background, request(broker.Entrupy, user))
			require.NoError(t, err, "a Start must not fail because Redis is down")
			require.NotEmpty(t, g.Token)
			again, err := r.Start(background, request(broker.Entrupy, user))
			require.NoError(t, err)
			assert.Equal(t, g.Token, again.Token, "memory still serves the grant")
			assert.True(t, again.Reused)
		}
		_, err := a.Owner(background, broker.Entrupy, user)
		require.NoError(t, err, "the memory ledger still answers")
	}
	assert.Less(t, time.Since(begin), 10*time.Second)
	st := sa.Stats()
	assert.NotZero(t, st.Errors)
	assert.NotZero(t, st.BreakerTrips)
	assert.NotZero(t, st.Skipped, "the open breaker stopped calling Redis")
	assert.NotZero(t, st.LockErrors, "the lock path minted without Redis")
	assert.Equal(t, 2, strings.Count(logs.String(), "redis call failed"), "one line per store per interval: %s", logs.String())
	assert.NotContains(t, logs.String(), user)

	own.start()
	eventually(t, func() bool {
		user := newUser()
		g, err := a.Start(background, request(broker.Entrupy, user))
		require.NoError(t, err)
		g2, err := b.Start(background, request(broker.Entrupy, user))
		require.NoError(t, err)
		return g.Token == g2.Token && g2.Reused
	}, "replicas share grants again once Redis is back")
	eventually(t, func() bool { return sa.Stats().Subscriptions >= 2 && sb.Stats().Subscriptions >= 2 }, "resubscribed")
	assert.False(t, sa.Stats().BreakerOpen)

	// Invalidation messages flow again.
	user = newUser()
	old, err := a.Start(background, request(broker.Entrupy, user))
	require.NoError(t, err)
	_, err = b.Start(background, request(broker.Entrupy, user))
	require.NoError(t, err)
	seen := sb.Stats().InvalidationsReceived
	require.NoError(t, a.Invalidate(background, broker.Entrupy, user))
	eventually(t, func() bool { return sb.Stats().InvalidationsReceived > seen }, "message after the outage")
	g, err = b.Start(background, request(broker.Entrupy, user))
	require.NoError(t, err)
	assert.NotEqual(t, old.Token, g.Token)
}

// A slow Redis: each call is cut at the timeout (default 50 ms), whatever
// the client's own timeouts, and a Start goes on without Redis.
func TestRedisSlow_EachCallBoundedByTimeout(t *testing.T) {
	own := startOwnRedis(t)
	v := newVendors(t)
	c := redis.NewClient(&redis.Options{Addr: own.addr(), MaxRetries: -1, DialerRetries: 1, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	s, err := New(c, WithEncryptionKey(testKey)) // the default timeout
	require.NoError(t, err)
	t.Cleanup(s.Close)
	assert.Equal(t, DefaultTimeout, s.cfg.timeout)
	assert.Equal(t, 50*time.Millisecond, DefaultTimeout)
	ctx, cancel := context.WithTimeout(background, 10*time.Second)
	defer cancel()
	require.NoError(t, s.WaitSubscribed(ctx))
	b := v.broker(s)

	admin := redis.NewClient(&redis.Options{Addr: own.addr()})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(background, "client", "pause", 3000, "all").Err())

	begin := time.Now()
	_, _, err = s.Load(background, "entrupy:someone-01")
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(begin), 500*time.Millisecond, "cut at 50 ms (10x margin)")
	assert.Equal(t, uint64(1), s.Stats().Timeouts)

	begin = time.Now()
	g, err := b.Start(background, request(broker.Entrupy, newUser()))
	require.NoError(t, err)
	assert.NotEmpty(t, g.Token)
	// Load, lock, save, unlock and two ledger writes at 50 ms at most each,
	// fewer once the breaker opens.
	assert.Less(t, time.Since(begin), 2500*time.Millisecond)
	assert.GreaterOrEqual(t, s.Stats().Timeouts, uint64(3))
}

// A failed Delete: Invalidate reports it, and this process does not load
// the grant from Redis afterwards, though Redis may still hold it, until it
// saves the key again.
func TestDeleteFailure_KeyDistrusted(t *testing.T) {
	own := startOwnRedis(t)
	c := redis.NewClient(&redis.Options{Addr: own.addr(), MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = c.Close() })
	s, err := New(c, WithEncryptionKey(testKey), WithTimeout(300*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	exp := time.Now().Add(time.Hour)
	g := broker.StoredGrant{Grant: broker.Grant{Vendor: broker.Entrupy, UserID: "alice-0001", Token: "tok", ExpiresAt: exp},
		RefreshAfter: exp.Add(-time.Minute), ExpiresAt: exp}
	require.NoError(t, s.Save(background, "entrupy:alice-0001", g))

	admin := redis.NewClient(&redis.Options{Addr: own.addr()})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(background, "client", "pause", 2000, "write").Err()) // reads go on, writes and scripts wait
	err = s.Delete(background, "entrupy:alice-0001")
	require.ErrorIs(t, err, ErrUnavailable)
	require.NoError(t, admin.Get(background, s.redisKey(0, "entrupy:alice-0001", suffixGrant)).Err(), "Redis still holds it")
	_, ok, err := s.Load(background, "entrupy:alice-0001")
	require.NoError(t, err)
	assert.False(t, ok, "not loaded after a failed delete")
	require.NoError(t, admin.Do(background, "client", "unpause").Err())

	require.NoError(t, s.Save(background, "entrupy:alice-0001", g))
	_, ok, err = s.Load(background, "entrupy:alice-0001")
	require.NoError(t, err)
	assert.True(t, ok, "trusted again once saved")
}

// The circuit breaker: failures in a row open it, calls then fail at once
// without reaching Redis, and after the cooldown one probe goes through.
func TestBreaker_OpensSkipsAndProbes(t *testing.T) {
	logs := &syncBuffer{}
	s := deadStore(t, WithBreaker(3, 200*time.Millisecond), WithLogger(slog.New(slog.NewJSONHandler(logs, nil))),
		WithLogInterval(time.Hour))
	for range 3 {
		_, _, err := s.Load(background, "entrupy:alice-0001")
		require.ErrorIs(t, err, ErrUnavailable)
	}
	st := s.Stats()
	assert.Equal(t, uint64(3), st.Calls)
	assert.Equal(t, uint64(3), st.Errors)
	assert.True(t, st.BreakerOpen)
	assert.Equal(t, uint64(1), st.BreakerTrips)

	for range 10 {
		_, _, err := s.Load(background, "entrupy:alice-0001")
		require.ErrorIs(t, err, ErrUnavailable)
		assert.ErrorIs(t, err, errBreakerOpen)
	}
	assert.Equal(t, uint64(3), s.Stats().Calls, "no call while open")
	assert.Equal(t, uint64(10), s.Stats().Skipped)

	time.Sleep(250 * time.Millisecond)
	_, _, err := s.Load(background, "entrupy:alice-0001")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, uint64(4), s.Stats().Calls, "one probe after the cooldown")
	assert.Equal(t, uint64(2), s.Stats().BreakerTrips, "the failed probe opened it again")

	assert.Equal(t, 1, strings.Count(logs.String(), "\n"), "one line per interval: %s", logs.String())
	assert.Contains(t, logs.String(), `"op":"load"`)
	assert.NotContains(t, logs.String(), "alice")
}

func TestBreaker_States(t *testing.T) {
	b := &breaker{threshold: 2, cooldown: time.Hour}
	ok, probe := b.allow()
	assert.True(t, ok)
	assert.False(t, probe)
	assert.False(t, b.done(failed, false))
	assert.False(t, b.done(succeeded, false), "a success resets the count")
	assert.False(t, b.done(failed, false))
	assert.True(t, b.done(failed, false), "two in a row open it")
	ok, _ = b.allow()
	assert.False(t, ok)
	assert.False(t, b.done(failed, false), "a late failure does not reopen")

	b.openUntil = time.Now().Add(-time.Millisecond) // cooldown over
	ok, probe = b.allow()
	assert.True(t, ok)
	assert.True(t, probe)
	ok, _ = b.allow()
	assert.False(t, ok, "one probe at a time")
	b.done(abandoned, true)
	ok, probe = b.allow()
	assert.True(t, ok && probe, "an abandoned probe lets another through")
	b.done(succeeded, true)
	assert.False(t, b.open.Load())
	ok, probe = b.allow()
	assert.True(t, ok)
	assert.False(t, probe)
}

// Lock: SET NX with a TTL; release deletes only the caller's own lock; a
// second Lock waits for the release message.
func TestLock_OwnerTokenAndRelease(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		s := e.store(WithLockTTL(time.Second), WithLockPoll(time.Hour)) // only the message can wake a waiter
		lk := s.redisKey(0, "entrupy:alice-0001", suffixLock)

		release, err := s.Lock(background, "entrupy:alice-0001")
		require.NoError(t, err)
		owner, err := e.admin.Get(background, lk).Result()
		require.NoError(t, err)
		assert.Len(t, owner, 32, "a random owner token")
		ttl, err := e.admin.PTTL(background, lk).Result()
		require.NoError(t, err)
		assert.InDelta(t, float64(time.Second), float64(ttl), float64(500*time.Millisecond))

		got := make(chan func(), 1)
		go func() {
			r, err := s.Lock(background, "entrupy:alice-0001")
			assert.NoError(t, err)
			got <- r
		}()
		eventually(t, func() bool { return s.Stats().LockWaits == 1 }, "second Lock waiting")
		select {
		case <-got:
			t.Fatal("the second Lock got a held lock")
		case <-time.After(50 * time.Millisecond):
		}
		release()
		release() // twice is fine
		var second func()
		select {
		case second = <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("the release message did not wake the waiter")
		}

		// The first holder's release, late, does not delete the second's lock.
		release()
		assert.NoError(t, e.admin.Get(background, lk).Err())
		// Nor does a release after the lock expired and was taken by someone else.
		require.NoError(t, e.admin.Set(background, lk, "foreign", time.Minute).Err())
		second()
		foreign, err := e.admin.Get(background, lk).Result()
		require.NoError(t, err)
		assert.Equal(t, "foreign", foreign)
	})
}

// A Start waiting for a lock held elsewhere ends with its context, as a
// TransportError naming the vendor call, and errors.Is the context error.
func TestLock_StartWaitEndsWithContext(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		v := newVendors(t)
		b := v.broker(e.store())
		user := newUser()
		_, err := e.store(WithLockTTL(time.Minute)).Lock(background, "entrupy:"+user)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(background, 100*time.Millisecond)
		defer cancel()
		_, err = b.Start(ctx, request(broker.Entrupy, user))
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var te *broker.TransportError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, "entrupy", te.Vendor)
		assert.Equal(t, 0, v.mints(broker.Entrupy))
	})
}

// Close wakes the Lock calls waiting and makes later calls fail with
// ErrClosed; it is safe twice and on nil.
func TestStore_Close(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		holder := e.store(WithLockTTL(time.Minute))
		_, err := holder.Lock(background, "entrupy:alice-0001")
		require.NoError(t, err)
		s := e.store()
		done := make(chan error, 1)
		go func() {
			_, err := s.Lock(background, "entrupy:alice-0001")
			done <- err
		}()
		eventually(t, func() bool { return s.Stats().LockWaits == 1 }, "waiting")
		s.Close()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, ErrClosed)
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake the waiter")
		}
		s.Close()
		_, _, err = s.Load(background, "entrupy:alice-0001")
		assert.ErrorIs(t, err, ErrClosed)
		assert.NoError(t, s.WaitSubscribed(background), "subscribed before Close")
		var nilStore *Store
		nilStore.Close()
		(&Store{}).Close()
	})
}

// Values carry their TTL: a grant until its expiry, a ledger entry for its
// ttl; an already expired grant deletes the key.
func TestStore_TTLs(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		s := e.store()
		exp := time.Now().Add(time.Hour)
		g := broker.StoredGrant{Grant: broker.Grant{Vendor: broker.IDV, UserID: "bob-00001", SessionID: "sess-1", ExpiresAt: exp},
			RefreshAfter: exp.Add(-10 * time.Minute), ExpiresAt: exp}
		require.NoError(t, s.Save(background, "idv:bob-00001", g))
		ttl, err := e.admin.PTTL(background, s.redisKey(0, "idv:bob-00001", suffixGrant)).Result()
		require.NoError(t, err)
		assert.InDelta(t, float64(time.Hour), float64(ttl), float64(time.Minute))

		entry := broker.LedgerEntry{Vendor: broker.IDV, UserID: "bob-00001", SessionID: "sess-1", CreatedAt: time.Now(), ExpiresAt: exp}
		require.NoError(t, s.SaveLedger(background, "ledger:idv:session:sess-1", entry, 48*time.Hour))
		ttl, err = e.admin.PTTL(background, s.redisKey(0, "ledger:idv:session:sess-1", suffixLedger)).Result()
		require.NoError(t, err)
		assert.InDelta(t, float64(48*time.Hour), float64(ttl), float64(time.Minute))
		got, ok, err := s.LoadLedger(background, "ledger:idv:session:sess-1")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "bob-00001", got.UserID)
		assert.ErrorIs(t, s.SaveLedger(background, "ledger:idv:session:sess-2", entry, 0), broker.ErrInvalidInput)

		g.ExpiresAt = time.Now().Add(-time.Second)
		require.NoError(t, s.Save(background, "idv:bob-00001", g))
		n, err := e.admin.Exists(background, s.redisKey(0, "idv:bob-00001", suffixGrant)).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "an expired grant replaces the old one by deleting it")

		// The store's clock decides expiry on load too.
		future := e.store(WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) }))
		g.ExpiresAt = exp
		require.NoError(t, s.Save(background, "idv:bob-00001", g))
		_, ok, err = future.Load(background, "idv:bob-00001")
		require.NoError(t, err)
		assert.False(t, ok, "expired by the store's clock")
	})
}

// Key rotation: [new, old] reads what [old] wrote and writes under new;
// [new] alone no longer reads what old wrote.
func TestStore_KeyRotation(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		oldKey, newKey := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
		exp := time.Now().Add(time.Hour)
		g := broker.StoredGrant{Grant: broker.Grant{Vendor: broker.Entrupy, UserID: "carol-001", Token: "tok-c", ExpiresAt: exp},
			RefreshAfter: exp.Add(-time.Minute), ExpiresAt: exp}
		before := e.store(WithEncryptionKey(oldKey))
		require.NoError(t, before.Save(background, "entrupy:carol-001", g))
		require.NoError(t, before.SaveLedger(background, "ledger:entrupy:user:carol-001", broker.LedgerEntry{UserID: "carol-001"}, time.Hour))

		during := e.store(WithEncryptionKey(newKey, oldKey))
		got, ok, err := during.Load(background, "entrupy:carol-001")
		require.NoError(t, err)
		require.True(t, ok, "the old key still reads")
		assert.Equal(t, "tok-c", got.Grant.Token)
		_, ok, err = during.LoadLedger(background, "ledger:entrupy:user:carol-001")
		require.NoError(t, err)
		assert.True(t, ok)

		after := e.store(WithEncryptionKey(newKey))
		_, ok, err = after.Load(background, "entrupy:carol-001")
		require.NoError(t, err)
		assert.False(t, ok, "the new key alone does not")
		g.Grant.Token = "tok-c2"
		require.NoError(t, during.Save(background, "entrupy:carol-001", g))
		got, ok, err = after.Load(background, "entrupy:carol-001")
		require.NoError(t, err)
		require.True(t, ok, "written under the new key")
		assert.Equal(t, "tok-c2", got.Grant.Token)

		// Delete removes the entry under every key's name.
		require.NoError(t, during.Delete(background, "entrupy:carol-001"))
		_, ok, err = before.Load(background, "entrupy:carol-001")
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

// The invalidation message carries the key encrypted: Redis sees no user id.
func TestNotify_MessageHasNoUserID(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		s := e.store()
		ps := e.admin.Subscribe(background, e.prefix+"events")
		t.Cleanup(func() { _ = ps.Close() })
		_, err := ps.Receive(background) // the subscription confirmation
		require.NoError(t, err)
		keys := make(chan string, 1)
		unsubscribe := s.Subscribe(func(key string) { keys <- key })
		require.NoError(t, s.Delete(background, "entrupy:dave-0001"))
		msg, err := ps.ReceiveMessage(background)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(msg.Payload, invalidationPrefix))
		assert.NotContains(t, msg.Payload, "dave")
		assert.NotContains(t, msg.Payload, "entrupy")
		select {
		case k := <-keys:
			assert.Equal(t, "entrupy:dave-0001", k)
		case <-time.After(5 * time.Second):
			t.Fatal("no message to the subscriber")
		}
		unsubscribe()
		unsubscribe()
		require.NoError(t, s.Delete(background, "entrupy:dave-0001"))
		eventually(t, func() bool { return s.Stats().InvalidationsReceived == 2 }, "second message handled")
		assert.Empty(t, keys, "no call after unsubscribe")

		// A forged message is ignored.
		require.NoError(t, e.admin.Publish(background, e.prefix+"events", invalidationPrefix+"bm90IHNlYWxlZA").Err())
		eventually(t, func() bool { return s.Stats().DecryptFailures == 1 }, "forged message rejected")
	})
}

func TestNew_Validation(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: deadAddr(t)})
	t.Cleanup(func() { _ = c.Close() })
	key := WithEncryptionKey(testKey)
	for name, opts := range map[string][]Option{
		"no key":           nil,
		"empty key list":   {WithEncryptionKey()},
		"short key":        {WithEncryptionKey(make([]byte, 16))},
		"repeated key":     {WithEncryptionKey(testKey, testKey)},
		"nil option":       {key, nil},
		"prefix braces":    {key, WithKeyPrefix("app{1}:")},
		"prefix space":     {key, WithKeyPrefix("my app:")},
		"prefix long":      {key, WithKeyPrefix(strings.Repeat("a", MaxKeyPrefixLen+1))},
		"zero timeout":     {key, WithTimeout(0)},
		"zero lock ttl":    {key, WithLockTTL(0)},
		"zero lock poll":   {key, WithLockPoll(0)},
		"zero failures":    {key, WithBreaker(0, time.Second)},
		"zero cooldown":    {key, WithBreaker(1, 0)},
		"nil logger":       {key, WithLogger(nil)},
		"zero log period":  {key, WithLogInterval(0)},
		"nil clock":        {key, WithClock(nil)},
		"key after prefix": {WithKeyPrefix("x:"), WithEncryptionKey(make([]byte, 31))},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := New(c, opts...)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, broker.ErrInvalidInput)
			var ve *broker.ValidationError
			assert.ErrorAs(t, err, &ve)
		})
	}
	_, err := New(nil, key)
	assert.ErrorIs(t, err, broker.ErrInvalidInput)
	s, err := New(c, key, WithKeyPrefix(""))
	require.NoError(t, err)
	s.Close()
}

// Nil contexts are errors, not panics.
func TestStore_NilContext(t *testing.T) {
	s := deadStore(t)
	var nilCtx context.Context
	_, _, err := s.Load(nilCtx, "entrupy:alice-0001")
	assert.ErrorIs(t, err, broker.ErrInvalidInput)
	_, err = s.Lock(nilCtx, "entrupy:alice-0001")
	assert.ErrorIs(t, err, broker.ErrInvalidInput)
	assert.ErrorIs(t, s.WaitSubscribed(nilCtx), broker.ErrInvalidInput)
	assert.Zero(t, s.Stats().Calls)
}

// The store never prints its keys: not with any fmt verb, not in slog.
func TestStore_PrintsNoKeys(t *testing.T) {
	s := deadStore(t, WithKeyPrefix("app:"))
	forbidden := []string{"66 66 66", "BBBB", "4242", "0x42"}
	for _, name := range s.keys.names {
		forbidden = append(forbidden, string(name[:8]))
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, s))
	}
	var text, js syncBuffer
	for _, l := range []*slog.Logger{slog.New(slog.NewTextHandler(&text, nil)), slog.New(slog.NewJSONHandler(&js, nil))} {
		l.Info("m", "store", s, slog.Group("nested", "store", s))
	}
	outs = append(outs, text.String(), js.String())
	for _, out := range outs {
		assert.Contains(t, out, "redisstore.Store{prefix:")
		for _, f := range forbidden {
			assert.NotContains(t, out, f)
		}
	}
	assert.Equal(t, `redisstore.Store{prefix:"app:" keys:1}`, s.String())
	var nilStore *Store
	assert.Equal(t, "redisstore.Store(nil)", nilStore.String())
}
