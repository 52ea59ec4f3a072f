package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// A vendor client sends every call through Client.Do; non-2xx answers come
// back as *APIError unwrapping to a shared sentinel.
func ExampleClient_Do() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token secret-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.EscapedPath() {
		case "/v2/items/a%2Fb":
			fmt.Fprint(w, `{"id":"a/b","name":"bag"}`)
		default:
			w.Header().Set("X-Request-Id", "req-42")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"code":"NOT_FOUND","message":"no such item"}`)
		}
	}))
	defer srv.Close()

	cfg := httpx.NewConfig("acme", srv.URL)
	cfg.Auth = func(h http.Header) { h.Set("Authorization", "Token secret-token") }
	cfg.Secrets = []string{"secret-token"}
	c, err := httpx.New(cfg)
	if err != nil {
		panic(err)
	}

	var item struct{ ID, Name string }
	_, err = c.Do(context.Background(), &httpx.Request{Path: httpx.Path("v2", "items", "a/b")}, &item)
	fmt.Println(item.ID, item.Name, err)

	_, err = c.Do(context.Background(), &httpx.Request{Path: httpx.Path("v2", "items", "zzz")}, &item)
	fmt.Println(err)
	fmt.Println(errors.Is(err, httpx.ErrNotFound), httpx.IsRetryable(err))
	// Output:
	// a/b bag <nil>
	// acme: GET /v2/items/zzz: 404 not found [NOT_FOUND]: no such item (request id req-42)
	// true false
}

func ExampleSecret() {
	key := httpx.Secret("sk_live_123456")
	fmt.Printf("%v %+v %#v %s\n", key, key, key, key)
	fmt.Println(len(key.Value()))
	// Output:
	// [REDACTED] [REDACTED] [REDACTED] [REDACTED]
	// 14
}
