// Package sentiancetest is an in-memory fake of the Sentiance API for tests
// and demos of code built on package sentiance.
//
// [New] returns a [Fake], an http.Handler serving POST /users/auth-code,
// POST /v2/users/{install_id}/link and DELETE /users/{user_id} at the root of
// its URL (the Route* constants). It checks "Authorization: Bearer <key>"
// (the key is [DefaultAPIKey] unless [WithAPIKey] sets another;
// [Fake.Credentials] returns it), issues 64-hex-digit codes that expire after
// [DefaultCodeTTL] (or [WithCodeTTL], read against [WithClock]), and answers
// errors in Sentiance's {"message", "errorCode", "ref"} format. As with
// Sentiance, a code creates or restores the user only when the SDK redeems
// it: [Fake.Redeem] stands in for the SDK, and a second code for an external
// id that is already linked restores the same user ([Fake.UserFor] shows the
// link).
//
// The four fake packages (entrupytest, sentiancetest, idvtest, uqudotest)
// have the same shape. In tests, [NewServer] serves a fake on a loopback
// socket closed at the end of the test ([Start] is the twin for programs),
// and [Server.NewClient] returns a sentiance client pointed at it, with the
// fake's credentials and [FastRetry]:
//
//	srv := sentiancetest.NewServer(t)
//	client, err := srv.NewClient()
//
// Without a socket, [Fake.Responder] plugs the fake into httpmock; give the
// client [FastRetry] so that injected 429s cost milliseconds, not seconds:
//
//	fake := sentiancetest.New()
//	mt := httpmock.NewMockTransport()
//	mt.RegisterNoResponder(fake.Responder())
//	client, err := sentiance.NewClient(fake.Credentials(),
//		sentiance.WithBaseURL("https://sentiance.test"),
//		sentiance.WithHTTPClient(&http.Client{Transport: mt}),
//		sentiancetest.FastRetry())
//
// [Fake.FailNext] injects failures (a status with Sentiance's error body and
// an optional Retry-After, a delay, or a connection reset), and [Fake.Calls]
// counts requests per route. [BuildFirehoseDelivery] and
// [NewFirehoseRequest] make the gzip deliveries Sentiance posts to a
// Firehose endpoint.
//
// Statuses Sentiance does not document are the fake's choice: 409 for
// INSTALL_LINKED_TO_OTHER_USER, 400 for USERLINKING_NOT_CONFIGURED, 404 for
// USER_NOT_FOUND and 204 for a deleted user.
package sentiancetest
