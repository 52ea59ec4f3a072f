package sentiance

import (
	"strings"
	"testing"
)

// fakeRuntimeError is an app value that implements runtime.Error: its text
// may quote the delivery, so only its type may be logged.
type fakeRuntimeError struct{ msg string }

func (e fakeRuntimeError) Error() string { return e.msg }
func (fakeRuntimeError) RuntimeError()   {}

func TestPanicSummary_TypeOnlyUnlessTheRuntimesOwn(t *testing.T) {
	const payload = "user-4242@example.com"
	for _, p := range []any{fakeRuntimeError{"bad " + payload}, &fakeRuntimeError{payload}, payload, []byte(payload)} {
		if got := panicSummary(p); strings.Contains(got, payload) {
			t.Errorf("panicSummary(%T) = %q, shows the payload", p, got)
		}
	}
	// The runtime's own errors keep their message (indices and types only).
	var got string
	func() {
		defer func() { got = panicSummary(recover()) }()
		var s []int
		_ = s[len(payload)]
	}()
	if !strings.Contains(got, "index out of range") {
		t.Errorf("a runtime error lost its message: %q", got)
	}
}
