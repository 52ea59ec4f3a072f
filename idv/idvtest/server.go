package idvtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sdkbroker/sdkbroker/idv"
)

// Server is a [Fake] served over a real loopback socket by an
// httptest.Server. Its methods are the Fake's (FailNext, Calls, ...).
type Server struct {
	*Fake
	// URL is the server's base URL, "http://127.0.0.1:port". It is plain
	// http, so an idv.Client needs idv.WithInsecureHTTP ([Server.NewClient]
	// adds it).
	URL string
	// HTTP is the underlying test server.
	HTTP *httptest.Server
}

// NewServer starts a fake on a loopback socket and closes it when the test
// ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	f := New(opts...)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &Server{Fake: f, URL: srv.URL, HTTP: srv}
}

// Client returns an *http.Client for the server, suitable for following
// handoff URLs.
func (s *Server) Client() *http.Client { return s.HTTP.Client() }

// NewClient returns an idv.Client for the server: base URL s.URL, the API
// key and auth scheme the fake accepts, idv.WithInsecureHTTP (the server is
// plain http on loopback), idv.WithHTTPClient(s.Client()) (its connections
// close with the server) and idv.WithClock with the fake's clock. opts are
// applied after these, so they can replace any of them.
func (s *Server) NewClient(opts ...idv.Option) (*idv.Client, error) {
	all := append([]idv.Option{
		idv.WithInsecureHTTP(),
		idv.WithAuthScheme(s.scheme),
		idv.WithHTTPClient(s.Client()),
		idv.WithClock(s.now),
	}, opts...)
	return idv.NewClient(s.URL, idv.Credentials{APIKey: s.apiKey}, all...)
}
