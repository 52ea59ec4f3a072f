package sentiancetest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
	"github.com/sdkbroker/sdkbroker/sentiance"
)

// Credentials returns the credentials the fake accepts.
func (f *Fake) Credentials() sentiance.Credentials { return sentiance.Credentials{APIKey: f.apiKey} }

// FastRetry returns the retry policy [Server.NewClient] gives its clients: 2
// retries, waits of 1 to 10 ms, and Retry-After capped at 10 ms. Give it to
// a client you build over [Fake.Responder] so that injected 429s and 503s
// cost milliseconds instead of seconds.
func FastRetry() sentiance.Option {
	return sentiance.WithRetry(2, time.Millisecond, 10*time.Millisecond)
}

// Server is a [Fake] listening on a loopback httptest.Server.
type Server struct {
	// Fake is the fake behind the server; its methods (Calls, FailNext,
	// UserFor, Redeem, ...) are promoted.
	*Fake
	// URL is the server's base URL, such as http://127.0.0.1:port.
	URL string

	srv *httptest.Server
}

// NewServer starts a fake configured by opts (accepting [DefaultAPIKey]
// unless [WithAPIKey] is given) on loopback and closes it when the test
// ends. It fails the test if no socket can be had.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake configured by opts on loopback, for programs and
// demos without a testing.TB. Call Close when done.
func Start(opts ...Option) (*Server, error) {
	f := New(opts...)
	srv, err := fakekit.Listen(f)
	if err != nil {
		return nil, err
	}
	return &Server{Fake: f, URL: srv.URL, srv: srv}, nil
}

// NewClient returns a sentiance client for the server: its URL, the fake's
// credentials and clock (sentiance.WithClock), the server's *http.Client and
// [FastRetry]. opts are applied after these, so they may override them.
func (s *Server) NewClient(opts ...sentiance.Option) (*sentiance.Client, error) {
	all := append([]sentiance.Option{
		sentiance.WithBaseURL(s.URL),
		sentiance.WithHTTPClient(s.Client()),
		FastRetry(),
		sentiance.WithClock(s.now),
	}, opts...)
	return sentiance.NewClient(s.Credentials(), all...)
}

// Client returns an *http.Client for the server, whose connections are
// closed with it.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down, waiting for the requests in progress. It is
// safe to call more than once.
func (s *Server) Close() { s.srv.Close() }
