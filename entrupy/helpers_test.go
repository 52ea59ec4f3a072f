package entrupy_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

// testToken is the API token of mock clients; distinctive so leaks show.
const testToken = "tok_live_9f8e7d6c5b4a3928170655aa"

// testBase has a path, so an absolute-path bug shows.
const testBase = "https://entrupy.test/api/"

// fixedNow is the clock of tests that check expiries.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newMock returns a client on a fresh mock transport with a no-responder
// that fails the test, fast retries and a fixed clock.
func newMock(t *testing.T, opts ...entrupy.Option) (*entrupy.Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		return httpmock.NewStringResponse(http.StatusNotImplemented, ""), nil
	})
	all := append([]entrupy.Option{
		entrupy.WithBaseURL(testBase),
		entrupy.WithHTTPClient(&http.Client{Transport: mt}),
		entrupy.WithRetry(2, time.Millisecond, 5*time.Millisecond),
		entrupy.WithClock(func() time.Time { return fixedNow }),
	}, opts...)
	c, err := entrupy.NewClient(entrupy.Credentials{APIToken: testToken}, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, mt
}

// jsonResponder answers status with body as JSON.
func jsonResponder(status int, body string, header ...string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(status, body)
		r.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r, nil
	}
}

// calls counts the calls the mock transport answered for "METHOD URL".
func calls(mt *httpmock.MockTransport, method, url string) int {
	return mt.GetCallCountInfo()[method+" "+url]
}

// noSecret fails the test if s holds any of secrets, without printing them.
func noSecret(t *testing.T, where, s string, secrets ...string) {
	t.Helper()
	for i, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("%s leaks secret #%d", where, i)
		}
	}
}

// readJSONBody decodes a request body into a map.
func readJSONBody(t *testing.T, r *http.Request) map[string]any {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read body: %v", err)
		return nil
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Errorf("body is not a JSON object: %v", err)
	}
	return m
}
