package sentiance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// AuthCode is a Sentiance authentication code: the app passes Code to the
// Sentiance SDK's user creation, which creates the Sentiance user linked to
// your external id, or restores it when the id is already linked.
//
// Code is a secret until it is redeemed: String, GoString, Format and
// LogValue print [REDACTED] in its place. JSON encoding keeps it (with the
// wire names authentication_code and expires_at), so an AuthCode can be
// returned to your app as is.
type AuthCode struct {
	// Code is the single-use authentication code (hex).
	Code string `json:"authentication_code"`
	// ExpiresAt is when Sentiance stops accepting the code, about ten minutes
	// after it was issued. Trust it rather than assuming a lifetime.
	ExpiresAt time.Time `json:"expires_at"`
}

// Expired reports whether the code is no longer usable at now, that is
// whether now is at or after ExpiresAt.
func (a AuthCode) Expired(now time.Time) bool { return !now.Before(a.ExpiresAt) }

// String describes the code with Code redacted.
func (a AuthCode) String() string {
	return "sentiance.AuthCode{Code: " + redactedOrEmpty(a.Code) + ", ExpiresAt: " + a.ExpiresAt.UTC().Format(time.RFC3339Nano) + "}"
}

// GoString is String, for %#v.
func (a AuthCode) GoString() string { return a.String() }

// Format prints String for every verb, so no verb can print the code.
func (a AuthCode) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// LogValue logs the expiry and a redacted code.
func (a AuthCode) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("authentication_code", redactedOrEmpty(a.Code)),
		slog.Time("expires_at", a.ExpiresAt),
	)
}

// errNotRFC3339 is the cause of a DecodeError for a time Sentiance sent in
// another format; the value itself is not repeated.
var errNotRFC3339 = errors.New("not an RFC 3339 time")

type externalIDBody struct {
	ExternalID string `json:"external_id"`
}

// authCodeResponse is the wire form; expires_at is parsed after decoding so
// that a missing or malformed value gets a precise error.
type authCodeResponse struct {
	Code      string `json:"authentication_code"`
	ExpiresAt string `json:"expires_at"`

	expiresAt time.Time
}

// ValidateResponse implements httpx.ResponseValidator.
func (r *authCodeResponse) ValidateResponse() error {
	if r.Code == "" {
		return httpx.MissingField("authentication_code")
	}
	if r.ExpiresAt == "" {
		return httpx.MissingField("expires_at")
	}
	t, err := time.Parse(time.RFC3339Nano, r.ExpiresAt)
	if err != nil {
		return &httpx.DecodeError{Kind: httpx.ErrMalformedResponse, Field: "expires_at", Err: errNotRFC3339}
	}
	r.expiresAt = t
	return nil
}

// CreateAuthCode asks Sentiance for an authentication code for externalID,
// your own id for the user (POST /users/auth-code, body {"external_id": ...};
// the key needs scope user.link). See "User creation" in the Sentiance
// documentation, https://docs.sentiance.com.
//
// Restore semantics: if externalID is already linked to a Sentiance user, no
// new user is made; the code restores that existing user on the device, and
// Sentiance deactivates the user's other devices. Calling CreateAuthCode again
// for the same id is therefore safe: every code leads to the same user.
//
// The id is checked with [ValidateExternalID] before any call. The code is
// single-use and short-lived (about ten minutes; see ExpiresAt). A code is
// created by every call, so the POST is retried only on 429 or when it never
// reached Sentiance; a 5xx is returned at once (and [IsRetryable] says
// whether to try again). The code never appears in errors or logs.
func (c *Client) CreateAuthCode(ctx context.Context, externalID string) (*AuthCode, error) {
	if err := ValidateExternalID(externalID); err != nil {
		return nil, err
	}
	var out authCodeResponse
	_, err := c.do(ctx, &httpx.Request{
		Method: http.MethodPost,
		Path:   httpx.Path("users", "auth-code"),
		JSON:   externalIDBody{ExternalID: externalID},
	}, &out)
	if err != nil {
		return nil, err
	}
	return &AuthCode{Code: out.Code, ExpiresAt: out.expiresAt}, nil
}
