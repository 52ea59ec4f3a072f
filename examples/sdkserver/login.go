package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The demo login. Anyone may log in as any user name: it stands for your
// own authentication, which decides the user id the broker sees.

const (
	// sessionCookie is the cookie of a logged-in browser.
	sessionCookie = "sdkserver_session"
	// sessionTTL is how long a demo session lives.
	sessionTTL = 12 * time.Hour
	// maxSessions bounds the sessions held in memory; the oldest goes first.
	maxSessions = 10000
)

// userNameRE is what a demo user name may be: it becomes your user id, and
// the local part of the demo e-mail address given to Entrupy.
var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// sessions maps a session token (by its SHA-256, so the map holds no
// usable token) to a user name. Safe for concurrent use.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[32]byte]session
}

type session struct {
	user    string
	expires time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: make(map[[32]byte]session)}
}

// create starts a session for user and returns its token: 32 random bytes,
// base64url.
func (s *sessions) create(user string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		var oldest [32]byte
		var at time.Time
		for k, v := range s.m {
			if v.expires.Before(now) {
				delete(s.m, k)
			} else if at.IsZero() || v.expires.Before(at) {
				oldest, at = k, v.expires
			}
		}
		if len(s.m) >= maxSessions {
			delete(s.m, oldest)
		}
	}
	s.m[sha256.Sum256([]byte(tok))] = session{user: user, expires: now.Add(sessionTTL)}
	return tok
}

// lookup returns the user of a live session token.
func (s *sessions) lookup(tok string) (string, bool) {
	if tok == "" || len(tok) > 128 {
		return "", false
	}
	k := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return "", false
	}
	if !s.now().Before(v.expires) {
		delete(s.m, k)
		return "", false
	}
	return v.user, true
}

// remove ends a session.
func (s *sessions) remove(tok string) {
	k := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

// token returns the session token of r: its "Authorization: Bearer" header,
// else its session cookie.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// user returns the logged-in user of r, or "".
func (s *sessions) user(r *http.Request) string {
	u, _ := s.lookup(token(r))
	return u
}

// loginBody is the body of POST /auth/login and /auth/token.
type loginBody struct {
	User string `json:"user"`
}

// login serves POST /auth/login (cookie) and POST /auth/token (bearer).
func (s *server) login(bearer bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in loginBody
		if !readJSON(w, r, &in) {
			return
		}
		if !userNameRE.MatchString(in.User) {
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "user must be 1 to 64 characters of A-Z, a-z, 0-9, _ and - (starting with a letter or digit)")
			return
		}
		tok := s.sessions.create(in.User)
		if bearer {
			writeJSON(w, http.StatusOK, map[string]any{"user": in.User, "token": tok, "token_type": "Bearer", "expires_in": int(sessionTTL / time.Second)})
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name: sessionCookie, Value: tok, Path: "/",
			MaxAge: int(sessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode,
			Secure: r.TLS != nil,
		})
		writeJSON(w, http.StatusOK, map[string]any{"user": in.User})
	}
}

// logout serves POST /auth/logout.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if !isJSONRequest(r) {
		writeJSONError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return
	}
	if tok := token(r); tok != "" {
		s.sessions.remove(tok)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	w.WriteHeader(http.StatusNoContent)
}

// me serves GET /auth/me: the user (or null) and the server's mode, for
// the page.
func (s *server) me(w http.ResponseWriter, r *http.Request) {
	var user any
	if u := s.sessions.user(r); u != "" {
		user = u
	}
	fakes := []string{}
	for _, v := range s.vendors.fakeVendors() {
		fakes = append(fakes, string(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": user, "demo": s.cfg.demo(), "fake_vendors": fakes})
}
