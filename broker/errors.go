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
)

// APIError is a non-2xx answer from a vendor; see the vendor packages.
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call.
type ValidationError = httpx.ValidationError

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
