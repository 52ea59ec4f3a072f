package sentiance

import (
	"errors"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// APIError is a non-2xx answer from Sentiance. Sentiance answers errors as
// {"message": "...", "errorCode": "SCREAMING_CASE", "ref": "<uuid>"}. Fields:
//
//   - Vendor: "sentiance".
//   - Method, Path: the request's method and escaped URL path (no query).
//   - StatusCode: the HTTP status of the last answer.
//   - Code: errorCode (compare it with the Code constants, or use [ErrorCode]).
//   - Message: message, scrubbed of secrets and capped at 256 bytes.
//   - RequestID: ref, the id to quote to Sentiance support.
//   - RetryAfter: the wait a 429 asked for (Retry-After), zero if none.
//   - Attempts: how many times the request was sent.
//   - Body: an excerpt of the answer (at most 4 KiB), scrubbed of secrets and
//     never part of Error().
//
// errors.Is matches the status category ([ErrNotFound], [ErrRateLimited], ...).
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call; it
// unwraps to [ErrInvalidInput]. Fields: Field, the wire name of the offending
// input (such as "external_id"); Reason, what is wrong with it, never
// repeating the value.
type ValidationError = httpx.ValidationError

// DecodeError reports a 2xx answer whose body cannot be used; it matches
// [ErrMalformedResponse] and its Kind. Fields:
//
//   - Vendor, Method, Path: the call, as in [APIError].
//   - StatusCode: the HTTP status of the answer.
//   - Kind: [ErrEmptyBody], [ErrNotJSON], [ErrTruncatedJSON],
//     [ErrMissingField], [ErrBodyTooLarge] or [ErrMalformedResponse].
//   - Field: the wire name of the missing or bad field, such as
//     "authentication_code" or "expires_at", when known.
//   - Err: the underlying cause, if any.
type DecodeError = httpx.DecodeError

// TransportError reports a call that got no HTTP answer (connection failure,
// timeout, ended context, refused redirect). Fields:
//
//   - Vendor, Method, Path: the call, as in [APIError].
//   - Attempts: how many times the request was sent.
//   - Sent: whether the request may have reached Sentiance.
//   - Err: the cause, without the URL; errors.Is(err, context.Canceled) and
//     errors.Is(err, context.DeadlineExceeded) work through it.
type TransportError = httpx.TransportError

// Error categories, shared with every sdkbroker vendor package, for errors.Is.
var (
	// ErrInvalidInput matches a [*ValidationError] and a 400 or 422 answer.
	ErrInvalidInput = httpx.ErrInvalidInput
	// ErrUnauthorized matches a 401: the API key is missing, wrong or revoked.
	ErrUnauthorized = httpx.ErrUnauthorized
	// ErrForbidden matches a 403: the API key lacks the scope (user.link, user.delete).
	ErrForbidden = httpx.ErrForbidden
	// ErrNotFound matches a 404.
	ErrNotFound = httpx.ErrNotFound
	// ErrConflict matches a 409.
	ErrConflict = httpx.ErrConflict
	// ErrRateLimited matches a 429; see APIError.RetryAfter.
	ErrRateLimited = httpx.ErrRateLimited
	// ErrServer matches a 5xx answer.
	ErrServer = httpx.ErrServer

	// ErrMalformedResponse matches every [*DecodeError].
	ErrMalformedResponse = httpx.ErrMalformedResponse
	// ErrEmptyBody is the DecodeError kind for a 2xx answer without a body.
	ErrEmptyBody = httpx.ErrEmptyBody
	// ErrNotJSON is the DecodeError kind for a body that is not JSON (an HTML page).
	ErrNotJSON = httpx.ErrNotJSON
	// ErrTruncatedJSON is the DecodeError kind for JSON cut short.
	ErrTruncatedJSON = httpx.ErrTruncatedJSON
	// ErrMissingField is the DecodeError kind for an answer lacking a required
	// field (authentication_code, expires_at, id).
	ErrMissingField = httpx.ErrMissingField
	// ErrBodyTooLarge is the DecodeError kind for an answer over the size
	// limit ([WithMaxBodySize]).
	ErrBodyTooLarge = httpx.ErrBodyTooLarge
)

// ErrRedirectRefused is the cause, inside a [*TransportError], of a call
// that Sentiance answered with a redirect to another host or scheme: the
// client never follows one, so that no credential reaches that host (a
// redirect to the same host and scheme is left to the *http.Client's
// redirect policy). It is not retried, and [IsRetryable] reports false for
// it; match it with errors.Is.
var ErrRedirectRefused = httpx.ErrRedirectRefused

// ErrClosed is returned by calls made after [Client.Close]; nothing is sent.
var ErrClosed = errors.New("sentiance: client is closed")

// Sentiance error codes (the errorCode field of an error answer), for
// switching on [ErrorCode]. Codes not listed here are passed through verbatim.
const (
	// CodeUserNotFound: the Sentiance user does not exist (or was deleted).
	CodeUserNotFound = "USER_NOT_FOUND"
	// CodeInstallLinkedToOtherUser: the install is already linked to the user
	// of another external id.
	CodeInstallLinkedToOtherUser = "INSTALL_LINKED_TO_OTHER_USER"
	// CodeUserLinkingNotConfigured: user linking is not enabled for the
	// Sentiance app; ask Sentiance to enable it.
	CodeUserLinkingNotConfigured = "USERLINKING_NOT_CONFIGURED"
)

// ErrorCode returns the Sentiance errorCode carried by err (an [*APIError]
// anywhere in its chain), or "" when there is none.
func ErrorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// IsRetryable reports whether the same call may succeed later: a 429, 502,
// 503 or 504 answer, a connection failure, or a timeout that was not the
// caller's own deadline.
func IsRetryable(err error) bool { return httpx.IsRetryable(err) }
