package idvtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// Credentials returns the credentials the fake accepts. A client also needs
// the fake's auth scheme, idv.DefaultAuthScheme unless [WithAuthScheme] set
// another ([Server.NewClient] passes it).
func (f *Fake) Credentials() idv.Credentials { return idv.Credentials{APIKey: f.apiKey} }

// FastRetry returns the retry policy [Server.NewClient] gives its clients: 2
// retries, waits of 1 to 10 ms, and Retry-After capped at 10 ms. Give it to
// a client you build over [Fake.Responder] so that injected 429s and 503s
// cost milliseconds instead of seconds.
func FastRetry() idv.Option { return idv.WithRetry(2, time.Millisecond, 10*time.Millisecond) }

// Server is a [Fake] served over a loopback socket by an httptest.Server.
type Server struct {
	// Fake is the fake behind the server; its methods (FailNext, Calls, ...)
	// are promoted.
	*Fake
	// URL is the server's base URL, "http://127.0.0.1:port". It is plain
	// http, so an idv.Client needs idv.WithInsecureHTTP ([Server.NewClient]
	// adds it).
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

// Client returns an *http.Client for the server, suitable for following
// handoff URLs; its connections are closed with the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down, waiting for the requests in progress. It is
// safe to call more than once.
func (s *Server) Close() { s.srv.Close() }

// NewClient returns an idv.Client for the server: base URL s.URL, the
// fake's credentials and auth scheme, idv.WithInsecureHTTP (the server is
// plain http on loopback), idv.WithHTTPClient(s.Client()), [FastRetry] and
// idv.WithClock with the fake's clock. opts are applied after these, so they
// can replace any of them.
func (s *Server) NewClient(opts ...idv.Option) (*idv.Client, error) {
	all := append([]idv.Option{
		idv.WithInsecureHTTP(),
		idv.WithAuthScheme(s.scheme),
		idv.WithHTTPClient(s.Client()),
		FastRetry(),
		idv.WithClock(s.now),
	}, opts...)
	return idv.NewClient(s.URL, s.Credentials(), all...)
}
