package idv

import "github.com/sdkbroker/sdkbroker/internal/httpx"

// APIError is a non-2xx answer from the platform: StatusCode, the vendor's
// Code and Message (scrubbed of secrets), RequestID, RetryAfter and a body
// excerpt. It unwraps to the sentinel for its status, such as
// [ErrUnauthorized] for a 401 (a wrong API key, or an expired device token).
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call; it unwraps
// to [ErrInvalidInput]. Its Reason never repeats the rejected value.
type ValidationError = httpx.ValidationError

// DecodeError reports a 2xx answer whose body cannot be used (empty, not
// JSON, truncated, too large, or missing a required field such as a
// session's "id"); it matches [ErrMalformedResponse].
type DecodeError = httpx.DecodeError

// TransportError reports a call that got no answer: a connection failure, a
// timeout or an ended context (errors.Is(err, context.Canceled) works).
type TransportError = httpx.TransportError

// Sentinel errors, shared with every sdkbroker package, for errors.Is.
var (
	// ErrInvalidInput matches a [*ValidationError] and a 400/422 answer.
	ErrInvalidInput = httpx.ErrInvalidInput
	// ErrUnauthorized matches a 401: a wrong API key, or a device token that
	// is wrong or has expired.
	ErrUnauthorized = httpx.ErrUnauthorized
	// ErrForbidden matches a 403: the API key lacks a permission.
	ErrForbidden = httpx.ErrForbidden
	// ErrNotFound matches a 404, such as an unknown session id.
	ErrNotFound = httpx.ErrNotFound
	// ErrConflict matches a 409.
	ErrConflict = httpx.ErrConflict
	// ErrRateLimited matches a 429; see APIError.RetryAfter.
	ErrRateLimited = httpx.ErrRateLimited
	// ErrServer matches a 5xx answer.
	ErrServer = httpx.ErrServer
	// ErrMalformedResponse matches every [*DecodeError].
	ErrMalformedResponse = httpx.ErrMalformedResponse
	// ErrEmptyBody matches a [*DecodeError] for a 2xx answer with no body.
	ErrEmptyBody = httpx.ErrEmptyBody
	// ErrNotJSON matches a [*DecodeError] for a body that is not JSON, such
	// as an HTML page.
	ErrNotJSON = httpx.ErrNotJSON
	// ErrTruncatedJSON matches a [*DecodeError] for JSON cut short.
	ErrTruncatedJSON = httpx.ErrTruncatedJSON
	// ErrMissingField matches a [*DecodeError] for an absent required field.
	ErrMissingField = httpx.ErrMissingField
	// ErrBodyTooLarge matches a response larger than [WithMaxBodySize].
	ErrBodyTooLarge = httpx.ErrBodyTooLarge
)

// IsRetryable reports whether err is worth retrying later: a 429, 502, 503
// or 504 answer, a connection failure, or a timeout that was not the
// caller's own deadline. A 5xx to a call that creates something is not
// retried by the client (the device or session may exist) but is reported
// retryable here, so the caller decides.
func IsRetryable(err error) bool { return httpx.IsRetryable(err) }
