package broker

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkLedgerMemory measures the heap one ledger entry costs: an IDV
// grant with a 36-byte session id (a UUID), a 32-byte pseudonymous user id
// and a 12-byte user id of yours, indexed by both ids. It reports B/entry
// (quoted in WithLedger's doc); ns/op is the cost of recording one grant.
func BenchmarkLedgerMemory(b *testing.B) {
	const n = 20_000
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	entries := make([]LedgerEntry, n)
	for i := range entries {
		entries[i] = LedgerEntry{
			Vendor:       IDV,
			UserID:       fmt.Sprintf("user-%07d", i),
			VendorUserID: fmt.Sprintf("%032x", i),
			SessionID:    fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
			CreatedAt:    now,
			ExpiresAt:    now.Add(time.Hour),
		}
	}
	var perEntry float64
	b.ResetTimer()
	for range b.N / n {
		l := newLedger(DefaultLedgerRetention, n)
		// The strings are shared with entries: count them as the ledger's.
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, e := range entries {
			e.UserID = string([]byte(e.UserID))
			e.VendorUserID = string([]byte(e.VendorUserID))
			e.SessionID = string([]byte(e.SessionID))
			l.add(e, now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(l)
	}
	if b.N >= n {
		b.ReportMetric(perEntry, "B/entry")
	}
}

func TestLedgerNodeSize(t *testing.T) {
	if s := unsafe.Sizeof(ledgerNode{}); unsafe.Sizeof(uintptr(0)) == 8 && s != 128 {
		t.Errorf("ledgerNode is %d bytes, want 128 (one size class)", s)
	}
}
