package httpx_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// The log attribute names an error by kind, status, code and field, never
// by its message, and drops a code that is not shaped like one.
func TestErrorLogAttr_NeverTheMessage(t *testing.T) {
	const echoed = "user alice@example.com said hi"
	cases := []struct {
		err  error
		want []string
	}{
		{&httpx.APIError{StatusCode: 409, Code: "CONFLICT", Message: echoed, RequestID: "req-1"}, []string{"kind=api", "status=409", "code=CONFLICT", "request_id=req-1"}},
		{&httpx.APIError{StatusCode: 400, Code: echoed}, []string{"kind=api", "code=[other]"}},
		{httpx.Invalid("unique_user_id", echoed), []string{"kind=invalid_input", "field=unique_user_id"}},
		{&httpx.TransportError{Err: fmt.Errorf("%s: %w", echoed, context.Canceled), Sent: true}, []string{"kind=transport", "sent=true", "cause=canceled"}},
		{fmt.Errorf("%s", echoed), []string{"kind=other"}},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", httpx.ErrorLogAttr(tc.err))
		out := buf.String()
		if strings.Contains(out, "alice") {
			t.Errorf("%T: the log shows the message: %s", tc.err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, "error."+w) {
				t.Errorf("%T: %q missing from %s", tc.err, w, out)
			}
		}
	}
}
