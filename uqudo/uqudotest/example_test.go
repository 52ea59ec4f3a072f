package uqudotest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// A fake on a loopback socket standing for all three uqudo services, a
// client for it, and a completed session whose signed result the client
// verifies against the fake's JWKS. In a test, use NewServer(t), which
// closes the server when the test ends.
func Example() {
	srv, err := uqudotest.Start()
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
	defer client.Close()
	ctx := context.Background()

	s, err := client.CreateSession(ctx, uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	if _, err := srv.CompleteSession(s.ID, nil); err != nil { // the phone finishes the flow
		fmt.Println("error:", err)
		return
	}
	res, err := client.Info(ctx, s.ID)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Documents[0].DocumentType)
	fmt.Println(srv.Calls(uqudotest.RouteToken), srv.Calls(uqudotest.RouteCreateSession), srv.Calls(uqudotest.RouteInfo))
	// Output:
	// PASSPORT
	// 1 1 1
}

// The fake behind an httpmock transport, with an injected 429: FastRetry
// makes the retry cost milliseconds despite the Retry-After of 30 s.
func Example_httpmock() {
	fake := uqudotest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	client, err := uqudo.NewClient(fake.Credentials(),
		uqudo.WithBaseURL("https://uqudo.test"),
		uqudo.WithHTTPClient(&http.Client{Transport: mt}),
		uqudotest.FastRetry())
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer client.Close()

	fake.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	start := time.Now()
	_, err = client.CreateSession(context.Background(), uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}})
	fmt.Println(err, time.Since(start) < time.Second)
	fmt.Println(fake.Calls(uqudotest.RouteToken), fake.Calls(uqudotest.RouteCreateSession), mt.GetTotalCallCount())
	// Output:
	// <nil> true
	// 1 2 3
}

// Injected failures: a session creation answers 503, then one loses its
// connection.
func ExampleFake_FailNext() {
	srv, err := uqudotest.Start()
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer srv.Close()
	client, _ := srv.NewClient(uqudo.WithRetry(0, 0, 0))
	defer client.Close()
	ctx := context.Background()
	data := uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}}

	srv.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Status: http.StatusServiceUnavailable})
	_, err = client.CreateSession(ctx, data)
	fmt.Println(errors.Is(err, uqudo.ErrServer))

	srv.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Reset: true})
	_, err = client.CreateSession(ctx, data)
	var te *uqudo.TransportError
	fmt.Println(errors.As(err, &te))
	fmt.Println(srv.Calls(uqudotest.RouteToken), srv.Calls(uqudotest.RouteCreateSession))
	// Output:
	// true
	// true
	// 1 2
}
