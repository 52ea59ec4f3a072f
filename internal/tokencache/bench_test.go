package tokencache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// benchFar is a far expiry: every benchmarked call is a hit. Both the cache and oauth2 return a *oauth2.Token.
var benchFar = time.Now().Add(24 * time.Hour)

func benchFetch(context.Context, string) (*oauth2.Token, tokencache.Expiry, error) {
	return &oauth2.Token{AccessToken: "secret", Expiry: benchFar}, tokencache.Expiry{Hard: benchFar}, nil
}

func newBenchCache(b *testing.B, keys []string) *tokencache.Cache[string, *oauth2.Token] {
	b.Helper()
	c, err := tokencache.New(benchFetch, tokencache.WithMaxEntries(len(keys)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	for _, k := range keys {
		if _, err := c.Get(context.Background(), k); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("vendor:user-%d", i)
	}
	return keys
}

func BenchmarkGetHit(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			keys := benchKeys(n)
			c := newBenchCache(b, keys)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.Get(ctx, keys[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(keys) {
					i = 0
				}
			}
		})
	}
}

func BenchmarkGetInfoHit(b *testing.B) {
	keys := benchKeys(1)
	c := newBenchCache(b, keys)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.GetInfo(ctx, keys[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	keys := benchKeys(1)
	c := newBenchCache(b, keys)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, keys[0]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

type farTokenSource struct{}

func (farTokenSource) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "secret", Expiry: benchFar}, nil
}

func BenchmarkBaselineOAuth2Reuse(b *testing.B) {
	ts := oauth2.ReuseTokenSource(nil, farTokenSource{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineOAuth2ReuseParallel(b *testing.B) {
	ts := oauth2.ReuseTokenSource(nil, farTokenSource{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.Token(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
