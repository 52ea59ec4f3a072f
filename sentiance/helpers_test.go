package sentiance_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
)

const (
	testKey  = "sk_test_4c9e1f7a2b8d6e3f0a5c"
	testCode = "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c"
	// testBase has a path, so a request built with an absolute path would
	// lose "/api/" and miss its responder.
	testBase = "https://sentiance.test/api/"
)

// newMock returns a mock transport whose unmatched requests fail the test
// and answer 501 (never retried).
func newMock(t *testing.T) *httpmock.MockTransport {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		return httpmock.NewStringResponse(http.StatusNotImplemented, ""), nil
	})
	return mt
}

// newClient builds a client on mt with fast retries and the given extra options.
func newClient(t *testing.T, mt *httpmock.MockTransport, opts ...sentiance.Option) *sentiance.Client {
	t.Helper()
	all := append([]sentiance.Option{
		sentiance.WithBaseURL(testBase),
		sentiance.WithHTTPClient(&http.Client{Transport: mt}),
		sentiance.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	}, opts...)
	c, err := sentiance.NewClient(sentiance.Credentials{APIKey: testKey}, all...)
	require.NoError(t, err)
	return c
}

// jsonResponder answers status with body and a JSON content type.
func jsonResponder(status int, body string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
}

// calls returns how many requests matched "METHOD URL" on mt.
func calls(mt *httpmock.MockTransport, key string) int { return mt.GetCallCountInfo()[key] }

// debugLogger returns a debug-level text logger writing to buf.
func debugLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

func mustRegexp(s string) *regexp.Regexp { return regexp.MustCompile(s) }
