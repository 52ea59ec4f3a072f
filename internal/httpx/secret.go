package httpx

import (
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
)

// Redacted is what a secret prints as.
const Redacted = "[REDACTED]"

// Secret is a string that never prints: every fmt verb (%v, %+v, %#v, %s, %q,
// %x, ...), String, GoString and slog show [Redacted]. Use Value for the
// real string, only where it is sent to the vendor.
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String returns [Redacted].
func (s Secret) String() string { return Redacted }

// GoString returns [Redacted].
func (s Secret) GoString() string { return Redacted }

// Format prints [Redacted] for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue returns [Redacted] for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText returns [Redacted], so a Secret inside a logged or encoded
// struct does not leak either.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// minSecretLen is the shortest registered secret that is scrubbed verbatim;
// shorter strings would scrub ordinary words.
const minSecretLen = 6

// credentialPattern matches what looks like a credential in free text: an
// authorization scheme and its value, and key=value or "key": "value" pairs
// whose key names a secret.
var credentialPattern = regexp.MustCompile(
	`(?i)\b(bearer|token|apikey|basic)(\s+)([A-Za-z0-9\-._~+/=:%]{6,})` +
		`|(?i)("?(?:access_token|client_secret|api_?key|api_token|authorization|password|secret|authentication_code|signed_authorization_request)"?\s*[:=]\s*"?)((?:(?:bearer|token|apikey|basic)\s+)?[^"&\s,}]+)`)

// Redactor scrubs secrets out of strings: every registered secret verbatim,
// plus anything shaped like a credential (an Authorization scheme and value,
// access_token=..., "client_secret": "...", ...). The zero value scrubs
// patterns only. A Redactor is immutable and safe for concurrent use.
type Redactor struct {
	secrets []string // longest first, so a secret containing another goes whole
}

// NewRedactor returns a Redactor for the given secrets; empty and very short
// strings are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.secrets = appendSecrets(nil, secrets)
	return r
}

func appendSecrets(dst, secrets []string) []string {
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			dst = append(dst, s)
		}
	}
	sort.Slice(dst, func(i, j int) bool { return len(dst[i]) > len(dst[j]) })
	return dst
}

// Redact returns s with every registered secret, every extra secret and every
// credential-shaped value replaced by [Redacted].
func (r *Redactor) Redact(s string, extra ...string) string {
	if s == "" {
		return s
	}
	var secrets []string
	if r != nil {
		secrets = r.secrets
	}
	if len(extra) > 0 {
		secrets = appendSecrets(append([]string(nil), secrets...), extra)
	}
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return credentialPattern.ReplaceAllStringFunc(s, redactMatch)
}

func redactMatch(m string) string {
	sub := credentialPattern.FindStringSubmatch(m)
	switch {
	case sub[1] != "":
		if !looksLikeCredential(sub[3]) {
			return m // "token expired" is prose, not a credential
		}
		return sub[1] + sub[2] + Redacted
	case sub[4] != "":
		if sub[5] == Redacted {
			return m
		}
		return sub[4] + Redacted
	}
	return Redacted
}

// Redact scrubs s with a Redactor holding secrets; see [Redactor.Redact].
func Redact(s string, secrets ...string) string { return (*Redactor)(nil).Redact(s, secrets...) }

// looksLikeCredential tells a credential after a scheme word from prose: long,
// or holding a digit or a symbol that words do not have.
func looksLikeCredential(v string) bool {
	return len(v) >= 16 || strings.ContainsAny(v, "0123456789-_.~+/=:%")
}
