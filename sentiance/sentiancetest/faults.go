package sentiancetest

import (
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// Routes of the fake, as "METHOD /pattern", for [Fake.Calls] and
// [Failure.Route].
const (
	// RouteCreateAuthCode is sentiance.Client.CreateAuthCode's route.
	RouteCreateAuthCode = "POST /users/auth-code"
	// RouteLinkInstall is sentiance.Client.LinkInstall's route (legacy linking).
	RouteLinkInstall = "POST /v2/users/{install_id}/link"
	// RouteDeleteUser is sentiance.Client.DeleteUser's route.
	RouteDeleteUser = "DELETE /users/{user_id}"
)

// CodeInjected is the errorCode of a failure injected by [Fake.FailNext]
// whose Failure.Code is empty.
const CodeInjected = "INJECTED_FAILURE"

// Failure describes an injected failure, for [Fake.FailNext].
type Failure struct {
	// Route is the route that fails (a Route* constant); "" means the next
	// request to any route.
	Route string
	// Status is the HTTP status of the answer; 0 means 500. Ignored when
	// Reset is set.
	Status int
	// Code is the errorCode of Sentiance's error body {"message",
	// "errorCode", "ref"}; "" means [CodeInjected].
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
// before the key check. Failures queue up in order, each used once. n <= 0
// cancels the pending failures for f.Route ("": all pending failures).
func (f *Fake) FailNext(n int, fl Failure) { f.faults.FailNext(n, fakekit.Failure(fl)) }

// Calls returns how many requests reached route (a Route* constant),
// including refused and failed ones.
func (f *Fake) Calls(route string) int { return f.faults.Calls(route) }

// Responder returns an httpmock.Responder that answers from the fake without
// a socket, honouring injected failures (a Reset becomes a connection-reset
// error, a Delay watches the request's context):
//
//	mt := httpmock.NewMockTransport()
//	mt.RegisterNoResponder(fake.Responder())
//	client, _ := sentiance.NewClient(fake.Credentials(),
//		sentiance.WithBaseURL("https://sentiance.test"),
//		sentiance.WithHTTPClient(&http.Client{Transport: mt}),
//		sentiancetest.FastRetry())
//
// The fake serves its routes at the root of the URL (no base path).
func (f *Fake) Responder() httpmock.Responder { return fakekit.Responder(f) }
