package fakekit_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// A fake's route behind the shared fault queue: the next request fails
// with an injected 503, the one after is served.
func ExampleFaults() {
	faults := fakekit.NewFaults("injected_failure", func(w http.ResponseWriter, status int, code, message string) {
		http.Error(w, code+": "+message, status)
	})
	route := "GET /hello"
	srv, err := fakekit.Listen(faults.Wrap(route, true, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	faults.FailNext(1, fakekit.Failure{Route: route, Status: http.StatusServiceUnavailable})
	for range 2 {
		resp, err := http.Get(srv.URL + "/hello")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println("calls:", faults.Calls(route))
	// Output:
	// 503 injected_failure: injected failure
	//
	// 200 hello
	// calls: 2
}
