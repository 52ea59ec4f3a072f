package sentiancetest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/sentiance"
)

// Server is a [Fake] listening on a loopback httptest.Server. The embedded
// Fake gives its helpers (Calls, FailNext, UserFor, Redeem, ...).
type Server struct {
	*Fake
	// URL is the server's base URL, such as http://127.0.0.1:port; pass it to
	// sentiance.WithBaseURL.
	URL string

	srv *httptest.Server
}

// NewServer starts a fake configured by opts (so accepting [DefaultAPIKey]
// unless [WithAPIKey] is given) on loopback and closes it when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := StartServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// StartServer starts a fake configured by opts on loopback, for programs and
// demos without a testing.TB; call Close when done.
func StartServer(opts ...Option) *Server {
	f := New(opts...)
	srv := httptest.NewServer(f)
	return &Server{Fake: f, URL: srv.URL, srv: srv}
}

// NewClient returns a sentiance client for the server: its URL and the
// fake's API key (sentiance.Client has no clock to share). opts are applied
// after these, so they may override them.
func (s *Server) NewClient(opts ...sentiance.Option) (*sentiance.Client, error) {
	all := append([]sentiance.Option{sentiance.WithBaseURL(s.URL)}, opts...)
	return sentiance.NewClient(sentiance.Credentials{APIKey: s.apiKey}, all...)
}

// Client returns an *http.Client for the server (any client works; this one
// is configured by httptest).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Responder returns an httpmock.Responder that answers from the fake without
// a socket, so tests using an httpmock.MockTransport can plug it in:
//
//	mt := httpmock.NewMockTransport()
//	mt.RegisterNoResponder(fake.Responder())
//	client, _ := sentiance.NewClient(creds,
//		sentiance.WithBaseURL("https://sentiance.test"),
//		sentiance.WithHTTPClient(&http.Client{Transport: mt}))
//
// The fake serves its routes at the root of the URL (no base path).
func (f *Fake) Responder() httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		in := req.Clone(req.Context())
		if in.Body == nil {
			in.Body = http.NoBody
		}
		in.RequestURI = req.URL.RequestURI()
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, in)
		resp := rec.Result()
		resp.Request = req
		return resp, nil
	}
}
