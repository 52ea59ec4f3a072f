package idv

import (
	"errors"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// APIError is a non-2xx answer from the platform. Fields:
//
//   - Vendor: "idv".
//   - Method, Path: the request's method and escaped URL path (no query).
//   - StatusCode: the HTTP status of the last answer.
//   - Code, Message: the platform's error code and message, when it sent
//     them (Message scrubbed of secrets and capped at 256 bytes).
//   - RequestID: the platform's request id, if any.
//   - RetryAfter: the wait a 429 asked for (Retry-After), zero if none.
//   - Attempts: how many times the request was sent.
//   - Body: an excerpt of the answer (at most 4 KiB), scrubbed of secrets and
//     never part of Error().
//
// It unwraps to the sentinel for its status, such as [ErrUnauthorized] for a
// 401 (a wrong API key, or an expired device token).
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call; it unwraps
// to [ErrInvalidInput]. Fields: Field, the wire name of the offending input
// (such as "session_id" or "metadata.plan"); Reason, what is wrong, never
// repeating the rejected value.
type ValidationError = httpx.ValidationError

// DecodeError reports a 2xx answer whose body cannot be used; it matches
// [ErrMalformedResponse] and its Kind. Fields:
//
//   - Vendor, Method, Path: the call, as in [APIError].
//   - StatusCode: the HTTP status of the answer.
//   - Kind: [ErrEmptyBody], [ErrNotJSON], [ErrTruncatedJSON],
//     [ErrMissingField], [ErrBodyTooLarge] or [ErrMalformedResponse].
//   - Field: the wire name of the missing or bad field (such as a session's
//     "id" or a device's "authorization"), when known.
//   - Err: the underlying cause, if any.
type DecodeError = httpx.DecodeError

// TransportError reports a call that got no answer: a connection failure, a
// timeout or an ended context. Fields:
//
//   - Vendor, Method, Path: the call, as in [APIError].
//   - Attempts: how many times the request was sent.
//   - Sent: whether the request may have reached the server.
//   - Err: the cause, without the URL; errors.Is(err, context.Canceled) and
//     errors.Is(err, context.DeadlineExceeded) work through it.
type TransportError = httpx.TransportError

// ErrClosed is returned by calls made after [Client.Close]; nothing is sent.
var ErrClosed = errors.New("idv: client is closed")

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

// ErrRedirectRefused is the cause, inside a [*TransportError], of a call
// that the IDV service answered with a redirect to another host or scheme: the
// client never follows one, so that no credential reaches that host (a
// redirect to the same host and scheme is left to the *http.Client's
// redirect policy). It is not retried, and [IsRetryable] reports false for
// it; match it with errors.Is.
var ErrRedirectRefused = httpx.ErrRedirectRefused

// IsRetryable reports whether err is worth retrying later: a 429, 502, 503
// or 504 answer, a connection failure, or a timeout that was not the
// caller's own deadline. A 5xx to a call that creates something is not
// retried by the client (the device or session may exist); a 502, 503 or
// 504 is reported retryable here (so the caller decides), any other 5xx is not.
func IsRetryable(err error) bool { return httpx.IsRetryable(err) }
