package entrupytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

// Server is a Fake served over a loopback socket by httptest.
type Server struct {
	// Fake is the fake behind the server; its methods are promoted.
	*Fake
	// URL is the base URL to give entrupy.WithBaseURL.
	URL string
	// APIToken is the token the fake accepts: [DefaultAPIToken], or the one
	// given to [WithAPIToken].
	APIToken string
}

// NewServer starts a fake configured by opts (so accepting [DefaultAPIToken]
// unless [WithAPIToken] is given) on a loopback httptest server that is
// closed when t's test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	f := New(opts...)
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return &Server{Fake: f, URL: ts.URL, APIToken: f.token}
}

// NewClient returns an entrupy client for the server: its URL, the fake's
// token, the fake's clock (so expiries agree), and fast retries (2 retries,
// 1 to 10 ms). opts are applied after these, so they may override them.
func (s *Server) NewClient(opts ...entrupy.Option) (*entrupy.Client, error) {
	all := append([]entrupy.Option{
		entrupy.WithBaseURL(s.URL),
		entrupy.WithRetry(2, time.Millisecond, 10*time.Millisecond),
		entrupy.WithClock(s.now),
	}, opts...)
	return entrupy.NewClient(entrupy.Credentials{APIToken: s.token}, all...)
}

// SignWebhook returns the Entrupy-Signature header value for body under
// secret: the lowercase hex HMAC-SHA256 of the raw body (the scheme
// entrupy.VerifySignature assumes).
func SignWebhook(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
