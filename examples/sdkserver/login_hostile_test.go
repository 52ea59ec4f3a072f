package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/hostile"
)

// TestLogin_HostileBodies: the demo login refuses a 100 MiB body after
// reading no more than its limit, and hostile user names (NUL, CR LF, ../,
// invalid UTF-8, 1 MB, nested JSON, unknown fields) with 400 and no
// session; of duplicate keys the last wins, as encoding/json decides
// (issue 16 item 5).
func TestLogin_HostileBodies(t *testing.T) {
	s := &server{sessions: newSessions(time.Now)}
	login := func(body *http.Request) *httptest.ResponseRecorder {
		body.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.login(true)(w, body)
		return w
	}

	big, src := hostile.JSONPrefixed(100 * hostile.MiB)
	r := httptest.NewRequest(http.MethodPost, "/auth/token", big)
	r.ContentLength = -1
	if w := login(r); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("100 MiB: %d", w.Code)
	}
	if src.Consumed() > maxJSONBody+64<<10 {
		t.Fatalf("read %d bytes of a 100 MiB body", src.Consumed())
	}

	for name, body := range map[string]string{
		"NUL":            `{"user":"al\u0000ice"}`,
		"raw NUL":        "{\"user\":\"al\x00ice\"}",
		"CR LF":          `{"user":"alice\r\nSet-Cookie: admin=1"}`,
		"dot-dot":        `{"user":"../../admin"}`,
		"invalid UTF-8":  "{\"user\":\"al\xffice\"}",
		"1 MB user":      `{"user":"` + strings.Repeat("a", 1_000_000) + `"}`,
		"nested":         string(hostile.NestedObject("user", 10_001)),
		"unknown field":  `{"user":"alice","role":"admin"}`,
		"trailing":       `{"user":"alice"}{"user":"bob"}`,
		"not an object":  `["alice"]`,
		"only spaces":    `{"user":"   "}`,
		"lone surrogate": `{"user":"\ud800"}`,
	} {
		t.Run(name, func(t *testing.T) {
			w := login(httptest.NewRequest(http.MethodPost, "/auth/token", strings.NewReader(body)))
			if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d: %s", w.Code, w.Body.String())
			}
			if strings.Contains(w.Body.String(), "admin") || strings.Contains(w.Body.String(), "Set-Cookie") {
				t.Fatalf("the answer echoes the body: %s", w.Body.String())
			}
		})
	}
	if n := len(s.sessions.m); n != 0 {
		t.Fatalf("%d sessions made by refused logins", n)
	}

	w := login(httptest.NewRequest(http.MethodPost, "/auth/token", strings.NewReader(`{"user":"mallory","user":"alice"}`)))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"user":"alice"`) {
		t.Fatalf("duplicate keys: %d %s", w.Code, w.Body.String())
	}
}
