package broker

import (
	"context"
	"log/slog"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// Interface is what a backend calls; *Broker implements it, and tests of
// your own handlers can replace it with a fake.
type Interface interface {
	// Start returns what the app needs to open the vendor's SDK for this
	// user, reusing a still-good grant.
	Start(ctx context.Context, req Request) (*Grant, error)
	// Invalidate forgets a user's grant, e.g. after the SDK reported it invalid.
	Invalidate(ctx context.Context, vendor Vendor, userID string) error
	// Owner returns the user a vendor session id or vendor-side user id
	// belongs to, from the ledger of minted grants.
	Owner(ctx context.Context, vendor Vendor, ref string) (userID string, err error)
}

var _ Interface = (*Broker)(nil)

// Broker hands out vendor grants per user, reusing a grant until it is due
// for refresh. It is safe for concurrent use; build it with New and Close it
// when done.
type Broker struct {
	vendors [vendorCount]*vendorState
	now     func() time.Time
	logger  *slog.Logger
	onGrant func(context.Context, GrantEvent)
	userIDs UserIDMapper
	store   Store // nil without WithStore
	ledger  *ledger
	// unsubscribe ends the subscription to a Notifier store (nil without one).
	unsubscribe func()
}

// held is a grant as the cache keeps it.
type held struct {
	grant   Grant // Reused false; RefreshAfter set on the way out
	variant variant
	// sent is the vendor-side user id the vendor call carried ("" if none);
	// set by mint for the ledger, not kept in the Store.
	sent string
	// With a Store (see replicas.go): seq numbers grants as they are minted
	// or loaded from it; shared marks a grant a Locker's holder found there
	// (the cache's Save then writes nothing); release, if set, releases the
	// Locker's lock once the grant is saved.
	seq     uint64
	shared  bool
	release func()
}

// call is one Start's request with the vendor-side user id mapped for it.
type call struct {
	req          Request
	vendorUserID string
}

// vendorState is one configured vendor: how to check and mint its grants,
// and the cache of grants per user.
type vendorState struct {
	vendor Vendor
	// method and path name the vendor call that mints a grant, for the
	// TransportError of a Start whose context ended while it waited.
	method, path string
	reuse        bool
	check        func(req Request) (variant, error) // by value: see start
	mint         func(ctx context.Context, c *call) (*held, tokencache.Expiry, error)
	cache        *tokencache.Cache[string, *held]
	idRule       userIDRule
}

const vendorCount = 4

func vendorIndex(v Vendor) int {
	switch v {
	case Entrupy:
		return 0
	case Sentiance:
		return 1
	case IDV:
		return 2
	case Uqudo:
		return 3
	}
	return -1
}

// New builds a Broker from options; at least one vendor must be enabled.
// It makes no network call. The broker uses the vendor clients and the
// Store it is given but does not own them: [Broker.Close] leaves them open,
// and the caller closes them when it is done with them.
func New(opts ...Option) (*Broker, error) {
	cfg := config{now: time.Now, userIDs: identityMapper{}, ledgerRetention: DefaultLedgerRetention, ledgerMax: DefaultLedgerMaxEntries}
	for _, o := range opts {
		if o == nil {
			return nil, httpx.Invalid("option", "is nil")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	b := &Broker{now: cfg.now, logger: cfg.logger, onGrant: cfg.onGrant, userIDs: cfg.userIDs, store: cfg.store,
		ledger: newLedger(cfg.ledgerRetention, cfg.ledgerMax)}
	for _, a := range adapters(&cfg, b.now) {
		if err := b.add(&cfg, a); err != nil {
			b.Close()
			return nil, err
		}
	}
	if b.configured() == 0 {
		return nil, httpx.Invalid("vendors", "none configured: use WithEntrupy, WithSentiance, WithIDV or WithUqudo")
	}
	b.subscribe()
	return b, nil
}

func (b *Broker) add(cfg *config, vs *vendorState) error {
	vs.reuse = !cfg.noReuse[vs.vendor]
	opts := []tokencache.Option{
		tokencache.WithClock(clockFunc(b.now)),
		// A failed grant is not remembered: the next Start asks the vendor
		// again (concurrent callers still share one call).
		tokencache.WithNegativeTTL(0),
	}
	if cfg.maxEntries > 0 {
		opts = append(opts, tokencache.WithMaxEntries(cfg.maxEntries))
	}
	// Start passes its request to the cache with each call (GetInfoWith);
	// the cache's own fetch function is never used.
	fetch := func(context.Context, string) (*held, tokencache.Expiry, error) {
		return nil, tokencache.Expiry{}, httpx.Invalid("request", "missing: Start passes its own loader")
	}
	var err error
	if cfg.store != nil {
		vs.cache, err = tokencache.NewWithStore(fetch, storeAdapter{s: cfg.store, vendor: vs.vendor}, opts...)
	} else {
		vs.cache, err = tokencache.New(fetch, opts...)
	}
	if err != nil {
		return err
	}
	b.vendors[vendorIndex(vs.vendor)] = vs
	return nil
}

func (b *Broker) configured() int {
	n := 0
	for _, vs := range b.vendors {
		if vs != nil {
			n++
		}
	}
	return n
}

type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

func (b *Broker) state(v Vendor) *vendorState {
	i := vendorIndex(v)
	if i < 0 {
		return nil
	}
	return b.vendors[i]
}

// Start returns what the app needs to open req.Vendor's SDK for
// req.UserID. A held grant for the same user and the same inputs is
// returned (Reused true) until its RefreshAfter; after that it is still
// returned while one background call fetches its successor, and only a
// missing or expired grant makes the caller wait. Concurrent Starts for one
// user share one vendor call. Errors are *OpError naming the vendor; an
// unconfigured vendor, a bad user id or missing params give ErrInvalidInput
// before any vendor call. When ctx ends while Start waits for a grant (its
// own vendor call or one another caller started, which goes on for the
// others), the OpError wraps a *TransportError naming the vendor and its
// minting call (POST and the vendor's documented path: Entrupy
// /v2/integrations/authorize-user, Sentiance /users/auth-code, IDV
// /api/device/ephemeral, the first call of its handoff, uqudo
// /api/v1/session), and errors.Is(err, context.Canceled) or
// context.DeadlineExceeded holds.
func (b *Broker) Start(ctx context.Context, req Request) (*Grant, error) {
	if b.onGrant == nil && b.logger == nil {
		return b.start(ctx, req)
	}
	begin := time.Now()
	g, err := b.start(ctx, req)
	ev := GrantEvent{Vendor: req.Vendor, UserID: req.UserID, Reused: g != nil && g.Reused, Latency: time.Since(begin), Err: err}
	if b.logger != nil && (err != nil || !ev.Reused) {
		attrs := []slog.Attr{slog.String("vendor", string(ev.Vendor)), slog.Bool("reused", ev.Reused),
			slog.Duration("latency", ev.Latency)}
		if err != nil {
			attrs = append(attrs, httpx.ErrorLogAttr(err))
		}
		b.logger.LogAttrs(ctx, slog.LevelDebug, "sdkbroker grant", attrs...)
	}
	if b.onGrant != nil {
		b.onGrant(ctx, ev)
	}
	return g, err
}

// start takes the request by value: the fast path must not move it to the
// heap; only the slow path makes a heap copy, for the cache's loader.
func (b *Broker) start(ctx context.Context, req Request) (*Grant, error) {
	if ctx == nil {
		return nil, b.fail(req.Vendor, httpx.Invalid("ctx", "is nil"))
	}
	vs := b.state(req.Vendor)
	if vs == nil {
		return nil, b.fail(req.Vendor, httpx.Invalid("vendor", "is not configured"))
	}
	if err := validateUserID(req.UserID); err != nil {
		return nil, b.fail(req.Vendor, err)
	}
	want, err := vs.check(req)
	if err != nil {
		return nil, b.fail(req.Vendor, err)
	}
	// Fast path: a fresh grant for the same inputs, with no allocation
	// besides the returned copy. The user id was mapped and checked when
	// the grant was minted.
	if vs.reuse {
		if h, info, ok := vs.cache.Peek(req.UserID); ok && h.variant == want {
			return h.out(info), nil
		}
	}
	c := &call{req: req}
	if c.vendorUserID, err = b.vendorUserID(ctx, vs, req.UserID); err != nil {
		return nil, b.fail(req.Vendor, err)
	}
	if !vs.reuse {
		h, exp, err := b.mint(ctx, vs, c)
		if err != nil {
			return nil, b.fail(req.Vendor, err)
		}
		return h.out(tokencache.Info{Soft: exp.Soft, Hard: exp.Hard}), nil
	}
	load := func(ctx context.Context, _ string) (*held, tokencache.Expiry, error) {
		if l, ok := b.store.(Locker); ok {
			return b.mintShared(ctx, vs, l, c)
		}
		return b.mint(ctx, vs, c)
	}
	for range 2 {
		h, info, err := vs.cache.GetInfoWith(ctx, req.UserID, load)
		if err != nil {
			return nil, b.fail(req.Vendor, vs.waitError(err))
		}
		if h.variant == want {
			return h.out(info), nil
		}
		// The held grant answers other inputs (another Entrupy SDK request,
		// another workflow): replace it.
		vs.cache.InvalidateIf(req.UserID, func(v *held) bool { return v == h })
	}
	// Requests with other inputs for this user keep replacing the grant;
	// answer this one without caching.
	h, exp, err := b.mint(ctx, vs, c)
	if err != nil {
		return nil, b.fail(req.Vendor, err)
	}
	return h.out(tokencache.Info{Soft: exp.Soft, Hard: exp.Hard}), nil
}

// mint asks the vendor for a grant and records it in the ledger. A
// vendor's refusal of the user id becomes the error naming its rule.
func (b *Broker) mint(ctx context.Context, vs *vendorState, c *call) (*held, tokencache.Expiry, error) {
	created := b.now()
	h, exp, err := vs.mint(ctx, c)
	if err != nil {
		if vs.isUserIDRejection(err) {
			err = b.userIDError(vs, err)
		}
		return nil, exp, err
	}
	h.seq = grantSeq.Add(1)
	b.record(ctx, LedgerEntry{Vendor: vs.vendor, UserID: c.req.UserID, VendorUserID: h.sent,
		SessionID: h.grant.SessionID, CreatedAt: created, ExpiresAt: h.grant.ExpiresAt})
	return h, exp, nil
}

// waitError wraps the bare context error the cache returns when the
// caller's context ended while it waited (for its own fetch or one another
// caller started) into a *TransportError naming the vendor's minting call,
// like the vendor clients report an ended context. Other errors pass as is.
func (vs *vendorState) waitError(err error) error {
	return httpx.ContextError(string(vs.vendor), vs.method, vs.path, err)
}

// out copies the held grant for the caller (callers may change their copy).
func (h *held) out(info tokencache.Info) *Grant {
	g := new(Grant)
	*g = h.grant
	g.Reused = info.Reused || h.shared // shared: another replica minted it
	if !info.Soft.IsZero() {
		g.RefreshAfter = info.Soft
	}
	return g
}

func (b *Broker) fail(v Vendor, err error) error {
	return &OpError{Vendor: v, Op: "start", Err: err}
}

// Invalidate forgets userID's grant with vendor, e.g. after the vendor's
// SDK reported it invalid; the next Start asks the vendor again. The ledger
// keeps its entry (late webhooks for the grant's session are still
// attributed by [Broker.Owner]).
//
// Once Invalidate has returned nil, no Start on this broker returns that
// grant, nor a grant from a vendor call that began before Invalidate (such
// a call still answers the Starts already waiting for it, but its grant is
// neither kept nor saved); and with a Store, the grant is deleted from it
// before Invalidate returns, so no broker sharing the Store loads it from
// there afterwards. A broker on another replica that already holds the
// grant in its own memory keeps handing it out until the grant's
// RefreshAfter, unless the Store is a [Notifier] (broker/redisstore is):
// then the Store's Delete tells the other replicas, and each drops its copy
// and fences its vendor call under way for the user when the message
// reaches it (see [Notifier]; the Store's documentation says what delivery
// it promises). Without one, call Invalidate where the grant was reported
// invalid and, if that is not enough, turn reuse off for that vendor
// ([WithReuse]).
//
// Errors are *OpError: ErrInvalidInput for an unconfigured vendor, a bad
// user id or a nil ctx; otherwise the Store's delete failed or ctx ended
// before it was done (errors.Is(err, context.Canceled) holds). The memory
// copy is dropped and the fence above holds all the same, but the Store
// may still hold the grant; this broker then skips the Store for the user
// until a new grant is saved.
func (b *Broker) Invalidate(ctx context.Context, vendor Vendor, userID string) error {
	fail := func(err error) error { return &OpError{Vendor: vendor, Op: "invalidate", Err: err} }
	if ctx == nil {
		return fail(httpx.Invalid("ctx", "is nil"))
	}
	vs := b.state(vendor)
	if vs == nil {
		return fail(httpx.Invalid("vendor", "is not configured"))
	}
	if err := validateUserID(userID); err != nil {
		return fail(err)
	}
	if err := vs.cache.Invalidate(ctx, userID); err != nil {
		return fail(err)
	}
	return nil
}

// Stats are the counters of one vendor's grant cache.
type Stats struct {
	Hits      uint64 // fresh grants returned from memory
	StaleHits uint64 // grants past RefreshAfter returned while a successor was fetched
	Misses    uint64 // Starts that waited for a vendor call
	Fetches   uint64 // vendor calls made through the cache
	Failures  uint64 // vendor calls that failed
	Evictions uint64 // grants dropped to stay within WithMaxEntries
	Held      int    // users with a slot in memory now (a grant, or a call under way or just failed)
}

// Stats returns the grant-cache counters of each configured vendor.
func (b *Broker) Stats() map[Vendor]Stats {
	out := make(map[Vendor]Stats, vendorCount)
	for _, vs := range b.vendors {
		if vs == nil {
			continue
		}
		s := vs.cache.Stats()
		out[vs.vendor] = Stats{Hits: s.Hits, StaleHits: s.StaleHits, Misses: s.Misses, Fetches: s.Fetches,
			Failures: s.Failures, Evictions: s.Evictions, Held: vs.cache.Len()}
	}
	return out
}

// Close stops the background refreshes and waits for them. Grants already
// held are still served afterwards; a Start that needs a vendor call fails.
// Close does not close the vendor clients given to New (WithEntrupy,
// WithSentiance, WithIDV, WithUqudo) nor the Store: the caller owns them,
// may share them, and closes them after the broker. Close may be called more
// than once, and on a nil Broker.
func (b *Broker) Close() {
	if b == nil {
		return
	}
	if b.unsubscribe != nil {
		b.unsubscribe()
	}
	for _, vs := range b.vendors {
		if vs != nil && vs.cache != nil {
			vs.cache.Close()
		}
	}
}
