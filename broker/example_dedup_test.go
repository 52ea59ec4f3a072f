package broker_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
)

// Two replicas of a backend share a Store, so a webhook delivery replayed
// to the other replica is answered 200 without calling back again.
func ExampleNewStoreDeduper() {
	store := broker.NewMemoryStore(nil) // in production: the Store your replicas share (Redis)
	d, err := broker.NewStoreDeduper(store, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	calls := 0
	onEvent := func(_ context.Context, ev *entrupy.Event) error {
		calls++
		return nil
	}
	const secret = "whsec_example"
	replica := func() http.Handler {
		h, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: secret}, onEvent, entrupy.WithDedup(d))
		if err != nil {
			panic(err)
		}
		return h
	}
	a, b := replica(), replica()

	body := `{"id":"evt_42","event":"session.completed","data":{"entrupy_id":"ent_42"}}`
	deliver := func(h http.Handler) int {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		r := httptest.NewRequest(http.MethodPost, "/webhooks/entrupy", strings.NewReader(body))
		r.Header.Set(entrupy.SignatureHeader, hex.EncodeToString(mac.Sum(nil)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	fmt.Println("delivery:", deliver(a), "callbacks:", calls)
	fmt.Println("replay to the other replica:", deliver(b), "callbacks:", calls)
	// Output:
	// delivery: 200 callbacks: 1
	// replay to the other replica: 200 callbacks: 1
}
