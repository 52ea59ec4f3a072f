package redisstore

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Messages on the store's channel (prefix + "events"):
//
//	r:<tag>          the mint lock of the entry named by tag was released
//	i:<base64>       a grant was deleted; the base64 is its key ("<vendor>:<user id>"),
//	                 sealed like a value, so no user id crosses Redis in clear
const (
	releasePrefix      = "r:"
	invalidationPrefix = "i:"
)

func encodeSealed(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// subscription is one Subscribe call; mu is held while fn runs, so that
// unsubscribe returns only once fn is done.
type subscription struct {
	mu   sync.Mutex
	fn   func(key string)
	gone bool
}

// Subscribe implements [broker.Notifier]: fn is called, on the store's
// goroutine, with the key of every grant deleted by [Store.Delete] from any
// process sharing the store's Redis and prefix (this one included), once
// the message reaches this process. Messages published while this
// process's subscription connection is down are lost (Stats.Subscriptions
// counts the reconnections). unsubscribe stops the calls; when it returns,
// no call of fn is under way. It is safe to call more than once.
func (s *Store) Subscribe(fn func(key string)) (unsubscribe func()) {
	if fn == nil {
		return func() {}
	}
	sub := &subscription{fn: fn}
	s.subMu.Lock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = sub
	s.subMu.Unlock()
	return func() {
		s.subMu.Lock()
		delete(s.subs, id)
		s.subMu.Unlock()
		sub.mu.Lock()
		sub.gone = true
		sub.mu.Unlock()
	}
}

// WaitSubscribed waits until Redis has confirmed the store's subscription
// to its channel (the first time), or ctx ends, or the store is closed; it
// returns nil at once if the subscription was confirmed once, even after
// Close.
// Invalidation and release messages published before then are not
// received; a program that wants every replica subscribed before it serves
// calls it at start-up, with a deadline.
func (s *Store) WaitSubscribed(ctx context.Context) error {
	if ctx == nil {
		return invalid("ctx", "is nil")
	}
	select {
	case <-s.subscribe:
		return nil
	default:
	}
	select {
	case <-s.subscribe:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return ErrClosed
	}
}

// startSubscriber subscribes to the channel in the background (go-redis
// reconnects and resubscribes by itself) and dispatches its messages:
// release messages wake the Lock calls waiting here at once, invalidations
// go to the subscribers through a queue served by another goroutine.
func (s *Store) startSubscriber() {
	s.pubsub = s.client.Subscribe(context.Background()) // no channel yet: no network call
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		defer close(s.queue)
		_ = s.pubsub.Subscribe(context.Background(), s.channel) // on failure, the channel is subscribed on reconnection
		for m := range s.pubsub.ChannelWithSubscriptions(redis.WithChannelSize(1024)) {
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" && s.stats.subscription.Add(1) == 1 {
					close(s.subscribe)
				}
			case *redis.Message:
				s.dispatch(m.Payload)
			}
		}
	}()
	go func() {
		defer s.wg.Done()
		for key := range s.queue {
			s.subMu.Lock()
			subs := make([]*subscription, 0, len(s.subs))
			for _, sub := range s.subs {
				subs = append(subs, sub)
			}
			s.subMu.Unlock()
			for _, sub := range subs {
				sub.mu.Lock()
				if !sub.gone {
					sub.fn(key)
				}
				sub.mu.Unlock()
			}
			s.stats.invalidationsRecv.Add(1) // after the subscribers: a message counted has been acted on
		}
	}()
}

// dispatch handles one message of the channel.
func (s *Store) dispatch(payload string) {
	if tag, ok := strings.CutPrefix(payload, releasePrefix); ok {
		s.wake(tag)
		return
	}
	sealed, ok := strings.CutPrefix(payload, invalidationPrefix)
	if !ok {
		return
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	var key []byte
	if err == nil {
		key, err = s.keys.open(kindInvalidation, "", raw)
	}
	if err != nil {
		s.stats.decryptFailures.Add(1)
		return
	}
	select {
	case s.queue <- string(key):
	case <-s.closed:
	}
}
