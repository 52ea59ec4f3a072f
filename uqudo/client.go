package uqudo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

const vendor = "uqudo"

// Default base URLs of uqudo's three services.
const (
	// DefaultAuthURL serves access tokens (api/oauth/token).
	DefaultAuthURL = "https://auth.uqudo.io/"
	// DefaultSessionURL serves QR sessions (api/v1/session).
	DefaultSessionURL = "https://idws.uqudo.io/"
	// DefaultAPIURL serves results (api/v1/info) and the JWKS.
	DefaultAPIURL = "https://id.uqudo.io/"
)

// Credentials are the client id and secret from uqudo's Customer Portal.
// String, GoString, Format and LogValue print the client id and
// [REDACTED] for the secret; JSON encoding leaves the secret out.
type Credentials struct {
	// ClientID identifies your account; it is also the aud of your results.
	ClientID string
	// ClientSecret is the secret; it is sent only to the token endpoint.
	// It is left out of JSON encoding.
	ClientSecret string `json:"-"`
}

// String returns the credentials with the secret redacted.
func (c Credentials) String() string {
	return fmt.Sprintf("uqudo.Credentials{ClientID: %q, ClientSecret: %s}", c.ClientID, redactedIfSet(c.ClientSecret))
}

// GoString is String, so %#v does not print the secret.
func (c Credentials) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the client id and a redacted secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ClientID), slog.String("client_secret", redactedIfSet(c.ClientSecret)))
}

func redactedIfSet(s string) string {
	if s == "" {
		return `""`
	}
	return httpx.Redacted
}

// Client calls uqudo's token, QR-session and info services with one cached
// access token. It is safe for concurrent use. Call Close when done with it.
// The zero Client is not usable (build one with [NewClient]); its methods
// return an error rather than panic, and String prints "uqudo.Client{}".
type Client struct {
	creds      *Credentials
	hc         *httpx.Client
	tokens     *tokencache.Cache[struct{}, *AccessToken]
	verifier   *Verifier
	clock      func() time.Time
	authURL    string
	sessionURL string
	apiURL     string
	tokenPath  string // escaped URL path of the token request, for errors
	closed     atomic.Bool
	closeOnce  sync.Once
}

// Option configures a Client; see the With* functions. Options are applied
// in any order before the client is built once.
type Option func(*config) error

type config struct {
	http       httpx.Config
	authURL    string
	sessionURL string
	apiURL     string
	clock      func() time.Time // nil: time.Now
	leeway     time.Duration
	jwksMin    time.Duration
	jwksEvery  time.Duration
	maxAge     time.Duration
}

// WithAuthURL sets the base URL of the token service (default
// [DefaultAuthURL]); "api/oauth/token" is appended.
func WithAuthURL(u string) Option {
	return func(c *config) error { return setURL(&c.authURL, "auth_url", u) }
}

// WithSessionURL sets the base URL of the QR-session service (default
// [DefaultSessionURL]); "api/v1/session" is appended.
func WithSessionURL(u string) Option {
	return func(c *config) error { return setURL(&c.sessionURL, "session_url", u) }
}

// WithAPIURL sets the base URL of the info API (default [DefaultAPIURL]);
// "api/v1/info/..." and "api/.well-known/jwks.json" are appended.
func WithAPIURL(u string) Option {
	return func(c *config) error { return setURL(&c.apiURL, "api_url", u) }
}

// WithBaseURL points all three services (token, QR session, info API) at
// one base URL, as served by the uqudotest fake or a proxy; a later
// [WithAuthURL], [WithSessionURL] or [WithAPIURL] overrides one of them.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		if err := setURL(&c.authURL, "base_url", u); err != nil {
			return err
		}
		c.sessionURL, c.apiURL = c.authURL, c.authURL
		return nil
	}
}

func setURL(dst *string, field, raw string) error {
	u, err := httpx.ParseBaseURL(raw, false)
	if err != nil {
		var ve *httpx.ValidationError
		if errors.As(err, &ve) {
			return invalid(field, ve.Reason)
		}
		return err
	}
	*dst = u.String()
	return nil
}

// WithHTTPClient sends every request through hc (its Transport, Jar and
// Timeout are kept); nil is an error.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.http.SetHTTPClient(hc) }
}

// WithRetry sets the retry policy: at most maxRetries retries, waiting
// between minWait and maxWait.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *config) error { return c.http.SetRetry(maxRetries, minWait, maxWait) }
}

// WithLogger logs one debug line per attempt (method, host, path, status);
// never headers, bodies, tokens or the secret. Nil is an error.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.http.SetLogger(l) }
}

// WithUserAgent puts ua before sdkbroker's own User-Agent product token.
func WithUserAgent(ua string) Option {
	return func(c *config) error { return c.http.SetUserAgent(ua) }
}

// WithTimeout bounds each attempt when the HTTP client has no timeout of its
// own (default 30 s).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.http.SetTimeout(d) }
}

// WithMaxBodySize limits every response body (default 1 MiB).
func WithMaxBodySize(n int64) Option {
	return func(c *config) error { return c.http.SetMaxBodyBytes(n) }
}

// WithClock makes the client read the time from now (default time.Now):
// token expiry (through the token cache), Session.ExpiresAt and result
// exp/nbf checks. For tests. nil is an error.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return invalid("clock", "is nil")
		}
		c.clock = now
		return nil
	}
}

// WithLeeway sets the clock skew tolerated on a result's exp, nbf and iat
// (default [DefaultLeeway]); it must not be negative.
func WithLeeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return invalid("leeway", "must not be negative")
		}
		c.leeway = d
		return nil
	}
}

// WithJWKSMinRefresh sets the least time between two JWKS downloads
// triggered by an unknown kid (default [DefaultJWKSMinRefresh]); it must be
// positive. See [VerifierConfig].MinRefreshInterval.
func WithJWKSMinRefresh(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("jwks_min_refresh", "must be positive")
		}
		c.jwksMin = d
		return nil
	}
}

// WithJWKSRefreshInterval sets how long a downloaded JWKS is used before it
// is downloaded again, dropping retired keys (default
// [DefaultJWKSRefreshInterval]); it must be positive. See
// [VerifierConfig].RefreshInterval.
func WithJWKSRefreshInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("jwks_refresh_interval", "must be positive")
		}
		c.jwksEvery = d
		return nil
	}
}

// WithMaxResultAge bounds the age (by iat) of a result that has no exp
// (default [DefaultMaxResultAge]); it must be positive. See
// [VerifierConfig].MaxAge.
func WithMaxResultAge(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("max_result_age", "must be positive")
		}
		c.maxAge = d
		return nil
	}
}

// NewClient checks creds and opts and builds a Client. It makes no network
// call: the first access token is requested by the first call that needs it.
func NewClient(creds Credentials, opts ...Option) (*Client, error) {
	switch {
	case creds.ClientID == "":
		return nil, invalid("client_id", "is empty")
	case creds.ClientSecret == "":
		return nil, invalid("client_secret", "is empty")
	}
	cfg := config{
		http:       httpx.NewConfig(vendor, DefaultAPIURL),
		authURL:    DefaultAuthURL,
		sessionURL: DefaultSessionURL,
		apiURL:     DefaultAPIURL,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalid("option", "is nil")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	cfg.http.BaseURL = cfg.apiURL
	cfg.http.Secrets = []string{creds.ClientSecret}
	hc, err := httpx.New(cfg.http)
	if err != nil {
		return nil, err
	}
	verifier, err := newVerifier(hc, cfg.apiURL, jwksPath, VerifierConfig{
		Audience: creds.ClientID, Leeway: cfg.leeway, Clock: cfg.clock, MinRefreshInterval: cfg.jwksMin,
		RefreshInterval: cfg.jwksEvery, MaxAge: cfg.maxAge,
	})
	if err != nil {
		return nil, err
	}
	authBase, err := url.Parse(cfg.authURL)
	if err != nil { // cannot happen: setURL checked it
		return nil, invalid("auth_url", "is not a URL")
	}
	c := &Client{
		creds:      &Credentials{ClientID: creds.ClientID, ClientSecret: creds.ClientSecret},
		hc:         hc,
		verifier:   verifier,
		clock:      cfg.clock,
		authURL:    cfg.authURL,
		sessionURL: cfg.sessionURL,
		apiURL:     cfg.apiURL,
		tokenPath:  authBase.EscapedPath() + tokenRoute,
	}
	cacheOpts := []tokencache.Option{tokencache.WithNegativeTTL(TokenFailureBackoff), tokencache.WithMaxEntries(1)}
	if cfg.clock != nil { // without one the cache reads the monotonic clock itself
		cacheOpts = append(cacheOpts, tokencache.WithClock(clockFunc(cfg.clock)))
	} else {
		c.clock = time.Now
	}
	c.tokens, err = tokencache.New(c.fetchToken, cacheOpts...)
	if err != nil {
		verifier.Close()
		return nil, err
	}
	return c, nil
}

// Verifier returns the client's result verifier (JWKS from the API URL, aud
// = the client id), to verify webhook payloads and SDK results with the same
// cached keys. [Client.Close] closes it too. It is nil for a zero Client.
func (c *Client) Verifier() *Verifier {
	if c == nil {
		return nil
	}
	return c.verifier
}

// BaseURL returns the base URL of the info API, which serves results and
// the JWKS ([DefaultAPIURL] unless [WithAPIURL] or [WithBaseURL] changed
// it), ending in "/". The token and QR-session services have their own base
// URLs ([WithAuthURL], [WithSessionURL]). It is "" for a zero Client.
func (c *Client) BaseURL() string {
	if c == nil {
		return ""
	}
	return c.apiURL
}

// Close releases what the client owns: it cancels the access-token request
// and background refresh under way, and the verifier's JWKS download, and
// waits for them to end. Every call made after Close fails at once with an
// error matching [ErrClosed], without a network call. Close is safe to call
// more than once, concurrently, and on a nil or zero Client.
func (c *Client) Close() {
	if c == nil {
		return
	}
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if c.tokens != nil {
			c.tokens.Close()
		}
		c.verifier.Close()
		c.hc.Close()
	})
}

// usable reports why c cannot make a call, if it cannot.
func (c *Client) usable() error {
	switch {
	case c == nil || c.tokens == nil:
		return invalid("client", "is not built by NewClient")
	case c.closed.Load():
		return ErrClosed
	}
	return nil
}

// String describes the client without its secret or token.
func (c *Client) String() string {
	if c == nil || c.creds == nil {
		return "uqudo.Client{}"
	}
	return fmt.Sprintf("uqudo.Client{ClientID: %q}", c.creds.ClientID)
}

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the client id only.
func (c *Client) LogValue() slog.Value {
	if c == nil || c.creds == nil {
		return slog.GroupValue()
	}
	return slog.GroupValue(slog.String("client_id", c.creds.ClientID))
}

// token returns the cached access token, waiting for the shared request
// when there is none. The caller's context ending while it waits gives a
// [*TransportError] naming the token request.
func (c *Client) token(ctx context.Context) (*AccessToken, error) {
	tok, err := c.tokens.Get(ctx, struct{}{})
	if err == nil {
		return tok, nil
	}
	if ctx.Err() != nil {
		return nil, httpx.ContextError(vendor, http.MethodPost, c.tokenPath, err)
	}
	if errors.Is(err, tokencache.ErrClosed) {
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return nil, err
}

// do sends req with the cached access token; on a 401 it drops that token
// and sends req once more with a fresh one. The second 401 is returned.
func (c *Client) do(ctx context.Context, req *httpx.Request, out any) error {
	if err := c.usable(); err != nil {
		return err
	}
	if ctx == nil {
		return invalid("ctx", "is nil")
	}
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	err = c.send(ctx, req, tok, out)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		return err
	}
	c.tokens.InvalidateIf(struct{}{}, func(cur *AccessToken) bool { return cur == tok })
	fresh, err := c.token(ctx)
	if err != nil {
		return err
	}
	return c.send(ctx, req, fresh, out)
}

func (c *Client) send(ctx context.Context, req *httpx.Request, tok *AccessToken, out any) error {
	r := *req
	bearer := tok.Token
	r.Auth = func(h http.Header) { h.Set("Authorization", "Bearer "+bearer) }
	r.Secrets = append(append([]string(nil), req.Secrets...), bearer)
	_, err := c.hc.Do(ctx, &r, out)
	return err
}

func invalid(field, reason string) error { return httpx.Invalid(field, reason) }

// clockFunc adapts a WithClock func to the token cache's Clock interface.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }
