package redisstore

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Defaults of the options.
const (
	// DefaultKeyPrefix starts every Redis key and the channel name ([WithKeyPrefix]).
	DefaultKeyPrefix = "sdkbroker:"
	// DefaultTimeout bounds each Redis call ([WithTimeout]).
	DefaultTimeout = 50 * time.Millisecond
	// DefaultLockTTL is how long a mint lock lives unless released ([WithLockTTL]).
	DefaultLockTTL = 10 * time.Second
	// DefaultLockPoll is how often a waiting replica retries a taken lock
	// when no release message came ([WithLockPoll]).
	DefaultLockPoll = 100 * time.Millisecond
	// DefaultBreakerFailures is how many Redis failures in a row open the
	// circuit breaker ([WithBreaker]).
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how long the open breaker stops calling
	// Redis before it lets one call through to probe it ([WithBreaker]).
	DefaultBreakerCooldown = 2 * time.Second
	// DefaultLogInterval is the least time between two log lines about
	// Redis failures ([WithLogInterval]).
	DefaultLogInterval = time.Minute
	// MaxKeyPrefixLen is the longest key prefix accepted, in bytes.
	MaxKeyPrefixLen = 128
)

// Option configures a Store. Options are applied in any order and checked
// by [New].
type Option func(*config) error

type config struct {
	keys        [][]byte
	prefix      string
	timeout     time.Duration
	lockTTL     time.Duration
	lockPoll    time.Duration
	failures    int
	cooldown    time.Duration
	logger      *slog.Logger
	logInterval time.Duration
	now         func() time.Time
}

func defaultConfig() config {
	return config{
		prefix: DefaultKeyPrefix, timeout: DefaultTimeout, lockTTL: DefaultLockTTL, lockPoll: DefaultLockPoll,
		failures: DefaultBreakerFailures, cooldown: DefaultBreakerCooldown, logInterval: DefaultLogInterval, now: time.Now,
	}
}

func invalid(field, reason string) error { return httpx.Invalid(field, reason) }

// WithEncryptionKey sets the keys values are encrypted with: each exactly
// [KeySize] (32) random bytes, kept as secret as your vendor keys and the
// same on every replica. It is required. The first key encrypts and names
// the Redis keys; every key decrypts, and entries saved under the names of
// the others are found too. To rotate from old to new: deploy (old, new)
// on every replica (new is read, old still written), then (new, old) (new
// written, old still read), then, once the entries old wrote have expired
// (the longest are ledger entries: their grant's lifetime plus the ledger
// retention; or a [broker.StoreDeduper]'s window if longer), new alone.
// While replicas disagree on the first key they use different mint locks,
// so a grant may be minted twice during that roll-out; each reads the
// other's dedup entries, but a webhook delivery reaching two of them at
// the same moment may be processed twice. The keys are copied.
func WithEncryptionKey(keys ...[]byte) Option {
	return func(cfg *config) error {
		if len(keys) == 0 {
			return invalid("encryption_key", "no key given")
		}
		cfg.keys = cfg.keys[:0]
		for i, k := range keys {
			if len(k) != KeySize {
				return invalid("encryption_key", fmt.Sprintf("key %d is %d bytes, want %d", i, len(k), KeySize))
			}
			cfg.keys = append(cfg.keys, append([]byte(nil), k...))
		}
		return nil
	}
}

// WithKeyPrefix sets the text every Redis key and the pub/sub channel name
// start with (default [DefaultKeyPrefix]), to share one Redis between
// applications or environments. At most [MaxKeyPrefixLen] bytes of
// printable ASCII, without braces (which would change the Cluster hash
// tag) or spaces; it may be empty.
func WithKeyPrefix(prefix string) Option {
	return func(cfg *config) error {
		if len(prefix) > MaxKeyPrefixLen {
			return invalid("key_prefix", fmt.Sprintf("is longer than %d bytes", MaxKeyPrefixLen))
		}
		if strings.ContainsFunc(prefix, func(r rune) bool { return r <= ' ' || r > '~' || r == '{' || r == '}' }) {
			return invalid("key_prefix", "must be printable ASCII without spaces or braces")
		}
		cfg.prefix = prefix
		return nil
	}
}

// WithTimeout bounds each Redis call (default [DefaultTimeout], 50 ms): a
// slower call counts as a failure and the broker goes on without Redis.
// The bound holds whatever the client's own settings, but a call cut short
// keeps its goroutine until the client gives up on it: give the client
// short DialTimeout, ReadTimeout and WriteTimeout and few DialerRetries
// (go-redis retries a failed dial 5 times, 100 ms apart, by default), or
// ContextTimeoutEnabled.
func WithTimeout(d time.Duration) Option {
	return func(cfg *config) error {
		if d <= 0 {
			return invalid("timeout", "must be positive")
		}
		cfg.timeout = d
		return nil
	}
}

// WithLockTTL sets how long a mint lock lives if its holder neither
// releases it nor survives (default [DefaultLockTTL], 10 s): the other
// replicas wait for it at most that long before one of them mints. Make it
// longer than a vendor call with its retries takes, or a slow mint lets a
// second replica mint too.
func WithLockTTL(d time.Duration) Option {
	return func(cfg *config) error {
		if d < time.Millisecond {
			return invalid("lock_ttl", "must be at least 1ms")
		}
		cfg.lockTTL = d
		return nil
	}
}

// WithLockPoll sets how often a replica waiting for a mint lock tries it
// again when no release message reached it (default [DefaultLockPoll]).
func WithLockPoll(d time.Duration) Option {
	return func(cfg *config) error {
		if d < time.Millisecond {
			return invalid("lock_poll", "must be at least 1ms")
		}
		cfg.lockPoll = d
		return nil
	}
}

// WithBreaker sets the circuit breaker: after failures Redis failures in a
// row (default [DefaultBreakerFailures]) the store stops calling Redis for
// cooldown (default [DefaultBreakerCooldown]), failing its calls at once
// with [ErrUnavailable]; then one call probes Redis, and a success closes
// the breaker. The breaker reads the system's monotonic clock, not
// [WithClock].
func WithBreaker(failures int, cooldown time.Duration) Option {
	return func(cfg *config) error {
		if failures <= 0 {
			return invalid("breaker_failures", "must be positive")
		}
		if cooldown <= 0 {
			return invalid("breaker_cooldown", "must be positive")
		}
		cfg.failures, cfg.cooldown = failures, cooldown
		return nil
	}
}

// WithLogger logs Redis failures at warn level, at most one line per
// [WithLogInterval]: the operation, the client's error, whether the breaker
// opened or is open, how many failures went unlogged since the last line
// and the totals of [Stats]; never a key name, a value or a user id. Silent
// by default; the counts are in [Store.Stats] either way.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) error {
		if l == nil {
			return invalid("logger", "is nil")
		}
		cfg.logger = l
		return nil
	}
}

// WithLogInterval sets the least time between two log lines (default
// [DefaultLogInterval], a minute).
func WithLogInterval(d time.Duration) Option {
	return func(cfg *config) error {
		if d <= 0 {
			return invalid("log_interval", "must be positive")
		}
		cfg.logInterval = d
		return nil
	}
}

// WithClock makes the store read the time from now when it turns expiry
// times into Redis TTLs and checks them on load (default time.Now). Give it
// the clock given to the brokers' WithClock.
func WithClock(now func() time.Time) Option {
	return func(cfg *config) error {
		if now == nil {
			return invalid("clock", "is nil")
		}
		cfg.now = now
		return nil
	}
}
