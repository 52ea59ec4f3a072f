// Package uqudotest is an in-memory fake of uqudo's three services (token,
// QR sessions, info API with its JWKS) for tests and demos, on one
// http.Handler so that a single server can stand for all three base URLs:
//
//	srv := uqudotest.NewServer(t)
//	client, err := srv.NewClient() // WithBaseURL(srv.URL), the fake's credentials and clock
//	...
//	defer client.Close()
//
// It issues opaque access tokens that expire after the configured TTL (by
// its clock), answers 401 to calls without a live token, stores sessions
// after decoding and validating their base64 data (400 otherwise), signs
// results with its own RSA key (RS256, with a kid) and serves the public
// half as a JWKS, rotating keys on demand. FailNext injects errors, Calls
// counts requests per route and Responder plugs the fake into an httpmock
// transport without a socket. A Fake is safe for concurrent use.
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
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jarcoal/httpmock"

	"github.com/sdkbroker/sdkbroker/uqudo"
)

// Default fake credentials and lifetimes.
const (
	DefaultClientID     = "fake-client-id"
	DefaultClientSecret = "fake-client-secret-0123456789"
	// DefaultTokenTTL is the access-token lifetime uqudo uses (expires_in 1800).
	DefaultTokenTTL = 30 * time.Minute
	// DefaultResultTTL is the exp of a signed result after its iat.
	DefaultResultTTL = 10 * time.Minute
)

// Route names for Calls and FailNextOn.
const (
	RouteToken         = "token"          // POST /api/oauth/token
	RouteCreateSession = "session.create" // POST /api/v1/session
	RouteDeleteSession = "session.delete" // DELETE /api/v1/session/{qrCodeText}
	RouteInfo          = "info"           // GET /api/v1/info/{sessionId}
	RouteDeleteInfo    = "info.delete"    // DELETE /api/v1/info/{sessionId}
	RouteJWKS          = "jwks"           // GET /api/.well-known/jwks.json
)

// Fake is the in-memory uqudo. Build it with New or NewServer.
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
	calls    map[string]int
	failures []failure
	retryAft time.Duration
}

type session struct {
	ID, QRCodeText, Data string
	Decoded              *uqudo.SessionData
	CreatedAt            time.Time
	Result               string // signed JWS, "" until completed
}

type failure struct {
	route  string // "" for any route
	status int
}

// Option configures a Fake.
type Option func(*Fake)

// WithCredentials sets the client id and secret the fake accepts (default
// [DefaultClientID] and [DefaultClientSecret]). An empty clientID or
// clientSecret keeps its default.
func WithCredentials(clientID, clientSecret string) Option {
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
// (see [WithCredentials]).
func New(opts ...Option) *Fake {
	f := &Fake{
		clientID: DefaultClientID, clientSecret: DefaultClientSecret,
		tokenTTL: DefaultTokenTTL, resultTTL: DefaultResultTTL,
		tokens: map[string]time.Time{}, sessions: map[string]*session{}, byQR: map[string]string{},
		calls: map[string]int{},
	}
	for _, o := range opts {
		if o != nil {
			o(f)
		}
	}
	return f
}

// Server is a Fake served over a real loopback socket.
type Server struct {
	*Fake
	// URL is the base URL of all three services, for uqudo.WithBaseURL.
	URL string
	// HTTP is the underlying test server.
	HTTP *httptest.Server
}

// NewServer starts a Fake on an httptest server on loopback and closes it
// when t ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	f := New(opts...)
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return &Server{Fake: f, URL: ts.URL, HTTP: ts}
}

// NewClient returns a uqudo.Client for the server: uqudo.WithBaseURL(s.URL)
// for all three services, the credentials the fake accepts,
// uqudo.WithHTTPClient with the test server's client (its connections close
// with the server) and, when [WithClock] set one, uqudo.WithClock with the
// fake's clock. opts are applied after these, so they can replace any of
// them. Close the client when done with it.
func (s *Server) NewClient(opts ...uqudo.Option) (*uqudo.Client, error) {
	all := []uqudo.Option{uqudo.WithBaseURL(s.URL), uqudo.WithHTTPClient(s.HTTP.Client())}
	if s.clock != nil {
		all = append(all, uqudo.WithClock(s.clock))
	}
	return uqudo.NewClient(s.Credentials(), append(all, opts...)...)
}

// now reads the fake's clock.
func (f *Fake) now() time.Time {
	if f.clock == nil {
		return time.Now()
	}
	return f.clock()
}

// Credentials returns the credentials the fake accepts.
func (f *Fake) Credentials() uqudo.Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uqudo.Credentials{ClientID: f.clientID, ClientSecret: f.clientSecret}
}

// Calls returns how many requests reached route (see the Route constants),
// injected failures included.
func (f *Fake) Calls(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[route]
}

// FailNext makes the next n requests, whatever their route, answer status
// with a JSON error body (and Retry-After, see SetRetryAfter).
func (f *Fake) FailNext(n, status int) { f.FailNextOn("", n, status) }

// FailNextOn is FailNext for one route only ("" for any).
func (f *Fake) FailNextOn(route string, n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.failures = append(f.failures, failure{route: route, status: status})
	}
}

// SetRetryAfter sets the Retry-After sent with injected failures (0: none).
func (f *Fake) SetRetryAfter(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retryAft = d
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

// Responder serves requests through the fake without a socket, for an
// httpmock transport: mt.RegisterNoResponder(fake.Responder()).
func (f *Fake) Responder() httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		if req.Body == nil {
			req.Body = http.NoBody
		}
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		resp := rec.Result()
		resp.Request = req
		return resp, nil
	}
}

// ServeHTTP implements http.Handler for all three services.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, id := routeOf(r.Method, r.URL.EscapedPath())
	if route == "" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such route", 0)
		return
	}
	f.mu.Lock()
	f.calls[route]++
	if st, ok := f.takeFailure(route); ok {
		ra := f.retryAft
		f.mu.Unlock()
		writeError(w, st, "INJECTED", "injected failure", ra)
		return
	}
	f.mu.Unlock()
	switch route {
	case RouteToken:
		f.token(w, r)
	case RouteJWKS:
		f.jwks(w)
	default:
		if !f.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid_token", "access token missing, invalid or expired", 0)
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

// takeFailure pops the first injected failure for route; f.mu is held.
func (f *Fake) takeFailure(route string) (int, bool) {
	for i, fl := range f.failures {
		if fl.route == "" || fl.route == route {
			f.failures = append(f.failures[:i], f.failures[i+1:]...)
			return fl.status, true
		}
	}
	return 0, false
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
		writeError(w, http.StatusBadRequest, "invalid_request", "body is not a form", 0)
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials", 0)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PostForm.Get("client_id") != f.clientID || r.PostForm.Get("client_secret") != f.clientSecret {
		writeError(w, http.StatusUnauthorized, "invalid_client", "Bad credentials", 0)
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
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", `body must be {"data": "<string>"}`, 0)
		return
	}
	decoded, err := uqudo.DecodeSessionData(*in.Data)
	if err == nil {
		err = decoded.Validate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil && !f.opaqueData {
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", "data is not valid session data: "+err.Error(), 0)
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
		writeError(w, http.StatusNotFound, "NOT_FOUND", "unknown session", 0)
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
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no result for this session", 0)
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
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no result for this session", 0)
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

func writeError(w http.ResponseWriter, status int, code, msg string, retryAfter time.Duration) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
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
