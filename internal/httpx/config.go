package httpx

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// NewConfig returns a Config for vendor with the defaults every vendor
// starts from: baseURL, [DefaultRetryPolicy], [DefaultTimeout] and
// [DefaultMaxBodyBytes]. Vendor options then call the Set methods below,
// which validate their argument, so an option fails where it is given.
func NewConfig(vendor, baseURL string) Config {
	return Config{
		Vendor:       vendor,
		BaseURL:      baseURL,
		Retry:        DefaultRetryPolicy(),
		Timeout:      DefaultTimeout,
		MaxBodyBytes: DefaultMaxBodyBytes,
		Header:       http.Header{},
	}
}

// SetBaseURL sets the base URL after checking it (see [ParseBaseURL]).
func (c *Config) SetBaseURL(raw string) error {
	if _, err := ParseBaseURL(raw, c.RequireHTTPS); err != nil {
		return err
	}
	c.BaseURL = raw
	return nil
}

// SetHTTPClient sets the caller's *http.Client; nil is an error.
func (c *Config) SetHTTPClient(hc *http.Client) error {
	if hc == nil {
		return Invalid("http_client", "is nil")
	}
	c.HTTPClient = hc
	return nil
}

// SetRetry sets the retry policy after checking it.
func (c *Config) SetRetry(maxRetries int, minWait, maxWait time.Duration) error {
	p := RetryPolicy{MaxRetries: maxRetries, MinWait: minWait, MaxWait: maxWait}
	if err := p.Validate(); err != nil {
		return err
	}
	c.Retry = p
	return nil
}

// SetLogger sets the logger; nil is an error (leave the option out to stay silent).
func (c *Config) SetLogger(l *slog.Logger) error {
	if l == nil {
		return Invalid("logger", "is nil")
	}
	c.Logger = l
	return nil
}

// SetUserAgent sets the caller's product token, put before sdkbroker's own.
func (c *Config) SetUserAgent(ua string) error {
	if strings.TrimSpace(ua) == "" || strings.ContainsAny(ua, "\r\n") {
		return Invalid("user_agent", "must be non-empty and on one line")
	}
	c.UserAgent = ua
	return nil
}

// SetTimeout sets the per-attempt timeout; it must be positive.
func (c *Config) SetTimeout(d time.Duration) error {
	if d <= 0 {
		return Invalid("timeout", "must be positive")
	}
	c.Timeout = d
	return nil
}

// SetMaxBodyBytes sets the response size limit; it must be positive.
func (c *Config) SetMaxBodyBytes(n int64) error {
	if n <= 0 {
		return Invalid("max_body_bytes", "must be positive")
	}
	c.MaxBodyBytes = n
	return nil
}
