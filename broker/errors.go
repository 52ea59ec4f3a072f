package broker

import (
	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Shared sentinel errors, the same values the vendor packages export, so
// errors.Is(err, broker.ErrNotFound) and errors.Is(err, uqudo.ErrNotFound) agree.
var (
	// ErrInvalidInput reports a request rejected before any vendor call: an
	// unconfigured vendor, a missing user id or missing vendor parameters.
	ErrInvalidInput = httpx.ErrInvalidInput
	// ErrUnauthorized reports a 401 from the vendor.
	ErrUnauthorized = httpx.ErrUnauthorized
	// ErrForbidden reports a 403 from the vendor.
	ErrForbidden = httpx.ErrForbidden
	// ErrNotFound reports a 404 from the vendor.
	ErrNotFound = httpx.ErrNotFound
	// ErrConflict reports a 409 from the vendor.
	ErrConflict = httpx.ErrConflict
	// ErrRateLimited reports a 429 from the vendor.
	ErrRateLimited = httpx.ErrRateLimited
	// ErrServer reports a 5xx from the vendor.
	ErrServer = httpx.ErrServer
	// ErrMalformedResponse reports a vendor answer that could not be used.
	ErrMalformedResponse = httpx.ErrMalformedResponse
	// ErrRedirectRefused is the cause, inside a [*TransportError], of a
	// vendor call answered with a redirect to another host or scheme, which
	// the vendor clients never follow (the credential must not reach that
	// host). It is not retried, and [IsRetryable] reports false for it.
	ErrRedirectRefused = httpx.ErrRedirectRefused
)

// APIError is a non-2xx answer from a vendor (an alias of the type every
// vendor package exports). Unwrap returns the sentinel for its status, so
// errors.Is(err, ErrRateLimited) works. Fields:
//
//   - Vendor, Method, Path: the call ("sentiance", "POST", "/users/auth-code"; no query string);
//   - StatusCode: the HTTP status of the last answer;
//   - Code: the vendor's machine-readable error code, if any;
//   - Message: the vendor's message, scrubbed of secrets and capped;
//   - RequestID: the vendor's request or trace id, if any;
//   - RetryAfter: the wait the vendor asked for, zero if none;
//   - Attempts: how many times the request was sent;
//   - Body: a scrubbed excerpt of the response body, never part of Error().
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call; it
// unwraps to [ErrInvalidInput]. Fields: Field (the offending input, such as
// "user_id" or "unique_user_id") and Reason (what is wrong; it never
// repeats a secret).
type ValidationError = httpx.ValidationError

// DecodeError reports a 2xx vendor answer whose body could not be used; it
// matches [ErrMalformedResponse] and its Kind with errors.Is. Fields:
// Vendor, Method, Path (the call), StatusCode, Kind (the sentinel naming the
// problem: empty body, not JSON, truncated JSON, missing field, body too
// large), Field (the wire name of the missing or bad field, when known) and
// Err (the decoder's error, if any).
type DecodeError = httpx.DecodeError

// TransportError reports a vendor call that got no usable answer: a
// connection failure, a timeout, a refused redirect, or the caller's
// context ending (also while Start waits for a grant another caller is
// fetching), so errors.Is(err, context.Canceled) works through it. Fields:
// Vendor, Method, Path (the call), Attempts (how many times it was sent),
// Sent (whether it may have reached the vendor) and Err (the cause).
type TransportError = httpx.TransportError

// IsRetryable reports whether err is worth retrying later (a 429, 502, 503
// or 504 answer, a connection failure or a timeout).
func IsRetryable(err error) bool { return httpx.IsRetryable(err) }

// OpError is what Start and Invalidate return when a vendor call fails: it
// names the vendor and the operation and keeps the vendor's error reachable
// with errors.Is and errors.As.
type OpError struct {
	// Vendor is the vendor that failed.
	Vendor Vendor
	// Op is the broker operation, such as "start".
	Op string
	// Err is the vendor package's error.
	Err error
}

// Error implements error: "broker: start entrupy: <vendor error>".
func (e *OpError) Error() string {
	return "broker: " + e.Op + " " + string(e.Vendor) + ": " + e.Err.Error()
}

// Unwrap returns the vendor's error.
func (e *OpError) Unwrap() error { return e.Err }
