package broker

import (
	"fmt"
	"io"
	"log/slog"
)

// String describes the store by how many grants and ledger entries it
// holds, never their contents (a grant holds a token). fmt does not call
// the String of a struct's unexported fields, so without these methods
// %+v, %#v and %d of a MemoryStore (or of a value holding one) would print
// every stored token.
func (s *MemoryStore) String() string {
	if s == nil {
		return "broker.MemoryStore(nil)"
	}
	grants, ledger := s.Len()
	return fmt.Sprintf("broker.MemoryStore{grants:%d ledger:%d}", grants, ledger)
}

// GoString is String, so %#v does not print the grants either.
func (s *MemoryStore) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *MemoryStore) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue logs String.
func (s *MemoryStore) LogValue() slog.Value { return slog.StringValue(s.String()) }

// String describes the broker by the vendors it serves and whether it has
// a Store, never its grants. Without it, fmt's %s and %d of a *Broker
// would print its fields, and fmt prints what an unexported field holds
// without calling its methods: a MemoryStore's tokens included.
func (b *Broker) String() string {
	if b == nil {
		return "broker.Broker(nil)"
	}
	var vendors []string
	for _, vs := range b.vendors {
		if vs != nil {
			vendors = append(vendors, string(vs.vendor))
		}
	}
	return fmt.Sprintf("broker.Broker{vendors:%v store:%t}", vendors, b.store != nil)
}

// GoString is String, so %#v does not print the grants either.
func (b *Broker) GoString() string { return b.String() }

// Format prints String for every verb.
func (b *Broker) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, b.String()) }

// LogValue logs String.
func (b *Broker) LogValue() slog.Value { return slog.StringValue(b.String()) }
