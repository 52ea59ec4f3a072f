package entrupytest

import (
	"fmt"
	"io"
	"log/slog"
)

// A Fake holds the credentials it accepts and every token it issued, and a
// Server embeds its Fake: fmt prints what unexported fields hold without
// calling their methods, so without the methods below %+v, %#v or %d of a
// Fake (and %s of a Server, through its Fake) would print them. Both print
// and log a fixed description instead, under every verb.

// String describes the fake by its type only, never its credentials or the
// tokens it issued.
func (f *Fake) String() string {
	if f == nil {
		return "entrupytest.Fake(nil)"
	}
	return "entrupytest.Fake"
}

// GoString is String, so %#v does not print the credentials either.
func (f *Fake) GoString() string { return f.String() }

// Format prints String for every verb.
func (f *Fake) Format(s fmt.State, _ rune) { _, _ = io.WriteString(s, f.String()) }

// LogValue logs String.
func (f *Fake) LogValue() slog.Value { return slog.StringValue(f.String()) }

// String describes the server by its URL, never its fake's credentials or
// the tokens it issued.
func (s Server) String() string { return "entrupytest.Server{URL:" + s.URL + "}" }

// GoString is String, so %#v does not print the credentials either.
func (s Server) GoString() string { return s.String() }

// Format prints String for every verb.
func (s Server) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue logs String.
func (s Server) LogValue() slog.Value { return slog.StringValue(s.String()) }
