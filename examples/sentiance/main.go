// Command sentiance shows the raw Sentiance client: it asks for an
// authentication code twice for the same external id and shows that both
// lead to the same Sentiance user.
//
// With SENTIANCE_API_KEY set it calls Sentiance (SENTIANCE_REGION eu, us or in
// picks the host and the SDK platform URL printed for the app,
// SENTIANCE_BASE_URL overrides the API host); each code would create or
// restore the user when the app's SDK redeems it. Without a key it starts the
// in-memory fake (package sentiancetest) on loopback and redeems the codes
// there, as the SDK would. SENTIANCE_EXTERNAL_ID sets the id (default
// demo-user-1). Codes are secrets: only their length and expiry are printed.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "sentiance example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, getenv func(string) string) error {
	externalID := getenv("SENTIANCE_EXTERNAL_ID")
	if externalID == "" {
		externalID = "demo-user-1"
	}
	key := getenv("SENTIANCE_API_KEY")
	opts := []sentiance.Option{sentiance.WithUserAgent("sdkbroker-example/1")}
	var (
		fake   *sentiancetest.Server
		client *sentiance.Client
		err    error
	)
	if key == "" {
		// The fake accepts sentiancetest.DefaultAPIKey; NewClient uses it.
		fake, err = sentiancetest.Start()
		if err != nil {
			return err
		}
		defer fake.Close()
		fmt.Fprintln(out, "SENTIANCE_API_KEY is not set: using the local fake Sentiance")
		client, err = fake.NewClient(opts...)
	} else {
		if r := getenv("SENTIANCE_REGION"); r != "" {
			opts = append(opts, sentiance.WithRegion(sentiance.Region(r)))
		}
		if u := getenv("SENTIANCE_BASE_URL"); u != "" {
			opts = append(opts, sentiance.WithBaseURL(u))
		}
		client, err = sentiance.NewClient(sentiance.Credentials{APIKey: key}, opts...)
	}
	if err != nil {
		return err
	}
	defer client.Close()
	fmt.Fprintln(out, "API:", client.BaseURL())
	// The app passes the platform URL to the SDK's user creation with the code.
	fmt.Fprintln(out, "SDK platform URL:", client.PlatformURL())

	var users []string
	for i := 1; i <= 2; i++ {
		code, err := client.CreateAuthCode(ctx, externalID)
		if err != nil {
			return fmt.Errorf("code %d: %w", i, err)
		}
		fmt.Fprintf(out, "code %d for %q: %d characters, expires %s (in %s)\n",
			i, externalID, len(code.Code), code.ExpiresAt.UTC().Format(time.RFC3339), time.Until(code.ExpiresAt).Round(time.Minute))
		if fake == nil {
			continue // the app's SDK would redeem the code
		}
		user, restored, err := fake.Redeem(code.Code)
		if err != nil {
			return fmt.Errorf("redeem code %d: %w", i, err)
		}
		users = append(users, user)
		fmt.Fprintf(out, "  the SDK redeemed it: Sentiance user %s (restored existing user: %v)\n", user, restored)
	}
	if fake != nil {
		fmt.Fprintln(out, "same Sentiance user both times:", users[0] == users[1])
	} else {
		fmt.Fprintln(out, "both codes lead to the same Sentiance user once the SDK redeems them")
	}
	return nil
}
