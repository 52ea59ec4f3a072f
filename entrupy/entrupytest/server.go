package entrupytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// Credentials returns the credentials the fake accepts.
func (f *Fake) Credentials() entrupy.Credentials { return entrupy.Credentials{APIToken: f.token} }

// FastRetry returns the retry policy [Server.NewClient] gives its clients: 2
// retries, waits of 1 to 10 ms, and Retry-After capped at 10 ms. Give it to
// a client you build over [Fake.Responder] so that injected 429s and 503s
// cost milliseconds instead of seconds.
func FastRetry() entrupy.Option { return entrupy.WithRetry(2, time.Millisecond, 10*time.Millisecond) }

// Server is a [Fake] served over a loopback socket by an httptest.Server.
type Server struct {
	// Fake is the fake behind the server; its methods are promoted.
	*Fake
	// URL is the base URL of the server, such as http://127.0.0.1:port.
	URL string

	srv *httptest.Server
}

// NewServer starts a fake configured by opts (accepting [DefaultAPIToken]
// unless [WithAPIToken] is given) on a loopback socket, and closes it when
// t's test ends. It fails the test if no socket can be had.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake configured by opts on a loopback socket, for programs
// and demos without a testing.TB. Call Close when done.
func Start(opts ...Option) (*Server, error) {
	f := New(opts...)
	srv, err := fakekit.Listen(f)
	if err != nil {
		return nil, err
	}
	return &Server{Fake: f, URL: srv.URL, srv: srv}, nil
}

// Client returns an *http.Client for the server, whose connections are
// closed with it.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down, waiting for the requests in progress. It is
// safe to call more than once.
func (s *Server) Close() { s.srv.Close() }

// NewClient returns an entrupy client for the server: its URL, the fake's
// credentials and clock (so expiries agree), the server's *http.Client and
// [FastRetry]. opts are applied after these, so they may override them.
func (s *Server) NewClient(opts ...entrupy.Option) (*entrupy.Client, error) {
	all := append([]entrupy.Option{
		entrupy.WithBaseURL(s.URL),
		entrupy.WithHTTPClient(s.Client()),
		FastRetry(),
		entrupy.WithClock(s.now),
	}, opts...)
	return entrupy.NewClient(s.Credentials(), all...)
}

// SignWebhook returns the Entrupy-Signature header value for body under
// secret: the lowercase hex HMAC-SHA256 of the raw body (the scheme
// entrupy.VerifySignature assumes).
func SignWebhook(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
