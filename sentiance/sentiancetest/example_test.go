package sentiancetest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

// A fake on a loopback socket, and a client for it; Redeem plays the SDK.
// In a test, use NewServer(t), which closes the server when the test ends.
func Example() {
	srv, err := sentiancetest.Start()
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
	ctx := context.Background()
	code, err := client.CreateAuthCode(ctx, "user-42")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	first, restored, _ := srv.Redeem(code.Code)
	fmt.Println(restored)
	code, _ = client.CreateAuthCode(ctx, "user-42")
	again, restored, _ := srv.Redeem(code.Code)
	fmt.Println(restored, again == first)
	fmt.Println(srv.Calls(sentiancetest.RouteCreateAuthCode))
	// Output:
	// false
	// true true
	// 2
}

// The fake behind an httpmock transport, with an injected 429: FastRetry
// makes the retry cost milliseconds despite the Retry-After of 30 s.
func Example_httpmock() {
	fake := sentiancetest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	client, err := sentiance.NewClient(fake.Credentials(),
		sentiance.WithBaseURL("https://sentiance.test"),
		sentiance.WithHTTPClient(&http.Client{Transport: mt}),
		sentiancetest.FastRetry())
	if err != nil {
		fmt.Println("error:", err)
		return
	}

	fake.FailNext(1, sentiancetest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	start := time.Now()
	_, err = client.CreateAuthCode(context.Background(), "user-42")
	fmt.Println(err, time.Since(start) < time.Second)
	fmt.Println(fake.Calls(sentiancetest.RouteCreateAuthCode), mt.GetTotalCallCount())
	// Output:
	// <nil> true
	// 2 2
}

// Injected failures: a vendor error code for one route, then a connection
// reset.
func ExampleFake_FailNext() {
	srv, err := sentiancetest.Start()
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer srv.Close()
	client, _ := srv.NewClient(sentiance.WithRetry(0, 0, 0))
	ctx := context.Background()

	srv.FailNext(1, sentiancetest.Failure{Route: sentiancetest.RouteLinkInstall, Status: http.StatusConflict,
		Code: sentiance.CodeInstallLinkedToOtherUser})
	_, err = client.LinkInstall(ctx, "install-1", "user-42")
	fmt.Println(sentiance.ErrorCode(err))

	srv.FailNext(1, sentiancetest.Failure{Reset: true})
	_, err = client.CreateAuthCode(ctx, "user-42")
	var te *sentiance.TransportError
	fmt.Println(errors.As(err, &te))
	fmt.Println(srv.Calls(sentiancetest.RouteLinkInstall), srv.Calls(sentiancetest.RouteCreateAuthCode))
	// Output:
	// INSTALL_LINKED_TO_OTHER_USER
	// true
	// 1 1
}
