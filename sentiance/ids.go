package sentiance

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// MaxExternalIDLength is the longest external id accepted, in bytes.
// **Assumed**: Sentiance documents no limit; 256 bytes fits any sane user id
// (UUIDs, e-mail addresses, database keys) and keeps requests small.
const MaxExternalIDLength = 256

// MaxIDLength is the longest install id or Sentiance user id accepted, in
// bytes. **Assumed**: Sentiance ids are short hex or UUID strings and no limit
// is documented; 256 bytes refuses garbage without refusing any real id.
const MaxIDLength = 256

// ValidateExternalID checks an external id (your own user id) the way
// [Client.CreateAuthCode] and [Client.LinkInstall] do before any call: it must
// be non-empty, at most [MaxExternalIDLength] bytes of valid UTF-8, not only
// white space, and free of control characters. The error is a
// [*ValidationError] that never repeats the id.
func ValidateExternalID(externalID string) error {
	return checkID("external_id", externalID, MaxExternalIDLength)
}

// checkID applies the id rules of ValidateExternalID with the given limit.
func checkID(field, id string, maxLen int) error {
	switch {
	case id == "":
		return httpx.Invalid(field, "is empty")
	case len(id) > maxLen:
		return httpx.Invalid(field, fmt.Sprintf("is longer than %d bytes", maxLen))
	case !utf8.ValidString(id):
		return httpx.Invalid(field, "is not valid UTF-8")
	case strings.ContainsFunc(id, unicode.IsControl):
		return httpx.Invalid(field, "contains control characters")
	case strings.TrimSpace(id) == "":
		return httpx.Invalid(field, "is only white space")
	}
	return nil
}
