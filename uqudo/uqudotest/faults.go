package uqudotest

import (
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// Routes of the fake, as "METHOD /pattern", for [Fake.Calls] and
// [Failure.Route]. The fake ignores whatever precedes "/api/" in a path, so
// these match under a base URL with a path too.
const (
	// RouteToken is the access-token route (auth.uqudo.io), which
	// uqudo.Client calls when it needs a token.
	RouteToken = "POST /api/oauth/token"
	// RouteCreateSession is uqudo.Client.CreateSession's route (idws.uqudo.io).
	RouteCreateSession = "POST /api/v1/session"
	// RouteDeleteSession is uqudo.Client.DeleteSession's route (idws.uqudo.io).
	RouteDeleteSession = "DELETE /api/v1/session/{qrCodeText}"
	// RouteInfo is uqudo.Client.Info's route (id.uqudo.io).
	RouteInfo = "GET /api/v1/info/{sessionId}"
	// RouteDeleteInfo is uqudo.Client.DeleteInfo's route (id.uqudo.io).
	RouteDeleteInfo = "DELETE /api/v1/info/{sessionId}"
	// RouteJWKS is the key set uqudo.Verifier downloads (id.uqudo.io).
	RouteJWKS = "GET /api/.well-known/jwks.json"
)

// CodeInjected is the "error" of a failure injected by [Fake.FailNext]
// whose Failure.Code is empty.
const CodeInjected = "injected_failure"

// Failure describes an injected failure, for [Fake.FailNext].
type Failure struct {
	// Route is the route that fails (a Route* constant); "" means the next
	// request to any route.
	Route string
	// Status is the HTTP status of the answer; 0 means 500. Ignored when
	// Reset is set.
	Status int
	// Code is the "error" of the error body {"error", "message"}; "" means
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

// Responder returns an httpmock.Responder that serves requests through the
// fake without a socket, honouring injected failures (a Reset becomes a
// connection-reset error, a Delay watches the request's context):
// mt.RegisterNoResponder(fake.Responder()).
func (f *Fake) Responder() httpmock.Responder { return fakekit.Responder(f) }
