package brokerhttp

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/broker"
)

// The error codes of the JSON error body, one per kind of failure. The
// status each is sent with is in its comment.
const (
	// CodeInvalidRequest (400): the body is not what the endpoint takes,
	// or the broker refused the params before any vendor call.
	CodeInvalidRequest = "invalid_request"
	// CodeUnauthenticated (401): [WithUser] found no user.
	CodeUnauthenticated = "unauthenticated"
	// CodeNotFound (404): the path is not /{vendor}/start or /{vendor}/invalidate.
	CodeNotFound = "not_found"
	// CodeUnknownVendor (404): the path names no supported vendor, or one
	// the broker was not configured with.
	CodeUnknownVendor = "unknown_vendor"
	// CodeMethodNotAllowed (405): the method is not POST.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeBodyTooLarge (413): the body is over the limit ([WithMaxBodyBytes]).
	CodeBodyTooLarge = "body_too_large"
	// CodeUnsupportedMediaType (415): the Content-Type is not application/json.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeInternal (500): the handler is misconfigured (no [WithUser], a nil
	// broker), your user id does not fit the vendor, or the broker failed
	// for a reason of its own (a Store, the user-id mapper).
	CodeInternal = "internal"
	// CodeVendorError (502): the vendor answered with an error (other than
	// a rate limit), e.g. it refused the server's credentials.
	CodeVendorError = "vendor_error"
	// CodeVendorUnavailable (502): the vendor could not be reached or did
	// not answer in time.
	CodeVendorUnavailable = "vendor_unavailable"
	// CodeVendorBadResponse (502): the vendor's answer could not be used.
	CodeVendorBadResponse = "vendor_bad_response"
	// CodeVendorRateLimited (503, with Retry-After): the vendor is rate
	// limiting the server.
	CodeVendorRateLimited = "vendor_rate_limited"
)

// Error is an error answer: Status is the HTTP status, and Code, Message
// and Vendor are the fields of the JSON body
// {"error":{"code":...,"message":...,"vendor":...}}. Vendor is "" when the
// path names no supported vendor.
//
// The handler's messages are fixed texts per code, plus, for a 400, the
// name of the offending field and the broker's reason (which never repeats
// a secret): never a vendor's message or body, a token or err.Error() of a
// vendor error. Return an *Error from the [WithUser] or [WithStartHook]
// function to answer with your own status, code and message.
type Error struct {
	// Status is the HTTP status; for an *Error from your WithUser or
	// WithStartHook function, 0 (or anything outside 400..599) means the
	// default, 401 or 400.
	Status int
	// Code is the machine-readable code, such as [CodeVendorError]; "" in
	// your own *Error means the default code.
	Code string
	// Message is the human-readable text sent; "" in your own *Error means
	// the default message.
	Message string
	// Vendor is the vendor named by the path, or "".
	Vendor broker.Vendor
	// RetryAfter is the wait sent in Retry-After with a 503 rate-limit
	// answer: the wait the vendor asked for, rounded up to whole seconds,
	// and 1 s when the vendor named none. Zero for other answers. In your
	// own *Error with a 429 or 503 status, a positive RetryAfter is sent
	// the same way.
	RetryAfter time.Duration
	// Err is the cause, never sent to the client.
	Err error
}

// Error describes the answer: "brokerhttp: 502 vendor_error: ...". It does
// not include Err.
func (e *Error) Error() string {
	return "brokerhttp: " + strconv.Itoa(e.Status) + " " + e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Vendor  string `json:"vendor"`
	} `json:"error"`
}

// Fixed messages.
const (
	msgNotFound        = "no such endpoint: use POST /{vendor}/start or POST /{vendor}/invalidate"
	msgUnknownVendor   = "this vendor is not available on this server"
	msgMethod          = "only POST is allowed"
	msgMediaType       = "the Content-Type must be application/json"
	msgTooLarge        = "the request body is too large"
	msgUnauthenticated = "authentication required"
	msgInternal        = "the server could not handle the request"
	msgUserID          = "the server's id for this user is not accepted for this vendor; see the server log"
	msgVendorError     = "the vendor refused the server's request"
	msgVendorDown      = "the vendor could not be reached"
	msgVendorBad       = "the vendor's answer could not be used"
	msgRateLimited     = "the vendor is rate limiting this server; retry after the time in Retry-After"
	msgHookRefused     = "the request was refused"
)

func newError(status int, code, msg string, v broker.Vendor, cause error) *Error {
	return &Error{Status: status, Code: code, Message: msg, Vendor: v, Err: cause}
}

// classify maps an error of the broker (Start or Invalidate) to the answer.
func classify(v broker.Vendor, err error) *Error {
	var (
		valErr *broker.ValidationError
		apiErr *broker.APIError
		decErr *broker.DecodeError
		trErr  *broker.TransportError
	)
	switch {
	case errors.As(err, &valErr):
		switch valErr.Field {
		case "vendor":
			return newError(http.StatusNotFound, CodeUnknownVendor, msgUnknownVendor, v, err)
		case "user_id":
			// The user id comes from WithUser: the client cannot fix it.
			return newError(http.StatusInternalServerError, CodeInternal, msgUserID, v, err)
		case "ctx", "request":
			return newError(http.StatusInternalServerError, CodeInternal, msgInternal, v, err)
		}
		return newError(http.StatusBadRequest, CodeInvalidRequest, validationMessage(valErr), v, err)
	case errors.As(err, &apiErr):
		if apiErr.StatusCode == http.StatusTooManyRequests {
			e := newError(http.StatusServiceUnavailable, CodeVendorRateLimited, msgRateLimited, v, err)
			e.RetryAfter = time.Duration(retryAfterSeconds(apiErr.RetryAfter)) * time.Second
			return e
		}
		return newError(http.StatusBadGateway, CodeVendorError, msgVendorError, v, err)
	case errors.As(err, &decErr):
		return newError(http.StatusBadGateway, CodeVendorBadResponse, msgVendorBad, v, err)
	case errors.As(err, &trErr), errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusBadGateway, CodeVendorUnavailable, msgVendorDown, v, err)
	}
	return newError(http.StatusInternalServerError, CodeInternal, msgInternal, v, err)
}

// validationMessage is "invalid <field>: <reason>" from the broker's or a
// vendor client's ValidationError, whose texts are the library's own and
// never repeat a secret; both are still cut to printable text of bounded
// length.
func validationMessage(e *broker.ValidationError) string {
	return "invalid " + printable(e.Field, 80) + ": " + printable(e.Reason, 300)
}

// printable keeps printable characters of s (no control characters, valid
// UTF-8) and cuts it to at most max bytes.
func printable(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// safeToken returns s when it looks like a code or a name (1 to 64 bytes of
// letters, digits and "._-:/"), else "".
func safeToken(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:/", c) >= 0) {
			return ""
		}
	}
	return s
}

// retryAfterSeconds is d in whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 1
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}
