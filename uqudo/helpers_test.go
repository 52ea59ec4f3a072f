package uqudo_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

const (
	testClientID = "client-1234"
	testSecret   = "s3cr3t-client-secret-value"
	testToken    = "at-0123456789abcdef-token"
	// Base URLs with a path, so that an absolute-path bug shows.
	authBase    = "https://auth.uqudo.test/a/"
	sessionBase = "https://idws.uqudo.test/s/"
	apiBase     = "https://id.uqudo.test/i/"
)

var testCreds = uqudo.Credentials{ClientID: testClientID, ClientSecret: testSecret}

// fakeClock is a settable clock shared by the client and the fake.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newMock returns a mock transport whose unmatched requests fail the test.
func newMock(t *testing.T) *httpmock.MockTransport {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected %s %s", r.Method, r.URL)
		return httpmock.NewStringResponse(501, ""), nil
	})
	return mt
}

// mockClient builds a client on mt with the three test base URLs, fast
// retries, and registers a token responder answering testToken.
func mockClient(t *testing.T, mt *httpmock.MockTransport, opts ...uqudo.Option) *uqudo.Client {
	t.Helper()
	mt.RegisterResponder(http.MethodPost, authBase+"api/oauth/token",
		httpmock.NewStringResponder(200, `{"access_token":"`+testToken+`","token_type":"bearer","expires_in":1800,"scope":"all"}`))
	base := []uqudo.Option{
		uqudo.WithHTTPClient(&http.Client{Transport: mt}),
		uqudo.WithAuthURL(authBase), uqudo.WithSessionURL(sessionBase), uqudo.WithAPIURL(apiBase),
		uqudo.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	}
	c, err := uqudo.NewClient(testCreds, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// fakeClient starts a fake on a real socket and a client pointed at it,
// sharing the fake's clock when fakeOpts set one.
func fakeClient(t *testing.T, fakeOpts []uqudotest.Option, opts ...uqudo.Option) (*uqudotest.Server, *uqudo.Client) {
	t.Helper()
	srv := uqudotest.NewServer(t, fakeOpts...)
	c, err := srv.NewClient(append([]uqudo.Option{uqudo.WithRetry(2, time.Millisecond, 5*time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return srv, c
}

// logCapture returns a debug logger writing into a buffer.
func logCapture() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

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

func passportData() uqudo.SessionData {
	return uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}}
}

func osReadFile(name string) ([]byte, error) { return os.ReadFile(name) }
