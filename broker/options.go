package broker

import (
	"context"
	"log/slog"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// Option configures a Broker. Options are applied in any order and checked
// by New.
type Option func(*config) error

type config struct {
	entrupy    *entrupy.Client
	sentiance  *sentiance.Client
	idv        *idv.Client
	idvDefault IDVParams
	uqudo      *uqudo.Client
	uqudoDef   UqudoParams
	store      Store
	now        func() time.Time
	logger     *slog.Logger
	maxEntries int
	noReuse    map[Vendor]bool
	onGrant    func(context.Context, GrantEvent)

	userIDs         UserIDMapper
	ledgerRetention time.Duration
	ledgerMax       int
}

// WithEntrupy enables Entrupy with a client built by entrupy.NewClient.
func WithEntrupy(c *entrupy.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return httpx.Invalid("entrupy", "client is nil")
		}
		cfg.entrupy = c
		return nil
	}
}

// WithSentiance enables Sentiance with a client built by sentiance.NewClient.
func WithSentiance(c *sentiance.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return httpx.Invalid("sentiance", "client is nil")
		}
		cfg.sentiance = c
		return nil
	}
}

// WithIDV enables IDV with a client built by idv.NewClient. defaults fill
// the fields a Request's IDVParams leave zero (typically the workflow id).
func WithIDV(c *idv.Client, defaults IDVParams) Option {
	return func(cfg *config) error {
		if c == nil {
			return httpx.Invalid("idv", "client is nil")
		}
		cfg.idv, cfg.idvDefault = c, defaults
		return nil
	}
}

// WithUqudo enables uqudo with a client built by uqudo.NewClient. defaults
// give the session data used when a Request has no UqudoParams.
func WithUqudo(c *uqudo.Client, defaults UqudoParams) Option {
	return func(cfg *config) error {
		if c == nil {
			return httpx.Invalid("uqudo", "client is nil")
		}
		cfg.uqudo, cfg.uqudoDef = c, defaults
		return nil
	}
}

// WithStore keeps grants and the ledger in s as well as in memory, so that
// replicas of your backend share them (see [Store]).
func WithStore(s Store) Option {
	return func(cfg *config) error {
		if s == nil {
			return httpx.Invalid("store", "is nil")
		}
		cfg.store = s
		return nil
	}
}

// WithClock makes the broker read the time from now, for tests. The vendor
// clients keep their own clocks.
func WithClock(now func() time.Time) Option {
	return func(cfg *config) error {
		if now == nil {
			return httpx.Invalid("clock", "is nil")
		}
		cfg.now = now
		return nil
	}
}

// WithLogger logs each grant minted or failed at debug level: vendor,
// reused, latency and, for a failure, the error's kind ("api", "decode",
// "transport", "invalid_input" or "other"), HTTP status, vendor error code,
// vendor request id, the invalid field's name and whether the context ended.
// Never the error's message (vendor text may echo a user id), a token, a key
// or a user id. Silent by default.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) error {
		if l == nil {
			return httpx.Invalid("logger", "is nil")
		}
		cfg.logger = l
		return nil
	}
}

// WithMaxEntries bounds the grants held in memory per vendor (default
// 10000); the least recently used are dropped first.
func WithMaxEntries(n int) Option {
	return func(cfg *config) error {
		if n <= 0 {
			return httpx.Invalid("max_entries", "must be positive")
		}
		cfg.maxEntries = n
		return nil
	}
}

// WithReuse turns grant reuse for vendor on (the default) or off. With reuse
// off, every Start asks the vendor for a new grant.
func WithReuse(vendor Vendor, enabled bool) Option {
	return func(cfg *config) error {
		if !vendor.Valid() {
			return httpx.Invalid("vendor", "is not a supported vendor")
		}
		if cfg.noReuse == nil {
			cfg.noReuse = map[Vendor]bool{}
		}
		cfg.noReuse[vendor] = !enabled
		return nil
	}
}

// GrantEvent describes one Start call, for metrics and tracing.
type GrantEvent struct {
	// Vendor is the vendor asked.
	Vendor Vendor
	// UserID is your user's id.
	UserID string
	// Reused reports whether a held grant was returned.
	Reused bool
	// Latency is how long Start took.
	Latency time.Duration
	// Err is Start's error, nil on success.
	Err error
}

// WithOnGrant calls fn after every Start (successful or not), on the caller's
// goroutine; fn must be quick and safe for concurrent use. Use it to count
// and trace without the broker choosing a metrics library.
func WithOnGrant(fn func(ctx context.Context, e GrantEvent)) Option {
	return func(cfg *config) error {
		if fn == nil {
			return httpx.Invalid("on_grant", "is nil")
		}
		cfg.onGrant = fn
		return nil
	}
}
