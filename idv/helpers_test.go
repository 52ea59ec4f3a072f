package idv_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
)

const (
	testKey   = "test-api-key-7d1e2f9a"
	testToken = "dev-token-8c2b1a77"
	// testBase has a path, so a request built from an absolute path shows.
	testBase = "https://idv.test/tenant/"
)

// fixedNow is the clock of most tests.
var fixedNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// newMock returns a mock transport whose no-responder fails the test.
func newMock(t *testing.T) *httpmock.MockTransport {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected %s %s", r.Method, r.URL)
		return httpmock.NewStringResponse(http.StatusNotImplemented, ""), nil
	})
	return mt
}

// newClient returns a client on testBase through mt with fast retries and
// the fixed clock; extra options come last.
func newClient(t *testing.T, mt *httpmock.MockTransport, opts ...idv.Option) *idv.Client {
	t.Helper()
	all := append([]idv.Option{
		idv.WithHTTPClient(&http.Client{Transport: mt}),
		idv.WithRetry(2, time.Millisecond, 5*time.Millisecond),
		idv.WithClock(func() time.Time { return fixedNow }),
	}, opts...)
	c, err := idv.NewClient(testBase, idv.Credentials{APIKey: testKey}, all...)
	require.NoError(t, err)
	return c
}

// calls returns how many requests mt answered for "METHOD URL".
func calls(mt *httpmock.MockTransport, key string) int { return mt.GetCallCountInfo()[key] }

// totalCalls returns how many requests mt answered in all.
func totalCalls(mt *httpmock.MockTransport) int { return mt.GetTotalCallCount() }

// captured is one request seen by a recording responder.
type captured struct {
	Method, URL, Query string
	Header             http.Header
	Body               []byte
}

// recorder records requests and answers each with the next canned response
// (the last one repeats).
type recorder struct {
	mu    sync.Mutex
	reqs  []captured
	resps []cannedResp
}

type cannedResp struct {
	status int
	body   string
	header http.Header
}

func respond(status int, body string) cannedResp { return cannedResp{status: status, body: body} }

func (r *recorder) responder() httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
		}
		r.mu.Lock()
		n := len(r.reqs)
		r.reqs = append(r.reqs, captured{
			Method: req.Method, URL: req.URL.Scheme + "://" + req.URL.Host + req.URL.EscapedPath(),
			Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: body,
		})
		c := r.resps[min(n, len(r.resps)-1)]
		r.mu.Unlock()
		resp := httpmock.NewStringResponse(c.status, c.body)
		if c.status >= 200 && c.status < 300 && strings.HasPrefix(strings.TrimSpace(c.body), "{") {
			resp.Header.Set("Content-Type", "application/json")
		}
		for k, v := range c.header {
			resp.Header[k] = v
		}
		resp.Request = req
		return resp, nil
	}
}

func (r *recorder) requests() []captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]captured(nil), r.reqs...)
}

// register answers method+url on mt with resps in turn and returns the recorder.
func register(mt *httpmock.MockTransport, method, url string, resps ...cannedResp) *recorder {
	r := &recorder{resps: resps}
	mt.RegisterResponder(method, url, r.responder())
	return r
}

// jsonEq asserts that got is the JSON document want.
func jsonEq(t *testing.T, want string, got []byte) {
	t.Helper()
	require.JSONEq(t, want, string(got))
}

// logBuffer returns a debug logger writing into a buffer.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&lockedWriter{w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// mustJSON encodes v.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
