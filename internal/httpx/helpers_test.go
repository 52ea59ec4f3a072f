package httpx_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

const testKey = "sk_live_SUPERSECRETKEY123456"

// newMock returns a mock transport whose unexpected requests fail the test
// and get a 501 (which is never retried).
func newMock(t *testing.T) *httpmock.MockTransport {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		return httpmock.NewStringResponse(http.StatusNotImplemented, ""), nil
	})
	return mt
}

// syncBuffer is a bytes.Buffer safe for a slog handler used from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type clientOpts struct {
	base       string
	hc         *http.Client
	retry      *httpx.RetryPolicy
	logs       *syncBuffer
	maxBody    int64
	parseError httpx.ErrorParser
	secrets    []string // registered besides testKey
}

// newClient builds a client authenticated with testKey, fast retries and a
// debug logger writing into o.logs when set.
func newClient(t *testing.T, o clientOpts) *httpx.Client {
	t.Helper()
	if o.base == "" {
		o.base = "https://vendor.test/api/"
	}
	cfg := httpx.NewConfig("acme", o.base)
	cfg.Retry = httpx.RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond}
	if o.retry != nil {
		cfg.Retry = *o.retry
	}
	cfg.HTTPClient = o.hc
	cfg.Auth = func(h http.Header) { h.Set("Authorization", "Bearer "+testKey) }
	cfg.Secrets = append([]string{testKey}, o.secrets...)
	if o.logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.maxBody != 0 {
		cfg.MaxBodyBytes = o.maxBody
	}
	cfg.ErrorParser = o.parseError
	c, err := httpx.New(cfg)
	require.NoError(t, err)
	return c
}

func calls(mt *httpmock.MockTransport, key string) int { return mt.GetCallCountInfo()[key] }

func errorIs(err, target error) bool { return errors.Is(err, target) }

func errorAs(err error, target any) bool { return errors.As(err, target) }
