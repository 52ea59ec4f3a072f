package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

var hex64 = regexp.MustCompile(`[0-9a-f]{32,}`)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRun_Fake(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, env(nil)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"using the local fake",
		`code 1 for "demo-user-1": 64 characters`,
		`code 2 for "demo-user-1": 64 characters`,
		"restored existing user: false",
		"restored existing user: true",
		"same Sentiance user both times: true",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if hex64.MatchString(got) {
		t.Errorf("output contains something code-shaped:\n%s", got)
	}
	if strings.Contains(got, sentiancetest.DefaultAPIKey) {
		t.Error("output contains the key")
	}
}

// TestRun_WithKey takes the real-key path, pointed at a fake through
// SENTIANCE_BASE_URL.
func TestRun_WithKey(t *testing.T) {
	const key = "sk_example_test_key_123456"
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(key))
	var out bytes.Buffer
	err := run(context.Background(), &out, env(map[string]string{
		"SENTIANCE_API_KEY":     key,
		"SENTIANCE_REGION":      "us",
		"SENTIANCE_BASE_URL":    srv.URL,
		"SENTIANCE_EXTERNAL_ID": "someone",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, `code 2 for "someone": 64 characters`) || !strings.Contains(got, srv.URL) ||
		!strings.Contains(got, "SDK platform URL: https://api.p15.sentiance.com\n") {
		t.Errorf("unexpected output:\n%s", got)
	}
	if n := srv.Calls(sentiancetest.RouteCreateAuthCode); n != 2 {
		t.Errorf("%d auth-code calls, want 2", n)
	}
	if strings.Contains(got, key) || hex64.MatchString(got) {
		t.Errorf("output leaks a secret:\n%s", got)
	}
}

func TestRun_Errors(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, env(map[string]string{"SENTIANCE_API_KEY": "sk_example_test_key_123456", "SENTIANCE_REGION": "mars"}))
	if err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("got %v, want a region error", err)
	}
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey("another-key-000000"))
	err = run(context.Background(), &out, env(map[string]string{"SENTIANCE_API_KEY": "sk_example_test_key_123456", "SENTIANCE_BASE_URL": srv.URL}))
	if err == nil || strings.Contains(err.Error(), "sk_example_test_key_123456") {
		t.Errorf("got %v, want an unauthorized error without the key", err)
	}
}
