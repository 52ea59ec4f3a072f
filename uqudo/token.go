package uqudo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// TokenFailureBackoff is how long a failed token request (bad credentials
// included) is remembered: calls in that window fail at once with the same
// error instead of asking uqudo again, so bad credentials never cause a
// request loop.
const TokenFailureBackoff = 5 * time.Second

// AccessToken is a uqudo access token (OAuth 2 client credentials). One
// token serves the whole account. String, GoString, Format and LogValue
// redact Token; use the field itself only where it is sent (an SDK). JSON
// encoding does include Token: that is how it reaches your app.
type AccessToken struct {
	// Token is the bearer token. Secret.
	Token string `json:"access_token"`
	// Type is the token type, "bearer".
	Type string `json:"token_type"`
	// Scope is the granted scope, as uqudo returns it.
	Scope string `json:"scope,omitempty"`
	// ExpiresAt is when the token expires (by the client's clock, from expires_in).
	ExpiresAt time.Time `json:"expires_at"`
}

// String returns the token with Token redacted.
func (t AccessToken) String() string {
	return fmt.Sprintf("uqudo.AccessToken{Token: %s, Type: %q, Scope: %q, ExpiresAt: %s}",
		redactedIfSet(t.Token), t.Type, t.Scope, t.ExpiresAt.Format(time.RFC3339))
}

// GoString is String.
func (t AccessToken) GoString() string { return t.String() }

// Format prints String for every verb.
func (t AccessToken) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

// LogValue logs the token with Token redacted.
func (t AccessToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", redactedIfSet(t.Token)), slog.String("type", t.Type),
		slog.String("scope", t.Scope), slog.Time("expires_at", t.ExpiresAt))
}

// AccessToken returns the cached access token, requesting one when there is
// none or it is about to expire. Concurrent callers share one request. Give
// it to the uqudo SDK on the phone; every Client call uses it too. Rejected
// credentials give an error matching [ErrBadCredentials]. If ctx ends while
// the call waits for the shared request, it returns a [*TransportError]
// (POST .../api/oauth/token) matching ctx's error; the shared request goes
// on and serves the next caller.
//
// Docs: https://docs.uqudo.com/docs/kyc/uqudo-api/authorisation
func (c *Client) AccessToken(ctx context.Context) (*AccessToken, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if ctx == nil {
		return nil, invalid("ctx", "is nil")
	}
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	cp := *tok
	return &cp, nil
}

// tokenRoute is the token endpoint, relative to the auth base URL.
const tokenRoute = "api/oauth/token"

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresIn   expiresIn `json:"expires_in"`
	Scope       string    `json:"scope"`
}

func (r *tokenResponse) ValidateResponse() error {
	switch {
	case r.AccessToken == "":
		return httpx.MissingField("access_token")
	case r.ExpiresIn <= 0:
		return httpx.MissingField("expires_in")
	}
	return nil
}

// expiresIn is a lifetime in seconds sent as a JSON number or a string.
type expiresIn int64

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(uq)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > math.MaxInt32 {
		return errors.New("expires_in is not a number of seconds")
	}
	*e = expiresIn(f)
	return nil
}

// fetchToken is the token cache's fetch function: one client-credentials
// request. It is marked idempotent (retried like a GET) because minting a
// second token is harmless.
func (c *Client) fetchToken(ctx context.Context, _ struct{}) (*AccessToken, tokencache.Expiry, error) {
	var out tokenResponse
	_, err := c.hc.Do(ctx, &httpx.Request{
		Method:  http.MethodPost,
		BaseURL: c.authURL,
		Path:    tokenRoute,
		Form: url.Values{
			"grant_type":    {"client_credentials"},
			"client_id":     {c.creds.ClientID},
			"client_secret": {c.creds.ClientSecret},
		},
		Idempotent: true,
	}, &out)
	if err != nil {
		return nil, tokencache.Expiry{}, tokenError(err)
	}
	now := c.clock().Round(0)
	tok := &AccessToken{
		Token:     out.AccessToken,
		Type:      out.TokenType,
		Scope:     out.Scope,
		ExpiresAt: now.Add(time.Duration(out.ExpiresIn) * time.Second),
	}
	return tok, tokencache.Expiry{Hard: tok.ExpiresAt}, nil
}

// tokenError marks rejected credentials: a 401, or a 400 whose OAuth error
// code is invalid_client.
func tokenError(err error) error {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return err
	}
	if apiErr.StatusCode == http.StatusUnauthorized ||
		(apiErr.StatusCode == http.StatusBadRequest && apiErr.Code == "invalid_client") {
		return &credentialsError{err: apiErr}
	}
	return err
}

// credentialsError is a rejected token request: it matches
// ErrBadCredentials, ErrUnauthorized and the *APIError.
type credentialsError struct{ err *APIError }

func (e *credentialsError) Error() string {
	return "uqudo: client credentials rejected: " + e.err.Error()
}
func (e *credentialsError) Unwrap() []error { return []error{ErrBadCredentials, e.err} }

var _ json.Unmarshaler = (*expiresIn)(nil)
