// Command entrupy signs an Entrupy SDK authorization request with the raw
// entrupy client and prints the outcome: the signed request's length (never
// the signed request itself), the username and the expiry times.
//
// With ENTRUPY_API_TOKEN unset it starts the in-memory fake
// (entrupy/entrupytest) on loopback and runs against it, so it works
// without an Entrupy account:
//
//	go run ./examples/entrupy
//
// Environment:
//
//	ENTRUPY_API_TOKEN    organisation API token; unset = use the fake
//	ENTRUPY_BASE_URL     API base URL (default https://api.entrupy.com)
//	ENTRUPY_SDK_REQUEST  the sdk_authorization_request from the app's SDK
//	ENTRUPY_USER_ID      unique_user_id (8 to 40 of A-Za-z0-9@.+_-; default demo-user-0001)
//	ENTRUPY_EMAIL        the user's e-mail (default demo@example.com)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "entrupy example:", err)
		os.Exit(1)
	}
}

// run does the work of main; getenv is os.Getenv outside tests.
func run(ctx context.Context, w io.Writer, getenv func(string) string) error {
	token := getenv("ENTRUPY_API_TOKEN")
	var opts []entrupy.Option
	if token == "" {
		srv, err := entrupytest.Start()
		if err != nil {
			return err
		}
		defer srv.Close()
		token = entrupytest.DefaultAPIToken
		opts = append(opts, entrupy.WithBaseURL(srv.URL))
		fmt.Fprintln(w, "ENTRUPY_API_TOKEN is not set: using the in-memory fake Entrupy on", srv.URL)
	} else if base := getenv("ENTRUPY_BASE_URL"); base != "" {
		opts = append(opts, entrupy.WithBaseURL(base))
	}
	client, err := entrupy.NewClient(entrupy.Credentials{APIToken: token}, opts...)
	if err != nil {
		return err
	}
	defer client.Close()

	params := entrupy.AuthorizeUserParams{
		SDKAuthorizationRequest: orDefault(getenv("ENTRUPY_SDK_REQUEST"), "demo-sdk-authorization-request"),
		UniqueUserID:            orDefault(getenv("ENTRUPY_USER_ID"), "demo-user-0001"),
		Email:                   orDefault(getenv("ENTRUPY_EMAIL"), "demo@example.com"),
	}
	fmt.Fprintln(w, "request:", params) // the SDK request prints as [REDACTED]
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tok, err := client.AuthorizeUser(ctx, params)
	if err != nil {
		return err
	}
	now := time.Now()
	fmt.Fprintf(w, "signed request: %d bytes (not shown)\n", len(tok.SignedRequest))
	if tok.Username != "" {
		fmt.Fprintln(w, "username:", tok.Username)
	}
	fmt.Fprintf(w, "expires at: %s (in %s)\n", tok.ExpiresAt.Format(time.RFC3339), tok.ExpiresAt.Sub(now).Round(time.Minute))
	fmt.Fprintf(w, "refresh after: %s\n", tok.SoftExpiresAt.Format(time.RFC3339))
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
