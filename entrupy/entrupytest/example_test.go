package entrupytest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
)

// A fake on a loopback socket, and a client for it. In a test, use
// NewServer(t), which closes the server when the test ends.
func Example() {
	srv, err := entrupytest.Start(entrupytest.WithClock(func() time.Time {
		return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	}))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer srv.Close()
	client, err := srv.NewClient()
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	tok, err := client.AuthorizeUser(context.Background(), entrupy.AuthorizeUserParams{
		SDKAuthorizationRequest: "request-from-the-sdk", UniqueUserID: "user-0042", Email: "ann@example.com",
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	uid, _ := srv.SignedRequestUser(tok.SignedRequest)
	fmt.Println(uid, tok.ExpiresAt.Format(time.RFC3339))
	fmt.Println(srv.Calls(entrupytest.RouteAuthorizeUser))
	// Output:
	// user-0042 2030-01-03T03:04:05Z
	// 1
}

// The fake behind an httpmock transport, with an injected 429: FastRetry
// makes the retry cost milliseconds despite the Retry-After of 30 s.
func Example_httpmock() {
	fake := entrupytest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	client, err := entrupy.NewClient(fake.Credentials(),
		entrupy.WithBaseURL("https://entrupy.test"),
		entrupy.WithHTTPClient(&http.Client{Transport: mt}),
		entrupytest.FastRetry())
	if err != nil {
		fmt.Println("error:", err)
		return
	}

	fake.FailNext(1, entrupytest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	start := time.Now()
	_, err = client.AuthorizeUser(context.Background(), entrupy.AuthorizeUserParams{
		SDKAuthorizationRequest: "request-from-the-sdk", UniqueUserID: "user-0042", Email: "ann@example.com",
	})
	fmt.Println(err, time.Since(start) < time.Second)
	fmt.Println(fake.Calls(entrupytest.RouteAuthorizeUser), mt.GetTotalCallCount())
	// Output:
	// <nil> true
	// 2 2
}

// Injected failures: a 503 for one route, then a connection reset.
func ExampleFake_FailNext() {
	srv, err := entrupytest.Start()
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer srv.Close()
	client, _ := srv.NewClient(entrupy.WithRetry(0, 0, 0))
	ctx := context.Background()
	srv.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_1"})

	srv.FailNext(1, entrupytest.Failure{Route: entrupytest.RouteGetAuthentication, Status: http.StatusServiceUnavailable})
	_, err = client.GetAuthentication(ctx, "ent_1")
	fmt.Println(err)

	srv.FailNext(1, entrupytest.Failure{Reset: true})
	_, err = client.GetAuthentication(ctx, "ent_1")
	var te *entrupy.TransportError
	fmt.Println(errors.As(err, &te), entrupy.IsRetryable(err))
	fmt.Println(srv.Calls(entrupytest.RouteGetAuthentication))
	// Output:
	// entrupy: GET /v2/authentications/ent_1: 503 service unavailable [injected_failure]: injected failure
	// true true
	// 2
}
