// Package sentiancetest is an in-memory fake of the Sentiance API for tests
// and demos of code built on package sentiance.
//
// [New] returns a [Fake], an http.Handler serving POST /users/auth-code,
// POST /v2/users/{install_id}/link and DELETE /users/{user_id} at the root of
// its URL; [NewServer] runs one on a loopback httptest server for the length
// of a test (and [StartServer] for programs), [Server.NewClient] returns a
// sentiance client pointed at it with its key, and [Fake.Responder] plugs it
// into an httpmock.MockTransport without a socket:
//
//	srv := sentiancetest.NewServer(t, sentiancetest.WithClock(clock))
//	client, err := srv.NewClient()
//
// The fake checks "Authorization: Bearer <key>" (the key is [DefaultAPIKey]
// unless [WithAPIKey] sets another), issues 64-hex-digit codes
// that expire after [DefaultCodeTTL] (or [WithCodeTTL], read against
// [WithClock]), and answers errors in Sentiance's {"message", "errorCode",
// "ref"} format. As with Sentiance, a code creates or restores the user only
// when the SDK redeems it: [Fake.Redeem] stands in for the SDK, and a second
// code for an external id that is already linked restores the same user
// ([Fake.UserFor] shows the link). [Fake.FailNext] and [Fake.FailNextWith]
// inject failures (with an errorCode or Retry-After), [Fake.Calls] counts
// requests per route, and [BuildFirehoseDelivery] and [NewFirehoseRequest]
// make the gzip deliveries Sentiance posts to a Firehose endpoint.
//
// Statuses Sentiance does not document are the fake's choice: 409 for
// INSTALL_LINKED_TO_OTHER_USER, 400 for USERLINKING_NOT_CONFIGURED, 404 for
// USER_NOT_FOUND and 204 for a deleted user.
package sentiancetest
