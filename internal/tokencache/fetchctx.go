package tokencache

import (
	"context"
	"sync"
	"time"
)

// fetchCtx is the context a fetch runs with: the values of the caller that started it, a deadline at the
// fetch timeout, and cancellation by Close. It is built lazily, so that a fetch that never asks for Done
// (one that returns at once, from memory or a local computation) costs no allocation, timer or goroutine:
// until Done is called, Err compares the clock with the deadline and reads the closed flag. The first call of
// Done (or AfterFunc) makes the channel, arms a timer for the deadline and registers with Close. It is
// embedded in its call and released (cancelled) when the fetch function returns, like the context of a
// context.WithTimeout whose cancel function is deferred.
//
// It implements the AfterFunc method that the context package looks for on a parent of an unknown type, so
// that context.WithCancel and friends derived from it (net/http derives one per request) register a callback
// instead of starting a goroutine.
type fetchCtx struct {
	values   context.Context // Value only: the caller's context, never cancelled (see Cache.run)
	life     *lifecycle
	deadline time.Duration // since procStart, monotonic

	mu   sync.Mutex
	done chan struct{}
	err  error
	arm  *fetchArm // set by armLocked unless the context had already ended
}

// fetchArm is what a fetchCtx arms when Done is first asked for.
type fetchArm struct {
	timer     *time.Timer
	stopClose func() bool
	after     []*func()
}

// procStart is the origin of fetchCtx's monotonic readings.
var procStart = time.Now()

// start readies f for a fetch started at start (since procStart); the fetch sets f.values before it calls
// the fetch function.
func (f *fetchCtx) start(start time.Duration, life *lifecycle) {
	f.life = life
	f.deadline = start + life.timeout
}

// Deadline is the start of the fetch plus the fetch timeout.
func (f *fetchCtx) Deadline() (time.Time, bool) { return procStart.Add(f.deadline), true }

// Value returns the value of the caller's context.
func (f *fetchCtx) Value(key any) any { return f.values.Value(key) }

// String names the context, as the context package's own contexts do.
func (f *fetchCtx) String() string { return "tokencache.fetchContext" }

// Done returns a channel closed at the deadline, on Close, or when the fetch function has returned.
func (f *fetchCtx) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked()
	return f.done
}

// Err returns context.DeadlineExceeded past the deadline, context.Canceled after Close or once the fetch
// function has returned, and nil before.
func (f *fetchCtx) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		if err := f.check(); err != nil {
			f.cancelLocked(err)
		}
	}
	return f.err
}

// check reports what has ended the context by now, if anything: Close or the deadline.
func (f *fetchCtx) check() error {
	if f.life.closed.Load() {
		return context.Canceled
	}
	if time.Since(procStart) >= f.deadline {
		return context.DeadlineExceeded
	}
	return nil
}

// armLocked makes the done channel, closed already if the context has ended, otherwise armed to close at the
// deadline and on Close. The caller holds f.mu.
func (f *fetchCtx) armLocked() {
	if f.done != nil {
		return
	}
	f.done = make(chan struct{})
	if f.err == nil {
		f.err = f.check()
	}
	if f.err != nil {
		close(f.done)
		return
	}
	f.arm = &fetchArm{}
	f.arm.timer = time.AfterFunc(f.deadline-time.Since(procStart), func() { f.cancel(context.DeadlineExceeded) })
	f.arm.stopClose = context.AfterFunc(f.life.closing, func() { f.cancel(context.Canceled) })
}

func (f *fetchCtx) cancel(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.cancelLocked(err)
	}
}

// cancelLocked ends the context with err. The caller holds f.mu and has checked that f.err is nil.
func (f *fetchCtx) cancelLocked(err error) {
	f.err = err
	if f.done == nil {
		return // nothing was armed: Done, when called, returns a closed channel
	}
	close(f.done)
	if a := f.arm; a != nil {
		a.timer.Stop()
		a.stopClose()
		for _, fn := range a.after {
			go (*fn)()
		}
		f.arm = nil
	}
}

// release ends the context once the fetch function has returned.
func (f *fetchCtx) release() { f.cancel(context.Canceled) }

// AfterFunc arranges for fn to run in its own goroutine once the context has ended, as context.AfterFunc
// does; stop unregisters it and reports whether it did so before fn was started.
func (f *fetchCtx) AfterFunc(fn func()) (stop func() bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked()
	if f.err != nil {
		go fn()
		return func() bool { return false }
	}
	p := &fn
	f.arm.after = append(f.arm.after, p)
	return func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.arm == nil {
			return false
		}
		for i, q := range f.arm.after {
			if q == p {
				f.arm.after = append(f.arm.after[:i], f.arm.after[i+1:]...)
				return true
			}
		}
		return false
	}
}
