package idvtest_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

// The fake plugged into an httpmock transport: no socket, and an https base
// URL works since nothing goes on the wire.
func ExampleFake_Responder() {
	fake := idvtest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())

	client, err := idv.NewClient("https://idv.example.com", idv.Credentials{APIKey: idvtest.DefaultAPIKey},
		idv.WithHTTPClient(&http.Client{Transport: mt}))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	h, err := client.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "kyc", ExternalUserID: "user-42"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	rec, _ := fake.Session(h.Session.ID)
	fmt.Println(rec.ID, rec.WorkflowID, rec.Metadata["externalUserId"])
	fmt.Println(fake.Calls(idvtest.RouteCreateDevice), fake.Calls(idvtest.RouteStartSession))
	// Output:
	// session-1 kyc user-42
	// 1 1
}

// Injected failures: the next device creation answers 503.
func ExampleFake_FailNext() {
	fake := idvtest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	client, _ := idv.NewClient("https://idv.example.com", idv.Credentials{APIKey: idvtest.DefaultAPIKey},
		idv.WithHTTPClient(&http.Client{Transport: mt}))

	fake.FailNext(1, idvtest.Failure{Route: idvtest.RouteCreateDevice, Status: http.StatusServiceUnavailable})
	_, err := client.CreateEphemeralDevice(context.Background(), 0)
	fmt.Println(err)
	fmt.Println(idv.IsRetryable(err))
	// Output:
	// idv: POST /api/device/ephemeral: 503 service unavailable [INJECTED_FAILURE]: injected failure
	// true
}
