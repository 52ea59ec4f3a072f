package entrupy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// DefaultBaseURL is Entrupy's API host.
const DefaultBaseURL = "https://api.entrupy.com"

// DefaultAPIVersion is the Api-Version header sent with every request.
// **Assumed**: Entrupy versions its API with this header and the v2 routes
// answer to "2.0"; change it with [WithAPIVersion].
const DefaultAPIVersion = "2.0"

// Token lifetimes used when an authorize-user answer carries no expiry.
const (
	// DefaultTokenLifetime is the lifetime given to a signed request whose
	// answer has no "exp": Entrupy documents 24 hours by default
	// (**assumed** to apply when the answer is silent; see [WithDefaultTokenLifetime]).
	DefaultTokenLifetime = 24 * time.Hour
	// MaxTokenLifetime is the longest lifetime Entrupy grants (7 days); a
	// longer [WithDefaultTokenLifetime] is refused.
	MaxTokenLifetime = 7 * 24 * time.Hour
	// DefaultSoftWindow is how long before expiry a token should be
	// refreshed when the answer has no "soft_exp" (Entrupy's sample app
	// refreshes 30 minutes early; **assumed**, see [WithSoftWindow]).
	DefaultSoftWindow = 30 * time.Minute
)

// Language is a value for the optional Accept-Language header.
type Language string

// Languages Entrupy answers in.
const (
	// LanguageEnglish asks for English messages ("en").
	LanguageEnglish Language = "en"
	// LanguageJapanese asks for Japanese messages ("ja").
	LanguageJapanese Language = "ja"
)

// Credentials holds the server-side API token. The token is secret: String,
// GoString, Format and LogValue print it as [REDACTED], and it is never
// encoded as JSON.
type Credentials struct {
	// APIToken is the organisation's API token, sent as "Authorization: Token <APIToken>".
	APIToken string `json:"-"`
}

// String returns the credentials with the token redacted.
func (c Credentials) String() string {
	return "entrupy.Credentials{APIToken:" + redactedOrEmpty(c.APIToken) + "}"
}

// GoString returns the credentials with the token redacted, for %#v.
func (c Credentials) GoString() string { return c.String() }

// Format prints the redacted form for every verb.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }

// LogValue logs the credentials with the token redacted.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("api_token", redactedOrEmpty(c.APIToken)))
}

func redactedOrEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return httpx.Redacted
}

func (c Credentials) validate() error {
	switch {
	case c.APIToken == "":
		return httpx.Invalid("api_token", "is empty")
	case strings.TrimSpace(c.APIToken) != c.APIToken:
		return httpx.Invalid("api_token", "has leading or trailing spaces")
	case strings.ContainsFunc(c.APIToken, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return httpx.Invalid("api_token", "contains control characters")
	}
	return nil
}

// Client calls Entrupy's server-side API. It is safe for concurrent use.
// Build it with [NewClient].
//
// The client keeps the API token only inside the auth function it hands to
// the HTTP core (a func value prints as an address under every fmt verb), so
// no way of printing a Client, or a copy of one, shows the token.
type Client struct {
	hc         *httpx.Client
	now        func() time.Time
	lifetime   time.Duration
	softWindow time.Duration
	closed     *atomic.Bool // shared by copies of the struct
}

// String describes the client without its credentials; a nil or zero
// Client prints as "entrupy.Client{}".
func (c *Client) String() string {
	if c == nil || c.hc == nil {
		return "entrupy.Client{}"
	}
	return "entrupy.Client{BaseURL:" + c.hc.BaseURL().String() + "}"
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// BaseURL returns the API base URL the client sends to, ending in "/"
// ([DefaultBaseURL] or the [WithBaseURL] value). A nil or zero Client
// returns "".
func (c *Client) BaseURL() string {
	if c == nil || c.hc == nil {
		return ""
	}
	return c.hc.BaseURL().String()
}

// Close releases what the client owns. Today that is nothing: requests go
// through the *http.Client of [WithHTTPClient], which the caller keeps
// owning, or through http.DefaultTransport as it is at request time, which
// the whole program shares, so Close closes neither. It is safe to call
// more than once, concurrently, and on a nil or zero Client. Calls made
// after Close fail with [ErrClosed] and send nothing.
func (c *Client) Close() {
	if c == nil || c.hc == nil || c.closed == nil || !c.closed.CompareAndSwap(false, true) {
		return
	}
	c.hc.Close()
}

// do sends req after checking that the client can be used.
func (c *Client) do(ctx context.Context, req *httpx.Request, out any) (*httpx.Response, error) {
	switch {
	case c == nil || c.hc == nil || c.closed == nil:
		return nil, httpx.Invalid("client", "is nil or was not built with NewClient")
	case c.closed.Load():
		return nil, ErrClosed
	}
	return c.hc.Do(ctx, req, out)
}

// config is what the options fill; NewClient builds the client from it once.
type config struct {
	http       httpx.Config
	apiVersion string
	language   Language
	now        func() time.Time
	lifetime   time.Duration
	softWindow time.Duration
}

// Option configures a [Client]. Options are applied in any order; the first
// invalid one makes [NewClient] fail.
type Option func(*config) error

// NewClient returns a client for Entrupy's API. It validates the credentials
// and options and makes no network call. The defaults are [DefaultBaseURL],
// [DefaultAPIVersion], 3 retries waiting 250 ms to 5 s, a 30 s timeout per
// attempt, a 1 MiB response limit and no logging.
func NewClient(creds Credentials, opts ...Option) (*Client, error) {
	if err := creds.validate(); err != nil {
		return nil, err
	}
	cfg := &config{
		http:       httpx.NewConfig("entrupy", DefaultBaseURL),
		apiVersion: DefaultAPIVersion,
		now:        time.Now,
		lifetime:   DefaultTokenLifetime,
		softWindow: DefaultSoftWindow,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, httpx.Invalid("option", "is nil")
		}
		if err := opt(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.softWindow >= cfg.lifetime {
		return nil, httpx.Invalid("soft_window", "must be shorter than the default token lifetime")
	}
	token := creds.APIToken
	cfg.http.Auth = func(h http.Header) { h.Set("Authorization", "Token "+token) }
	cfg.http.Secrets = append(cfg.http.Secrets, token)
	cfg.http.Header.Set("Api-Version", cfg.apiVersion)
	if cfg.language != "" {
		cfg.http.Header.Set("Accept-Language", string(cfg.language))
	}
	hc, err := httpx.New(cfg.http)
	if err != nil {
		return nil, err
	}
	return &Client{
		hc:         hc,
		now:        cfg.now,
		lifetime:   cfg.lifetime,
		softWindow: cfg.softWindow,
		closed:     new(atomic.Bool),
	}, nil
}

// WithBaseURL sets the API base URL (default [DefaultBaseURL]), for a test
// server or a proxy. It must be an absolute http(s) URL without query; a path
// is kept, so "https://proxy.example/entrupy/" sends requests to
// "https://proxy.example/entrupy/v2/...".
func WithBaseURL(raw string) Option {
	return func(c *config) error { return c.http.SetBaseURL(raw) }
}

// WithHTTPClient sets the *http.Client whose transport carries the requests
// (tracing, proxies, httpmock). Its Timeout and Jar are kept; redirects to
// another host are refused. Nil is an error.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.http.SetHTTPClient(hc) }
}

// WithRetry sets the retry policy: at most maxRetries retries after the first
// attempt (0 disables retries), waiting between minWait and maxWait; a
// Retry-After from Entrupy is honoured up to maxWait. AuthorizeUser,
// PostSupportMessage and Escalate create something, so they are retried only on
// 429 or when the request never reached Entrupy.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *config) error { return c.http.SetRetry(maxRetries, minWait, maxWait) }
}

// WithLogger logs one debug line per attempt and answer (method, host, path,
// status, attempt, wait, request id; never headers, bodies or query strings).
// Without it the client is silent. Nil is an error.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.http.SetLogger(l) }
}

// WithUserAgent puts the caller's product token before sdkbroker's own in the
// User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *config) error { return c.http.SetUserAgent(ua) }
}

// WithTimeout bounds each attempt (default 30 s) when the *http.Client has no
// Timeout of its own. Use the context to bound a whole call.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.http.SetTimeout(d) }
}

// WithMaxBodySize limits how many bytes of a response are read (default
// 1 MiB); a larger answer is a [*DecodeError] of kind [ErrBodyTooLarge].
func WithMaxBodySize(n int64) Option {
	return func(c *config) error { return c.http.SetMaxBodyBytes(n) }
}

// WithAPIVersion sets the Api-Version header (default [DefaultAPIVersion]).
func WithAPIVersion(v string) Option {
	return func(c *config) error {
		if strings.TrimSpace(v) == "" || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return httpx.Invalid("api_version", "must be non-empty and printable")
		}
		c.apiVersion = v
		return nil
	}
}

// WithLanguage sends "Accept-Language: <lang>" so that Entrupy's
// user-facing texts (support messages, results) come in that language. Only
// [LanguageEnglish] and [LanguageJapanese] are accepted. Without it no
// Accept-Language header is sent.
func WithLanguage(lang Language) Option {
	return func(c *config) error {
		switch lang {
		case LanguageEnglish, LanguageJapanese:
			c.language = lang
			return nil
		}
		return httpx.Invalid("language", `must be "en" or "ja"`)
	}
}

// WithClock sets the clock used to derive token expiries when Entrupy's
// answer has none, and to reject an answer that is already expired (default
// time.Now). Tests use it so that expiry checks never sleep.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return httpx.Invalid("clock", "is nil")
		}
		c.now = now
		return nil
	}
}

// WithDefaultTokenLifetime sets the lifetime assumed for a signed request
// whose answer carries no "exp" (default [DefaultTokenLifetime]). It must be
// positive, at most [MaxTokenLifetime], and longer than the soft window.
func WithDefaultTokenLifetime(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > MaxTokenLifetime {
			return httpx.Invalid("token_lifetime", "must be positive and at most 7 days")
		}
		c.lifetime = d
		return nil
	}
}

// WithSoftWindow sets how long before expiry a token should be refreshed
// when the answer carries no "soft_exp" (default [DefaultSoftWindow]). It must
// not be negative and must be shorter than the default token lifetime.
func WithSoftWindow(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return httpx.Invalid("soft_window", "must not be negative")
		}
		c.softWindow = d
		return nil
	}
}

// route splits a route constant ("GET /v2/authentications/{entrupy_id}")
// into its method and a relative path, putting args in place of the
// {placeholders} in order, each escaped as one path segment.
func route(r string, args ...string) (method, path string) {
	method, tmpl, _ := strings.Cut(r, " ")
	segs := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
	i := 0
	for k, s := range segs {
		if strings.HasPrefix(s, "{") && i < len(args) {
			segs[k] = args[i]
			i++
		}
	}
	return method, httpx.Path(segs...)
}
