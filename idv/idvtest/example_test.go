package idvtest_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

// A fake on a loopback socket, a client for it, and a browser following the
// handoff URL to the session's page. In a test, use NewServer(t), which
// closes the server when the test ends.
func Example() {
	srv, err := idvtest.Start()
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
	h, err := client.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "kyc", ExternalUserID: "user-42"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp, err := srv.Client().Get(h.URL)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	_ = resp.Body.Close()
	rec, _ := srv.Session(h.Session.ID)
	fmt.Println(resp.StatusCode, rec.WorkflowID, rec.Metadata["externalUserId"], rec.Opened)
	fmt.Println(srv.Calls(idvtest.RouteCreateDevice), srv.Calls(idvtest.RouteStartSession), srv.Calls(idvtest.RouteMobile))
	// Output:
	// 200 kyc user-42 1
	// 1 1 1
}

// The fake plugged into an httpmock transport: no socket, and an https base
// URL works since nothing goes on the wire. FastRetry makes an injected 429
// cost milliseconds despite its Retry-After of 30 s.
func Example_httpmock() {
	fake := idvtest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	client, err := idv.NewClient("https://idv.example.com", fake.Credentials(),
		idv.WithHTTPClient(&http.Client{Transport: mt}), idvtest.FastRetry())
	if err != nil {
		fmt.Println("error:", err)
		return
	}

	fake.FailNext(1, idvtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
	start := time.Now()
	h, err := client.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "kyc", ExternalUserID: "user-42"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(time.Since(start) < time.Second)
	rec, _ := fake.Session(h.Session.ID)
	fmt.Println(rec.ID, rec.WorkflowID, rec.Metadata["externalUserId"])
	fmt.Println(fake.Calls(idvtest.RouteCreateDevice), fake.Calls(idvtest.RouteStartSession), mt.GetTotalCallCount())
	// Output:
	// true
	// session-1 kyc user-42
	// 2 1 3
}

// Injected failures: the next device creation answers 503, which a create
// does not retry.
func ExampleFake_FailNext() {
	fake := idvtest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	client, _ := idv.NewClient("https://idv.example.com", fake.Credentials(),
		idv.WithHTTPClient(&http.Client{Transport: mt}), idvtest.FastRetry())

	fake.FailNext(1, idvtest.Failure{Route: idvtest.RouteCreateDevice, Status: http.StatusServiceUnavailable})
	_, err := client.CreateEphemeralDevice(context.Background(), 0)
	fmt.Println(err)
	fmt.Println(idv.IsRetryable(err), fake.Calls(idvtest.RouteCreateDevice))
	// Output:
	// idv: POST /api/device/ephemeral: 503 service unavailable [INJECTED_FAILURE]: injected failure
	// true 1
}
