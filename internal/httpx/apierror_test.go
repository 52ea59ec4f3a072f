package httpx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// canned is one answer of a cannedServer.
type canned struct {
	status int
	header http.Header
	body   string
}

// cannedServer is a loopback server answering every request with the
// answer last given to set.
func cannedServer(t *testing.T) (*httptest.Server, func(canned)) {
	t.Helper()
	var mu sync.Mutex
	var cur canned
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		a := cur
		mu.Unlock()
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(srv.Close)
	return srv, func(a canned) {
		mu.Lock()
		cur = a
		mu.Unlock()
	}
}

// cutKey is a 19-byte key that a careless vendor echoes in its error answer.
const cutKey = "K3yQ9-zW7vT2pL8mN4x"

// assertNoKeyPrefix fails when s holds any 4-byte or longer start of key.
func assertNoKeyPrefix(t *testing.T, what, s, key string) {
	t.Helper()
	for k := len(key); k >= 4; k-- {
		if strings.Contains(s, key[:k]) {
			t.Errorf("%s holds %d of the key's %d bytes: ...%q", what, k, len(key), s[max(0, strings.Index(s, key[:k])-8):])
			return
		}
	}
}

// TestAPIError_NoPartialSecretAtTheCut puts the key at every offset around
// each place an error answer is cut (the 4 KiB body excerpt, the read limit
// when MaxBodyBytes is small, the caps of Message, Code and RequestID) and
// checks that no start of it survives anywhere in the APIError.
func TestAPIError_NoPartialSecretAtTheCut(t *testing.T) {
	pad := func(c string, n int) string { return strings.Repeat(c, n) }
	cases := []struct {
		name       string
		cut        int // where the text is cut
		maxBody    int64
		registered bool // key registered with the client, else sent as Request.Secrets
		answer     func(off int) canned
		field      func(*httpx.APIError) string // the field that is cut, which must keep its start
	}{
		{
			name: "body excerpt", cut: httpx.MaxErrorBody, registered: true,
			answer: func(off int) canned { return canned{status: 400, body: pad("a", off) + cutKey + pad("b", 300)} },
			field:  func(e *httpx.APIError) string { return string(e.Body) },
		},
		{
			name: "body excerpt, per-request secret", cut: httpx.MaxErrorBody,
			answer: func(off int) canned { return canned{status: 400, body: pad("a", off) + cutKey + pad("b", 300)} },
			field:  func(e *httpx.APIError) string { return string(e.Body) },
		},
		{
			name: "read limit below the excerpt size", cut: 1000, maxBody: 1000, registered: true,
			answer: func(off int) canned { return canned{status: 400, body: pad("a", off) + cutKey + pad("b", 300)} },
			field:  func(e *httpx.APIError) string { return string(e.Body) },
		},
		{
			name: "message", cut: 256, registered: true,
			answer: func(off int) canned {
				return canned{status: 400, body: `{"code":"E1","message":"` + pad("a", off) + cutKey + pad("b", 50) + `"}`}
			},
			field: func(e *httpx.APIError) string { return e.Message },
		},
		{
			name: "message, per-request secret", cut: 256,
			answer: func(off int) canned {
				return canned{status: 400, body: `{"code":"E1","message":"` + pad("a", off) + cutKey + pad("b", 50) + `"}`}
			},
			field: func(e *httpx.APIError) string { return e.Message },
		},
		{
			name: "code", cut: 64, registered: true,
			answer: func(off int) canned {
				return canned{status: 400, body: `{"code":"` + pad("A", off) + cutKey + `","message":"m"}`}
			},
			field: func(e *httpx.APIError) string { return e.Code },
		},
		{
			name: "request id header", cut: 128, registered: true,
			answer: func(off int) canned {
				return canned{status: 400, header: http.Header{"X-Request-Id": {pad("r", off) + cutKey}}}
			},
			field: func(e *httpx.APIError) string { return e.RequestID },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, set := cannedServer(t)
			o := clientOpts{base: srv.URL + "/api/", maxBody: tc.maxBody, retry: &httpx.RetryPolicy{}}
			req := &httpx.Request{Path: "thing"}
			if tc.registered {
				o.secrets = []string{cutKey}
			} else {
				req.Secrets = []string{cutKey}
			}
			c := newClient(t, o)
			for off := tc.cut - 40; off <= tc.cut+5; off++ {
				set(tc.answer(off))
				_, err := c.Do(context.Background(), req, nil)
				var e *httpx.APIError
				require.ErrorAs(t, err, &e)
				what := fmt.Sprintf("key at offset %d:", off)
				for name, s := range map[string]string{
					"Error()": err.Error(), "%v": fmt.Sprintf("%v", err), "%+v": fmt.Sprintf("%+v", e),
					"%#v": fmt.Sprintf("%#v", e), "%s": fmt.Sprintf("%s", e), "Code": e.Code, "Message": e.Message,
					"RequestID": e.RequestID, "Body": string(e.Body),
				} {
					assertNoKeyPrefix(t, what+" "+name, s, cutKey)
				}
				got := tc.field(e)
				assert.LessOrEqual(t, len(got), tc.cut, what)
				if off+len(cutKey) <= tc.cut {
					assert.Contains(t, got, httpx.Redacted, what+" a key that fits is replaced by the marker")
				}
				// Everything before the key survives, as far as the cut allows.
				assert.True(t, strings.HasPrefix(got, strings.Repeat(got[:1], min(off, tc.cut-len(httpx.Redacted)))), "%s %q", what, got[:min(len(got), 20)])
			}
		})
	}
}

// TestAPIError_BodyScrubbedInAllForms checks the secret is found in the body
// when the vendor JSON-escapes it or splits it with a control character
// (which the excerpt drops).
func TestAPIError_BodyScrubbedInAllForms(t *testing.T) {
	const slashKey = "tok/abc+def=="
	srv, set := cannedServer(t)
	c := newClient(t, clientOpts{base: srv.URL + "/api/", retry: &httpx.RetryPolicy{}, secrets: []string{slashKey}})
	for _, body := range []string{
		`{"message":"bad key tok\/abc+def=="}`,
		"{\"message\":\"bad key tok/abc\n+def==\"}",
		"bad key " + testKey[:5] + "\r\n" + testKey[5:],
	} {
		set(canned{status: 401, body: body})
		_, err := c.Do(context.Background(), &httpx.Request{Path: "x"}, nil)
		var e *httpx.APIError
		require.ErrorAs(t, err, &e)
		assert.Contains(t, string(e.Body), httpx.Redacted, body)
		for _, key := range []string{slashKey, testKey} {
			assertNoKeyPrefix(t, "Body", string(e.Body), key)
			assertNoKeyPrefix(t, "Message", e.Message, key)
		}
	}
}
