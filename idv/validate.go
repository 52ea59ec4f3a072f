package idv

import (
	"encoding/json"
	"fmt"
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

// Input bounds. **Assumed**: the IDV platform documents none of them; each
// is generous for real values (ids are short UUID- or hex-like strings) and
// small enough that a runaway input is refused before anything is sent.
// Errors name the field and the bound, never the input.
const (
	// MaxIDLength bounds a session id, a workflow id and an external user
	// id, in bytes. Session ids in answers are held to it too, so every
	// session this client returns can be read back with [Client.GetSession].
	MaxIDLength = 128
	// MaxLocaleLength bounds a deep link's locale, in bytes (the longest
	// BCP 47 tags in use are about 35).
	MaxLocaleLength = 35
	// MaxTokenLength bounds the API key and a device token, in bytes (4 KiB).
	MaxTokenLength = 4 << 10
	// MaxMetadataKeyLength bounds each key of session metadata (at any
	// depth), in bytes.
	MaxMetadataKeyLength = 128
	// MaxMetadataValueLength bounds each string value of session metadata
	// (at any depth), in bytes (1 KiB).
	MaxMetadataValueLength = 1 << 10
	// MaxMetadataSize bounds session metadata as encoded JSON, in bytes
	// (16 KiB).
	MaxMetadataSize = 16 << 10
	// MaxWorkflowIDs bounds the workflows of one deep link.
	MaxWorkflowIDs = 32
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

// checkText accepts a non-empty string of at most maxLen bytes of valid
// UTF-8 without control characters: an id, a token or a workflow id. The
// value is never repeated in the error, since it may be a secret or huge.
func checkText(field, s string, maxLen int) error {
	switch {
	case s == "":
		return httpx.Invalid(field, "is empty")
	case len(s) > maxLen:
		return httpx.Invalid(field, fmt.Sprintf("is longer than %d bytes", maxLen))
	case !utf8.ValidString(s):
		return httpx.Invalid(field, "is not valid UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return httpx.Invalid(field, "contains a control character")
	}
	return nil
}

// checkID is checkText for an id: at most MaxIDLength bytes and not blank
// (an id made only of spaces would be sent as a path segment or query value
// that names nothing).
func checkID(field, s string) error {
	if err := checkText(field, s, MaxIDLength); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" {
		return httpx.Invalid(field, "is blank")
	}
	return nil
}

// checkHeaderValue is checkText for a credential sent in a header (at most
// MaxTokenLength bytes): it must also be free of leading or trailing spaces,
// which HTTP would drop.
func checkHeaderValue(field, s string) error {
	if err := checkText(field, s, MaxTokenLength); err != nil {
		return err
	}
	if strings.TrimSpace(s) != s {
		return httpx.Invalid(field, "has leading or trailing spaces")
	}
	return nil
}

// checkMetadata makes sure metadata can be sent as a JSON object within the
// bounds before any call is made: every key (at any depth) at most
// MaxMetadataKeyLength bytes, every string value at most
// MaxMetadataValueLength bytes, both valid UTF-8, and the whole at most
// MaxMetadataSize bytes of JSON. The error names the top-level key when it
// is short and printable, never a value.
func checkMetadata(m map[string]any) error {
	for k, v := range m {
		if err := checkMetadataKey(k); err != nil {
			return err
		}
		if reason := checkMetadataValue(v, 0); reason != "" {
			return httpx.Invalid(metadataField(k), reason)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return httpx.Invalid("metadata", "cannot be encoded as JSON")
	}
	if len(b) > MaxMetadataSize {
		return httpx.Invalid("metadata", fmt.Sprintf("is larger than %d bytes as JSON", MaxMetadataSize))
	}
	return nil
}

func checkMetadataKey(k string) error {
	switch {
	case len(k) > MaxMetadataKeyLength:
		return httpx.Invalid("metadata", fmt.Sprintf("has a key longer than %d bytes", MaxMetadataKeyLength))
	case !utf8.ValidString(k):
		return httpx.Invalid("metadata", "has a key that is not valid UTF-8")
	}
	return nil
}

// maxMetadataDepth stops the walk of a pathological value; json.Marshal
// refuses cycles on its own.
const maxMetadataDepth = 32

// checkMetadataValue walks the JSON-like shapes metadata is made of and
// returns why v is refused, or "". Other types are left to json.Marshal and
// the total size bound.
func checkMetadataValue(v any, depth int) string {
	if depth > maxMetadataDepth {
		return fmt.Sprintf("is nested deeper than %d levels", maxMetadataDepth)
	}
	switch x := v.(type) {
	case string:
		if len(x) > MaxMetadataValueLength {
			return fmt.Sprintf("has a string longer than %d bytes", MaxMetadataValueLength)
		}
		if !utf8.ValidString(x) {
			return "has a string that is not valid UTF-8"
		}
	case map[string]any:
		for k, e := range x {
			if len(k) > MaxMetadataKeyLength {
				return fmt.Sprintf("has a key longer than %d bytes", MaxMetadataKeyLength)
			}
			if !utf8.ValidString(k) {
				return "has a key that is not valid UTF-8"
			}
			if r := checkMetadataValue(e, depth+1); r != "" {
				return r
			}
		}
	case map[string]string:
		for k, e := range x {
			if r := checkMetadataValue(map[string]any{k: e}, depth+1); r != "" {
				return r
			}
		}
	case []any:
		for _, e := range x {
			if r := checkMetadataValue(e, depth+1); r != "" {
				return r
			}
		}
	case []string:
		for _, e := range x {
			if r := checkMetadataValue(e, depth+1); r != "" {
				return r
			}
		}
	}
	return ""
}

// metadataField names a top-level metadata key in an error: metadata.<key>
// when the key is a short printable identifier, else just metadata.
func metadataField(k string) string {
	const maxShown = 32
	if k == "" || len(k) > maxShown || strings.ContainsFunc(k, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)))
	}) {
		return "metadata"
	}
	return "metadata." + k
}
