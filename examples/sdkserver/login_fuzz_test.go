package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzLogin feeds arbitrary content types and bodies to the demo login
// (POST /auth/login and /auth/token): it never panics, answers only 200,
// 400, 413 or 415 with a JSON no-store body, never echoes the body in an
// error, and starts a session exactly when it answers 200, for a user name
// that matches the documented pattern and is the one the answer names
// (issue 16 item 5).
func FuzzLogin(f *testing.F) {
	for _, s := range []struct {
		ctype, body string
		bearer      bool
	}{
		{"application/json", `{"user":"alice"}`, false},
		{"application/json; charset=utf-8", `{"user":"bob_2"}`, true},
		{"application/json", `{"user":"a","user":"b"}`, false},
		{"application/json", `{"user":"alice","admin":true}`, true},
		{"application/json", `{"user":"../../etc"}`, false},
		{"application/json", "{\"user\":\"a\\u0000b\"}", false},
		{"application/json", "{\"user\":\"a\r\nSet-Cookie: x=y\"}", true},
		{"application/json", `{"user":"` + strings.Repeat("a", 65) + `"}`, false},
		{"application/json", `{"user":"alice"} {}`, false},
		{"text/plain", `{"user":"alice"}`, false},
		{"application/json; charset=latin1", `{"user":"alice"}`, true},
		{"application/json", `[[[[[[[[]]]]]]]]`, false},
		{"application/json", "{\"user\":\"\xff\"}", false},
		{"", ``, true},
	} {
		f.Add(s.ctype, s.body, s.bearer)
	}
	f.Fuzz(func(t *testing.T, ctype, body string, bearer bool) {
		s := &server{sessions: newSessions(time.Now)}
		path := "/auth/login"
		if bearer {
			path = "/auth/token"
		}
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		w := httptest.NewRecorder()
		s.login(bearer)(w, r)

		if w.Header().Get("Cache-Control") != "no-store" || !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer %d %q without no-store or not JSON", w.Code, w.Body.String())
		}
		sessions := len(s.sessions.m)
		switch w.Code {
		case http.StatusOK:
			var out struct {
				User  string `json:"user"`
				Token string `json:"token"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || !userNameRE.MatchString(out.User) {
				t.Fatalf("200 for user %q (%v)", out.User, err)
			}
			tok := out.Token
			if !bearer {
				cookies := w.Result().Cookies()
				if len(cookies) != 1 || cookies[0].Name != sessionCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
					t.Fatalf("session cookie %+v", cookies)
				}
				tok = cookies[0].Value
			}
			if u, ok := s.sessions.lookup(tok); !ok || u != out.User || sessions != 1 {
				t.Fatalf("session for %q: %q %v (%d sessions)", out.User, u, ok, sessions)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			if sessions != 0 || len(w.Result().Cookies()) != 0 {
				t.Fatalf("%d but a session or cookie was made", w.Code)
			}
			var out struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Error.Code == "" {
				t.Fatalf("error answer %q", w.Body.String())
			}
			if len(body) >= 8 && strings.Contains(out.Error.Message, body) {
				t.Fatalf("error echoes the body: %q", out.Error.Message)
			}
		default:
			t.Fatalf("status %d", w.Code)
		}
	})
}
