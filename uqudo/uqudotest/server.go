package uqudotest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// Credentials returns the credentials the fake accepts.
func (f *Fake) Credentials() uqudo.Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uqudo.Credentials{ClientID: f.clientID, ClientSecret: f.clientSecret}
}

// FastRetry returns the retry policy [Server.NewClient] gives its clients: 2
// retries, waits of 1 to 10 ms, and Retry-After capped at 10 ms. Give it to
// a client you build over [Fake.Responder] so that injected 429s and 503s
// cost milliseconds instead of seconds.
func FastRetry() uqudo.Option { return uqudo.WithRetry(2, time.Millisecond, 10*time.Millisecond) }

// Server is a [Fake] served over a real loopback socket by an
// httptest.Server.
type Server struct {
	// Fake is the fake behind the server; its methods (FailNext, Calls,
	// CompleteSession, ...) are promoted.
	*Fake
	// URL is the base URL of all three services (token, sessions, info),
	// such as http://127.0.0.1:port, for uqudo.WithBaseURL.
	URL string

	srv *httptest.Server
}

// NewServer starts a fake configured by opts on a loopback socket and closes
// it when the test ends. It fails the test if no socket can be had.
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

// NewClient returns a uqudo.Client for the server: uqudo.WithBaseURL(s.URL)
// for all three services, the fake's credentials and clock,
// uqudo.WithHTTPClient(s.Client()) and [FastRetry]. opts are applied after
// these, so they can replace any of them. Close the client when done with
// it.
func (s *Server) NewClient(opts ...uqudo.Option) (*uqudo.Client, error) {
	all := append([]uqudo.Option{
		uqudo.WithBaseURL(s.URL),
		uqudo.WithHTTPClient(s.Client()),
		FastRetry(),
		uqudo.WithClock(s.now),
	}, opts...)
	return uqudo.NewClient(s.Credentials(), all...)
}
