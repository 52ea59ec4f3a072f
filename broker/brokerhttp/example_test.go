package brokerhttp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokerhttp"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

// The app asks the backend for a Sentiance authentication code: the user
// comes from the backend's own authentication (here a demo cookie), a double
// tap gets the same code, and a request without a user gets a 401.
func Example() {
	fake, err := sentiancetest.Start() // the in-memory Sentiance API
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	client, err := fake.NewClient()
	if err != nil {
		panic(err)
	}
	defer client.Close()
	b, err := broker.New(broker.WithSentiance(client))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	h := brokerhttp.Handler(b, brokerhttp.WithUser(func(r *http.Request) (string, error) {
		c, err := r.Cookie("demo_user") // your session check goes here
		if err != nil {
			return "", err
		}
		return c.Value, nil
	}))
	mux := http.NewServeMux()
	mux.Handle("/v1/", http.StripPrefix("/v1", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, user := range []string{"customer-1234", "customer-1234", ""} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/sentiance/start", strings.NewReader(`{}`))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if user != "" {
			req.AddCookie(&http.Cookie{Name: "demo_user", Value: user})
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		var out struct {
			broker.Grant
			Error *struct{ Code string } `json:"error"`
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if err != nil {
			panic(err)
		}
		if out.Error != nil {
			fmt.Println(res.StatusCode, res.Header.Get("Cache-Control"), out.Error.Code)
			continue
		}
		fmt.Println(res.StatusCode, res.Header.Get("Cache-Control"), out.Vendor, out.UserID, out.Token != "", out.PlatformURL != "", out.Reused)
	}
	// Output:
	// 200 no-store sentiance customer-1234 true true false
	// 200 no-store sentiance customer-1234 true true true
	// 401 no-store unauthenticated
}
