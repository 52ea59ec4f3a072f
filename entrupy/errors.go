package entrupy

import (
	"errors"
	"fmt"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// APIError is a non-2xx answer from Entrupy. Fields:
//
//   - Vendor: "entrupy".
//   - Method, Path: the request's method and escaped URL path (no query).
//   - StatusCode: the HTTP status of the last answer.
//   - Code, Message: Entrupy's error code and message, when it sent them
//     (Message scrubbed of secrets and capped at 256 bytes).
//   - RequestID: Entrupy's request id, if any.
//   - RetryAfter: the wait a 429 asked for (Retry-After), zero if none.
//   - Attempts: how many times the request was sent.
//   - Body: an excerpt of the answer (at most 4 KiB), scrubbed of secrets and
//     never part of Error().
//
// Unwrap gives the sentinel for its status, so errors.Is(err, ErrNotFound)
// works. Its message never holds the API token, a header or the body.
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call; it
// unwraps to [ErrInvalidInput]. Fields: Field, the wire name of the offending
// input (such as "unique_user_id"); Reason, what is wrong, never repeating
// the value.
type ValidationError = httpx.ValidationError

// DecodeError reports a 2xx answer whose body cannot be used (empty, not
// JSON, truncated, missing a required field, too large, or expired on
// arrival). errors.Is matches its Kind and [ErrMalformedResponse]. Fields:
//
//   - Vendor, Method, Path: the call, as in [APIError].
//   - StatusCode: the HTTP status of the answer.
//   - Kind: [ErrEmptyBody], [ErrNotJSON], [ErrTruncatedJSON],
//     [ErrMissingField], [ErrBodyTooLarge] or [ErrMalformedResponse].
//   - Field: the wire name of the missing or bad field (such as
//     "entrupy_id" or "exp"), when known.
//   - Err: the underlying cause, if any.
type DecodeError = httpx.DecodeError

// TransportError reports a request that got no usable answer (connection
// failure, timeout, ended context, refused redirect). Fields:
//
//   - Vendor, Method, Path: the call, as in [APIError].
//   - Attempts: how many times the request was sent.
//   - Sent: whether the request may have reached Entrupy.
//   - Err: the cause, without the URL; errors.Is(err, context.Canceled) and
//     errors.Is(err, context.DeadlineExceeded) work through it.
type TransportError = httpx.TransportError

// ErrClosed is returned by calls made after [Client.Close]; nothing is sent.
var ErrClosed = errors.New("entrupy: client is closed")

// Error categories shared by every sdkbroker vendor package; match them with errors.Is.
var (
	// ErrInvalidInput reports input rejected before sending ([*ValidationError])
	// or a 400/422 answer.
	ErrInvalidInput = httpx.ErrInvalidInput
	// ErrUnauthorized reports a 401: the API token is missing, wrong or revoked.
	ErrUnauthorized = httpx.ErrUnauthorized
	// ErrForbidden reports a 403: the token may not use this route.
	ErrForbidden = httpx.ErrForbidden
	// ErrNotFound reports a 404, such as an unknown entrupy_id.
	ErrNotFound = httpx.ErrNotFound
	// ErrConflict reports a 409.
	ErrConflict = httpx.ErrConflict
	// ErrRateLimited reports a 429 (Entrupy allows about 10 requests per
	// second); APIError.RetryAfter holds the wait Entrupy asked for.
	ErrRateLimited = httpx.ErrRateLimited
	// ErrServer reports a 5xx answer.
	ErrServer = httpx.ErrServer

	// ErrMalformedResponse is the category of every [*DecodeError].
	ErrMalformedResponse = httpx.ErrMalformedResponse
	// ErrEmptyBody is the DecodeError kind for a 2xx answer without a body.
	ErrEmptyBody = httpx.ErrEmptyBody
	// ErrNotJSON is the DecodeError kind for a body that is not JSON (an HTML page).
	ErrNotJSON = httpx.ErrNotJSON
	// ErrTruncatedJSON is the DecodeError kind for JSON cut short.
	ErrTruncatedJSON = httpx.ErrTruncatedJSON
	// ErrMissingField is the DecodeError kind for an answer lacking a required field.
	ErrMissingField = httpx.ErrMissingField
	// ErrBodyTooLarge is the DecodeError kind for an answer over the size limit.
	ErrBodyTooLarge = httpx.ErrBodyTooLarge
)

// ErrRedirectRefused is the cause, inside a [*TransportError], of a call
// that Entrupy answered with a redirect to another host or scheme: the
// client never follows one, so that no credential reaches that host (a
// redirect to the same host and scheme is left to the *http.Client's
// redirect policy). It is not retried, and [IsRetryable] reports false for
// it; match it with errors.Is.
var ErrRedirectRefused = httpx.ErrRedirectRefused

// Webhook signature errors. Each wraps [ErrInvalidSignature], and none
// contains the secret or the signature.
var (
	// ErrInvalidSignature is the category of every webhook signature failure.
	ErrInvalidSignature = errors.New("entrupy: invalid webhook signature")
	// ErrSignatureMissing reports an absent or empty Entrupy-Signature header.
	ErrSignatureMissing = fmt.Errorf("%w: missing %s header", ErrInvalidSignature, SignatureHeader)
	// ErrSignatureMalformed reports a header that is not a hex HMAC-SHA256
	// (64 hex digits, optionally after "sha256=").
	ErrSignatureMalformed = fmt.Errorf("%w: malformed %s header", ErrInvalidSignature, SignatureHeader)
	// ErrSignatureMismatch reports a well-formed signature that does not
	// match the body: a wrong secret or a body altered on the way.
	ErrSignatureMismatch = fmt.Errorf("%w: signature does not match the body", ErrInvalidSignature)
)

// ErrMalformedEvent is the category of every [ParseEvent] error: the webhook
// body is empty, not JSON, or lacks a field the event type needs.
var ErrMalformedEvent = errors.New("entrupy: malformed webhook event")

// IsRetryable reports whether err is worth retrying later: a 429, 502, 503 or
// 504 answer, a connection failure, or a timeout that was not the caller's own
// deadline. A 5xx from AuthorizeUser, PostSupportMessage or Escalate is
// returned without a retry (the request may have been carried out) and is not
// reported retryable unless it is a 502/503/504.
func IsRetryable(err error) bool { return httpx.IsRetryable(err) }
