package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
)

// maxGrants bounds the grants grantBook remembers.
const maxGrants = 4 * maxSessions

// grantBook is the broker.Interface brokerhttp serves: the broker, plus a
// note of the last grant handed to each user per vendor, so that the QR
// endpoint and the demo's phone work on the user's own current grant and
// never on text from the request. Safe for concurrent use.
type grantBook struct {
	broker.Interface
	now func() time.Time

	mu sync.Mutex
	m  map[grantKey]broker.Grant
}

type grantKey struct {
	vendor broker.Vendor
	user   string
}

func newGrantBook(b broker.Interface, now func() time.Time) *grantBook {
	return &grantBook{Interface: b, now: now, m: make(map[grantKey]broker.Grant)}
}

// Start asks the broker and notes the grant.
func (g *grantBook) Start(ctx context.Context, req broker.Request) (*broker.Grant, error) {
	gr, err := g.Interface.Start(ctx, req)
	if err == nil && gr != nil {
		g.mu.Lock()
		if len(g.m) >= maxGrants {
			g.sweepLocked()
		}
		g.m[grantKey{req.Vendor, req.UserID}] = *gr
		g.mu.Unlock()
	}
	return gr, err
}

// Invalidate asks the broker and forgets the noted grant.
func (g *grantBook) Invalidate(ctx context.Context, vendor broker.Vendor, userID string) error {
	g.mu.Lock()
	delete(g.m, grantKey{vendor, userID})
	g.mu.Unlock()
	return g.Interface.Invalidate(ctx, vendor, userID)
}

// current returns the user's last grant for vendor while it has not expired.
func (g *grantBook) current(vendor broker.Vendor, user string) (broker.Grant, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := grantKey{vendor, user}
	gr, ok := g.m[k]
	if ok && !g.now().Before(gr.ExpiresAt) {
		delete(g.m, k)
		return broker.Grant{}, false
	}
	return gr, ok
}

// sweepLocked drops expired grants, then, if still full, any one.
func (g *grantBook) sweepLocked() {
	now := g.now()
	for k, v := range g.m {
		if !now.Before(v.ExpiresAt) {
			delete(g.m, k)
		}
	}
	for k := range g.m {
		if len(g.m) < maxGrants {
			break
		}
		delete(g.m, k)
	}
}

// demoEmailDomain is the domain of the e-mail address the demo gives each
// user's Entrupy account (your server would use its user records).
const demoEmailDomain = "users.sdkserver.example.com"

// startHook is brokerhttp's WithStartHook: it fills in what the server knows
// better than the app and pins what the app must not choose, as the
// brokerhttp docs advise. Entrupy's e-mail comes from the user record (the
// demo makes one up from the user name); IDV runs the configured workflow
// and uqudo the configured session data, whatever the app sent.
func startHook(_ *http.Request, req *broker.Request) error {
	switch req.Vendor {
	case broker.Entrupy:
		if req.Entrupy != nil {
			req.Entrupy.Email = req.UserID + "@" + demoEmailDomain
		}
	case broker.IDV:
		req.IDV = nil
	case broker.Uqudo:
		req.Uqudo = nil
	}
	return nil
}
