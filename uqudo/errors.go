package uqudo

import (
	"errors"
	"fmt"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// APIError is a non-2xx answer from uqudo: StatusCode, the vendor's Code and
// Message, RequestID, RetryAfter and a scrubbed Body excerpt. It unwraps to
// the sentinel for its status ([ErrUnauthorized] for 401, ...).
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call; it
// unwraps to [ErrInvalidInput].
type ValidationError = httpx.ValidationError

// DecodeError reports a 2xx answer whose body cannot be used; it matches
// [ErrMalformedResponse].
type DecodeError = httpx.DecodeError

// TransportError reports a call that got no HTTP answer (connection failure,
// timeout, ended context, refused redirect).
type TransportError = httpx.TransportError

// Shared error categories, identical to those of every sdkbroker package, so
// errors.Is(err, uqudo.ErrNotFound) and errors.Is(err, broker.ErrNotFound) agree.
var (
	// ErrInvalidInput reports input rejected before any network call or a 400/422 answer.
	ErrInvalidInput = httpx.ErrInvalidInput
	// ErrUnauthorized reports a 401 (after the one retry with a fresh access
	// token) and is matched by [ErrBadCredentials].
	ErrUnauthorized = httpx.ErrUnauthorized
	// ErrForbidden reports a 403: the account lacks a permission.
	ErrForbidden = httpx.ErrForbidden
	// ErrNotFound reports a 404, e.g. an unknown or purged session.
	ErrNotFound = httpx.ErrNotFound
	// ErrConflict reports a 409.
	ErrConflict = httpx.ErrConflict
	// ErrRateLimited reports a 429; see APIError.RetryAfter.
	ErrRateLimited = httpx.ErrRateLimited
	// ErrServer reports a 5xx answer.
	ErrServer = httpx.ErrServer
	// ErrMalformedResponse reports a 2xx answer with an unusable body.
	ErrMalformedResponse = httpx.ErrMalformedResponse
)

// ErrBadCredentials reports that uqudo's token endpoint rejected the client
// id or secret (401, or an OAuth "invalid_client" answer). It matches
// [ErrUnauthorized] too. The client does not retry it in a loop: the failure
// is remembered for a few seconds ([TokenFailureBackoff]) and every call in
// that window fails at once with the same error.
var ErrBadCredentials = fmt.Errorf("client credentials rejected: %w", httpx.ErrUnauthorized)

// ErrInvalidResult is the category of every verification failure of a result
// JWS: each of the specific errors below matches it, so
// errors.Is(err, ErrInvalidResult) tells "not a genuine, fitting result" from
// a transient problem such as [ErrJWKSUnavailable].
var ErrInvalidResult = errors.New("invalid result")

// Specific verification failures; each matches [ErrInvalidResult].
var (
	// ErrMalformedResult reports a result that is not a compact JWS with a
	// JSON payload, or is larger than [MaxResultSize].
	ErrMalformedResult = fmt.Errorf("%w: malformed JWS", ErrInvalidResult)
	// ErrUnsupportedAlgorithm reports a JWS whose alg is not RS256 (none,
	// HS256, ES256, ...).
	ErrUnsupportedAlgorithm = fmt.Errorf("%w: signature algorithm not accepted", ErrInvalidResult)
	// ErrUnknownKey reports a kid that is absent from the JWKS, even after the
	// one refresh allowed per [DefaultJWKSMinRefresh].
	ErrUnknownKey = fmt.Errorf("%w: unknown signing key", ErrInvalidResult)
	// ErrBadSignature reports a signature that does not verify with the key
	// named by kid.
	ErrBadSignature = fmt.Errorf("%w: bad signature", ErrInvalidResult)
	// ErrSessionMismatch reports a jti that differs from the expected session id.
	ErrSessionMismatch = fmt.Errorf("%w: session id (jti) mismatch", ErrInvalidResult)
	// ErrAudienceMismatch reports an aud that does not contain the configured audience.
	ErrAudienceMismatch = fmt.Errorf("%w: audience mismatch", ErrInvalidResult)
	// ErrExpiredResult reports an exp in the past beyond the leeway.
	ErrExpiredResult = fmt.Errorf("%w: expired", ErrInvalidResult)
	// ErrResultNotYetValid reports an nbf or iat in the future beyond the leeway.
	ErrResultNotYetValid = fmt.Errorf("%w: not yet valid", ErrInvalidResult)
	// ErrNonceMismatch reports a nonce that differs from the one expected.
	ErrNonceMismatch = fmt.Errorf("%w: nonce mismatch", ErrInvalidResult)
)

// ErrJWKSUnavailable reports that the signing keys could not be fetched; the
// underlying [*APIError] or [*TransportError] stays reachable and
// [IsRetryable] tells whether trying later may help. It does not match
// [ErrInvalidResult]: the result may well be genuine.
var ErrJWKSUnavailable = errors.New("uqudo: signing keys (JWKS) unavailable")

// IsRetryable reports whether err is worth retrying later: a 429, 502, 503
// or 504 answer, a connection failure, or a timeout that was not the
// caller's own deadline.
func IsRetryable(err error) bool { return httpx.IsRetryable(err) }

// wrapf returns an error matching kind (and so its category) with a detail
// that never repeats the JWS or a secret.
func wrapf(kind error, format string, args ...any) error {
	return fmt.Errorf("uqudo: %w: "+format, append([]any{kind}, args...)...)
}
