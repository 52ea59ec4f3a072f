// Package redisstore keeps the broker's grants and ownership ledger in
// Redis (github.com/redis/go-redis/v9), so that several replicas of a
// backend share them: a grant minted by one replica is reused by the
// others, [broker.Broker.Owner] on any replica resolves a session any
// other minted, each grant is minted once across the replicas, and
// [broker.Broker.Invalidate] on one replica reaches all of them.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // or redis.NewClusterClient
//	store, err := redisstore.New(rdb, redisstore.WithEncryptionKey(key)) // 32 random bytes, the same on every replica
//	b, err := broker.New(broker.WithStore(store), broker.WithEntrupy(ec) /* ... */)
//
// Close the broker, then the store, then the client.
//
// # Two tiers
//
// Each broker keeps its grants in memory and serves a fresh one without a
// Redis call. Redis is read when a broker has no fresh grant for a user
// (a grant found there is reused) and written after every mint, with a TTL
// up to the grant's expiry; ledger entries live for the ledger's retention
// past their grant's expiry.
//
// # Exactly-once minting
//
// The store is a [broker.Locker]. A broker that has to mint takes the
// user's mint lock first: SET NX PX with a random owner token and the lock
// TTL ([WithLockTTL], default 10 s). Its holder looks in Redis again, mints
// only if no fresh grant is there, saves the grant, then releases the lock
// with a Lua compare-and-delete that also publishes the release. Brokers
// that lost wait for that message (trying again every [WithLockPoll] in
// case it is lost), take the lock in turn and find the saved grant; within
// one broker, concurrent Starts already share one call, and each Start waits
// only as long as its own context allows. If the holder dies, its lock
// expires after the TTL and one waiter mints. If Redis cannot be reached,
// brokers mint without the lock.
//
// # Invalidation across replicas
//
// The store is a [broker.Notifier]. Its Delete deletes the grant and
// publishes an invalidation message in one Lua script. Every broker built
// with a store on the same Redis and key prefix is subscribed: on the
// message it drops its memory copy of that user's grant, and its vendor
// call under way for the user (which may have read the old grant before the
// delete) keeps nothing. So once Invalidate has returned on one replica, no
// replica loads the old grant from Redis, and a replica hands it out no
// more once the message has reached it: typically within a millisecond,
// counted in Stats.InvalidationsReceived. Redis pub/sub is at most once: a
// replica whose subscription connection is down when the message is
// published never sees it (Stats.Subscriptions counts its reconnections),
// and serves the copy it holds until the grant's RefreshAfter.
// [Store.WaitSubscribed] waits for the first subscription at start-up.
//
// # Webhook replays across replicas
//
// The store is a [broker.DedupStore], so [broker.NewStoreDeduper] over it
// gives the webhook handlers of entrupy, sentiance and uqudo (their
// WithDedup option) one memory of processed deliveries for every replica:
// a delivery processed by one replica and replayed to another is answered
// 200 without calling the callback again.
//
//	d, err := broker.NewStoreDeduper(store, 24*time.Hour)
//	h, err := entrupy.NewWebhookHandler(cfg, onEvent, entrupy.WithDedup(d))
//
// A claim is a Lua script (GET, then SET PX if nothing is there, returning
// the value found otherwise); a commit is a SET PX with the window; a
// release is a Lua compare-and-delete. Values are sealed like the others
// and preceded by a 128-bit HMAC-SHA256 of the value (under another key
// derived from the encryption key, bound to the dedup key), which the
// compare-and-delete compares in Redis, as the ciphertext of one value is
// different at each write. If Redis is unavailable the deduper's calls
// fail, and the handlers process the delivery anyway: a replay then runs
// the callback again.
//
// # What Redis holds
//
// Values are encrypted with AES-256-GCM under keys derived (HKDF-SHA256)
// from the one given to [WithEncryptionKey], with a random 96-bit nonce
// each, and the entry's logical key (vendor and user id, or ledger ref) as
// additional data: a value copied or renamed to another key does not
// decrypt, and is treated as absent (Stats.DecryptFailures). Redis key
// names are "<prefix>{<hash>}:<kind>", the hash an HMAC-SHA256 of the
// logical key under another derived key (128 bits, hex), with g for a
// grant, l for its mint lock, o for a ledger entry, d for a webhook
// delivery's dedup entry; invalidation messages carry the logical key
// encrypted. So no token, user id, vendor-side user id, session id or
// webhook event id appears in Redis in clear, only the prefix, hashes,
// random lock tokens and expiry times (as TTLs). Key rotation: see
// [WithEncryptionKey].
//
// # Redis Cluster
//
// The hash in braces is the Cluster hash tag: an entry and its lock are in
// one slot, and every operation (each a single command or a one-key Lua
// script) touches one slot. Pub/sub messages are broadcast to the whole
// cluster. Pass a *redis.ClusterClient to [New]; nothing else changes.
//
// # When Redis is down or slow
//
// Nothing fails a Start because of Redis. Every call is bounded by
// [WithTimeout] (default 50 ms); a failed or slow call counts as a failure
// and the broker goes on without Redis: a failed Load mints, a failed Save
// or ledger write is counted and the grant is kept in memory, a failed Lock
// mints without the lock. After [DefaultBreakerFailures] failures in a row
// the circuit breaker stops calling Redis for [DefaultBreakerCooldown], then
// lets one call probe it ([WithBreaker]). Failures are counted in
// [Store.Stats] and logged at most once per [WithLogInterval]
// ([WithLogger]). What does fail: [broker.Broker.Invalidate] when the
// delete could not be done (the grant may still be in Redis; this process
// then ignores it there until it is saved or deleted again), and
// [broker.Broker.Owner] for a ref only Redis knows.
package redisstore
