package sentiance

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// vendor names the package in errors, logs and the User-Agent.
const vendor = "sentiance"

// Region is a Sentiance data region. Each region is a separate API host; use
// the region your Sentiance app was created in.
type Region string

// The Sentiance regions.
const (
	// RegionEU is the European region (the default), https://api.sentiance.com.
	RegionEU Region = "eu"
	// RegionUS is the United States region, https://api.p15.sentiance.com.
	RegionUS Region = "us"
	// RegionIN is the India region, https://api.r16.sentiance.com.
	RegionIN Region = "in"
)

// Base URLs of the regions.
const (
	// DefaultBaseURL is the EU region's API host, used when no region or
	// base URL is given.
	DefaultBaseURL = "https://api.sentiance.com"
	// BaseURLUS is the US region's API host.
	BaseURLUS = "https://api.p15.sentiance.com"
	// BaseURLIN is the India region's API host.
	BaseURLIN = "https://api.r16.sentiance.com"
)

// Platform URLs of the regions, which the app passes to the Sentiance SDK's
// user creation (UserCreationOptions setPlatformUrl on Android, platformUrl
// on iOS and React Native) together with the authentication code.
//
// Source: https://docs.sentiance.com/important-topics/user-registration lists
// the per-region hosts (EU https://api.sentiance.com, US
// https://api.p15.sentiance.com, India https://api.r16.sentiance.com), and the
// SDK references (https://docs.sentiance.com/important-topics/sdk/api-reference/android/usercreationoptions/usercreationoptions.builder
// and .../ios/user-creation-and-linking/user-creation/sentusercreationoptions)
// take a "Sentiance platform URL" without listing values. **Assumed**: the
// platform URL of a region is its API host, without a trailing slash (which
// is what Sentiance's own sample app passes for the EU region).
const (
	// PlatformURLEU is the EU region's platform URL (the default).
	PlatformURLEU = DefaultBaseURL
	// PlatformURLUS is the US region's platform URL.
	PlatformURLUS = BaseURLUS
	// PlatformURLIN is the India region's platform URL.
	PlatformURLIN = BaseURLIN
)

// PlatformURL returns the platform URL the Sentiance SDK needs for the
// region (see [PlatformURLEU]), or "" for an unknown region.
func (r Region) PlatformURL() string {
	switch r {
	case RegionEU:
		return PlatformURLEU
	case RegionUS:
		return PlatformURLUS
	case RegionIN:
		return PlatformURLIN
	}
	return ""
}

// BaseURL returns the API host of the region, or "" for an unknown region.
func (r Region) BaseURL() string {
	switch r {
	case RegionEU:
		return DefaultBaseURL
	case RegionUS:
		return BaseURLUS
	case RegionIN:
		return BaseURLIN
	}
	return ""
}

// Credentials hold the Sentiance API key, sent as "Authorization: Bearer <key>".
// For [Client.CreateAuthCode] and [Client.LinkInstall] the key needs the scope
// user.link; for [Client.DeleteUser], user.delete.
//
// Credentials never print the key: String, GoString, Format and LogValue show
// [REDACTED], and JSON encoding leaves it out.
type Credentials struct {
	// APIKey is the secret API key from the Sentiance dashboard.
	APIKey string `json:"-"`
}

// String returns a redacted description of the credentials.
func (c Credentials) String() string {
	return "sentiance.Credentials{APIKey: " + redactedOrEmpty(c.APIKey) + "}"
}

// GoString returns the same redacted description as String, for %#v.
func (c Credentials) GoString() string { return c.String() }

// Format prints the redacted description for every verb.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the credentials with the key redacted.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("api_key", redactedOrEmpty(c.APIKey)))
}

func redactedOrEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return httpx.Redacted
}

// validate checks the key before it is ever used: it must be present and fit
// in an HTTP header on one line.
func (c Credentials) validate() error {
	switch {
	case c.APIKey == "":
		return httpx.Invalid("api_key", "is empty")
	case strings.ContainsFunc(c.APIKey, isControlOrSpace):
		return httpx.Invalid("api_key", "must not contain spaces or control characters")
	}
	return nil
}

func isControlOrSpace(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// Option configures a [Client]. Options are applied in any order; each
// checks its argument and NewClient returns the first error.
type Option func(*config) error

type config struct {
	http      httpx.Config
	clock     func() time.Time
	region    Region
	regionSet bool   // WithRegion was given
	baseURL   string // a custom base URL; wins over region
}

// WithRegion selects the region's API host (default [RegionEU]). A base URL
// given with [WithBaseURL] wins over the region for API calls, whatever the
// option order; the region then still chooses [Client.PlatformURL].
func WithRegion(r Region) Option {
	return func(c *config) error {
		if r.BaseURL() == "" {
			return httpx.Invalid("region", `must be one of "eu", "us", "in"`)
		}
		c.region = r
		c.regionSet = true
		return nil
	}
}

// WithBaseURL sends every call to raw instead of the region's host, for a
// proxy or a fake (see package sentiancetest). It must be an absolute http or
// https URL without query or fragment; a path is kept ("https://proxy/sentiance/"
// sends auth codes to "https://proxy/sentiance/users/auth-code"). It wins over
// [WithRegion].
func WithBaseURL(raw string) Option {
	return func(c *config) error {
		if err := c.http.SetBaseURL(raw); err != nil {
			return err
		}
		c.baseURL = raw
		return nil
	}
}

// WithClock sets the clock the client reads (default time.Now). Sentiance
// sends each code's expiry itself (AuthCode.ExpiresAt), so the client
// derives no expiry; the clock is what [Client.Now] returns, for
// AuthCode.Expired(client.Now()), and for symmetry with the other sdkbroker
// vendor packages. Tests pass a fake clock. A nil clock is an error.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return httpx.Invalid("clock", "is nil")
		}
		c.clock = now
		return nil
	}
}

// WithHTTPClient sends requests through hc, keeping its Transport (tracing,
// proxies, httpmock), Jar and Timeout. Redirects to another host are always
// refused. A nil hc is an error.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.http.SetHTTPClient(hc) }
}

// WithRetry sets the retry policy: at most maxRetries retries after the first
// attempt, with backoff between minWait and maxWait (a Retry-After is
// honoured, capped at maxWait). The default is 3 retries, 250 ms to 5 s.
// [Client.CreateAuthCode] and [Client.LinkInstall] are POSTs and are retried
// only on 429 or when the request never reached Sentiance.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *config) error { return c.http.SetRetry(maxRetries, minWait, maxWait) }
}

// WithLogger logs one debug line per attempt and answer (method, host, path,
// status, attempt, wait, Sentiance ref), never headers, bodies or query
// strings. Without it the client is silent. A nil logger is an error.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.http.SetLogger(l) }
}

// WithUserAgent puts ua (your product token, such as "myapp/1.2") before
// sdkbroker's own in the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *config) error { return c.http.SetUserAgent(ua) }
}

// WithTimeout bounds each attempt when the *http.Client has no Timeout of its
// own (default 30 s). Use the context to bound a whole call with its retries.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { return c.http.SetTimeout(d) }
}

// WithMaxBodySize limits every response body read (default 1 MiB); a larger
// answer is an error matching [ErrMalformedResponse].
func WithMaxBodySize(n int64) Option {
	return func(c *config) error { return c.http.SetMaxBodyBytes(n) }
}

// Client calls the Sentiance API. It is safe for concurrent use; build one
// per API key and share it.
//
// The API key lives only inside the request-signing function of the HTTP
// core, never in a field of Client: fmt prints unexported fields raw (even
// behind a pointer, under a verb such as %s), so no verb can reach it.
type Client struct {
	hc          *httpx.Client
	platformURL string
	clock       func() time.Time
	closed      *atomic.Bool // shared by copies of the struct
}

// NewClient checks creds and opts and returns a Client. It makes no network
// call. The API key is sent as "Authorization: Bearer <key>" and scrubbed from
// every error and log line.
func NewClient(creds Credentials, opts ...Option) (*Client, error) {
	if err := creds.validate(); err != nil {
		return nil, err
	}
	cfg := config{http: httpx.NewConfig(vendor, DefaultBaseURL), region: RegionEU, clock: time.Now}
	for _, opt := range opts {
		if opt == nil {
			return nil, httpx.Invalid("option", "is nil")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	cfg.http.BaseURL = cfg.region.BaseURL()
	if cfg.baseURL != "" {
		cfg.http.BaseURL = cfg.baseURL
	}
	// cfg.http.ErrorParser stays nil: httpx.ParseErrorBody reads errorCode,
	// message and ref before any other name, which is exactly Sentiance's
	// {"message", "errorCode", "ref"} (see the error tests).
	bearer := "Bearer " + creds.APIKey
	cfg.http.Auth = func(h http.Header) { h.Set("Authorization", bearer) }
	cfg.http.Secrets = []string{creds.APIKey}
	hc, err := httpx.New(cfg.http)
	if err != nil {
		return nil, err
	}
	return &Client{hc: hc, platformURL: platformURL(cfg), clock: cfg.clock, closed: new(atomic.Bool)}, nil
}

// platformURL chooses the URL [Client.PlatformURL] reports.
func platformURL(cfg config) string {
	if cfg.baseURL == "" || cfg.regionSet {
		return cfg.region.PlatformURL()
	}
	return strings.TrimRight(cfg.baseURL, "/")
}

// PlatformURL returns the Sentiance platform URL the app passes to the SDK's
// user creation together with the authentication code (see [PlatformURLEU]
// for the source). It is:
//
//   - the region's platform URL ([Region.PlatformURL]) by default and
//     whenever [WithRegion] was given, also together with [WithBaseURL] (a
//     proxy in front of that region's API);
//   - with [WithBaseURL] and no [WithRegion], the base URL itself without a
//     trailing slash (**assumed**: such a base URL is a fake, as in package
//     sentiancetest, or a private deployment that also serves the SDK; give
//     WithRegion as well when it is a proxy in front of a public region).
//
// A nil or zero Client returns "".
func (c *Client) PlatformURL() string {
	if c == nil {
		return ""
	}
	return c.platformURL
}

// BaseURL returns the API base URL the client sends to, ending in "/": the
// region's host, or the [WithBaseURL] value. A nil or zero Client returns "".
func (c *Client) BaseURL() string {
	if c == nil || c.hc == nil {
		return ""
	}
	return c.hc.BaseURL().String()
}

// Now returns the time on the client's clock ([WithClock], default
// time.Now), for AuthCode.Expired(client.Now()).
func (c *Client) Now() time.Time {
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

// String describes the client without its key; a nil or zero Client prints
// as "sentiance.Client{}".
func (c *Client) String() string {
	if c == nil || c.hc == nil {
		return "sentiance.Client{}"
	}
	return "sentiance.Client{base: " + c.BaseURL() + "}"
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }
