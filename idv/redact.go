package idv

import (
	"fmt"
	"net/url"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// redacted is what a secret prints as.
const redacted = httpx.Redacted

// redactedOrEmpty prints a secret as [REDACTED], and an empty one as "" so a
// missing credential is still visible.
func redactedOrEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}

// formatSafe implements fmt.Formatter for types holding a secret: %#v prints
// gs, every other verb prints s (quoted for %q). Width and flags are ignored
// on purpose: nothing but the safe text is ever written.
func formatSafe(f fmt.State, verb rune, s, gs string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = f.Write([]byte(gs))
	case verb == 'q':
		_, _ = fmt.Fprintf(f, "%q", s)
	default:
		_, _ = f.Write([]byte(s))
	}
}

// redactQuery returns raw with its query string and fragment replaced, for
// printing a URL whose query may carry a credential (a deep link). Text that
// is not a URL prints as [REDACTED].
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redacted
	}
	u.User = nil
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery = RedactedValue
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}
