package redisstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// releaseScript deletes the lock only if the caller still owns it, and then
// tells the replicas waiting for it.
var releaseScript = redis.NewScript(`
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  redis.call('publish', ARGV[2], ARGV[3])
  return 1
end
return 0
`)

// waitSlot holds the Lock calls of this process waiting for the release of
// one lock: ch is closed when its release message arrives.
type waitSlot struct {
	ch chan struct{}
	n  int
}

// Lock implements [broker.Locker]: it takes the mint lock of the grant
// under key, a SET NX PX with a random owner token and the lock TTL
// ([WithLockTTL]). If another process holds it, Lock waits for its release
// message, trying again at least every [WithLockPoll], until it gets the
// lock or ctx ends (ctx.Err() is returned). A lock whose holder died
// expires after the TTL and one of the waiters gets it. If Redis is
// unavailable (a failed or slow call, the breaker open) Lock returns an
// error wrapping [ErrUnavailable] at once, and the broker mints without the
// lock; after Close it returns [ErrClosed].
//
// release deletes the lock if this call still owns it (a Lua
// compare-and-delete) and publishes the release; it is safe to call more
// than once, and does nothing after the first call.
func (s *Store) Lock(ctx context.Context, key string) (release func(), err error) {
	if ctx == nil {
		return nil, invalid("ctx", "is nil")
	}
	lk := s.redisKey(0, key, suffixLock)
	tag := s.keys.tag(0, key)
	token := randomToken(16)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for waited := false; ; waited = true {
		w := s.watch(tag)
		got, err := s.tryLock(ctx, lk, token)
		if err != nil || got {
			s.unwatch(tag, w)
			if err != nil {
				if ctx.Err() == nil {
					s.stats.lockErrors.Add(1)
				}
				return nil, err
			}
			s.stats.locks.Add(1)
			var once sync.Once
			return func() { once.Do(func() { s.release(lk, tag, token) }) }, nil
		}
		if !waited {
			s.stats.lockWaits.Add(1)
		}
		if timer == nil {
			timer = time.NewTimer(s.cfg.lockPoll)
		} else {
			timer.Reset(s.cfg.lockPoll)
		}
		select {
		case <-w.ch:
		case <-timer.C:
		case <-ctx.Done():
		case <-s.closed:
		}
		s.unwatch(tag, w)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.isClosed() {
			return nil, ErrClosed
		}
	}
}

// tryLock sets the lock if no one holds it.
func (s *Store) tryLock(ctx context.Context, lk, token string) (bool, error) {
	got, err := callValue(s, ctx, "lock", func(ctx context.Context) (bool, error) {
		err := s.client.SetArgs(ctx, lk, token, redis.SetArgs{Mode: "NX", TTL: s.cfg.lockTTL}).Err()
		return err == nil, err
	})
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return got, err
}

// release deletes the lock if token still owns it, with its own timeout
// (the caller's context may have ended). A failure leaves the lock to its
// TTL.
func (s *Store) release(lk, tag, token string) {
	ctx := context.Background()
	_ = s.call(ctx, "unlock", func(ctx context.Context) error {
		return releaseScript.Run(ctx, s.client, []string{lk}, token, s.channel, releasePrefix+tag).Err()
	})
}

// watch registers a waiter for the release of the lock tag.
func (s *Store) watch(tag string) *waitSlot {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	w := s.waiters[tag]
	if w == nil {
		w = &waitSlot{ch: make(chan struct{})}
		s.waiters[tag] = w
	}
	w.n++
	return w
}

// unwatch undoes watch.
func (s *Store) unwatch(tag string, w *waitSlot) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	if w.n--; w.n == 0 && s.waiters[tag] == w {
		delete(s.waiters, tag)
	}
}

// wake wakes the waiters for the lock tag (its release message came).
func (s *Store) wake(tag string) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	if w := s.waiters[tag]; w != nil {
		close(w.ch)
		delete(s.waiters, tag)
	}
}
