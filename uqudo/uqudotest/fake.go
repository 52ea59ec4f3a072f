// Package uqudotest is an in-memory fake of uqudo's three services (token,
// QR sessions, info API with its JWKS) for tests and demos, on one
// http.Handler so that a single server can stand for all three base URLs.
//
// It issues opaque access tokens for the client credentials it accepts
// ([DefaultClientID] and [DefaultClientSecret] unless
// [WithClientCredentials] sets others; [Fake.Credentials] returns them) that
// expire after the configured TTL by its clock ([WithClock]), answers 401 to
// calls without a live token, stores sessions after decoding and validating
// their base64 data (400 otherwise), signs results with its own RSA key
// (RS256, with a kid) and serves the public half as a JWKS, rotating keys on
// demand. A Fake is safe for concurrent use.
//
// The four fake packages (entrupytest, sentiancetest, idvtest, uqudotest)
// have the same shape. In tests, [NewServer] serves a fake on a loopback
// socket closed at the end of the test ([Start] is the twin for programs),
// and [Server.NewClient] returns a uqudo client pointed at it (all three
// services), with the fake's credentials and clock and [FastRetry]:
//
//	srv := uqudotest.NewServer(t)
//	client, err := srv.NewClient()
//	...
//	defer client.Close()
//
// Without a socket, [Fake.Responder] plugs the fake into httpmock; give the
// client [FastRetry] so that injected 429s cost milliseconds, not seconds:
//
//	fake := uqudotest.New()
//	mt := httpmock.NewMockTransport()
//	mt.RegisterNoResponder(fake.Responder())
//	client, err := uqudo.NewClient(fake.Credentials(),
//		uqudo.WithBaseURL("https://uqudo.test"),
//		uqudo.WithHTTPClient(&http.Client{Transport: mt}),
//		uqudotest.FastRetry())
//
// [Fake.FailNext] injects failures (a status with an error body and an
// optional Retry-After, a delay, or a connection reset), and [Fake.Calls]
// counts requests per route. Errors are {"error": "...", "message": "..."}:
// uqudo does not document its error body, so this shape is **assumed**.
//
// Key generation: a 2048-bit RSA key costs tens of milliseconds (far more
// under -race), so the keys are generated once per process, lazily, and
// shared by every Fake in order (the first key of every Fake is the same
// key; RotateKey moves a Fake to the next one). This is a test-speed cache,
// not state a caller can change.
package uqudotest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// Default fake credentials and lifetimes.
const (
	// DefaultClientID is the client id a Fake accepts unless
	// [WithClientCredentials] says otherwise.
	DefaultClientID = "fake-client-id"
	// DefaultClientSecret is the client secret a Fake accepts unless
	// [WithClientCredentials] says otherwise. It is not a real credential.
	DefaultClientSecret = "fake-client-secret-0123456789"
	// DefaultTokenTTL is the access-token lifetime uqudo uses (expires_in 1800).
	DefaultTokenTTL = 30 * time.Minute
	// DefaultResultTTL is the exp of a signed result after its iat.
	DefaultResultTTL = 10 * time.Minute
)

// Fake is the in-memory uqudo. Build it with [New], [NewServer] or [Start].
type Fake struct {
	mu           sync.Mutex
	clientID     string
	clientSecret string
	tokenTTL     time.Duration
	resultTTL    time.Duration
	expiresInStr bool
	opaqueData   bool
	clock        func() time.Time // nil: time.Now

	tokens   map[string]time.Time // token -> expiry
	sessions map[string]*session  // by session id
	byQR     map[string]string    // qrCodeText -> session id
	keyIdx   int                  // index of the signing key in the process pool
	oldKeys  []int                // earlier keys, still published

	faults *fakekit.Faults
}

type session struct {
	ID, QRCodeText, Data string
	Decoded              *uqudo.SessionData
	CreatedAt            time.Time
	Result               string // signed JWS, "" until completed
}

// Option configures a Fake.
type Option func(*Fake)

// WithClientCredentials sets the client id and secret the fake accepts
// (default [DefaultClientID] and [DefaultClientSecret]). An empty clientID
// or clientSecret keeps its default.
func WithClientCredentials(clientID, clientSecret string) Option {
	return func(f *Fake) {
		if clientID != "" {
			f.clientID = clientID
		}
		if clientSecret != "" {
			f.clientSecret = clientSecret
		}
	}
}

// WithTokenTTL sets the access-token lifetime (default DefaultTokenTTL).
func WithTokenTTL(d time.Duration) Option { return func(f *Fake) { f.tokenTTL = d } }

// WithResultTTL sets how long a signed result stays valid (default DefaultResultTTL).
func WithResultTTL(d time.Duration) Option { return func(f *Fake) { f.resultTTL = d } }

// WithClock makes the fake read the time from now (token expiry, a result's
// iat and exp, session creation); default time.Now, and nil keeps the
// default. [Server.NewClient] gives the same clock to the client.
func WithClock(now func() time.Time) Option {
	return func(f *Fake) {
		if now != nil {
			f.clock = now
		}
	}
}

// WithExpiresInString sends expires_in as a JSON string, as uqudo has been
// seen to do.
func WithExpiresInString() Option { return func(f *Fake) { f.expiresInStr = true } }

// WithOpaqueData accepts any non-empty session data instead of requiring the
// base64 JSON of uqudo's QR reader app.
func WithOpaqueData() Option { return func(f *Fake) { f.opaqueData = true } }

// New returns a Fake accepting [DefaultClientID] / [DefaultClientSecret]
// (see [WithClientCredentials]).
func New(opts ...Option) *Fake {
	f := &Fake{
		clientID: DefaultClientID, clientSecret: DefaultClientSecret,
		tokenTTL: DefaultTokenTTL, resultTTL: DefaultResultTTL,
		tokens: map[string]time.Time{}, sessions: map[string]*session{}, byQR: map[string]string{},
		faults: fakekit.NewFaults(CodeInjected, writeError),
	}
	for _, o := range opts {
		if o != nil {
			o(f)
		}
	}
	return f
}

// now reads the fake's clock.
func (f *Fake) now() time.Time {
	if f.clock == nil {
		return time.Now()
	}
	return f.clock()
}

// RevokeTokens invalidates every access token issued so far, as if they had
// expired: the next call with one gets a 401.
func (f *Fake) RevokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

// SessionData returns the session data a session was created with: the
// decoded SessionData (nil with WithOpaqueData and foreign data) and the
// raw string.
func (f *Fake) SessionData(sessionID string) (*uqudo.SessionData, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[sessionID]
	if !ok {
		return nil, "", false
	}
	return s.Decoded, s.Data, true
}

// ServeHTTP implements http.Handler for all three services.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, id := routeOf(r.Method, r.URL.EscapedPath())
	if route == "" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such route")
		return
	}
	if f.faults.Intercept(w, r, route, true) {
		return
	}
	switch route {
	case RouteToken:
		f.token(w, r)
	case RouteJWKS:
		f.jwks(w)
	default:
		if !f.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid_token", "access token missing, invalid or expired")
			return
		}
		switch route {
		case RouteCreateSession:
			f.createSession(w, r)
		case RouteDeleteSession:
			f.deleteSession(w, id)
		case RouteInfo:
			f.info(w, id)
		case RouteDeleteInfo:
			f.deleteInfo(w, id)
		}
	}
}

// routeOf maps a request to its route. Whatever precedes the first "/api/"
// is ignored, so the fake works under a base URL with a path too.
func routeOf(method, p string) (route, id string) {
	if i := strings.Index(p, "/api/"); i > 0 {
		p = p[i:]
	}
	switch {
	case p == "/api/oauth/token" && method == http.MethodPost:
		return RouteToken, ""
	case p == "/api/.well-known/jwks.json" && method == http.MethodGet:
		return RouteJWKS, ""
	case p == "/api/v1/session" && method == http.MethodPost:
		return RouteCreateSession, ""
	case strings.HasPrefix(p, "/api/v1/session/") && method == http.MethodDelete:
		return RouteDeleteSession, unescape(strings.TrimPrefix(p, "/api/v1/session/"))
	case strings.HasPrefix(p, "/api/v1/info/") && method == http.MethodGet:
		return RouteInfo, unescape(strings.TrimPrefix(p, "/api/v1/info/"))
	case strings.HasPrefix(p, "/api/v1/info/") && method == http.MethodDelete:
		return RouteDeleteInfo, unescape(strings.TrimPrefix(p, "/api/v1/info/"))
	}
	return "", ""
}

func (f *Fake) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.tokens[tok]
	return ok && f.now().Before(exp)
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "body is not a form")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PostForm.Get("client_id") != f.clientID || r.PostForm.Get("client_secret") != f.clientSecret {
		writeError(w, http.StatusUnauthorized, "invalid_client", "Bad credentials")
		return
	}
	tok := "fake-at-" + randomHex(24)
	f.tokens[tok] = f.now().Add(f.tokenTTL)
	secs := int64(f.tokenTTL / time.Second)
	var expiresIn any = secs
	if f.expiresInStr {
		expiresIn = strconv.FormatInt(secs, 10)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "bearer", "expires_in": expiresIn,
		"scope": "read write", "jti": randomHex(16),
	})
}

func (f *Fake) createSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Data *string `json:"data"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Data == nil || *in.Data == "" {
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", `body must be {"data": "<string>"}`)
		return
	}
	decoded, err := uqudo.DecodeSessionData(*in.Data)
	if err == nil {
		err = decoded.Validate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil && !f.opaqueData {
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", "data is not valid session data: "+err.Error())
		return
	}
	if err != nil {
		decoded = nil
	}
	s := &session{ID: newUUID(), QRCodeText: "uqudo-qr-" + randomHex(16), Data: *in.Data, Decoded: decoded, CreatedAt: f.now()}
	f.sessions[s.ID] = s
	f.byQR[s.QRCodeText] = s.ID
	writeJSON(w, http.StatusOK, map[string]string{
		"sessionId":                 s.ID,
		"qrCodeText":                s.QRCodeText,
		"qrCodeTextWithDynamicLink": "https://uqudo.example/qr?code=" + s.QRCodeText,
	})
}

func (f *Fake) deleteSession(w http.ResponseWriter, qr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byQR[qr]
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "unknown session")
		return
	}
	delete(f.byQR, qr)
	if s := f.sessions[id]; s != nil && s.Result == "" {
		delete(f.sessions, id)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fake) info(w http.ResponseWriter, id string) {
	f.mu.Lock()
	s, ok := f.sessions[id]
	var jws string
	if ok {
		jws = s.Result
	}
	f.mu.Unlock()
	if jws == "" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no result for this session")
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(jws))
}

func (f *Fake) deleteInfo(w http.ResponseWriter, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok || s.Result == "" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no result for this session")
		return
	}
	delete(f.sessions, id)
	delete(f.byQR, s.QRCodeText)
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fake) jwks(w http.ResponseWriter) {
	f.mu.Lock()
	idx := append([]int{f.keyIdx}, f.oldKeys...)
	f.mu.Unlock()
	set := jose.JSONWebKeySet{}
	for _, i := range idx {
		k := poolKey(i)
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig"})
	}
	writeJSON(w, http.StatusOK, set)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": code, "message": msg}; uqudo does not
// document its error body, so this shape is assumed.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func unescape(s string) string {
	out, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID, the shape of uqudo's session ids.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// kidOf derives a key id from the public key (a truncated SHA-256 of its modulus).
func kidOf(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(pub.N.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

var errUnknownSession = errors.New("uqudotest: unknown session")
