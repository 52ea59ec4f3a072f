package idv

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// TTL bounds for ephemeral devices and deep links.
//
// Assumed: the vendor does not document limits; we accept whole seconds from
// MinTTL to MaxTTL, and a zero TTL means DefaultTTL.
const (
	// MinTTL is the shortest lifetime accepted: 1 s.
	MinTTL = time.Second
	// MaxTTL is the longest lifetime accepted: 24 h.
	MaxTTL = 24 * time.Hour
	// DefaultTTL is used when a TTL is zero: 1 h, the vendor's example value.
	DefaultTTL = time.Hour
)

// ttlSeconds validates a TTL and returns it in whole seconds; zero means
// DefaultTTL.
func ttlSeconds(field string, ttl time.Duration) (int64, error) {
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < 0:
		return 0, httpx.Invalid(field, "must not be negative")
	case ttl%time.Second != 0:
		return 0, httpx.Invalid(field, "must be a whole number of seconds")
	case ttl < MinTTL || ttl > MaxTTL:
		return 0, httpx.Invalid(field, "must be between "+MinTTL.String()+" and "+MaxTTL.String())
	}
	return int64(ttl / time.Second), nil
}

// checkText accepts a non-empty, valid UTF-8 string without control
// characters: an id, a token or a workflow id. The value is never repeated
// in the error, since it may be a secret.
func checkText(field, s string) error {
	switch {
	case s == "":
		return httpx.Invalid(field, "is empty")
	case !utf8.ValidString(s):
		return httpx.Invalid(field, "is not valid UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return httpx.Invalid(field, "contains a control character")
	}
	return nil
}

// checkHeaderValue is checkText for a value sent in a header: it must also
// be free of leading or trailing spaces, which HTTP would drop.
func checkHeaderValue(field, s string) error {
	if err := checkText(field, s); err != nil {
		return err
	}
	if strings.TrimSpace(s) != s {
		return httpx.Invalid(field, "has leading or trailing spaces")
	}
	return nil
}

// checkMetadata makes sure metadata can be sent as a JSON object before any
// call is made.
func checkMetadata(m map[string]any) error {
	if _, err := json.Marshal(m); err != nil {
		return httpx.Invalid("metadata", "cannot be encoded as JSON")
	}
	return nil
}
