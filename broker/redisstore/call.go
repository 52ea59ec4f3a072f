package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// breaker is the circuit breaker: closed (calls go through), open (calls
// fail at once until openUntil), then half-open (one probe call at a time
// goes through; its success closes the breaker, its failure opens it again).
type breaker struct {
	threshold int
	cooldown  time.Duration

	mu        sync.Mutex
	failures  int       // in a row
	openUntil time.Time // zero: closed
	probing   bool      // half-open and a probe is under way
	trips     uint64
	open      atomic.Bool // for Stats: open or half-open
}

type outcome uint8

const (
	succeeded outcome = iota
	failed
	abandoned // the caller gave up: says nothing about Redis
)

// allow reports whether a call may go to Redis now, and whether it is the
// half-open breaker's probe.
func (b *breaker) allow() (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return true, false
	}
	if time.Now().Before(b.openUntil) || b.probing {
		return false, false
	}
	b.probing = true
	return true, true
}

// done records a call's outcome; it reports whether the breaker opened.
func (b *breaker) done(o outcome, probe bool) (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch o {
	case succeeded:
		b.failures = 0
		if probe || !b.openUntil.IsZero() && !time.Now().Before(b.openUntil) {
			b.openUntil = time.Time{}
			b.open.Store(false)
		}
	case failed:
		b.failures++
		if probe || b.openUntil.IsZero() && b.failures >= b.threshold {
			b.openUntil = time.Now().Add(b.cooldown)
			b.trips++
			b.open.Store(true)
			return true
		}
	}
	return false
}

// ErrUnavailable reports that Redis could not serve a call: it failed, took
// longer than [WithTimeout], or the circuit breaker is open. The broker goes
// on without Redis when it sees it (see the package documentation).
var ErrUnavailable = errors.New("redisstore: redis unavailable")

// ErrClosed reports a call on a closed Store.
var ErrClosed = errors.New("redisstore: store closed")

// callError is a failed Redis call: errors.Is(err, ErrUnavailable) holds,
// and the client's error is wrapped.
func callError(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// errBreakerOpen is wrapped in the error of a call the breaker stopped.
var errBreakerOpen = errors.New("circuit breaker open")

// call runs one Redis operation with the store's timeout and breaker,
// counting and logging its failure: see callValue.
func (s *Store) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	_, err := callValue(s, ctx, op, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// result is what an operation's goroutine hands back.
type result[T any] struct {
	v   T
	err error
}

// callValue runs one Redis operation with the store's timeout and breaker,
// counting and logging its failure. fn gets a context bounded by the
// timeout; it runs on its own goroutine, so that the bound holds even when
// the client ignores context deadlines, and hands its value back over a
// channel (a call cut short leaves nothing behind that the caller reads).
// redis.Nil is a success.
func callValue[T any](s *Store, ctx context.Context, op string, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if ctx == nil {
		return zero, invalid("ctx", "is nil")
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if s.isClosed() {
		return zero, ErrClosed
	}
	ok, probe := s.br.allow()
	if !ok {
		s.stats.skipped.Add(1)
		return zero, callError(op, errBreakerOpen)
	}
	s.stats.calls.Add(1)
	cctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	done := make(chan result[T], 1)
	go func() {
		v, err := fn(cctx)
		done <- result[T]{v, err}
	}()
	var r result[T]
	select {
	case r = <-done:
	case <-cctx.Done():
		select {
		case r = <-done: // both ready: prefer the answer
		default:
			r.err = cctx.Err()
		}
	}
	if r.err == nil || errors.Is(r.err, redis.Nil) {
		s.br.done(succeeded, probe)
		return r.v, r.err
	}
	if ctx.Err() != nil { // the caller gave up (or its deadline came first)
		s.br.done(abandoned, probe)
		return zero, ctx.Err()
	}
	opened := s.br.done(failed, probe)
	s.stats.errors.Add(1)
	if errors.Is(r.err, context.DeadlineExceeded) {
		s.stats.timeouts.Add(1)
	}
	s.logFailure(op, r.err, opened)
	return zero, callError(op, r.err)
}

// logLimiter lets one line through per interval.
type logLimiter struct {
	last       atomic.Int64 // unix nanoseconds of the last line; 0: none yet
	suppressed atomic.Uint64
}

// logFailure logs a failed call, at most once per log interval.
func (s *Store) logFailure(op string, err error, opened bool) {
	if s.cfg.logger == nil {
		return
	}
	now := time.Now().UnixNano()
	last := s.logs.last.Load()
	if last != 0 && now-last < int64(s.cfg.logInterval) || !s.logs.last.CompareAndSwap(last, now) {
		s.logs.suppressed.Add(1)
		return
	}
	st := s.Stats()
	s.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn, "sdkbroker redisstore: redis call failed; going on without redis",
		slog.String("op", op), slog.String("error", err.Error()), slog.Bool("breaker_opened", opened),
		slog.Bool("breaker_open", st.BreakerOpen), slog.Uint64("suppressed", s.logs.suppressed.Swap(0)),
		slog.Uint64("errors", st.Errors), slog.Uint64("timeouts", st.Timeouts), slog.Uint64("skipped", st.Skipped))
}
