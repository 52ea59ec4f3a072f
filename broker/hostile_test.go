package broker_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/internal/hostile"
)

// TestBroker_HostileUserIDs: a user id with NUL, CR LF, invalid UTF-8, only
// spaces or a megabyte is refused with ErrInvalidInput before any vendor
// call, by Start, Invalidate and Owner alike; one with "../", dots,
// slashes or a query is your own id and either works (the grant is that
// user's) or is refused by the vendor client's own rules before sending;
// no error repeats the id (issue 16 item 5).
func TestBroker_HostileUserIDs(t *testing.T) {
	var calls atomic.Int32
	env := brokertest.New(t, brokertest.WithRoundTripper(func(next http.RoundTripper) http.RoundTripper {
		return transportFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return next.RoundTrip(r)
		})
	}))
	ctx := context.Background()
	for _, id := range hostile.IDs() {
		refused := strings.ContainsAny(id.Value, "\x00\r\n") || strings.TrimSpace(id.Value) == "" ||
			len(id.Value) > broker.MaxUserIDLen || !utf8Valid(id.Value)
		t.Run(id.Name, func(t *testing.T) {
			for _, v := range broker.Vendors() {
				before := calls.Load()
				g, err := env.Broker.Start(ctx, env.Request(v, id.Value))
				hostile.CheckRefusedOrSent(t, id.Value, err)
				switch {
				case refused:
					if !errors.Is(err, broker.ErrInvalidInput) || calls.Load() != before {
						t.Errorf("%s: Start: %v after %d vendor calls; want ErrInvalidInput before any", v, err, calls.Load()-before)
					}
				case err == nil:
					if g.UserID != id.Value || g.Vendor != v {
						t.Errorf("%s: grant for %q/%s", v, g.UserID, g.Vendor)
					}
				case !errors.Is(err, broker.ErrInvalidInput) || calls.Load() != before:
					t.Errorf("%s: Start: %v after %d vendor calls", v, err, calls.Load()-before)
				}

				err = env.Broker.Invalidate(ctx, v, id.Value)
				hostile.CheckRefusedOrSent(t, id.Value, err)
				if refused != (err != nil) || (err != nil && !errors.Is(err, broker.ErrInvalidInput)) {
					t.Errorf("%s: Invalidate: %v", v, err)
				}

				owner, err := env.Broker.Owner(ctx, v, id.Value)
				hostile.CheckRefusedOrSent(t, id.Value, err)
				if err == nil && owner != "" && owner != id.Value {
					t.Errorf("%s: Owner of a hostile ref is %q", v, owner)
				}
				if err != nil && !errors.Is(err, broker.ErrInvalidInput) && !errors.Is(err, broker.ErrNotFound) {
					t.Errorf("%s: Owner: %v", v, err)
				}
			}
		})
	}
}

// TestBroker_HostileMetadata: IDV metadata with CR LF, NUL, "../" and
// invalid UTF-8 in keys and values is refused before sending or sent as
// JSON; the user id the broker sets wins over one in the metadata.
func TestBroker_HostileMetadata(t *testing.T) {
	env := brokertest.New(t)
	ctx := context.Background()
	for name, md := range map[string]map[string]any{
		"CR LF":          {"note\r\nX-Injected: yes": "a\r\nb", "externalUserId": "someone-else"},
		"NUL":            {"k\x00": "v\x00"},
		"dot-dot":        {"../../k": "../../v"},
		"invalid UTF-8":  {"k": "v\xff"},
		"deeply nested":  nest(100),
		"1 MB value":     {"k": strings.Repeat("v", hostile.MiB)},
		"unknown shapes": {"k": []any{map[string]any{"a": nil}, 1.5, true}},
	} {
		t.Run(name, func(t *testing.T) {
			req := env.Request(broker.IDV, "user-hostile-md")
			req.IDV = &broker.IDVParams{Metadata: md}
			g, err := env.Broker.Start(ctx, req)
			if err != nil {
				if !errors.Is(err, broker.ErrInvalidInput) {
					t.Fatalf("Start: %v", err)
				}
				hostile.CheckRefusedOrSent(t, "someone-else", err)
				return
			}
			if g.UserID != "user-hostile-md" {
				t.Fatalf("grant for %q", g.UserID)
			}
			_ = env.Broker.Invalidate(ctx, broker.IDV, "user-hostile-md")
		})
	}
}

func nest(depth int) map[string]any {
	m := map[string]any{"leaf": 1}
	for range depth {
		m = map[string]any{"k": m}
	}
	return m
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
