package tokencache

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Expiry is when a fetched value should be refreshed (Soft) and when it stops being valid (Hard). The cache
// hands a value out only until Hard minus the safety margin. A zero Soft is derived from the soft-window rule
// (see WithSoftWindow). A Soft after Hard minus the margin is moved back to it.
type Expiry struct{ Soft, Hard time.Time }

// Info describes the value a GetInfo call returned.
type Info struct {
	// Soft is when this cache starts refreshing the value: its soft expiry, moved earlier by the jitter.
	Soft time.Time
	// Hard is the value's hard expiry as the fetcher (or the store) gave it: the same instant, as a time
	// in the location of the cache's base time (the clock's first reading) and without a monotonic
	// reading (times more than 292 years from the base time saturate). The cache stops handing the value
	// out at Hard minus the safety margin.
	Hard time.Time
	// Reused is true when the value was already held (in memory or in the store) and false when this call
	// waited for the fetch that produced it.
	Reused bool
}

// now is the clock's reading in nanoseconds since the cache's base time. With the real clock it reads only the
// monotonic clock.
func (c *Cache[K, V]) now() int64 {
	if c.clock == nil {
		return int64(time.Since(procStart)) - c.baseOff
	}
	return int64(c.clock.Now().Sub(c.base))
}

// clocks is now together with the real monotonic time since procStart, which the fetch timeout follows: from
// one reading with the real clock, and -1 for the second with another clock (see since).
func (c *Cache[K, V]) clocks() (now int64, real time.Duration) {
	if c.clock == nil {
		real = time.Since(procStart)
		return int64(real) - c.baseOff, real
	}
	return int64(c.clock.Now().Sub(c.base)), -1
}

// since returns real, or the real monotonic time since procStart if real is -1.
func since(real time.Duration) time.Duration {
	if real < 0 {
		return time.Since(procStart)
	}
	return real
}

// rel converts t to nanoseconds since the base time, saturating (a zero t gives math.MinInt64).
func (c *Cache[K, V]) rel(t time.Time) int64 { return int64(t.Sub(c.base)) }

// expiry applies the expiry rules to a value obtained at now, writing the outcome that holds it into o (only
// if it returns nil). The deadlines are in nanoseconds since the cache's base time, so the fresh path compares
// integers (monotonic, no wall-clock read).
func (c *Cache[K, V]) expiry(o *outcome[V], v V, exp *Expiry, now int64) error {
	hard := c.rel(exp.Hard)
	usable := subSat(hard, int64(c.opt.margin))
	if usable <= now {
		return c.invalidExpiry(exp.Hard)
	}
	var soft int64
	if exp.Soft.IsZero() {
		window := max(scale(subSat(hard, now), c.opt.softFraction), int64(c.opt.softMin))
		soft = subSat(hard, window)
	} else {
		soft = c.rel(exp.Soft)
	}
	soft = min(max(soft, now), usable)
	refresh := soft
	if w := scale(subSat(hard, soft), c.opt.jitter); w > 0 {
		refresh = max(subSat(soft, rand.Int64N(w)), now)
	}
	*o = outcome[V]{val: v, ok: true, refresh: refresh, soft: soft, hard: hard}
	return nil
}

// invalidExpiry is the error for a value whose hard expiry leaves nothing of it usable.
//
//go:noinline
func (c *Cache[K, V]) invalidExpiry(hard time.Time) error {
	return fmt.Errorf("%w (hard expiry %s, margin %s)", ErrInvalidExpiry, hard.Round(0).Format(time.RFC3339), c.opt.margin)
}

// at converts nanoseconds since the base time back to a wall-clock time.
func (c *Cache[K, V]) at(rel int64) time.Time { return c.base.Add(time.Duration(rel)).Round(0) }

// scale returns d*f for f in [0, 1] without float-to-int overflow.
func scale(d int64, f float64) int64 {
	x := f * float64(d)
	if x >= float64(d) {
		return d
	}
	return int64(x)
}

// subSat returns a-b, saturating at the int64 range.
func subSat(a, b int64) int64 {
	d := a - b
	switch {
	case b > 0 && d > a:
		return math.MinInt64
	case b < 0 && d < a:
		return math.MaxInt64
	}
	return d
}

// addSat returns a+b for b >= 0, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
