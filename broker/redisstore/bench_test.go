package redisstore

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// benchRequest is an Entrupy request whose inputs are the same for every
// user, so that one stored grant can be copied to many users.
func benchRequest(user string) broker.Request {
	return broker.Request{Vendor: broker.Entrupy, UserID: user, Entrupy: &broker.EntrupyParams{
		SDKAuthorizationRequest: "sdk-request-bench", Email: "ann@example.com", FirstName: "Ann"}}
}

// benchEnv is newEnv for a benchmark, on the single Redis.
func benchEnv(b *testing.B) *env {
	tg := singleTarget(b)
	e := &env{tg: tg, admin: tg.newClient(), prefix: fmt.Sprintf("sdkbbench:%d:", prefixSeq.Add(1))}
	b.Cleanup(func() {
		iter := e.admin.Scan(background, 0, e.prefix+"*", 1000).Iterator()
		for iter.Next(background) {
			e.admin.Del(background, iter.Val())
		}
		_ = e.admin.Close()
	})
	return e
}

func benchStore(b *testing.B, e *env) *Store {
	c := e.tg.newClient()
	s, err := New(c, WithEncryptionKey(testKey), WithKeyPrefix(e.prefix), WithTimeout(2e9))
	require.NoError(b, err)
	b.Cleanup(func() {
		s.Close()
		_ = c.Close()
	})
	require.NoError(b, s.WaitSubscribed(b.Context()))
	return s
}

// A reused grant, held in memory: no Redis call.
func BenchmarkStart_ReusedInMemory(b *testing.B) {
	e := benchEnv(b)
	v := newVendors(b)
	br := v.broker(benchStore(b, e))
	req := benchRequest(newUser())
	_, err := br.Start(background, req)
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		g, err := br.Start(background, req)
		if err != nil || !g.Reused {
			b.Fatal(err)
		}
	}
}

// A grant another replica minted, not in this replica's memory: one Redis
// GET and a decryption per Start (users differ in every iteration).
func BenchmarkStart_LocalMissFromRedis(b *testing.B) {
	e := benchEnv(b)
	v := newVendors(b)
	sa, sb := benchStore(b, e), benchStore(b, e)
	a, rb := v.broker(sa), v.broker(sb)
	first := newUser()
	_, err := a.Start(background, benchRequest(first))
	require.NoError(b, err)
	sg, ok, err := sa.Load(background, "entrupy:"+first)
	require.NoError(b, err)
	require.True(b, ok)
	users := make([]string, b.N)
	for i := range users {
		users[i] = newUser()
		sg.Grant.UserID = users[i]
		require.NoError(b, sa.Save(background, "entrupy:"+users[i], sg))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		g, err := rb.Start(background, benchRequest(users[i]))
		if err != nil || !g.Reused {
			b.Fatal(err, g)
		}
	}
	b.StopTimer()
	if m := v.mints(broker.Entrupy); m != 1 {
		b.Fatalf("%d mints, want 1", m)
	}
}

// A cold user started at once on three replicas: one mint (lock, mint,
// save, release), the two others wait for the release and load it.
func BenchmarkColdMint_ThreeReplicas(b *testing.B) {
	e := benchEnv(b)
	v := newVendors(b)
	var replicas []*broker.Broker
	for range 3 {
		replicas = append(replicas, v.broker(benchStore(b, e)))
	}
	users := make([]string, b.N)
	for i := range users {
		users[i] = newUser()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Go(func() {
				if _, err := r.Start(background, benchRequest(users[i])); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(v.mints(broker.Entrupy))/float64(b.N), "mints/op")
}

// The same cold mint on one broker without a store, for comparison.
func BenchmarkColdMint_NoStore(b *testing.B) {
	v := newVendors(b)
	br := v.broker(nil)
	users := make([]string, b.N)
	for i := range users {
		users[i] = newUser()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := br.Start(background, benchRequest(users[i])); err != nil {
			b.Fatal(err)
		}
	}
}
