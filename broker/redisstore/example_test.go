package redisstore_test

import (
	"context"
	"crypto/rand"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/redisstore"
	"github.com/sdkbroker/sdkbroker/entrupy"
)

// Every replica builds the same store: the same Redis, the same key (here
// a random one; load yours from your secret store: 32 bytes), then a broker
// over it. Close the broker, then the store, then the client.
func Example() {
	key := make([]byte, redisstore.KeySize)
	_, _ = rand.Read(key)

	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DialTimeout: time.Second, DialerRetries: 1})
	defer rdb.Close()
	store, err := redisstore.New(rdb, redisstore.WithEncryptionKey(key), redisstore.WithKeyPrefix("myapp:"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ec, err := entrupy.NewClient(entrupy.Credentials{APIToken: "your-entrupy-token"})
	if err != nil {
		log.Fatal(err)
	}
	defer ec.Close()
	b, err := broker.New(broker.WithStore(store), broker.WithEntrupy(ec))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	// Optional: wait until this replica receives the others' invalidations.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := store.WaitSubscribed(ctx); err != nil {
		log.Print("not subscribed yet: invalidations from other replicas may be missed")
	}
}
