package brokerhttp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokerhttp"
)

// FuzzHandler_Request feeds arbitrary methods, paths, content types and
// bodies to the whole handler over a stub broker: it never panics, always
// answers no-store, only with its documented statuses, a JSON error body
// with a bounded valid UTF-8 message for every error, and calls the broker
// only for a POST to one of the two routes of a known vendor, always for the
// authenticated user (issue 16 item 5).
func FuzzHandler_Request(f *testing.F) {
	for _, s := range []struct{ method, path, ctype, body string }{
		{"POST", "/entrupy/start", "application/json", bodyFor(broker.Entrupy)},
		{"POST", "/sentiance/invalidate", "application/json", ``},
		{"POST", "/idv/invalidate", "application/json; charset=utf-8", `{}`},
		{"POST", "/uqudo/start", "application/json", bodyFor(broker.Uqudo)},
		{"GET", "/sentiance/start", "", ``},
		{"POST", "/../entrupy/start", "application/json", `{}`},
		{"POST", "/entrupy/start/..", "application/json", `{}`},
		{"POST", "/idv%2Fstart", "application/json", `{}`},
		{"POST", "/sentiance/start?user_id=someone-else", "application/json", `{}`},
		{"POST", "/sentiance/start", "text/plain", `{}`},
		{"POST", "/sentiance/start", "application/json; charset=latin1", `{}`},
		{"POST", "/sentiance/invalidate", "application/json", `{"user_id":"someone-else"}`},
		{"POST", "/idv/start", "application/json", `{"metadata":{"a":{"a":{"a":{}}}},"ttl":1}`},
		{"PATCH", "/uqudo/invalidate", "application/json", `{}`},
		{"POST", "//start", "application/json", `{}`},
		{"POST", "/ENTRUPY/start", "application/json", `{}`},
	} {
		f.Add(s.method, s.path, s.ctype, s.body)
	}
	stub := &stubBroker{
		start: func(_ context.Context, req broker.Request) (*broker.Grant, error) {
			if req.UserID != testUser {
				panic("start for another user: " + req.UserID)
			}
			return &broker.Grant{Vendor: req.Vendor, UserID: req.UserID, Token: "stub-token"}, nil
		},
		invalidate: func(_ context.Context, v broker.Vendor, user string) error {
			if user != testUser {
				panic("invalidate for another user: " + user)
			}
			return nil
		},
	}
	h, err := brokerhttp.New(stub, brokerhttp.WithUser(userFromHeader))
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{}
	for _, v := range broker.Vendors() {
		known["/"+string(v)+"/start"] = true
		known["/"+string(v)+"/invalidate"] = true
	}
	f.Fuzz(func(t *testing.T, method, path, ctype, body string) {
		if !validMethod(method) {
			return // net/http never hands a handler such a request
		}
		u, err := url.ParseRequestURI(path)
		if err != nil || !strings.HasPrefix(path, "/") {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Method, r.URL, r.RequestURI = method, u, path
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		r.Header.Set(userHeader, testUser)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Fatalf("Cache-Control %q", got)
		}
		switch w.Code {
		case http.StatusOK, http.StatusNoContent:
			if method != http.MethodPost || !known[u.Path] {
				t.Fatalf("%d for %s %q", w.Code, method, path)
			}
			if w.Code == http.StatusOK && !json.Valid(w.Body.Bytes()) {
				t.Fatalf("grant is not JSON: %q", w.Body.String())
			}
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			var a errorAnswer
			if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.Error.Code == "" {
				t.Fatalf("bad error answer %q (%v)", w.Body.String(), err)
			}
			if len(a.Error.Message) > 512 || !utf8.ValidString(a.Error.Message) {
				t.Fatalf("bad error message %q", a.Error.Message)
			}
			if w.Code == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		default:
			t.Fatalf("status %d for %s %q: %s", w.Code, method, path, w.Body.String())
		}
	})
}

// validMethod reports whether m is an HTTP token, as net/http requires.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}
