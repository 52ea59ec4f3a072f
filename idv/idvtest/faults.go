package idvtest

import (
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// Routes of the fake, as "METHOD /pattern", for [Fake.Calls] and
// [Failure.Route].
const (
	// RouteCreateDevice is idv.Client.CreateEphemeralDevice's route.
	RouteCreateDevice = "POST /api/device/ephemeral"
	// RouteStartSession is idv.Client.StartSession's route.
	RouteStartSession = "POST /api/sessions"
	// RouteGetSession is idv.Client.GetSession's route.
	RouteGetSession = "GET /api/sessions/{id}"
	// RouteCreateDeepLink is idv.Client.CreateDeepLink's route.
	RouteCreateDeepLink = "POST /api/v1/deeplink"
	// RouteCapture is the handoff page a handoff URL opens (a browser's
	// route, not the client's).
	RouteCapture = "GET /capture"
	// RouteMobile is the mobile page /capture redirects to (a browser's
	// route, not the client's).
	RouteMobile = "GET /mobile"
)

// CodeInjected is the code of a failure injected by [Fake.FailNext] whose
// Failure.Code is empty.
const CodeInjected = "INJECTED_FAILURE"

// Failure describes an injected failure, for [Fake.FailNext].
type Failure struct {
	// Route is the route that fails (a Route* constant); "" means the next
	// request to any /api route (the handoff pages RouteCapture and
	// RouteMobile fail only when named).
	Route string
	// Status is the HTTP status of the answer; 0 means 500. Ignored when
	// Reset is set.
	Status int
	// Code is the "code" of the error body {"code", "message"}; "" means
	// [CodeInjected].
	Code string
	// RetryAfter, when positive, is sent as Retry-After, in whole seconds
	// rounded up.
	RetryAfter time.Duration
	// Delay, when positive, is waited before answering (or resetting); if
	// the request's context ends first, the request fails with that
	// context's error and no answer.
	Delay time.Duration
	// Reset closes the connection without an answer (over a socket, a TCP
	// reset; with [Fake.Responder], an error that matches
	// syscall.ECONNRESET).
	Reset bool
}

// FailNext makes the next n requests that f applies to fail as f describes,
// before any credential check. Failures queue up in order, each used once.
// n <= 0 cancels the pending failures for f.Route ("": all pending
// failures).
func (f *Fake) FailNext(n int, fl Failure) { f.faults.FailNext(n, fakekit.Failure(fl)) }

// Calls returns how many requests reached route (a Route* constant),
// including refused and failed ones.
func (f *Fake) Calls(route string) int { return f.faults.Calls(route) }

// Responder returns an httpmock.Responder that serves requests with the
// fake, without a socket, honouring injected failures (a Reset becomes a
// connection-reset error, a Delay watches the request's context):
// mt.RegisterNoResponder(fake.Responder()), or register it for a URL
// pattern. The fake serves its routes at the root of the URL.
func (f *Fake) Responder() httpmock.Responder { return fakekit.Responder(f) }
