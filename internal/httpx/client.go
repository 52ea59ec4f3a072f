package httpx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Version is the sdkbroker version sent in the User-Agent header.
const Version = "0.1.0"

// Defaults used when a Config leaves a field zero.
const (
	DefaultTimeout      = 30 * time.Second // per attempt, when the *http.Client has none
	DefaultMaxBodyBytes = 1 << 20          // 1 MiB
)

// RetryPolicy bounds retries: at most MaxRetries retries after the first
// attempt, waiting between MinWait and MaxWait (exponential backoff with
// jitter; a Retry-After is honoured but capped at MaxWait).
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; 0 disables retries.
	MaxRetries int
	// MinWait is the first backoff step.
	MinWait time.Duration
	// MaxWait caps every wait, including one asked for by Retry-After.
	MaxWait time.Duration
}

// DefaultRetryPolicy is 3 retries waiting 250 ms to 5 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, MinWait: 250 * time.Millisecond, MaxWait: 5 * time.Second}
}

// Validate reports a negative or inverted policy.
func (p RetryPolicy) Validate() error {
	switch {
	case p.MaxRetries < 0 || p.MaxRetries > 20:
		return Invalid("retry.max_retries", "must be between 0 and 20")
	case p.MinWait < 0:
		return Invalid("retry.min_wait", "must not be negative")
	case p.MaxWait < p.MinWait:
		return Invalid("retry.max_wait", "must not be less than min wait")
	}
	return nil
}

// ErrorDetails is what an [ErrorParser] finds in an error answer.
type ErrorDetails struct {
	Code, Message, RequestID string
}

// ErrorParser extracts the vendor's code, message and request id from an
// error answer. It must not fail: it returns what it found.
type ErrorParser func(status int, header http.Header, body []byte) ErrorDetails

// Config configures a [Client]. Vendor packages fill it from their options;
// [New] validates it.
type Config struct {
	// Vendor is the short vendor name ("entrupy"): it prefixes errors and
	// names the vendor in the User-Agent.
	Vendor string
	// BaseURL is the absolute URL every relative path resolves against.
	BaseURL string
	// RequireHTTPS rejects a base URL that is not https.
	RequireHTTPS bool
	// HTTPClient is the caller's client; its Transport, Jar and Timeout are
	// kept (a copy is made, so the caller's value is never modified). Nil,
	// or a nil Transport, sends through http.DefaultTransport as it is at
	// each request, so httpmock.Activate, before or after New, intercepts.
	HTTPClient *http.Client
	// Timeout bounds one attempt when HTTPClient has no Timeout (default 30 s).
	// Either bounds each attempt, from sending the request to the end of the
	// answer's body (redirects included), and retries get a fresh one.
	Timeout time.Duration
	// Retry is the retry policy; use [DefaultRetryPolicy] as a start.
	Retry RetryPolicy
	// Logger receives one debug line per attempt (method, host, path, status,
	// attempt, wait). Nil is silent.
	Logger *slog.Logger
	// UserAgent, when set, is put before "sdkbroker/<version> (+vendor)".
	UserAgent string
	// MaxBodyBytes limits every response body (default 1 MiB).
	MaxBodyBytes int64
	// Header holds headers sent with every request (Api-Version, ...).
	Header http.Header
	// Auth sets the client's credential. [New] calls it once, on an empty
	// header, and sends the headers it set with every request (after
	// Request.Header, so they win over it), except requests that carry their
	// own Request.Auth. A credential that changes from call to call goes in
	// Request.Auth instead.
	Auth func(http.Header)
	// Secrets are scrubbed from every error message and log line.
	Secrets []string
	// ErrorParser reads the vendor's error format; nil uses a generic parser
	// that knows the common field names.
	ErrorParser ErrorParser
}

// Client sends requests for one vendor. It is safe for concurrent use.
type Client struct {
	vendor      string
	base        *url.URL
	baseEscPath string // base.EscapedPath()
	baseDots    bool   // the base path has a "." or ".." segment
	rc          *retryablehttp.Client
	logger      *slog.Logger
	userAgent   string
	maxBody     int64
	timeout     time.Duration     // per attempt
	setFixed    func(http.Header) // sets Config.Header, User-Agent and Accept, built once
	setAuth     func(http.Header) // sets what Config.Auth set when New called it; nil without one
	redactor    *Redactor
	parseErr    ErrorParser
}

// headerEntry is one header of a set built once and sent with every request.
type headerEntry struct {
	key    string
	values []string
}

// headerSetter returns a function that puts a copy of h, taken now, into a
// request's header. The value slices it puts are shared by every request
// and have no spare capacity, so an Add or Set on a request's header never
// writes into them. The copy lives only inside the function, which fmt
// prints as an address: a credential in it cannot be printed with the
// Client.
func headerSetter(h http.Header) func(http.Header) {
	entries := make([]headerEntry, 0, len(h))
	for k, v := range h {
		entries = append(entries, headerEntry{key: k, values: slices.Clip(slices.Clone(v))})
	}
	slices.SortFunc(entries, func(a, b headerEntry) int { return strings.Compare(a.key, b.key) })
	return func(dst http.Header) {
		for _, e := range entries {
			dst[e.key] = e.values
		}
	}
}

// ParseBaseURL checks that raw is an absolute http(s) URL without query or
// fragment and returns it with a path ending in "/", so relative paths
// resolve beneath it.
func ParseBaseURL(raw string, requireHTTPS bool) (*url.URL, error) {
	if raw == "" {
		return nil, Invalid("base_url", "is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Invalid("base_url", "is not a URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, Invalid("base_url", "must be an absolute http or https URL")
	case requireHTTPS && u.Scheme != "https":
		return nil, Invalid("base_url", "must use https")
	case u.Host == "":
		return nil, Invalid("base_url", "has no host")
	case u.User != nil:
		return nil, Invalid("base_url", "must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, Invalid("base_url", "must not have a query or fragment")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// New validates cfg and builds a Client. It makes no network call.
func New(cfg Config) (*Client, error) {
	if cfg.Vendor == "" {
		return nil, Invalid("vendor", "is empty")
	}
	base, err := ParseBaseURL(cfg.BaseURL, cfg.RequireHTTPS)
	if err != nil {
		return nil, err
	}
	if err := cfg.Retry.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, Invalid("timeout", "must not be negative")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, Invalid("max_body_bytes", "must not be negative")
	}
	if strings.ContainsAny(cfg.UserAgent, "\r\n") {
		return nil, Invalid("user_agent", "must not contain line breaks")
	}
	c := &Client{
		vendor:    cfg.Vendor,
		base:      base,
		logger:    cfg.Logger,
		userAgent: fmt.Sprintf("sdkbroker/%s (+%s)", Version, cfg.Vendor),
		maxBody:   cfg.MaxBodyBytes,
		redactor:  NewRedactor(cfg.Secrets...),
		parseErr:  cfg.ErrorParser,
	}
	c.baseEscPath = base.EscapedPath()
	c.baseDots = hasDotSegment(c.baseEscPath)
	if cfg.UserAgent != "" {
		c.userAgent = cfg.UserAgent + " " + c.userAgent
	}
	fixed := cfg.Header.Clone()
	if fixed == nil {
		fixed = http.Header{}
	}
	fixed.Set("User-Agent", c.userAgent)
	fixed.Set("Accept", "application/json")
	c.setFixed = headerSetter(fixed)
	if cfg.Auth != nil {
		auth := http.Header{}
		cfg.Auth(auth)
		c.setAuth = headerSetter(auth)
	}
	if c.maxBody == 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.parseErr == nil {
		c.parseErr = ParseErrorBody
	}
	c.rc = c.newRetryClient(cfg)
	return c, nil
}

// newRetryClient wraps the caller's *http.Client (a shallow copy, so the
// caller's value is untouched) in a retryablehttp.Client with our policy.
// Without one, or when it has no Transport, requests go through
// [defaultTransport], so whatever http.DefaultTransport is when a request is
// sent is used.
func (c *Client) newRetryClient(cfg Config) *retryablehttp.Client {
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient //nolint:govet // copying the exported fields is intended
	}
	if hc.Transport == nil {
		hc.Transport = defaultTransport{}
	}
	c.timeout = hc.Timeout
	if c.timeout <= 0 {
		c.timeout = cfg.Timeout
		if c.timeout == 0 {
			c.timeout = DefaultTimeout
		}
	}
	// The attempt timeout is applied by timeoutTransport, not by
	// http.Client, whose Timeout costs a goroutine per request in front of
	// any transport but a bare *http.Transport.
	hc.Timeout = 0
	hc.CheckRedirect = sameHostRedirect(hc.CheckRedirect)
	hc.Transport = &bodyTransport{next: hc.Transport, limit: c.maxBody}
	if cfg.Logger != nil {
		hc.Transport = &loggingTransport{next: hc.Transport, logger: cfg.Logger, client: c}
	}
	hc.Transport = &timeoutTransport{next: hc.Transport, timeout: c.timeout}

	rc := retryablehttp.NewClient()
	rc.HTTPClient = &hc
	rc.RetryMax = cfg.Retry.MaxRetries
	rc.RetryWaitMin = cfg.Retry.MinWait
	rc.RetryWaitMax = cfg.Retry.MaxWait
	rc.CheckRetry = checkRetry
	rc.Backoff = backoff
	rc.ErrorHandler = keepLastResponse
	rc.PrepareRetry = rewindBody
	rc.Logger = nil
	if cfg.Logger != nil {
		rc.Logger = &slogAdapter{l: cfg.Logger, vendor: cfg.Vendor}
	}
	rc.RequestLogHook = requestHook
	return rc
}

// defaultTransport sends each request through http.DefaultTransport as it is
// at that moment, never a copy taken earlier: httpmock.Activate (before or
// after New) intercepts, and a program that wrapped the default transport
// (tracing, metrics) keeps its wrapping. It makes no assumption about the
// default transport's concrete type.
type defaultTransport struct{}

func (defaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return http.DefaultTransport.RoundTrip(req)
}

// sameHostRedirect refuses a redirect to another host (the credential must
// never follow it) and then defers to the caller's policy, if any.
func sameHostRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && (req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme) {
			return ErrRedirectRefused
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// Vendor returns the vendor name the client was built for.
func (c *Client) Vendor() string { return c.vendor }

// BaseURL returns a copy of the base URL, ending in "/".
func (c *Client) BaseURL() *url.URL { u := *c.base; return &u }

// Redactor returns the client's redactor, holding its registered secrets.
func (c *Client) Redactor() *Redactor { return c.redactor }

// Close releases what the client owns. It is safe to call more than once, on
// a nil Client and concurrently with calls, and calls made after Close keep
// working. The client owns no connections: it sends through the caller's
// Config.HTTPClient, which the caller keeps owning, or through whatever
// http.DefaultTransport is at request time, which the whole program shares;
// so Close releases nothing today and closes neither. Vendor clients call it
// from their own Close so that anything the core comes to own is released.
func (c *Client) Close() {}
