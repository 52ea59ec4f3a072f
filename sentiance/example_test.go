package sentiance_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

func ExampleNewClient() {
	client, err := sentiance.NewClient(sentiance.Credentials{APIKey: "my-secret-api-key"},
		sentiance.WithRegion(sentiance.RegionUS),
		sentiance.WithRetry(2, 100*time.Millisecond, 2*time.Second),
		sentiance.WithUserAgent("myapp/1.0"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fmt.Println(client.BaseURL())
	fmt.Println(client) // never the key
	// The app passes this to the Sentiance SDK's user creation with the code.
	fmt.Println(client.PlatformURL())
	// Output:
	// https://api.p15.sentiance.com/
	// sentiance.Client{base: https://api.p15.sentiance.com/}
	// https://api.p15.sentiance.com
}

func ExampleClient_CreateAuthCode() {
	// A fake Sentiance on loopback, with a fixed clock.
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	fake, err := sentiancetest.Start(sentiancetest.WithAPIKey("my-secret-api-key"),
		sentiancetest.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	defer fake.Close()

	client, err := sentiance.NewClient(sentiance.Credentials{APIKey: "my-secret-api-key"},
		sentiance.WithBaseURL(fake.URL), sentiance.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	code, err := client.CreateAuthCode(context.Background(), "user-42")
	if err != nil {
		log.Fatal(err)
	}
	// Hand code (JSON: authentication_code, expires_at) to the app; never log it.
	fmt.Println(code)
	fmt.Println("code length:", len(code.Code))
	fmt.Println("valid for:", code.ExpiresAt.Sub(now))
	fmt.Println("expired now:", code.Expired(client.Now()))
	// Output:
	// sentiance.AuthCode{Code: [REDACTED], ExpiresAt: 2030-01-02T03:14:05Z}
	// code length: 64
	// valid for: 10m0s
	// expired now: false
}

// Calling CreateAuthCode again for an external id that is already linked
// restores the same Sentiance user when the app's SDK redeems the code.
func ExampleClient_CreateAuthCode_restore() {
	fake, err := sentiancetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer fake.Close()
	client, err := fake.NewClient() // the fake's URL and key (sentiancetest.DefaultAPIKey)
	if err != nil {
		log.Fatal(err)
	}
	var users []string
	for range 2 {
		code, err := client.CreateAuthCode(context.Background(), "user-42")
		if err != nil {
			log.Fatal(err)
		}
		// The SDK on the phone redeems the code; the fake stands in for it.
		user, restored, err := fake.Redeem(code.Code)
		if err != nil {
			log.Fatal(err)
		}
		users = append(users, user)
		fmt.Println("restored existing user:", restored)
	}
	fmt.Println("same Sentiance user:", users[0] == users[1])
	// Output:
	// restored existing user: false
	// restored existing user: true
	// same Sentiance user: true
}

func ExampleErrorCode() {
	fake, err := sentiancetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer fake.Close()
	client, err := fake.NewClient() // the fake's URL and key (sentiancetest.DefaultAPIKey)
	if err != nil {
		log.Fatal(err)
	}
	err = client.DeleteUser(context.Background(), "no-such-user")
	switch sentiance.ErrorCode(err) {
	case sentiance.CodeUserNotFound:
		fmt.Println("already gone")
	case "":
		fmt.Println("no Sentiance error code:", err)
	default:
		fmt.Println("failed:", err)
	}
	fmt.Println(errors.Is(err, sentiance.ErrNotFound))
	// Output:
	// already gone
	// true
}

func ExampleClient_LinkInstall() {
	fake, err := sentiancetest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer fake.Close()
	client, err := fake.NewClient() // the fake's URL and key (sentiancetest.DefaultAPIKey)
	if err != nil {
		log.Fatal(err)
	}
	user, err := client.LinkInstall(context.Background(), "install-1", "user-42")
	if err != nil {
		log.Fatal(err)
	}
	linked, _ := fake.UserFor("user-42")
	fmt.Println(user.ID == linked)

	_, err = client.LinkInstall(context.Background(), "install-1", "user-43")
	fmt.Println(sentiance.ErrorCode(err) == sentiance.CodeInstallLinkedToOtherUser)
	// Output:
	// true
	// true
}

func ExampleNewFirehoseHandler() {
	cfg := sentiance.FirehoseConfig{AppID: "my-app-id", Username: "sentiance", Password: "firehose-password"}
	handler, err := sentiance.NewFirehoseHandler(cfg, func(ctx context.Context, msgs []sentiance.Message) error {
		for _, m := range msgs {
			// m.UserID is the Sentiance user id; map it to your user with the
			// Sentiance user id your app reported after user creation.
			fmt.Printf("%s for %s at %s (test: %v)\n", m.Type, m.UserID, m.Timestamp.Format(time.RFC3339), sentiance.IsTestDelivery(ctx))
		}
		return nil // 200 only now; an error (or a panic) answers 500 and Sentiance delivers again
	}, sentiance.WithWebhookMaxBodySize(4<<20))
	if err != nil {
		log.Fatal(err) // a missing password or callback is refused here, at start-up
	}
	srv := httptest.NewServer(handler) // in production: http.Handle("/sentiance/firehose", handler)
	defer srv.Close()

	// What Sentiance sends: a gzip delivery with Basic auth.
	body, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{
		Type:      "TimelineEvent",
		Timestamp: time.Date(2021, 2, 3, 14, 32, 3, 0, time.UTC),
		UserID:    "5f1e2d3c",
	})
	if err != nil {
		log.Fatal(err)
	}
	req, err := sentiancetest.NewFirehoseRequest(context.Background(), srv.URL, cfg, body)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)

	// A wrong password is refused.
	req, _ = sentiancetest.NewFirehoseRequest(context.Background(), srv.URL, sentiance.FirehoseConfig{Username: "sentiance", Password: "guess"}, body)
	resp, err = srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode == http.StatusUnauthorized)
	// Output:
	// TimelineEvent for 5f1e2d3c at 2021-02-03T14:32:03Z (test: false)
	// 200
	// true
}
