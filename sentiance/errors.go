package sentiance

import (
	"errors"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// APIError is a non-2xx answer from Sentiance. Sentiance answers errors as
// {"message": "...", "errorCode": "SCREAMING_CASE", "ref": "<uuid>"}: Code
// holds errorCode (compare it with the Code constants, or use [ErrorCode]),
// Message holds message and RequestID holds ref, the id to quote to Sentiance
// support. errors.Is matches the status category ([ErrNotFound], ...).
type APIError = httpx.APIError

// ValidationError reports input rejected before any network call; it
// unwraps to [ErrInvalidInput].
type ValidationError = httpx.ValidationError

// DecodeError reports a 2xx answer whose body cannot be used (empty, not
// JSON, truncated, too large, or missing a required field); it matches
// [ErrMalformedResponse].
type DecodeError = httpx.DecodeError

// TransportError reports a call that got no HTTP answer (connection failure,
// timeout, ended context, refused redirect).
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
)

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
