package brokertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

// startSentiance is the application's handler under test: it hands the
// signed-in user a Sentiance authentication code for the app's SDK. It
// depends on broker.Interface only.
func startSentiance(b broker.Interface) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-User") // the app's own authentication, simplified
		g, err := b.Start(r.Context(), broker.Request{Vendor: broker.Sentiance, UserID: user})
		if err != nil {
			status := http.StatusBadGateway
			if broker.IsRetryable(err) {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, "cannot start Sentiance", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"code": g.Token, "expires_at": g.ExpiresAt, "reused": g.Reused})
	})
}

// A test of an application's HTTP handler with brokertest. In a test
// function, brokertest.New(t) does what Start and Close do here.
func Example() {
	env, err := brokertest.Start(brokertest.WithTime(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer env.Close()
	h := startSentiance(env.Broker)

	call := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/sdk/sentiance/start", nil)
		req.Header.Set("X-User", "user-0001")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := call()
	var out struct {
		Code      string    `json:"code"`
		ExpiresAt time.Time `json:"expires_at"`
		Reused    bool      `json:"reused"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	_, restored, err := env.Sentiance.Redeem(out.Code) // the app's SDK redeems the code
	fmt.Println(rec.Code, out.ExpiresAt.Format(time.RFC3339), out.Reused, restored, err)

	rec = call()
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	fmt.Println(rec.Code, out.Reused, env.MintCalls(broker.Sentiance))

	// Sentiance is down: the handler answers 503, and the app may retry.
	_ = env.Broker.Invalidate(context.Background(), broker.Sentiance, "user-0001")
	env.Sentiance.FailNext(1, sentiancetest.Failure{Status: http.StatusServiceUnavailable})
	rec = call()
	fmt.Println(rec.Code, env.MintCalls(broker.Sentiance))
	// Output:
	// 200 2030-01-02T03:14:05Z false false <nil>
	// 200 true 1
	// 503 2
}
