package broker_test

import (
	"testing"

	"github.com/sdkbroker/sdkbroker/broker"
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
