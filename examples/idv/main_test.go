package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRun_Fake(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), env(nil), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"using the in-memory fake",
		"session id:  session-1",
		"capture?url=http%3A%2F%2F127.0.0.1",
		"authorization%3D" + idv.RedactedValue + "%26sessionId%3Dsession-1",
		"handoff opens session: session-1 status 200",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// Fake tokens start with "eph+"; neither it nor its escaped forms may show.
	for _, secret := range []string{"eph", idvtest.DefaultAPIKey} {
		if strings.Contains(got, secret) {
			t.Errorf("output contains %q:\n%s", secret, got)
		}
	}
}

func TestRun_RealNeedsConfig(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), env(map[string]string{"IDV_API_KEY": "k-123456"}), &out)
	if err == nil || !strings.Contains(err.Error(), "IDV_BASE_URL") {
		t.Fatalf("want a configuration error, got %v", err)
	}
	err = run(context.Background(), env(map[string]string{
		"IDV_API_KEY": "k-123456", "IDV_BASE_URL": "http://idv.example.com", "IDV_WORKFLOW_ID": "wf",
	}), &out)
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("want the https rule, got %v", err)
	}
	if strings.Contains(out.String()+err.Error(), "k-123456") {
		t.Fatal("the key leaked")
	}
}
