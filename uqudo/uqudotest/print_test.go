package uqudotest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// A Fake and its Server print and log a description under every verb,
// never the credentials the fake accepts nor a token it issued (found by
// the root leak sweep, issue 16: %+v, %#v and %d of a Fake, and %s of a
// Server through its Fake, printed them).
func TestFake_NeverPrintsSecrets(t *testing.T) {
	const secret = "cred-SECRET-7f3a91"
	srv := uqudotest.NewServer(t, uqudotest.WithClientCredentials("client", secret))
	c, err := srv.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := c.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	issued := tok.Token
	secrets := []string{secret, issued}

	if got, want := srv.Fake.String(), "uqudotest.Fake"; got != want {
		t.Errorf("Fake.String() = %q, want %q", got, want)
	}
	if got, want := srv.String(), "uqudotest.Server{URL:"+srv.URL+"}"; got != want {
		t.Errorf("Server.String() = %q, want %q", got, want)
	}
	if got, want := (*uqudotest.Fake)(nil).String(), "uqudotest.Fake(nil)"; got != want {
		t.Errorf("nil Fake.String() = %q, want %q", got, want)
	}
	for _, v := range []any{srv.Fake, srv, *srv, struct{ F *uqudotest.Fake }{srv.Fake}, []any{srv}} {
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
