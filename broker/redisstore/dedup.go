package redisstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sdkbroker/sdkbroker/broker"
)

var _ broker.DedupStore = (*Store)(nil)

// suffixDedup ends the Redis key of a [broker.DedupStore] value.
const suffixDedup = ":d"

// valueMACSize is the size of the keyed hash of a dedup value that starts
// its stored form, in bytes.
const valueMACSize = 16

// errDedupUnreadable is the error of a SetIfAbsent that found a value it
// could not decrypt twice in a row (it replaces one such value once).
var errDedupUnreadable = errors.New("redisstore: dedup value does not decrypt (written under another key, moved or altered)")

// setIfAbsentScript saves ARGV[1] for ARGV[2] milliseconds and returns nil,
// unless the key holds a value other than ARGV[3] (the unreadable value the
// caller saw the first time, or "" at first): then it returns that value.
var setIfAbsentScript = redis.NewScript(`
local cur = redis.call('get', KEYS[1])
if cur and cur ~= ARGV[3] then
  return cur
end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`)

// deleteIfEqualScript deletes the key if its value starts with ARGV[1],
// the keyed hash of the value to delete.
var deleteIfEqualScript = redis.NewScript(`
local cur = redis.call('get', KEYS[1])
if cur and string.sub(cur, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('del', KEYS[1])
  return 1
end
return 0
`)

// valueMAC is the keyed hash of a dedup value under key i of the ring,
// bound to its logical key.
func (kr *keyring) valueMAC(i int, logical, value string) []byte {
	m := hmac.New(sha256.New, kr.values[i])
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(logical))))
	m.Write([]byte(logical))
	m.Write([]byte(value))
	return m.Sum(nil)[:valueMACSize]
}

// sealDedup is the stored form of a dedup value: its keyed hash under the
// first key, then the value sealed under the first key.
func (s *Store) sealDedup(logical, value string) []byte {
	mac := s.keys.valueMAC(0, logical, value)
	return append(mac, s.keys.seal(kindDedup, logical, []byte(value))...)
}

// openDedup decrypts a stored dedup value.
func (s *Store) openDedup(logical string, raw []byte) (string, error) {
	if len(raw) < valueMACSize {
		return "", errDecrypt
	}
	pt, err := s.keys.open(kindDedup, logical, raw[valueMACSize:])
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// dedupTTL turns a ttl into whole milliseconds, rounding up.
func dedupTTL(ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, invalid("ttl", "must be positive")
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

// SetIfAbsent implements [broker.DedupStore]: a Lua script that returns
// the value under key or, if there is none, saves value with a TTL of ttl
// (rounded up to whole milliseconds), in one step. With several encryption
// keys ([WithEncryptionKey]), the names of the other keys are read first
// (a GET each, not in the same step), and a value found there is returned
// without saving. A value that does not decrypt (counted in
// Stats.DecryptFailures) is absent: a second script replaces it if it is
// still there. Errors wrap [ErrUnavailable] or are the context's (or, if
// the second script finds another value it cannot decrypt, an error
// saying so); a webhook handler whose deduper fails processes the delivery
// anyway.
func (s *Store) SetIfAbsent(ctx context.Context, key, value string, ttl time.Duration) (bool, string, error) {
	ms, err := dedupTTL(ttl)
	if err != nil {
		return false, "", err
	}
	for i := len(s.keys.aeads) - 1; i > 0; i-- { // entries written before a rotation
		raw, err := callValue(s, ctx, "dedup_get", func(ctx context.Context) ([]byte, error) {
			return s.client.Get(ctx, s.redisKey(i, key, suffixDedup)).Bytes()
		})
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return false, "", err
		}
		if cur, err := s.openDedup(key, raw); err == nil {
			return false, cur, nil
		}
		s.stats.decryptFailures.Add(1)
	}
	rk := s.redisKey(0, key, suffixDedup)
	stored := s.sealDedup(key, value)
	unreadable := ""
	for attempt := 0; attempt < 2; attempt++ {
		raw, err := callValue(s, ctx, "dedup_set_if_absent", func(ctx context.Context) (string, error) {
			return setIfAbsentScript.Run(ctx, s.client, []string{rk}, stored, ms, unreadable).Text()
		})
		if errors.Is(err, redis.Nil) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		cur, err := s.openDedup(key, []byte(raw))
		if err == nil {
			return false, cur, nil
		}
		s.stats.decryptFailures.Add(1)
		unreadable = raw
	}
	return false, "", errDedupUnreadable
}

// Overwrite implements [broker.DedupStore]: a SET with a TTL of ttl
// (rounded up to whole milliseconds). Errors as for SetIfAbsent.
func (s *Store) Overwrite(ctx context.Context, key, value string, ttl time.Duration) error {
	ms, err := dedupTTL(ttl)
	if err != nil {
		return err
	}
	stored := s.sealDedup(key, value)
	return s.call(ctx, "dedup_overwrite", func(ctx context.Context) error {
		return s.client.Set(ctx, s.redisKey(0, key, suffixDedup), stored, time.Duration(ms)*time.Millisecond).Err()
	})
}

// DeleteIfEqual implements [broker.DedupStore]: a Lua compare-and-delete
// of the keyed hash of value that starts the stored form (under the names
// of every encryption key, the others first). Errors as for SetIfAbsent.
func (s *Store) DeleteIfEqual(ctx context.Context, key, value string) error {
	for i := len(s.keys.aeads) - 1; i >= 0; i-- {
		mac := s.keys.valueMAC(i, key, value)
		if err := s.call(ctx, "dedup_delete", func(ctx context.Context) error {
			return deleteIfEqualScript.Run(ctx, s.client, []string{s.redisKey(i, key, suffixDedup)}, mac).Err()
		}); err != nil {
			return err
		}
	}
	return nil
}
