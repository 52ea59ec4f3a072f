package broker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// BenchmarkStartReused measures Start handing out a held grant (the path a
// busy backend takes for every repeat request), from all CPUs at once.
func BenchmarkStartReused(b *testing.B) {
	env := newEnv(b)
	br := env.Broker
	for _, v := range []broker.Vendor{broker.Entrupy, broker.Sentiance} {
		b.Run(string(v), func(b *testing.B) {
			req := request(v, "user-000001")
			if _, err := br.Start(background, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					g, err := br.Start(background, req)
					if err != nil || !g.Reused {
						b.Fatal("not reused", err)
					}
				}
			})
		})
	}
}

// benchUsers is the number of users held in BenchmarkStartReusedAtScale.
const benchUsers = 100000

// BenchmarkStartReusedAtScale compares a reused Start with a bare cache hit,
// each over 100k held users (keys) visited in a scattered order, from one
// goroutine and from all CPUs: start/* is the broker, cache-hit/* is
// internal/tokencache alone with the same keys. The goal is start <= 2x
// cache-hit (issue 17 item 4).
func BenchmarkStartReusedAtScale(b *testing.B) {
	users := make([]string, benchUsers)
	for i := range users {
		users[i] = userID(i)
	}
	const stride = 7919 // prime: a scattered order that visits every user
	env := newEnv(b, brokertest.WithBrokerOptions(broker.WithMaxEntries(benchUsers)))
	for _, u := range users {
		if _, err := env.Broker.Start(background, request(broker.Sentiance, u)); err != nil {
			b.Fatal(err)
		}
	}
	reqs := make([]broker.Request, len(users))
	for i, u := range users {
		reqs[i] = request(broker.Sentiance, u)
	}
	far := time.Now().Add(24 * time.Hour)
	grant := &broker.Grant{Vendor: broker.Sentiance}
	cache, err := tokencache.New(func(context.Context, string) (*broker.Grant, tokencache.Expiry, error) {
		return grant, tokencache.Expiry{Hard: far}, nil
	}, tokencache.WithMaxEntries(benchUsers))
	if err != nil {
		b.Fatal(err)
	}
	defer cache.Close()
	for _, u := range users {
		if _, err := cache.Get(background, u); err != nil {
			b.Fatal(err)
		}
	}
	start := func(i int) {
		g, err := env.Broker.Start(background, reqs[i*stride%benchUsers])
		if err != nil || !g.Reused {
			b.Fatal("not reused", err)
		}
	}
	hit := func(i int) {
		if _, err := cache.Get(background, users[i*stride%benchUsers]); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		op   func(int)
	}{{"start", start}, {"cache-hit", hit}} {
		b.Run(c.name+"/single", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.op(i)
				i++
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(benchUsers / 8))
				for pb.Next() {
					c.op(i)
					i++
				}
			})
		})
	}
}
