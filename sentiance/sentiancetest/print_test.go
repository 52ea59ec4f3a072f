package sentiancetest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

// A Fake and its Server print and log a description under every verb,
// never the credentials the fake accepts nor a token it issued (found by
// the root leak sweep, issue 16: %+v, %#v and %d of a Fake, and %s of a
// Server through its Fake, printed them).
func TestFake_NeverPrintsSecrets(t *testing.T) {
	const secret = "cred-SECRET-7f3a91"
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(secret))
	c, err := srv.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	code, err := c.CreateAuthCode(context.Background(), "user-0001")
	if err != nil {
		t.Fatal(err)
	}
	issued := code.Code
	secrets := []string{secret, issued}

	if got, want := srv.Fake.String(), "sentiancetest.Fake"; got != want {
		t.Errorf("Fake.String() = %q, want %q", got, want)
	}
	if got, want := srv.String(), "sentiancetest.Server{URL:"+srv.URL+"}"; got != want {
		t.Errorf("Server.String() = %q, want %q", got, want)
	}
	if got, want := (*sentiancetest.Fake)(nil).String(), "sentiancetest.Fake(nil)"; got != want {
		t.Errorf("nil Fake.String() = %q, want %q", got, want)
	}
	for _, v := range []any{srv.Fake, srv, *srv, struct{ F *sentiancetest.Fake }{srv.Fake}, []any{srv}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("fmt %s of %T shows a secret: %s", verb, v, out)
				}
			}
		}
		for _, json := range []bool{false, true} {
			var buf bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&buf, nil)
			if json {
				h = slog.NewJSONHandler(&buf, nil)
			}
			slog.New(h).Info("fake", "v", v, slog.Group("g", slog.Any("v", v)))
			for _, s := range secrets {
				if strings.Contains(buf.String(), s) {
					t.Errorf("slog (json %t) of %T shows a secret: %s", json, v, buf.String())
				}
			}
		}
	}
}
