package idvtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Server is a [Fake] served over a real loopback socket by an
// httptest.Server. Its methods are the Fake's (FailNext, Calls, ...).
type Server struct {
	*Fake
	// URL is the server's base URL, "http://127.0.0.1:port". It is plain
	// http, so an idv.Client needs idv.WithInsecureHTTP.
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
