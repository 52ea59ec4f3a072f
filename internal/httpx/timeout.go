package httpx

import (
	"context"
	"io"
	"net/http"
	"time"
)

// timeoutTransport bounds each attempt, the first byte of the request to
// the last of the answer's body, as http.Client.Timeout does, but without
// its cost: http.Client applies its Timeout through a goroutine, a timer and
// channels per request whenever its Transport is not a bare *http.Transport
// (ours never is: it wraps the caller's), while this takes one
// context.WithDeadline per attempt. The deadline is the attempt's (set by
// requestHook, so a redirect followed within an attempt shares it). A
// failure after the deadline passed, while the caller's context is still
// live, is an [attemptTimeoutError].
type timeoutTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	var deadline time.Time
	if a := attemptFrom(parent); a != nil && !a.deadline.IsZero() {
		deadline = a.deadline
	} else {
		deadline = time.Now().Add(t.timeout)
	}
	if d, ok := parent.Deadline(); ok && !d.After(deadline) {
		return t.next.RoundTrip(req) // the caller's deadline comes first
	}
	ctx, cancel := context.WithDeadline(parent, deadline)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, timedOut(ctx, parent, err)
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		cancel() // bodyTransport read the body already (or there is none)
		return resp, nil
	}
	resp.Body = &deadlineBody{rc: resp.Body, ctx: ctx, parent: parent, cancel: cancel}
	return resp, nil
}

// timedOut marks err as an attempt timeout when the attempt's context ctx
// ran out while the caller's, parent, did not.
func timedOut(ctx, parent context.Context, err error) error {
	if ctx.Err() == context.DeadlineExceeded && parent.Err() == nil {
		return &attemptTimeoutError{err: err}
	}
	return err
}

// deadlineBody keeps the attempt's deadline running while a body that was
// not read inside the round trip (an error answer, or one over the size
// limit) is read, and ends it when the body is closed.
type deadlineBody struct {
	rc          io.ReadCloser
	ctx, parent context.Context
	cancel      context.CancelFunc
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = timedOut(b.ctx, b.parent, err)
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// attemptTimeoutError is a failure caused by the attempt's timeout. Like
// the error net/http gives for http.Client.Timeout, it is a net.Error whose
// Timeout is true and it matches context.DeadlineExceeded; unlike it, it
// keeps the failure it wraps (a *bodyReadError, say) reachable.
type attemptTimeoutError struct{ err error }

func (e *attemptTimeoutError) Error() string   { return e.err.Error() + " (attempt timeout exceeded)" }
func (e *attemptTimeoutError) Unwrap() error   { return e.err }
func (e *attemptTimeoutError) Timeout() bool   { return true }
func (e *attemptTimeoutError) Temporary() bool { return true }
func (e *attemptTimeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded
}
