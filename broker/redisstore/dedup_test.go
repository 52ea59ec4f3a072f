package redisstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/internal/dedup"
)

const webhookSecret = "whsec_redisstore_test"

// webhookReplica is one replica's Entrupy webhook handler with a
// StoreDeduper over its own Store, counting into a callback shared by the
// replicas (the application's side effect).
func webhookReplica(t *testing.T, s *Store, window time.Duration, fn func(context.Context, *entrupy.Event) error) http.Handler {
	t.Helper()
	d, err := broker.NewStoreDeduper(s, window)
	require.NoError(t, err)
	h, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: webhookSecret}, fn, entrupy.WithDedup(d))
	require.NoError(t, err)
	return h
}

var eventSeq atomic.Int64

// newEvent returns a signed Entrupy delivery with an id no other test uses.
func newEvent() (id string, body []byte) {
	id = fmt.Sprintf("evt_redisstore_%d_%d", time.Now().UnixNano(), eventSeq.Add(1))
	body = []byte(`{"id":"` + id + `","event":"session.completed","data":{"entrupy_id":"ent_1","unique_user_id":"dedup-user-0001"}}`)
	return id, body
}

// deliver posts body, signed, to h and returns the status.
func deliver(h http.Handler, body []byte) int {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/entrupy", bytes.NewReader(body))
	r.Header.Set(entrupy.SignatureHeader, entrupytest.SignWebhook(webhookSecret, body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// counter is a webhook callback counting its calls per event id.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
}

func newCounter() *counter { return &counter{calls: map[string]int{}} }

func (c *counter) fn(_ context.Context, ev *entrupy.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[ev.ID]++
	return nil
}

func (c *counter) n(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[id]
}

// The DedupStore contract, as MemoryStore keeps it.
func TestDedupStore_Contract(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		s := e.store()
		var ds broker.DedupStore = s
		const key = "dedup:entrupy:event:0123"

		saved, cur, err := ds.SetIfAbsent(background, key, "a", time.Minute)
		require.NoError(t, err)
		assert.True(t, saved)
		assert.Empty(t, cur)
		saved, cur, err = ds.SetIfAbsent(background, key, "b", time.Minute)
		require.NoError(t, err)
		assert.False(t, saved)
		assert.Equal(t, "a", cur, "the value found is returned")

		require.NoError(t, ds.DeleteIfEqual(background, key, "b"))
		_, cur, err = ds.SetIfAbsent(background, key, "c", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, "a", cur, "DeleteIfEqual with another value deletes nothing")
		require.NoError(t, ds.DeleteIfEqual(background, key, "a"))
		saved, _, err = ds.SetIfAbsent(background, key, "d", time.Minute)
		require.NoError(t, err)
		assert.True(t, saved, "DeleteIfEqual with the value deletes")

		require.NoError(t, ds.Overwrite(background, key, "done", time.Hour))
		_, cur, err = ds.SetIfAbsent(background, key, "e", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, "done", cur, "Overwrite replaces")
		require.NoError(t, ds.DeleteIfEqual(background, "dedup:never-saved", "done"), "nothing to delete is no error")

		// One key, with the TTL given, named like the others.
		keys := e.keys()
		require.Len(t, keys, 1)
		rk := s.redisKey(0, key, suffixDedup)
		assert.Equal(t, rk, keys[0])
		assert.True(t, strings.HasSuffix(rk, "}:d"))
		ttl, err := e.admin.PTTL(background, rk).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, time.Minute, "Overwrite's hour, not the claim's minute")
		assert.LessOrEqual(t, ttl, time.Hour)

		// A sub-millisecond TTL is rounded up, not refused; zero and
		// negative are refused.
		saved, _, err = ds.SetIfAbsent(background, "dedup:short", "x", time.Microsecond)
		require.NoError(t, err)
		assert.True(t, saved)
		for _, bad := range []time.Duration{0, -time.Second} {
			_, _, err := ds.SetIfAbsent(background, "dedup:bad", "x", bad)
			assert.ErrorIs(t, err, broker.ErrInvalidInput)
			assert.ErrorIs(t, ds.Overwrite(background, "dedup:bad", "x", bad), broker.ErrInvalidInput)
		}
		//lint:ignore SA1012 a nil context is the bad input under test
		_, _, err = ds.SetIfAbsent(nil, key, "x", time.Minute)
		assert.ErrorIs(t, err, broker.ErrInvalidInput)
		//lint:ignore SA1012 a nil context is the bad input under test
		assert.ErrorIs(t, ds.Overwrite(nil, key, "x", time.Minute), broker.ErrInvalidInput)
		//lint:ignore SA1012 a nil context is the bad input under test
		assert.ErrorIs(t, ds.DeleteIfEqual(nil, key, "x"), broker.ErrInvalidInput)
		ctx, cancel := context.WithCancel(background)
		cancel()
		_, _, err = ds.SetIfAbsent(ctx, key, "x", time.Minute)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// Two replicas, each with its own Store and StoreDeduper: a delivery
// processed by one is dropped (200, no callback) when replayed to the
// other, and to itself.
func TestDedup_ReplayDroppedAcrossReplicas(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		c := newCounter()
		a := webhookReplica(t, e.store(), time.Hour, c.fn)
		b := webhookReplica(t, e.store(), time.Hour, c.fn)

		id, body := newEvent()
		require.Equal(t, http.StatusOK, deliver(a, body))
		require.Equal(t, 1, c.n(id))
		assert.Equal(t, http.StatusOK, deliver(b, body), "a replay to the other replica is answered 200")
		assert.Equal(t, http.StatusOK, deliver(a, body))
		assert.Equal(t, 1, c.n(id), "and the callback does not run again")

		other, otherBody := newEvent()
		require.Equal(t, http.StatusOK, deliver(b, otherBody))
		assert.Equal(t, 1, c.n(other), "another event is processed")
	})
}

// Concurrent deliveries of one event to two replicas: the callback runs
// once; the others are answered 200 (processed) or 503 (in progress, the
// vendor retries).
func TestDedup_ConcurrentDeliveriesOneCallback(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		var calls atomic.Int64
		slow := func(context.Context, *entrupy.Event) error {
			calls.Add(1)
			time.Sleep(20 * time.Millisecond)
			return nil
		}
		replicas := []http.Handler{webhookReplica(t, e.store(), time.Hour, slow), webhookReplica(t, e.store(), time.Hour, slow)}
		_, body := newEvent()
		var wg sync.WaitGroup
		codes := make([]int, 16)
		for i := range codes {
			wg.Go(func() { codes[i] = deliver(replicas[i%2], body) })
		}
		wg.Wait()
		assert.Equal(t, int64(1), calls.Load())
		for _, code := range codes {
			assert.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, code)
		}
		assert.Equal(t, http.StatusOK, deliver(replicas[1], body))
		assert.Equal(t, int64(1), calls.Load())
	})
}

// A failed callback releases the claim (the Lua compare-and-delete): the
// vendor's redelivery to another replica is processed.
func TestDedup_FailedCallbackRedeliveredElsewhere(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		var calls atomic.Int64
		fn := func(context.Context, *entrupy.Event) error {
			if calls.Add(1) == 1 {
				return errors.New("database down")
			}
			return nil
		}
		a := webhookReplica(t, e.store(), time.Hour, fn)
		b := webhookReplica(t, e.store(), time.Hour, fn)
		_, body := newEvent()
		assert.Equal(t, http.StatusInternalServerError, deliver(a, body))
		assert.Empty(t, e.keys(), "the claim was deleted")
		assert.Equal(t, http.StatusOK, deliver(b, body))
		assert.Equal(t, int64(2), calls.Load(), "the redelivery was processed")
		assert.Equal(t, http.StatusOK, deliver(a, body))
		assert.Equal(t, int64(2), calls.Load(), "then it is a replay")
	})
}

// What Redis holds for a delivery: one key "<prefix>{<32 hex>}:d" with the
// window as TTL, and neither the key name nor the value shows the event
// id, the deduper's key (vendor, kind, SHA-256 of the id) or its value
// ("done", "claim:<token>").
func TestDedup_NoPlaintextInRedis(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		c := newCounter()
		a := webhookReplica(t, e.store(), time.Hour, c.fn)
		id, body := newEvent()
		logical := dedup.Key("entrupy", "event", []byte(id))
		hash := strings.TrimPrefix(logical, "entrupy:event:")
		require.Len(t, hash, 64)
		require.Equal(t, http.StatusOK, deliver(a, body))

		keys := e.keys()
		require.Len(t, keys, 1)
		k := keys[0]
		rest, ok := strings.CutPrefix(k, e.prefix)
		require.True(t, ok)
		require.Len(t, rest, 1+32+1+2, "key %q", k)
		assert.Equal(t, "{", rest[:1])
		_, err := hex.DecodeString(rest[1:33])
		assert.NoError(t, err)
		assert.Equal(t, "}:d", rest[33:])
		raw, err := e.admin.Get(background, k).Bytes()
		require.NoError(t, err)
		dump, err := e.admin.Dump(background, k).Bytes()
		require.NoError(t, err)
		for _, s := range []string{id, hash, hash[:16], "entrupy", "event", "dedup", "done", "claim", "dedup-user-0001"} {
			assert.NotContains(t, k, s)
			assert.NotContains(t, string(raw), s)
			assert.NotContains(t, string(dump), s)
		}
		ttl, err := e.admin.PTTL(background, k).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, 59*time.Minute, "the window")
		assert.LessOrEqual(t, ttl, time.Hour)
	})
}

// A replay within a short window (1 s) is dropped; once Redis expired the
// entry, the delivery is processed again.
func TestDedup_WindowExpires(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		c := newCounter()
		const window = time.Second
		a := webhookReplica(t, e.store(), window, c.fn)
		b := webhookReplica(t, e.store(), window, c.fn)
		id, body := newEvent()

		begin := time.Now()
		require.Equal(t, http.StatusOK, deliver(a, body))
		keys := e.keys()
		require.Len(t, keys, 1)
		ttl, err := e.admin.PTTL(background, keys[0]).Result()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, deliver(b, body))
		if time.Since(begin) < window { // the commit and the replay both came within the window
			assert.Equal(t, 1, c.n(id), "a replay within the window is dropped")
			assert.Greater(t, ttl, time.Duration(0))
			assert.LessOrEqual(t, ttl, window, "the window is the TTL")
		} else {
			t.Logf("the machine took %v for two deliveries: the within-window check is skipped", time.Since(begin))
		}

		eventually(t, func() bool { return e.admin.Exists(background, keys[0]).Val() == 0 }, "the entry expires after the window")
		assert.GreaterOrEqual(t, time.Since(begin), window-10*time.Millisecond, "not before the window")
		before := c.n(id)
		require.Equal(t, http.StatusOK, deliver(b, body))
		assert.Equal(t, before+1, c.n(id), "past the window the delivery is processed again")
	})
}

// Redis down: the handler fails open. Every delivery is processed (a
// replay too, as nothing can be remembered), answered 200, and the
// failures are counted; then the breaker stops calling Redis.
func TestDedup_RedisDownDeliveryProcessed(t *testing.T) {
	logs := &syncBuffer{}
	s := deadStore(t, WithBreaker(2, time.Hour))
	c := newCounter()
	d, err := broker.NewStoreDeduper(s, time.Hour)
	require.NoError(t, err)
	h, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: webhookSecret}, c.fn, entrupy.WithDedup(d),
		entrupy.WithWebhookLogger(slog.New(slog.NewTextHandler(logs, nil))))
	require.NoError(t, err)
	id, body := newEvent()
	begin := time.Now()
	assert.Equal(t, http.StatusOK, deliver(h, body))
	assert.Equal(t, 1, c.n(id), "processed although Redis is down")
	assert.Equal(t, http.StatusOK, deliver(h, body))
	assert.Equal(t, 2, c.n(id), "without Redis a replay is processed again (fail open)")
	assert.Less(t, time.Since(begin), 5*time.Second)
	st := s.Stats()
	assert.Equal(t, uint64(2), st.Errors, "one failed Claim per delivery (no Commit after a failed Claim)")
	assert.True(t, st.BreakerOpen)
	assert.Contains(t, logs.String(), "dedup failed")
	assert.ErrorIs(t, errorOf(t, s), ErrUnavailable)
	assert.Equal(t, uint64(1), s.Stats().Skipped, "the open breaker stopped calling Redis")
}

// errorOf is the error of a SetIfAbsent on s.
func errorOf(t *testing.T, s *Store) error {
	t.Helper()
	_, _, err := s.SetIfAbsent(background, "dedup:x", "v", time.Minute)
	return err
}

// Redis stopped after a delivery was processed: a replay is processed
// (fail open); when Redis is back, what was committed before the outage is
// still remembered and replays are dropped again.
func TestDedup_RedisStoppedMidway(t *testing.T) {
	own := startOwnRedis(t)
	newStore := func() *Store {
		c := redis.NewClient(&redis.Options{Addr: own.addr(), MaxRetries: -1, DialerRetries: 1})
		s, err := New(c, WithEncryptionKey(testKey), WithTimeout(2*time.Second), WithBreaker(100, time.Millisecond))
		require.NoError(t, err)
		t.Cleanup(func() {
			s.Close()
			_ = c.Close()
		})
		return s
	}
	c := newCounter()
	sa, sb := newStore(), newStore()
	a := webhookReplica(t, sa, time.Hour, c.fn)
	b := webhookReplica(t, sb, time.Hour, c.fn)
	id, body := newEvent()
	require.Equal(t, http.StatusOK, deliver(a, body))
	require.Equal(t, http.StatusOK, deliver(b, body))
	require.Equal(t, 1, c.n(id))

	own.stop()
	other, otherBody := newEvent()
	assert.Equal(t, http.StatusOK, deliver(a, otherBody))
	assert.Equal(t, 1, c.n(other), "a new delivery is processed while Redis is down")
	assert.Equal(t, http.StatusOK, deliver(b, body))
	assert.Equal(t, 2, c.n(id), "a replay is processed too: nothing can tell")
	assert.NotZero(t, sa.Stats().Errors)
	assert.NotZero(t, sb.Stats().Errors)

	own.start() // an empty Redis (no persistence)
	eventually(t, func() bool { return errorOf(t, sa) == nil && errorOf(t, sb) == nil }, "Redis answers both stores again")
	third, thirdBody := newEvent()
	require.Equal(t, http.StatusOK, deliver(a, thirdBody))
	assert.Equal(t, http.StatusOK, deliver(b, thirdBody))
	assert.Equal(t, 1, c.n(third), "replays are dropped again")
}

// Key rotation: a replica on (new, old) sees deliveries committed under
// old (before the rotation) and drops their replays; a Release under
// (new, old) deletes a claim written under old.
func TestDedup_KeyRotation(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		oldKey, newKey := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
		c := newCounter()
		before := webhookReplica(t, e.store(WithEncryptionKey(oldKey)), time.Hour, c.fn)
		during := webhookReplica(t, e.store(WithEncryptionKey(newKey, oldKey)), time.Hour, c.fn)
		after := webhookReplica(t, e.store(WithEncryptionKey(newKey)), time.Hour, c.fn)

		id, body := newEvent()
		require.Equal(t, http.StatusOK, deliver(before, body))
		assert.Equal(t, http.StatusOK, deliver(during, body))
		assert.Equal(t, 1, c.n(id), "(new, old) reads the old key's entries")

		id2, body2 := newEvent()
		require.Equal(t, http.StatusOK, deliver(during, body2))
		assert.Equal(t, http.StatusOK, deliver(after, body2))
		assert.Equal(t, 1, c.n(id2), "(new, old) writes under new")

		s := e.store(WithEncryptionKey(oldKey))
		ds := e.store(WithEncryptionKey(newKey, oldKey))
		saved, _, err := s.SetIfAbsent(background, "dedup:rot", "claim:1", time.Minute)
		require.NoError(t, err)
		require.True(t, saved)
		saved, cur, err := ds.SetIfAbsent(background, "dedup:rot", "claim:2", time.Minute)
		require.NoError(t, err)
		assert.False(t, saved)
		assert.Equal(t, "claim:1", cur)
		require.NoError(t, ds.DeleteIfEqual(background, "dedup:rot", "claim:1"))
		saved, _, err = s.SetIfAbsent(background, "dedup:rot", "claim:3", time.Minute)
		require.NoError(t, err)
		assert.True(t, saved, "deleted under the old key's name")
	})
}

// A value that does not decrypt (altered, or moved from another key) is
// absent: SetIfAbsent replaces it and counts it; a value moved from
// another dedup key does not open either.
func TestDedup_UnreadableValueIsAbsent(t *testing.T) {
	onRedis(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg)
		s := e.store()
		rk := s.redisKey(0, "dedup:a", suffixDedup)
		for i, garbage := range []string{"", "not a sealed value", strings.Repeat("x", 100)} {
			require.NoError(t, e.admin.Set(background, rk, garbage, time.Hour).Err())
			saved, _, err := s.SetIfAbsent(background, "dedup:a", "claim:1", time.Minute)
			require.NoError(t, err)
			assert.True(t, saved, "garbage %d replaced", i)
			_, cur, err := s.SetIfAbsent(background, "dedup:a", "claim:2", time.Minute)
			require.NoError(t, err)
			assert.Equal(t, "claim:1", cur)
			require.NoError(t, s.DeleteIfEqual(background, "dedup:a", "claim:1"))
		}
		// The empty value is replaced by the first script (it is what that
		// script replaces), the other two by the second, counted.
		assert.Equal(t, uint64(2), s.Stats().DecryptFailures)

		require.NoError(t, s.Overwrite(background, "dedup:a", "done", time.Hour))
		raw, err := e.admin.Get(background, rk).Bytes()
		require.NoError(t, err)
		moved := s.redisKey(0, "dedup:b", suffixDedup)
		require.NoError(t, e.admin.Set(background, moved, raw, time.Hour).Err())
		saved, _, err := s.SetIfAbsent(background, "dedup:b", "claim:1", time.Minute)
		require.NoError(t, err)
		assert.True(t, saved, "a value moved from another key does not open")
		require.NoError(t, s.DeleteIfEqual(background, "dedup:b", "done"))
		_, cur, err := s.SetIfAbsent(background, "dedup:b", "claim:2", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, "claim:1", cur)
	})
}
