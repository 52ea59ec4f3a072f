package tokencache

import (
	"fmt"
	"time"
)

// Defaults used when the matching option is not given.
const (
	DefaultSafetyMargin           = 30 * time.Second // WithSafetyMargin
	DefaultSoftFraction           = 0.20             // WithSoftWindow fraction
	DefaultSoftMin                = 60 * time.Second // WithSoftWindow min
	DefaultJitter                 = 0.10             // WithJitter
	DefaultNegativeTTL            = 2 * time.Second  // WithNegativeTTL
	DefaultFetchTimeout           = 30 * time.Second // WithFetchTimeout
	DefaultMaxEntries             = 10000            // WithMaxEntries
	DefaultMaxBackgroundRefreshes = 64               // WithMaxBackgroundRefreshes
)

// Clock tells the time. Inject a fake one with WithClock so expiry tests never sleep. Now must be safe for
// concurrent use. Only the soft and hard expiry rules follow the clock; the fetch timeout is real time.
type Clock interface {
	Now() time.Time
}

// Option configures a Cache. Options are checked when New runs; their order does not matter, and a bad value
// makes New return an error wrapping ErrInvalidConfig.
type Option func(*options)

type options struct {
	clock         Clock // nil: the real clock, read through its monotonic reading
	margin        time.Duration
	softFraction  float64
	softMin       time.Duration
	jitter        float64
	negativeTTL   time.Duration
	fetchTimeout  time.Duration
	maxEntries    int
	maxBackground int
	err           error // the first bad option
}

func defaultOptions() options {
	return options{
		margin:        DefaultSafetyMargin,
		softFraction:  DefaultSoftFraction,
		softMin:       DefaultSoftMin,
		jitter:        DefaultJitter,
		negativeTTL:   DefaultNegativeTTL,
		fetchTimeout:  DefaultFetchTimeout,
		maxEntries:    DefaultMaxEntries,
		maxBackground: DefaultMaxBackgroundRefreshes,
	}
}

// invalid records the first bad option.
func (o *options) invalid(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
}

func validFraction(f float64) bool { return f >= 0 && f <= 1 } // false for NaN too

// WithClock makes the cache read the time from clock instead of the system clock. A nil clock is an error.
func WithClock(clock Clock) Option {
	return func(o *options) {
		if clock == nil {
			o.invalid("nil clock")
			return
		}
		o.clock = clock
	}
}

// WithSafetyMargin sets how long before its hard expiry a value stops being handed out, to allow for clock skew
// and for the time the caller needs to use it. Default 30s; negative is an error.
func WithSafetyMargin(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			o.invalid("negative safety margin %v", d)
			return
		}
		o.margin = d
	}
}

// WithSoftWindow sets the soft expiry of values whose fetch gave no Expiry.Soft: fraction of the lifetime (from
// the end of the fetch to the hard expiry) before the hard expiry, and at least min before it, but never before
// the fetch ended. Default 20% and 60s. fraction must lie in [0, 1] and min must not be negative.
func WithSoftWindow(fraction float64, min time.Duration) Option {
	return func(o *options) {
		if !validFraction(fraction) || min < 0 {
			o.invalid("soft window %v, %v: fraction must be in [0, 1] and min not negative", fraction, min)
			return
		}
		o.softFraction, o.softMin = fraction, min
	}
}

// WithJitter moves each value's refresh point earlier than its soft expiry by a random amount up to fraction
// of its soft window (soft to hard expiry), so values minted together are not all refreshed together. The
// amount is drawn once when the value is stored. Default 0.10; fraction must lie in [0, 1]; 0 turns it off.
func WithJitter(fraction float64) Option {
	return func(o *options) {
		if !validFraction(fraction) {
			o.invalid("jitter %v not in [0, 1]", fraction)
			return
		}
		o.jitter = fraction
	}
}

// WithNegativeTTL sets how long a failed fetch is remembered: during that time, callers of the key get the same
// error without a new fetch, and a key whose background refresh failed waits that long before trying again.
// Default 2s; 0 remembers nothing; negative is an error.
func WithNegativeTTL(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			o.invalid("negative negative TTL %v", d)
			return
		}
		o.negativeTTL = d
	}
}

// WithFetchTimeout bounds each fetch, which runs detached from its callers' contexts. Default 30s; it must be
// positive.
func WithFetchTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.invalid("fetch timeout %v not positive", d)
			return
		}
		o.fetchTimeout = d
	}
}

// WithMaxEntries bounds the number of keys held in memory. Past it, keys are evicted in approximately least
// recently used order, a key used several times since it was last passed over outlasting one used once (a
// clock with use counts, see the package doc). A key with a fetch, an invalidation or a store save under way is
// not evicted, so the bound can be exceeded by the number of such keys until a later Get adds a key. 0 means
// the default, 10000; negative is an error.
func WithMaxEntries(n int) Option {
	return func(o *options) {
		switch {
		case n < 0:
			o.invalid("negative max entries %d", n)
		case n == 0:
			o.maxEntries = DefaultMaxEntries
		default:
			o.maxEntries = n
		}
	}
}

// WithMaxBackgroundRefreshes bounds the refreshes of stale values running at once. When it is reached, a stale
// value is still served and its refresh is left to a later call. 0 means the default, 64; negative is an error.
func WithMaxBackgroundRefreshes(n int) Option {
	return func(o *options) {
		switch {
		case n < 0:
			o.invalid("negative max background refreshes %d", n)
		case n == 0:
			o.maxBackground = DefaultMaxBackgroundRefreshes
		default:
			o.maxBackground = n
		}
	}
}
