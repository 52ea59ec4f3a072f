package entrupy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// RouteAuthorizeUser is the route [Client.AuthorizeUser] calls, written as a
// net/http ServeMux pattern.
const RouteAuthorizeUser = "POST /v2/integrations/authorize-user"

// Rules for AuthorizeUserParams.UniqueUserID, as Entrupy documents them.
const (
	// MinUniqueUserIDLen is the shortest unique_user_id Entrupy accepts.
	MinUniqueUserIDLen = 8
	// MaxUniqueUserIDLen is the longest unique_user_id Entrupy accepts.
	MaxUniqueUserIDLen = 40
	// UniqueUserIDSymbols are the characters allowed besides ASCII letters and digits.
	UniqueUserIDSymbols = "@.+_-"
)

// maxEmailLen is the longest address SMTP allows.
const maxEmailLen = 254

// AuthorizeUserParams is the body of [Client.AuthorizeUser].
//
// SDKAuthorizationRequest is treated as a secret, like the API token: String,
// GoString, Format, LogValue and json.Marshal print it as [REDACTED] (the
// other fields as they are, under the wire names below), and errors never
// hold it. json.Unmarshal reads it normally, so the body your app posts can
// be decoded into AuthorizeUserParams; [Client.AuthorizeUser] sends the real
// value.
type AuthorizeUserParams struct {
	// SDKAuthorizationRequest is the opaque string the Entrupy SDK on the
	// phone produced; required. Entrupy signs exactly this string.
	SDKAuthorizationRequest string `json:"sdk_authorization_request"`
	// UniqueUserID is your stable id for the user: 8 to 40 characters of
	// A-Z, a-z, 0-9 and "@.+_-"; required.
	UniqueUserID string `json:"unique_user_id"`
	// Email is the user's e-mail address (a bare address such as
	// "ann@example.com"); required.
	Email string `json:"email"`
	// FirstName is optional. Entrupy fixes a user's names on their first
	// call; later values are ignored.
	FirstName string `json:"first_name,omitempty"`
	// LastName is optional, fixed on the first call like FirstName.
	LastName string `json:"last_name,omitempty"`
}

// String describes the parameters with SDKAuthorizationRequest redacted.
func (p AuthorizeUserParams) String() string {
	return fmt.Sprintf("entrupy.AuthorizeUserParams{SDKAuthorizationRequest:%s, UniqueUserID:%q, Email:%q, FirstName:%q, LastName:%q}",
		redactedOrEmpty(p.SDKAuthorizationRequest), p.UniqueUserID, p.Email, p.FirstName, p.LastName)
}

// GoString is String, for %#v.
func (p AuthorizeUserParams) GoString() string { return p.String() }

// MarshalJSON encodes the parameters with SDKAuthorizationRequest as
// [REDACTED] (or "" when empty), so JSON logs never hold it.
func (p AuthorizeUserParams) MarshalJSON() ([]byte, error) {
	w := authorizeRequest(p)
	if w.SDKAuthorizationRequest != "" {
		w.SDKAuthorizationRequest = httpx.Redacted
	}
	return json.Marshal(w)
}

// authorizeRequest is the wire body of authorize-user: AuthorizeUserParams
// without its redacting MarshalJSON.
type authorizeRequest struct {
	SDKAuthorizationRequest string `json:"sdk_authorization_request"`
	UniqueUserID            string `json:"unique_user_id"`
	Email                   string `json:"email"`
	FirstName               string `json:"first_name,omitempty"`
	LastName                string `json:"last_name,omitempty"`
}

// Format prints the redacted form for every verb.
func (p AuthorizeUserParams) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, p.String()) }

// LogValue logs the parameters with SDKAuthorizationRequest redacted.
func (p AuthorizeUserParams) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("sdk_authorization_request", redactedOrEmpty(p.SDKAuthorizationRequest)),
		slog.String("unique_user_id", p.UniqueUserID),
		slog.String("email", p.Email),
		slog.String("first_name", p.FirstName),
		slog.String("last_name", p.LastName),
	)
}

// Validate checks the parameters as Entrupy documents them, plus the
// **assumed** bounds [MaxSDKAuthorizationRequestLength] and [MaxNameLength]
// (names: valid UTF-8 without control characters); AuthorizeUser calls it
// before sending. The error is a [*ValidationError] naming the field and
// never repeating any input.
func (p AuthorizeUserParams) Validate() error {
	if strings.TrimSpace(p.SDKAuthorizationRequest) == "" {
		return httpx.Invalid("sdk_authorization_request", "is empty")
	}
	if err := checkText("sdk_authorization_request", p.SDKAuthorizationRequest, MaxSDKAuthorizationRequestLength); err != nil {
		return err
	}
	if err := ValidateUniqueUserID(p.UniqueUserID); err != nil {
		return err
	}
	if err := validateEmail(p.Email); err != nil {
		return err
	}
	if err := checkText("first_name", p.FirstName, MaxNameLength); err != nil {
		return err
	}
	return checkText("last_name", p.LastName, MaxNameLength)
}

// ValidateUniqueUserID reports whether id is an acceptable unique_user_id:
// 8 to 40 characters of A-Z, a-z, 0-9 and "@.+_-". The error is a
// [*ValidationError] for field "unique_user_id".
func ValidateUniqueUserID(id string) error {
	if n := len(id); n < MinUniqueUserIDLen || n > MaxUniqueUserIDLen {
		return httpx.Invalid("unique_user_id", fmt.Sprintf("must be %d to %d characters long", MinUniqueUserIDLen, MaxUniqueUserIDLen))
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(UniqueUserIDSymbols, r)
		if !ok {
			return httpx.Invalid("unique_user_id", "may hold only A-Z, a-z, 0-9 and "+UniqueUserIDSymbols)
		}
	}
	return nil
}

func validateEmail(email string) error {
	if email == "" {
		return httpx.Invalid("email", "is empty")
	}
	if len(email) > maxEmailLen {
		return httpx.Invalid("email", "is too long")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return httpx.Invalid("email", "is not an e-mail address like name@example.com")
	}
	local, domain, _ := strings.Cut(email, "@")
	if local == "" || domain == "" || strings.HasPrefix(domain, "[") {
		return httpx.Invalid("email", "is not an e-mail address like name@example.com")
	}
	return nil
}

// SDKToken is a signed SDK authorization request: the credential the Entrupy
// SDK on the phone uses for its capture flows until it expires. Hand
// SignedRequest to the app, and reuse the token for the same user and the
// same SDK request until NeedsRefresh.
//
// SignedRequest is secret: String, GoString, Format and LogValue print it as
// [REDACTED]. Its JSON encoding does carry it (field
// "signed_authorization_request"), because that is how it reaches the app; do
// not log the JSON.
type SDKToken struct {
	// SignedRequest is the signed authorization request for the SDK.
	SignedRequest string `json:"signed_authorization_request"`
	// Username is the user's Entrupy platform username, when Entrupy sent
	// one (field "username", **assumed**).
	Username string `json:"username,omitempty"`
	// ExpiresAt is when the signed request stops working: Entrupy's "exp",
	// or, when absent, the time of the answer plus the default lifetime (24 h).
	ExpiresAt time.Time `json:"expires_at"`
	// SoftExpiresAt is when to get a new one: Entrupy's "soft_exp", or, when
	// absent (or after ExpiresAt), ExpiresAt minus the soft window (30 min).
	SoftExpiresAt time.Time `json:"soft_expires_at"`
}

// NeedsRefresh reports whether the token should be replaced at now: it has
// reached SoftExpiresAt. A nil token needs refreshing.
func (t *SDKToken) NeedsRefresh(now time.Time) bool {
	return t == nil || !now.Before(t.SoftExpiresAt)
}

// Expired reports whether the token no longer works at now: it has reached
// ExpiresAt. A nil token is expired.
func (t *SDKToken) Expired(now time.Time) bool {
	return t == nil || !now.Before(t.ExpiresAt)
}

// String describes the token with SignedRequest redacted.
func (t SDKToken) String() string {
	return fmt.Sprintf("entrupy.SDKToken{SignedRequest:%s, Username:%q, ExpiresAt:%s, SoftExpiresAt:%s}",
		redactedOrEmpty(t.SignedRequest), t.Username, t.ExpiresAt.Format(time.RFC3339), t.SoftExpiresAt.Format(time.RFC3339))
}

// GoString is String, for %#v.
func (t SDKToken) GoString() string { return t.String() }

// Format prints the redacted form for every verb.
func (t SDKToken) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, t.String()) }

// LogValue logs the token with SignedRequest redacted.
func (t SDKToken) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("signed_request", redactedOrEmpty(t.SignedRequest)),
		slog.String("username", t.Username),
		slog.Time("expires_at", t.ExpiresAt),
		slog.Time("soft_expires_at", t.SoftExpiresAt),
	)
}

// authorizeResponse is the wire answer of authorize-user. exp and soft_exp
// are **assumed** optional Unix seconds (number or numeric string).
type authorizeResponse struct {
	SignedRequest string    `json:"signed_authorization_request"`
	Username      string    `json:"username"`
	Exp           timestamp `json:"exp"`
	SoftExp       timestamp `json:"soft_exp"`
}

func (r *authorizeResponse) ValidateResponse() error {
	if r.SignedRequest == "" {
		return httpx.MissingField("signed_authorization_request")
	}
	return nil
}

// errExpiredOnArrival is the cause of the DecodeError for an "exp" that has
// already passed: such a token would be handed out dead.
var errExpiredOnArrival = errors.New("token expired before it arrived (check the clock)")

// AuthorizeUser signs the SDK's authorization request for one of your users
// (POST /v2/integrations/authorize-user) and returns the [SDKToken] to hand
// to the app. The parameters are validated first (see
// [AuthorizeUserParams.Validate]); nothing is sent if they are wrong.
//
// Expiry: ExpiresAt and SoftExpiresAt come from the answer's "exp" and
// "soft_exp" when present; otherwise ExpiresAt is now plus the default
// lifetime ([WithDefaultTokenLifetime], 24 h) and SoftExpiresAt is ExpiresAt
// minus the soft window ([WithSoftWindow], 30 min), or half-way to ExpiresAt
// when the token lives less than the window. A "soft_exp" after "exp" is
// ignored (derived as above). An "exp" already in the past is a [*DecodeError]
// (Field "exp", kind [ErrMalformedResponse]).
//
// The call creates a grant, so it is retried only on 429 or when it never
// reached Entrupy.
func (c *Client) AuthorizeUser(ctx context.Context, p AuthorizeUserParams) (*SDKToken, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	method, path := route(RouteAuthorizeUser)
	var out authorizeResponse
	resp, err := c.do(ctx, &httpx.Request{
		Method:  method,
		Path:    path,
		JSON:    authorizeRequest(p),
		Secrets: []string{p.SDKAuthorizationRequest},
	}, &out)
	if err != nil {
		return nil, err
	}
	now := c.now().Round(0)
	exp, soft := time.Time(out.Exp), time.Time(out.SoftExp)
	if !exp.IsZero() && !exp.After(now) {
		return nil, c.decodeFailure(method, path, resp.StatusCode,
			&httpx.DecodeError{Kind: httpx.ErrMalformedResponse, Field: "exp", Err: errExpiredOnArrival})
	}
	if exp.IsZero() {
		exp = now.Add(c.lifetime)
	}
	if soft.IsZero() || soft.After(exp) {
		soft = exp.Add(-c.softWindow)
		if !soft.After(now) {
			soft = now.Add(exp.Sub(now) / 2)
		}
	}
	return &SDKToken{SignedRequest: out.SignedRequest, Username: out.Username, ExpiresAt: exp, SoftExpiresAt: soft}, nil
}
