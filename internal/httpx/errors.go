package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Shared sentinel errors. Every vendor package re-exports them, so
// errors.Is(err, uqudo.ErrNotFound) and errors.Is(err, broker.ErrNotFound) agree.
var (
	// ErrInvalidInput reports input rejected before any network call
	// ([*ValidationError]) or a 400/422 answer from the vendor.
	ErrInvalidInput = errors.New("invalid input")
	// ErrUnauthorized reports a 401: the credential is missing, wrong or expired.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden reports a 403: the credential lacks a permission or scope.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound reports a 404.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a 409.
	ErrConflict = errors.New("conflict")
	// ErrRateLimited reports a 429; see APIError.RetryAfter.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer reports a 5xx answer.
	ErrServer = errors.New("server error")

	// ErrMalformedResponse is the category of every [*DecodeError]: the vendor
	// answered 2xx with a body we cannot use.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrEmptyBody reports a 2xx answer with no body where one was expected.
	ErrEmptyBody = errors.New("empty response body")
	// ErrNotJSON reports a body that is not JSON, such as an HTML error page.
	ErrNotJSON = errors.New("response is not JSON")
	// ErrTruncatedJSON reports JSON that ends before it is complete.
	ErrTruncatedJSON = errors.New("truncated JSON response")
	// ErrMissingField reports a required field absent from the response.
	ErrMissingField = errors.New("missing required field")
	// ErrBodyTooLarge reports a response larger than the configured limit; it
	// is refused without being read whole.
	ErrBodyTooLarge = errors.New("response body too large")
	// ErrRedirectRefused reports a redirect to another host, which is never
	// followed so that credentials cannot leak.
	ErrRedirectRefused = errors.New("redirect to another host refused")
)

// APIError is a non-2xx answer from a vendor. Unwrap returns the sentinel for
// its status ([ErrNotFound] for 404, ...), so errors.Is works on the category
// and errors.As gives the details. Error() names the vendor, method, path and
// status; it never contains a query string, a header or the body.
type APIError struct {
	// Vendor is the short vendor name, such as "uqudo".
	Vendor string
	// Method is the HTTP method of the request.
	Method string
	// Path is the escaped URL path of the request, without the query string.
	Path string
	// StatusCode is the HTTP status of the last answer.
	StatusCode int
	// Code is the vendor's machine-readable error code, if it sent one.
	Code string
	// Message is the vendor's human-readable message, scrubbed of secrets and capped.
	Message string
	// RequestID is the vendor's request or trace id, if it sent one.
	RequestID string
	// RetryAfter is the wait the vendor asked for (Retry-After), zero if none.
	RetryAfter time.Duration
	// Body is an excerpt of the response body (at most MaxErrorBody bytes,
	// control characters dropped), scrubbed of known secrets before it is
	// cut, with any start of a secret left at the cut dropped too. It is
	// never part of Error().
	Body []byte
	// Attempts is how many times the request was sent.
	Attempts int
}

// MaxErrorBody caps APIError.Body.
const MaxErrorBody = 4 << 10

// maxMessage caps APIError.Message.
const maxMessage = 256

// Error implements error, e.g. "uqudo: POST /api/v1/session: 429 rate limited (request id abc)".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Vendor)
	b.WriteString(": ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	fmt.Fprintf(&b, ": %d %s", e.StatusCode, strings.ToLower(http.StatusText(e.StatusCode)))
	if e.Code != "" {
		b.WriteString(" [")
		b.WriteString(e.Code)
		b.WriteByte(']')
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the sentinel for the status code, or nil for a status
// without one.
func (e *APIError) Unwrap() error { return statusSentinel(e.StatusCode) }

// Retryable reports whether sending the same request again later may succeed
// (429, 502, 503, 504).
func (e *APIError) Retryable() bool { return retryableStatus(e.StatusCode) }

func statusSentinel(code int) error {
	switch {
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return ErrInvalidInput
	case code == http.StatusUnauthorized:
		return ErrUnauthorized
	case code == http.StatusForbidden:
		return ErrForbidden
	case code == http.StatusNotFound:
		return ErrNotFound
	case code == http.StatusConflict:
		return ErrConflict
	case code == http.StatusTooManyRequests:
		return ErrRateLimited
	case code >= 500:
		return ErrServer
	}
	return nil
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ValidationError reports input rejected before any network call. It unwraps
// to [ErrInvalidInput].
type ValidationError struct {
	// Field names the offending input, such as "unique_user_id".
	Field string
	// Reason says what is wrong with it; it never repeats a secret value.
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "invalid input: " + e.Reason
	}
	return "invalid input: " + e.Field + ": " + e.Reason
}

// Unwrap returns [ErrInvalidInput].
func (e *ValidationError) Unwrap() error { return ErrInvalidInput }

// Invalid returns a [*ValidationError] for field.
func Invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// DecodeError reports a 2xx answer whose body cannot be used. Kind is one of
// [ErrEmptyBody], [ErrNotJSON], [ErrTruncatedJSON], [ErrMissingField],
// [ErrBodyTooLarge] or [ErrMalformedResponse]; errors.Is matches both Kind and
// [ErrMalformedResponse].
type DecodeError struct {
	// Vendor, Method and Path name the call, as in APIError.
	Vendor, Method, Path string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Kind is the sentinel naming what went wrong.
	Kind error
	// Field names the missing or bad field, when known.
	Field string
	// Err is the underlying decoder error, if any.
	Err error
}

// Error implements error.
func (e *DecodeError) Error() string {
	var b strings.Builder
	if e.Vendor != "" {
		b.WriteString(e.Vendor)
		b.WriteString(": ")
	}
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Field != "" {
		b.WriteString(" ")
		b.WriteString(fmt.Sprintf("%q", e.Field))
	}
	if e.Err != nil && e.Kind != ErrMissingField {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Kind, [ErrMalformedResponse] and the underlying error.
func (e *DecodeError) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Kind != ErrMalformedResponse {
		errs = append(errs, ErrMalformedResponse)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// MissingField returns the error a [ResponseValidator] gives for an absent
// required field; Client.Do fills in the call's details.
func MissingField(field string) error {
	return &DecodeError{Kind: ErrMissingField, Field: field}
}

// TransportError reports a request that got no usable HTTP answer: a
// connection failure, a timeout, a refused redirect, an ended context, or a
// failure while reading a 2xx body (a reset, the server closing early, a
// stall past the attempt timeout; Sent is then true).
// errors.Is(err, context.Canceled) and errors.Is(err, context.DeadlineExceeded)
// work through it. Its message never contains a query string.
type TransportError struct {
	// Vendor, Method and Path name the call, as in APIError.
	Vendor, Method, Path string
	// Attempts is how many times the request was sent.
	Attempts int
	// Sent reports whether the request may have reached the server.
	Sent bool
	// Err is the cause, with any *url.Error (which carries the full URL) removed.
	Err error

	retryable bool
}

// Error implements error.
func (e *TransportError) Error() string {
	return fmt.Sprintf("%s: %s %s: %v", e.Vendor, e.Method, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// Retryable reports whether the same request may succeed later: true for
// connection failures, failures while reading the body and timeouts of a
// single attempt; false when the caller's context ended, a redirect was
// refused or the server's certificate was rejected.
func (e *TransportError) Retryable() bool { return e.retryable }

// ContextError is for a call that ends because its context ended before or
// without an HTTP exchange (such as while waiting on a token fetch shared
// with other calls): when err is or wraps context.Canceled or
// context.DeadlineExceeded, it returns a [*TransportError] naming the call,
// with Sent false and Retryable false, whose Err is err, so both
// errors.As(err, &te) and errors.Is(err, context.Canceled) work. Any other
// error (a *TransportError already, nil, ...) is returned unchanged.
func ContextError(vendor, method, path string, err error) error {
	var te *TransportError
	if err == nil || errors.As(err, &te) || !(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	return &TransportError{Vendor: vendor, Method: method, Path: path, Err: err}
}

// IsRetryable reports whether err is worth retrying later: a 429, 502, 503 or
// 504 answer, a connection failure, or a timeout that was not the caller's
// own deadline. Validation and decoding errors are not retryable.
func IsRetryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return false
}
