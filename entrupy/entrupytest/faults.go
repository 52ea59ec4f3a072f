package entrupytest

import (
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// Routes of the fake, as "METHOD /pattern", for [Fake.Calls] and
// [Failure.Route]. They equal the entrupy.Route* constants.
const (
	// RouteAuthorizeUser is entrupy.Client.AuthorizeUser's route.
	RouteAuthorizeUser = "POST /v2/integrations/authorize-user"
	// RouteGetAuthentication is entrupy.Client.GetAuthentication's route.
	RouteGetAuthentication = "GET /v2/authentications/{entrupy_id}"
	// RouteLookupAuthentication is entrupy.Client.LookupAuthentication's route.
	RouteLookupAuthentication = "GET /v2/lookup/authentications/{customer_item_id}"
	// RouteListSupportMessages is entrupy.Client.ListSupportMessages's route.
	RouteListSupportMessages = "GET /v2/authentications/{entrupy_id}/support/messages"
	// RoutePostSupportMessage is entrupy.Client.PostSupportMessage's route.
	RoutePostSupportMessage = "POST /v2/authentications/{entrupy_id}/support/messages"
	// RouteEscalate is entrupy.Client.Escalate's route.
	RouteEscalate = "POST /v2/support/escalations"
)

// Failure describes an injected failure, for [Fake.FailNext].
type Failure struct {
	// Route is the route that fails (a Route* constant); "" means the next
	// request to any route.
	Route string
	// Status is the HTTP status of the answer; 0 means 500. Ignored when
	// Reset is set.
	Status int
	// Code is the "code" of the error body {"code": ..., "detail": ...};
	// "" means [CodeInjected].
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
// before the auth check. Failures queue up in order, each used once. n <= 0
// cancels the pending failures for f.Route ("": all pending failures).
func (f *Fake) FailNext(n int, fl Failure) { f.faults.FailNext(n, fakekit.Failure(fl)) }

// Calls returns how many requests reached route (a Route* constant),
// including those answered with an injected failure or another error.
func (f *Fake) Calls(route string) int { return f.faults.Calls(route) }

// Responder returns an httpmock.Responder that answers requests with the
// fake, without a socket, honouring injected failures (a Reset becomes a
// connection-reset error, a Delay watches the request's context):
//
//	mt := httpmock.NewMockTransport()
//	mt.RegisterNoResponder(fake.Responder())
//
// The fake serves its routes at the root of the URL: give the client a base
// URL without a path.
func (f *Fake) Responder() httpmock.Responder { return fakekit.Responder(f) }
