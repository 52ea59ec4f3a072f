package idv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// vendor names the vendor in errors, logs and the User-Agent.
const vendor = "idv"

// DefaultAuthScheme is the scheme put before the API key in the
// Authorization header: "Authorization: ApiKey <key>".
//
// Assumed: one page of the vendor's documentation shows the bare key. Change
// it per client with [WithAuthScheme].
const DefaultAuthScheme = "ApiKey"

// Credentials hold the IDV platform API key (permission "Ephemeral Devices:
// Write" for [Client.CreateEphemeralDevice], "All Sessions: Read" for
// [Client.GetSession]). String, GoString, Format and LogValue print the key
// as [REDACTED]; json.Marshal leaves it out.
type Credentials struct {
	// APIKey is the platform's application key.
	APIKey string `json:"-"`
}

// String returns the credentials with the key redacted.
func (c Credentials) String() string {
	return "idv.Credentials{APIKey: " + redactedOrEmpty(c.APIKey) + "}"
}

// GoString returns the credentials with the key redacted.
func (c Credentials) GoString() string { return c.String() }

// Format prints the credentials with the key redacted, whatever the verb.
func (c Credentials) Format(f fmt.State, verb rune) { formatSafe(f, verb, c.String(), c.GoString()) }

// LogValue returns the credentials with the key redacted for log/slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("api_key", redactedOrEmpty(c.APIKey)))
}

// Client calls one IDV platform deployment. It is safe for concurrent use.
//
// The API key stays inside the client's request signer and is never printed:
// fmt prints a Client as its base URL only.
type Client struct {
	hc     *httpx.Client
	base   *url.URL
	clock  func() time.Time
	closed *atomic.Bool // shared by copies of the struct
}

// String names the client and its base URL; a nil or zero Client prints as
// "idv.Client{}".
func (c *Client) String() string {
	if c == nil || c.base == nil {
		return "idv.Client{}"
	}
	return "idv.Client{BaseURL: " + c.base.String() + "}"
}

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb, so even %#v cannot reach the
// credentials.
func (c *Client) Format(f fmt.State, verb rune) { formatSafe(f, verb, c.String(), c.GoString()) }

// BaseURL returns the deployment's base URL the client sends to (the
// positional argument of [NewClient], or the [WithBaseURL] value), its path
// ending in "/". API routes and the handoff pages are resolved beneath it. A
// nil or zero Client returns "".
func (c *Client) BaseURL() string {
	if c == nil || c.base == nil {
		return ""
	}
	return c.base.String()
}

// now reads the client's clock (time.Now on a nil or zero Client, whose
// calls then fail in do).
func (c *Client) now() time.Time {
	if c == nil || c.clock == nil {
		return time.Now()
	}
	return c.clock()
}

// Close releases what the client owns. Today that is nothing: requests go
// through the *http.Client of [WithHTTPClient], which the caller keeps
// owning, or through http.DefaultTransport as it is at request time, which
// the whole program shares, so Close closes neither. It is safe to call
// more than once, concurrently, and on a nil or zero Client. Calls made
// after Close fail with [ErrClosed] and send nothing; [Client.HandoffURL]
// and BaseURL, which send nothing, keep working.
func (c *Client) Close() {
	if c == nil || c.hc == nil || c.closed == nil || !c.closed.CompareAndSwap(false, true) {
		return
	}
	c.hc.Close()
}

// usable reports why the client cannot be used, or nil.
func (c *Client) usable() error {
	if c == nil || c.hc == nil || c.base == nil || c.clock == nil || c.closed == nil {
		return httpx.Invalid("client", "is nil or was not built with NewClient")
	}
	return nil
}

// do sends req after checking that the client can be used.
func (c *Client) do(ctx context.Context, req *httpx.Request, out any) (*httpx.Response, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if c.closed.Load() {
		return nil, ErrClosed
	}
	return c.hc.Do(ctx, req, out)
}

// Option configures a Client; see the With* functions. Options are applied in
// order and the client is built once after all of them, so their order never
// matters. An option given a bad value makes [NewClient] fail.
type Option func(*config) error

type config struct {
	http       httpx.Config
	baseURL    string // WithBaseURL; wins over the positional base URL
	insecure   bool
	authScheme string
	clock      func() time.Time
}

// NewClient returns a client for the IDV platform deployment at baseURL,
// which must be an absolute https URL (http only with [WithInsecureHTTP]),
// without query or fragment. A path on baseURL is kept: every API route,
// and the handoff URL's /capture and /mobile pages, are resolved beneath it.
// [WithBaseURL] overrides baseURL, which may then be empty. The API key must
// be at most [MaxTokenLength] bytes. NewClient makes no network call. Bad
// input gives a [*ValidationError].
func NewClient(baseURL string, creds Credentials, opts ...Option) (*Client, error) {
	cfg := config{
		http:       httpx.NewConfig(vendor, baseURL),
		authScheme: DefaultAuthScheme,
		clock:      time.Now,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, httpx.Invalid("option", "is nil")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if err := checkHeaderValue("api_key", creds.APIKey); err != nil {
		return nil, err
	}
	if cfg.baseURL != "" {
		baseURL = cfg.baseURL
		cfg.http.BaseURL = baseURL
	}
	cfg.http.RequireHTTPS = !cfg.insecure
	base, err := parseBaseURL(baseURL, cfg.insecure)
	if err != nil {
		return nil, err
	}
	key, scheme := creds.APIKey, cfg.authScheme
	cfg.http.Auth = func(h http.Header) { h.Set("Authorization", joinScheme(scheme, key)) }
	cfg.http.Secrets = []string{key}
	hc, err := httpx.New(cfg.http)
	if err != nil {
		return nil, err
	}
	return &Client{hc: hc, base: base, clock: cfg.clock, closed: new(atomic.Bool)}, nil
}

// parseBaseURL checks the base URL, saying how to allow http when it is the
// only problem.
func parseBaseURL(raw string, insecure bool) (*url.URL, error) {
	u, err := httpx.ParseBaseURL(raw, false)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" && !insecure {
		return nil, httpx.Invalid("base_url", "must use https (WithInsecureHTTP allows http for local testing)")
	}
	return u, nil
}

// joinScheme returns "scheme value", or value alone for an empty scheme.
func joinScheme(scheme, value string) string {
	if scheme == "" {
		return value
	}
	return scheme + " " + value
}

// WithBaseURL sends every call to raw instead of NewClient's baseURL, for a
// proxy path or a fake, whatever the option order. The same rules apply:
// an absolute https URL (http only with [WithInsecureHTTP]) without query or
// fragment; a path is kept. It exists for symmetry with the other sdkbroker
// vendor packages; the positional argument does the same.
func WithBaseURL(raw string) Option {
	return func(c *config) error {
		if raw == "" {
			return httpx.Invalid("base_url", "is empty")
		}
		c.baseURL = raw
		return nil
	}
}

// WithInsecureHTTP allows an http base URL, for a local fake such as
// idvtest. Never use it against a real deployment: the API key and device
// tokens would cross the network in clear text.
func WithInsecureHTTP() Option {
	return func(c *config) error { c.insecure = true; return nil }
}

// maxAuthSchemeLength bounds WithAuthScheme's scheme.
const maxAuthSchemeLength = 64

// WithAuthScheme sets the scheme sent before the API key (default
// [DefaultAuthScheme], "ApiKey"). An empty scheme sends the bare key. The
// scheme is one token: no spaces or control characters.
func WithAuthScheme(scheme string) Option {
	return func(c *config) error {
		if len(scheme) > maxAuthSchemeLength || strings.ContainsFunc(scheme, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return httpx.Invalid("auth_scheme", "must be one word of at most 64 bytes without spaces or control characters")
		}
		c.authScheme = scheme
		return nil
	}
}

// WithHTTPClient sends requests through hc, keeping its Transport, Jar and
// Timeout (tracing, proxies, httpmock). A redirect to another host is always
// refused. nil is an error.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.http.SetHTTPClient(hc) }
}

// WithRetry sets the retry policy: at most maxRetries retries after the first
// attempt (0 disables retries), waiting between minWait and maxWait. The
// default is 3 retries waiting 250 ms to 5 s. Calls that create something (a
// device, a session, a deep link) are retried only on 429 or when the request
// never reached the server.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *config) error { return c.http.SetRetry(maxRetries, minWait, maxWait) }
}

// WithLogger logs one debug line per attempt (method, host, path, status,
// attempt, wait): never headers, bodies, query strings or tokens. Without it
// the client is silent. nil is an error.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.http.SetLogger(l) }
}

// WithUserAgent puts ua before the library's own User-Agent product token.
func WithUserAgent(ua string) Option {
	return func(c *config) error { return c.http.SetUserAgent(ua) }
}

// WithTimeout bounds each attempt when the *http.Client has no Timeout of its
// own (default 30 s). It must be positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.http.SetTimeout(d) }
}

// WithMaxBodySize limits every response body to n bytes (default 1 MiB); a
// larger answer is an error matching [ErrBodyTooLarge].
func WithMaxBodySize(n int64) Option {
	return func(c *config) error { return c.http.SetMaxBodyBytes(n) }
}

// WithClock sets the clock used to compute expiry times and to refuse an
// expired device before sending it (default time.Now). For tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return httpx.Invalid("clock", "is nil")
		}
		c.clock = now
		return nil
	}
}
