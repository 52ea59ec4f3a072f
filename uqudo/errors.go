package uqudo

import (
	"errors"
	"fmt"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// APIError is a non-2xx answer from uqudo. Unwrap returns the sentinel for
// its status ([ErrUnauthorized] for 401, [ErrNotFound] for 404, ...). Fields:
//
//   - Vendor string: "uqudo".
//   - Method, Path string: the request's method and escaped URL path (no query).
//   - StatusCode int: the HTTP status of the last answer.
//   - Code, Message string: uqudo's error code and message, when it sent them
//     (scrubbed of secrets, capped).
//   - RequestID string: uqudo's request or trace id, if any.
//   - RetryAfter time.Duration: the wait uqudo asked for (Retry-After), zero if none.
//   - Attempts int: how many times the request was sent.
//   - Body []byte: an excerpt of the answer (at most 4 KiB), scrubbed of the
//     client secret and access token; never part of Error().
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call; it
// unwraps to [ErrInvalidInput]. Fields:
//
//   - Field string: the offending input, such as "session_id" or
//     "documents[0].documentType".
//   - Reason string: what is wrong with it; it never repeats a secret.
type ValidationError = httpx.ValidationError

// DecodeError reports a 2xx answer whose body cannot be used; errors.Is
// matches both [ErrMalformedResponse] and its Kind. Fields:
//
//   - Vendor, Method, Path string: the call, as in [APIError].
//   - StatusCode int: the HTTP status of the answer.
//   - Kind error: one of [ErrEmptyBody], [ErrNotJSON], [ErrTruncatedJSON],
//     [ErrMissingField], [ErrBodyTooLarge] or [ErrMalformedResponse].
//   - Field string: the missing or bad field (its wire name), when known.
//   - Err error: the underlying cause, if any (for [Client.Info], the
//     verification error, which matches [ErrMalformedResult]).
type DecodeError = httpx.DecodeError

// TransportError reports a call that got no HTTP answer: a connection
// failure, a timeout, a refused redirect, or the caller's context ending
// (also while waiting for the shared access-token request). errors.Is(err,
// context.Canceled) and context.DeadlineExceeded work through it. Fields:
//
//   - Vendor, Method, Path string: the call, as in [APIError]; a wait for the
//     access token names the token request (POST .../api/oauth/token).
//   - Attempts int: how many times the request was sent.
//   - Sent bool: whether the request may have reached uqudo.
//   - Err error: the cause (no URL with a query string in it).
//
// Its Retryable method reports whether trying again later may help; see
// [IsRetryable].
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
	// ErrMalformedResponse is the category of every [*DecodeError]: a 2xx
	// answer with an unusable body.
	ErrMalformedResponse = httpx.ErrMalformedResponse
)

// Kinds of [*DecodeError]; each also matches [ErrMalformedResponse].
var (
	// ErrEmptyBody reports a 2xx answer with no body where one was expected.
	ErrEmptyBody = httpx.ErrEmptyBody
	// ErrNotJSON reports a body of the wrong format, such as an HTML error
	// page (for [Client.Info]: a body that is not a compact JWS at all).
	ErrNotJSON = httpx.ErrNotJSON
	// ErrTruncatedJSON reports a body that ends before it is complete (for
	// [Client.Info]: a JWS cut short).
	ErrTruncatedJSON = httpx.ErrTruncatedJSON
	// ErrMissingField reports a required field absent from the answer; see
	// DecodeError.Field.
	ErrMissingField = httpx.ErrMissingField
	// ErrBodyTooLarge reports an answer larger than the limit
	// ([WithMaxBodySize]); it is refused without being read whole.
	ErrBodyTooLarge = httpx.ErrBodyTooLarge
)

// ErrRedirectRefused is the cause, inside a [*TransportError], of a call
// that uqudo answered with a redirect to another host or scheme: the
// client never follows one, so that no credential reaches that host (a
// redirect to the same host and scheme is left to the *http.Client's
// redirect policy). It is not retried, and [IsRetryable] reports false for
// it; match it with errors.Is.
var ErrRedirectRefused = httpx.ErrRedirectRefused

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
	// ErrUnknownKey reports a JWS without a kid, or whose kid is absent from
	// a JWKS downloaded after the kid was seen. (A kid absent from a JWKS
	// downloaded moments earlier gives a retryable [ErrJWKSUnavailable]
	// instead; see [Verifier].)
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

// ErrJWKSUnavailable reports that the signing keys could not be used now:
// the JWKS download failed (the underlying [*APIError], [*DecodeError] or
// [*TransportError] stays reachable, and [IsRetryable] tells whether trying
// later may help), the caller's context ended while waiting for it, or the
// result names a kid missing from a JWKS downloaded less than the minimum
// refresh interval ago (retryable: the key may be newly published). It does
// not match [ErrInvalidResult]: the result may well be genuine, and the
// webhook handler answers 503 so that uqudo delivers it again.
var ErrJWKSUnavailable = errors.New("uqudo: signing keys (JWKS) unavailable")

// ErrClosed reports a call made after [Client.Close] or [Verifier.Close]; it
// is not retryable and does not match [ErrInvalidResult].
var ErrClosed = errors.New("uqudo: closed")

// IsRetryable reports whether err is worth retrying later: a 429, 502, 503
// or 504 answer, a connection failure, or a timeout that was not the
// caller's own deadline.
func IsRetryable(err error) bool { return httpx.IsRetryable(err) }

// wrapf returns an error matching kind (and so its category) with a detail
// that never repeats the JWS or a secret.
func wrapf(kind error, format string, args ...any) error {
	return fmt.Errorf("uqudo: %w: "+format, append([]any{kind}, args...)...)
}
