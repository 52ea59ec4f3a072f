package httpx

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
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

// Redactor scrubs secrets out of strings: every registered secret verbatim
// (and in the escaped forms it takes inside a JSON string), plus anything
// shaped like a credential (an Authorization scheme and value,
// access_token=..., "client_secret": "...", ...). The zero value scrubs
// patterns only. A Redactor is immutable and safe for concurrent use.
type Redactor struct {
	// secrets, longest first, so a secret containing another goes whole.
	// Behind a pointer, so that printing a struct that holds a Redactor
	// (or a *Redactor), under any fmt verb, shows an address, not them.
	secrets *[]string
}

// list returns the registered secrets; nil for a nil or zero Redactor.
func (r *Redactor) list() []string {
	if r == nil || r.secrets == nil {
		return nil
	}
	return *r.secrets
}

// NewRedactor returns a Redactor for the given secrets; empty and very short
// strings are ignored.
func NewRedactor(secrets ...string) *Redactor {
	list := appendSecrets(nil, secrets)
	return &Redactor{secrets: &list}
}

func appendSecrets(dst, secrets []string) []string {
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			dst = append(dst, s)
			dst = appendJSONForms(dst, s)
		}
	}
	sort.Slice(dst, func(i, j int) bool { return len(dst[i]) > len(dst[j]) })
	return dst
}

// appendJSONForms adds the forms s takes inside a JSON string when they
// differ from s: escaped by encoding/json with and without HTML escaping
// ("<" as \u003c), and each with "/" escaped as "\/", as some encoders do.
// A vendor echoing a key in its JSON error body then has it scrubbed from the
// body too.
func appendJSONForms(dst []string, s string) []string {
	for _, html := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(s) != nil {
			continue
		}
		q := strings.TrimSuffix(b.String(), "\n")
		q = q[1 : len(q)-1]
		for _, form := range []string{q, strings.ReplaceAll(q, "/", `\/`)} {
			if form != s && !slices.Contains(dst, form) {
				dst = append(dst, form)
			}
		}
	}
	return dst
}

// Redact returns s with every registered secret, every extra secret and every
// credential-shaped value replaced by [Redacted].
func (r *Redactor) Redact(s string, extra ...string) string {
	if s == "" {
		return s
	}
	secrets := r.list()
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

// minPartialSecret is the shortest start of a secret that is dropped from
// the end of a truncated text: 4 bytes of a key are a clue worth hiding.
const minPartialSecret = 4

// partialCredential matches a scheme word and the start of a credential at
// the very end of a truncated text ("Bearer ab"), which the full pattern,
// wanting 6 characters, does not.
var partialCredential = regexp.MustCompile(`(?i)\b(?:bearer|token|apikey|basic)\s+([A-Za-z0-9\-._~+/=:%]{1,5})$`)

// excerpt is how every vendor string reaches an error: control characters
// dropped, then scrubbed with the registered and extra secrets, then cut to
// at most n bytes on a rune boundary. Scrubbing the whole text before the
// cut means a secret straddling the cut is found; and when the text was cut
// here, or arrives already cut (truncated, such as a body read through a
// limit), the start of a secret left at its end is dropped too (see
// [Redactor.TrimPartial]).
func (r *Redactor) excerpt(s string, n int, truncated bool, extra []string) string {
	s = r.Redact(stripControl(s), extra...)
	s, cut := cutString(s, n)
	if cut || truncated {
		s = r.TrimPartial(s, extra...)
	}
	return s
}

// TrimPartial is for text that was cut short, after [Redactor.Redact]: a
// secret straddling the cut left only its start, which Redact cannot
// recognise. TrimPartial drops from the end of s every start (4 bytes or
// more) of a registered or extra secret, the value after a scheme word
// ("Bearer ab"), and a cut-off [Redacted] marker, until none is left.
func (r *Redactor) TrimPartial(s string, extra ...string) string {
	secrets := r.list()
	if len(extra) > 0 {
		secrets = appendSecrets(append([]string(nil), secrets...), extra)
	}
	for {
		before := len(s)
		for _, sec := range secrets {
			for k := min(len(sec)-1, len(s)); k >= minPartialSecret; k-- {
				if strings.HasSuffix(s, sec[:k]) {
					s = s[:len(s)-k]
					break
				}
			}
		}
		if m := partialCredential.FindStringSubmatchIndex(s); m != nil {
			s = s[:m[2]]
		}
		for k := min(len(Redacted)-1, len(s)); k >= 2; k-- {
			if strings.HasSuffix(s, Redacted[:k]) {
				s = s[:len(s)-k]
				break
			}
		}
		if len(s) == before {
			return s
		}
	}
}
