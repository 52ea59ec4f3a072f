package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRun_WithoutTokenUsesFake(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, env(nil)); err != nil {
		t.Fatalf("run: %v", err)
	}
	s := out.String()
	for _, want := range []string{"in-memory fake", "SDKAuthorizationRequest:[REDACTED]", "signed request: ", " bytes (not shown)", "username: entrupy_demo-user-0001", "expires at: ", "(in 24h0m0s)", "refresh after: "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "sr1.") || strings.Contains(s, entrupytest.DefaultAPIToken) || strings.Contains(s, "demo-sdk-authorization-request") {
		t.Error("output shows the signed request or the token")
	}
}

func TestRun_WithTokenCallsBaseURL(t *testing.T) {
	srv := entrupytest.NewServer(t)
	var out bytes.Buffer
	err := run(context.Background(), &out, env(map[string]string{
		"ENTRUPY_API_TOKEN": srv.Credentials().APIToken,
		"ENTRUPY_BASE_URL":  srv.URL,
		"ENTRUPY_USER_ID":   "customer-2002",
		"ENTRUPY_EMAIL":     "bo@example.com",
	}))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if u, ok := srv.User("customer-2002"); !ok || u.Email != "bo@example.com" || u.Authorizations != 1 {
		t.Errorf("fake saw user %+v (known: %v)", u, ok)
	}
	s := out.String()
	if strings.Contains(s, "in-memory fake") {
		t.Error("used its own fake despite ENTRUPY_API_TOKEN")
	}
	if strings.Contains(s, "sr1.") || strings.Contains(s, srv.Credentials().APIToken) {
		t.Error("output shows the signed request or the token")
	}
}

func TestRun_Errors(t *testing.T) {
	srv := entrupytest.NewServer(t)
	err := run(context.Background(), &bytes.Buffer{}, env(map[string]string{"ENTRUPY_USER_ID": "bad"}))
	if !errors.Is(err, entrupy.ErrInvalidInput) {
		t.Errorf("bad user id: got %v", err)
	}
	err = run(context.Background(), &bytes.Buffer{}, env(map[string]string{"ENTRUPY_API_TOKEN": "wrong-token-0000", "ENTRUPY_BASE_URL": srv.URL}))
	if !errors.Is(err, entrupy.ErrUnauthorized) {
		t.Errorf("wrong token: got %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-token-0000") {
		t.Error("error shows the token")
	}
}
