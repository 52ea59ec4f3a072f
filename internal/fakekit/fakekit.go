// Package fakekit holds the mechanics the four vendor fakes (entrupytest,
// sentiancetest, idvtest, uqudotest) share, so that each of them has the
// same fault injection with the same meaning:
//
//   - [Faults]: a queue of injected failures (FailNext) and per-route call
//     counts (Calls), applied by [Faults.Wrap] or [Faults.Intercept] in
//     front of a fake's route handlers;
//   - [Responder]: an httpmock.Responder over any http.Handler, which turns
//     an injected reset into a connection error and an abandoned delay into
//     the request's context error;
//   - [Reset]: closes the connection of a request without an answer;
//   - [Listen]: an httptest.Server on loopback that reports an error instead
//     of panicking.
//
// The vendor fakes export their own Failure struct (same fields) and convert
// it to [Failure], so that `go doc` of each fake shows the fields.
package fakekit

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultStatus is the status of an injected failure whose Status is 0 (and
// that is not a Reset).
const DefaultStatus = http.StatusInternalServerError

// maxDrain caps the request body read before an injected failure.
const maxDrain = 16 << 20

// Message is the message of injected error bodies.
const Message = "injected failure"

// Failure is one injected failure.
type Failure struct {
	// Route is the route the failure applies to, in the fake's "METHOD
	// /pattern" form; "" applies it to the next request of any route that
	// takes failures for any route (see [Faults.Wrap]).
	Route string
	// Status is the HTTP status of the answer; 0 means [DefaultStatus].
	// Ignored when Reset is set.
	Status int
	// Code is the vendor-style error code put in the body; "" means the
	// fake's default code.
	Code string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds, rounded up.
	RetryAfter time.Duration
	// Delay, when positive, is waited before answering (or resetting). If the
	// request's context ends first, the connection is reset (over a socket)
	// or the Responder returns the context's error.
	Delay time.Duration
	// Reset closes the connection without an answer.
	Reset bool
}

// ErrorWriter writes a vendor-style error answer.
type ErrorWriter func(w http.ResponseWriter, status int, code, message string)

// Faults is a queue of injected failures and a per-route request count. It
// is safe for concurrent use. Build it with [NewFaults].
type Faults struct {
	defaultCode string
	write       ErrorWriter

	mu      sync.Mutex
	pending []Failure
	calls   map[string]int
}

// NewFaults returns an empty Faults whose failures answer through write,
// with defaultCode when a Failure has no Code.
func NewFaults(defaultCode string, write ErrorWriter) *Faults {
	return &Faults{defaultCode: defaultCode, write: write, calls: map[string]int{}}
}

// FailNext queues n copies of f, after the failures already queued. n <= 0
// instead cancels the pending failures of f.Route, or all pending failures
// when f.Route is "".
func (q *Faults) FailNext(n int, f Failure) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n <= 0 {
		if f.Route == "" {
			q.pending = nil
			return
		}
		kept := q.pending[:0]
		for _, p := range q.pending {
			if p.Route != f.Route {
				kept = append(kept, p)
			}
		}
		clear(q.pending[len(kept):])
		q.pending = kept
		return
	}
	for range n {
		q.pending = append(q.pending, f)
	}
}

// Pending returns how many injected failures are still queued.
func (q *Faults) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Calls returns how many requests reached route, failed ones included.
func (q *Faults) Calls(route string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls[route]
}

// take counts a request to route and removes and returns the first pending
// failure for it: one naming route, or one with no route when anyRoute.
func (q *Faults) take(route string, anyRoute bool) (Failure, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls[route]++
	for i, f := range q.pending {
		if f.Route == route || (f.Route == "" && anyRoute) {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			return f, true
		}
	}
	return Failure{}, false
}

// Intercept counts a request to route and, when a failure is pending for
// it, serves that failure and returns true; the caller then must not answer.
// anyRoute says whether failures without a Route apply to this route.
func (q *Faults) Intercept(w http.ResponseWriter, r *http.Request, route string, anyRoute bool) bool {
	f, ok := q.take(route, anyRoute)
	if !ok {
		return false
	}
	q.serve(w, r, f)
	return true
}

// Wrap returns h behind [Faults.Intercept] for route.
func (q *Faults) Wrap(route string, anyRoute bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !q.Intercept(w, r, route, anyRoute) {
			h.ServeHTTP(w, r)
		}
	})
}

// serve answers with f.
func (q *Faults) serve(w http.ResponseWriter, r *http.Request, f Failure) {
	// A failure never reaches the route's handler: read the body here, which
	// also lets a net/http server notice the client hanging up (it watches
	// the connection only once the body is read), so a delay ends with the
	// request's context.
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			abort(w, r.Context().Err())
			return
		}
	}
	if f.Reset {
		Reset(w)
		return
	}
	status := f.Status
	if status == 0 {
		status = DefaultStatus
	}
	code := f.Code
	if code == "" {
		code = q.defaultCode
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", RetryAfterValue(f.RetryAfter))
	}
	q.write(w, status, code, Message)
}

// RetryAfterValue formats d as a Retry-After value: whole seconds, rounded
// up.
func RetryAfterValue(d time.Duration) string {
	return strconv.FormatInt(int64((max(d, 0)+time.Second-1)/time.Second), 10)
}

// Reset ends the request without an answer. Over a socket it hijacks the
// connection and closes it (with SO_LINGER 0 on TCP, so the client sees a
// reset); under [Responder] it makes the responder return a connection reset
// error; elsewhere it panics with http.ErrAbortHandler, which net/http
// servers answer by dropping the connection.
func Reset(w http.ResponseWriter) { abort(w, nil) }

// abort is Reset, with the context error to report under Responder (nil: a
// reset).
func abort(w http.ResponseWriter, ctxErr error) {
	if rec, ok := w.(*recorder); ok {
		rec.abort(ctxErr)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
