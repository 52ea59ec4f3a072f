package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/sentiance"
)

// A MemoryStore holding a grant prints and logs without its token under
// every verb (found by the root leak sweep, issue 16 item 1: %+v printed
// the stored grants raw).
func TestMemoryStore_NeverPrintsTokens(t *testing.T) {
	const token = "tok-SECRET-5d1c9e"
	exp := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s := broker.NewMemoryStore(func() time.Time { return exp.Add(-time.Hour) })
	g := broker.Grant{Vendor: broker.IDV, UserID: "user-1", Token: token, HandoffURL: "https://idv.example/?t=" + token, ExpiresAt: exp}
	if err := s.Save(context.Background(), "idv:user-1", broker.StoredGrant{Grant: g, ExpiresAt: exp, RefreshAfter: exp}); err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, struct{ S *broker.MemoryStore }{s}))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("store", "s", s)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("store", "s", s)
	outs = append(outs, buf.String())
	for _, out := range outs {
		if strings.Contains(out, "SECRET") {
			t.Errorf("shows the token: %s", out)
		}
	}
	if got := fmt.Sprint(s); got != "broker.MemoryStore{grants:1 ledger:0}" {
		t.Errorf("fmt.Sprint = %q", got)
	}
	if got := fmt.Sprint((*broker.MemoryStore)(nil)); got != "broker.MemoryStore(nil)" {
		t.Errorf("fmt.Sprint of nil = %q", got)
	}
}

// A Broker over a MemoryStore holding a grant prints without the token
// under every verb: fmt prints an unexported field's value (the Store)
// without calling its methods, so the Broker needs its own.
func TestBroker_NeverPrintsTokens(t *testing.T) {
	const token = "tok-SECRET-5d1c9e"
	exp := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s := broker.NewMemoryStore(func() time.Time { return exp.Add(-time.Hour) })
	if err := s.Save(context.Background(), "idv:user-1", broker.StoredGrant{Grant: broker.Grant{Vendor: broker.IDV, UserID: "user-1", Token: token, ExpiresAt: exp}, ExpiresAt: exp, RefreshAfter: exp}); err != nil {
		t.Fatal(err)
	}
	sc, err := sentiance.NewClient(sentiance.Credentials{APIKey: "key-for-print-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	b, err := broker.New(broker.WithSentiance(sc), broker.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{b, struct{ B *broker.Broker }{b}} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "SECRET") {
				t.Errorf("%s shows the token: %s", verb, out)
			}
		}
	}
	if got := fmt.Sprint(b); got != "broker.Broker{vendors:[sentiance] store:true}" {
		t.Errorf("fmt.Sprint = %q", got)
	}
}
