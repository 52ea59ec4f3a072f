package entrupy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Input bounds. Entrupy documents none of these except unique_user_id (see
// [MaxUniqueUserIDLen]); each is **assumed**, generous for real values and
// small enough that a runaway input is refused before it is sent. No error
// ever repeats the input.
const (
	// MaxIDLength bounds entrupy_id, customer_item_id and a structured
	// response id, in bytes.
	MaxIDLength = 256
	// MaxSDKAuthorizationRequestLength bounds the SDK's opaque authorization
	// request, in bytes (16 KiB).
	MaxSDKAuthorizationRequestLength = 16 << 10
	// MaxNameLength bounds FirstName and LastName, in bytes.
	MaxNameLength = 256
	// MaxTextLength bounds a support reply's text and an escalation reason,
	// in bytes (8 KiB).
	MaxTextLength = 8 << 10
	// MaxCursorLength bounds a support-messages page cursor, in bytes.
	MaxCursorLength = 1024
)

// validateID checks an id: non-empty, no surrounding spaces, valid UTF-8
// without control characters, at most MaxIDLength bytes.
func validateID(field, id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return httpx.Invalid(field, "is empty")
	case len(id) > MaxIDLength:
		return httpx.Invalid(field, fmt.Sprintf("is longer than %d bytes", MaxIDLength))
	case strings.TrimSpace(id) != id:
		return httpx.Invalid(field, "has leading or trailing spaces")
	case !utf8.ValidString(id):
		return httpx.Invalid(field, "is not valid UTF-8")
	case strings.ContainsFunc(id, unicode.IsControl):
		return httpx.Invalid(field, "contains control characters")
	}
	return nil
}

// checkText checks free text: at most maxLen bytes of valid UTF-8, without
// control characters other than newline and tab. Empty text passes; callers
// that require text check for it first.
func checkText(field, s string, maxLen int) error {
	switch {
	case len(s) > maxLen:
		return httpx.Invalid(field, fmt.Sprintf("is longer than %d bytes", maxLen))
	case !utf8.ValidString(s):
		return httpx.Invalid(field, "is not valid UTF-8")
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }):
		return httpx.Invalid(field, "contains control characters")
	}
	return nil
}
