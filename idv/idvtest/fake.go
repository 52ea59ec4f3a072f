// Package idvtest is an in-memory fake of the IDV platform's session
// initiation API, for tests and demos of code that uses package idv.
//
// A [Fake] is an http.Handler serving the routes of the Route* constants.
// It keeps the platform's two credentials apart, like the real one:
//
//   - the API key ("Authorization: ApiKey <key>", the key being
//     [DefaultAPIKey] unless [WithAPIKey] sets another; [Fake.Credentials]
//     returns it) creates devices and deep links and reads sessions; a device
//     token there is refused with 401;
//   - a device token ("Authorization: Token <token>") only starts sessions,
//     until its TTL runs out on the fake's clock ([WithClock]; then 401);
//     the API key there is refused with 401.
//
// It also serves the handoff pages: GET /capture?url=... checks that the
// inner URL is the same host's /mobile page for an existing session and
// redirects to it (302); GET /mobile?authorization=...&sessionId=... answers
// 200 with {"sessionId", "workflowId"} when the token is the session's
// device token and still valid, 401 or 404 otherwise. Following a handoff URL
// with an http.Client therefore ends on the session it names.
//
// The four fake packages (entrupytest, sentiancetest, idvtest, uqudotest)
// have the same shape. In tests, [NewServer] serves a fake on a loopback
// socket closed at the end of the test ([Start] is the twin for programs),
// and [Server.NewClient] returns an idv client pointed at it, with the
// fake's credentials and clock and [FastRetry] (and idv.WithInsecureHTTP,
// since the server is plain http):
//
//	srv := idvtest.NewServer(t)
//	client, err := srv.NewClient()
//
// Without a socket, [Fake.Responder] plugs the fake into httpmock; give the
// client [FastRetry] so that injected 429s cost milliseconds, not seconds:
//
//	fake := idvtest.New()
//	mt := httpmock.NewMockTransport()
//	mt.RegisterNoResponder(fake.Responder())
//	client, err := idv.NewClient("https://idv.test", fake.Credentials(),
//		idv.WithHTTPClient(&http.Client{Transport: mt}), idvtest.FastRetry())
//
// [Fake.FailNext] injects failures (a status with an error body
// {"code", "message"} and an optional Retry-After, a delay, or a connection
// reset), and [Fake.Calls] counts requests per route. Errors use
// {"code": "...", "message": "..."}: the platform's error body is not
// documented, so this format is **assumed**. A Fake is safe for concurrent
// use.
package idvtest

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// DefaultAPIKey is the API key a Fake accepts unless [WithAPIKey] says
// otherwise.
const DefaultAPIKey = "idvtest-api-key-5f3a9c"

// TokenPrefix starts every device token the fake issues. The rest is
// standard base64, so tokens always hold '+' and '=' (and often '/'), which
// exercises the escaping of handoff URLs.
const TokenPrefix = "eph+"

// maxBody caps request bodies the fake reads.
const maxBody = 1 << 20

// Option configures a Fake.
type Option func(*Fake)

// WithAPIKey sets the API key the fake accepts (default [DefaultAPIKey]). An
// empty key keeps the default.
func WithAPIKey(key string) Option {
	return func(f *Fake) {
		if key != "" {
			f.apiKey = key
		}
	}
}

// WithAuthScheme sets the scheme the fake expects before the API key
// (default idv.DefaultAuthScheme); empty expects the bare key.
func WithAuthScheme(scheme string) Option { return func(f *Fake) { f.scheme = scheme } }

// WithClock sets the fake's clock, which decides when device tokens expire
// (default time.Now); nil keeps the default. [Server.NewClient] gives the
// same clock to the client.
func WithClock(now func() time.Time) Option {
	return func(f *Fake) {
		if now != nil {
			f.now = now
		}
	}
}

// Fake is an in-memory IDV platform. The zero value is not usable; call [New].
type Fake struct {
	mux    *http.ServeMux
	apiKey string
	scheme string
	now    func() time.Time

	mu       sync.Mutex
	devices  map[string]time.Time // token -> expiry
	sessions map[string]*session
	seq      int

	faults *fakekit.Faults
}

type session struct {
	id, workflowID, token string
	metadata              map[string]any
	status                idv.SessionStatus
	properties            map[string]any
	createdAt, updatedAt  time.Time
	opened                int
}

// New returns an empty fake accepting [DefaultAPIKey] (see [WithAPIKey]).
func New(opts ...Option) *Fake {
	f := &Fake{
		apiKey:   DefaultAPIKey,
		scheme:   idv.DefaultAuthScheme,
		now:      time.Now,
		devices:  map[string]time.Time{},
		sessions: map[string]*session{},
		faults:   fakekit.NewFaults(CodeInjected, writeError),
	}
	for _, o := range opts {
		if o != nil {
			o(f)
		}
	}
	f.mux = http.NewServeMux()
	f.mux.Handle(RouteCreateDevice, f.route(RouteCreateDevice, true, f.createDevice))
	f.mux.Handle(RouteStartSession, f.route(RouteStartSession, true, f.startSession))
	f.mux.Handle(RouteGetSession, f.route(RouteGetSession, true, f.getSession))
	f.mux.Handle(RouteCreateDeepLink, f.route(RouteCreateDeepLink, true, f.createDeepLink))
	f.mux.Handle(RouteCapture, f.route(RouteCapture, false, f.capture))
	f.mux.Handle(RouteMobile, f.route(RouteMobile, false, f.mobile))
	return f
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// SessionRecord is the fake's view of a session, for assertions.
type SessionRecord struct {
	// ID and WorkflowID name the session.
	ID, WorkflowID string
	// Metadata is a copy of the metadata the session was started with.
	Metadata map[string]any
	// Status is the session's status (idv.SessionStatusNotCompleted at first).
	Status idv.SessionStatus
	// CreatedAt is the fake's clock when the session started.
	CreatedAt time.Time
	// Opened counts successful visits to the session's /mobile page.
	Opened int
}

// Session returns the session with id, if it exists.
func (f *Fake) Session(id string) (SessionRecord, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return SessionRecord{}, false
	}
	return SessionRecord{
		ID: s.id, WorkflowID: s.workflowID, Metadata: maps.Clone(s.metadata),
		Status: s.status, CreatedAt: s.createdAt, Opened: s.opened,
	}, true
}

// SetResult sets the status and collected properties of session id, as if
// the person had finished the workflow. A status with a wire code is sent as
// that integer; any other status is sent as a string.
func (f *Fake) SetResult(id string, status idv.SessionStatus, properties map[string]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return fmt.Errorf("idvtest: no session %q", id)
	}
	s.status = status
	s.properties = maps.Clone(properties)
	s.updatedAt = f.now()
	return nil
}

// route puts call counting and fault injection in front of h; failures
// without a Route apply only to the /api routes (api).
func (f *Fake) route(name string, api bool, h http.HandlerFunc) http.Handler {
	return f.faults.Wrap(name, api, h)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (f *Fake) apiKeyHeader() string {
	if f.scheme == "" {
		return f.apiKey
	}
	return f.scheme + " " + f.apiKey
}

// deviceToken returns the token carried by an Authorization value sent with
// a device token.
func deviceToken(auth string) string {
	if t, ok := strings.CutPrefix(auth, idv.DeviceTokenScheme+" "); ok {
		return t
	}
	return auth
}

// requireAPIKey answers 401 unless the request carries the API key.
func (f *Fake) requireAPIKey(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if auth != "" && equal(auth, f.apiKeyHeader()) {
		return true
	}
	f.mu.Lock()
	_, isDevice := f.devices[deviceToken(auth)]
	f.mu.Unlock()
	if isDevice {
		writeError(w, http.StatusUnauthorized, "DEVICE_TOKEN_NOT_ALLOWED", "a device token can only start sessions; use the API key")
		return false
	}
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "missing or wrong API key")
	return false
}

// readObject decodes an optional JSON object body into m.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	if r.Body == nil {
		return map[string]json.RawMessage{}, true
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", "request body too large")
		return nil, false
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]json.RawMessage{}, true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		writeError(w, http.StatusBadRequest, "INVALID_BODY", "body must be a JSON object")
		return nil, false
	}
	return m, true
}

// ttlFrom reads "ttl": whole seconds within idv's bounds, default idv.DefaultTTL.
func ttlFrom(w http.ResponseWriter, body map[string]json.RawMessage) (time.Duration, bool) {
	raw, ok := body["ttl"]
	if !ok || string(raw) == "null" {
		return idv.DefaultTTL, true
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || time.Duration(n)*time.Second < idv.MinTTL || time.Duration(n)*time.Second > idv.MaxTTL {
		writeError(w, http.StatusBadRequest, "INVALID_TTL", "ttl must be whole seconds between 1 and 86400")
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// metadataFrom reads "metadata": a JSON object or null.
func metadataFrom(w http.ResponseWriter, body map[string]json.RawMessage) (map[string]any, bool) {
	md := map[string]any{}
	if raw, ok := body["metadata"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &md); err != nil || md == nil {
			writeError(w, http.StatusBadRequest, "INVALID_METADATA", "metadata must be a JSON object")
			return nil, false
		}
	}
	return md, true
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return TokenPrefix + base64.StdEncoding.EncodeToString(b[:])
}

func (f *Fake) createDevice(w http.ResponseWriter, r *http.Request) {
	if !f.requireAPIKey(w, r) {
		return
	}
	body, ok := readObject(w, r)
	if !ok {
		return
	}
	ttl, ok := ttlFrom(w, body)
	if !ok {
		return
	}
	tok := newToken()
	f.mu.Lock()
	f.devices[tok] = f.now().Add(ttl)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"authorization": tok})
}

func (f *Fake) startSession(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if auth != "" && equal(auth, f.apiKeyHeader()) {
		writeError(w, http.StatusUnauthorized, "API_KEY_NOT_ALLOWED", "sessions are started with a device token, not the API key")
		return
	}
	tok := deviceToken(auth)
	f.mu.Lock()
	exp, known := f.devices[tok]
	now := f.now()
	f.mu.Unlock()
	switch {
	case !known:
		writeError(w, http.StatusUnauthorized, "INVALID_TOKEN", "unknown device token")
		return
	case !now.Before(exp):
		writeError(w, http.StatusUnauthorized, "TOKEN_EXPIRED", "device token expired")
		return
	}
	workflows := r.URL.Query()["workflowId"]
	if len(workflows) != 1 || workflows[0] == "" {
		writeError(w, http.StatusBadRequest, "INVALID_WORKFLOW", "exactly one workflowId is required")
		return
	}
	body, ok := readObject(w, r)
	if !ok {
		return
	}
	md, ok := metadataFrom(w, body)
	if !ok {
		return
	}
	f.mu.Lock()
	f.seq++
	s := &session{
		id: "session-" + strconv.Itoa(f.seq), workflowID: workflows[0], token: tok, metadata: md,
		status: idv.SessionStatusNotCompleted, createdAt: now, updatedAt: now,
	}
	f.sessions[s.id] = s
	out := s.wire()
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// wire is the session object as the platform would send it; f.mu is held.
func (s *session) wire() map[string]any {
	out := map[string]any{
		"id":         s.id,
		"workflowId": s.workflowID,
		"metadata":   s.metadata,
		"createdAt":  s.createdAt.UTC().Format(time.RFC3339Nano),
		"updatedAt":  s.updatedAt.UTC().Format(time.RFC3339Nano),
	}
	if code, ok := s.status.Code(); ok {
		out["status"] = code
	} else {
		out["status"] = string(s.status)
	}
	if s.properties != nil {
		out["properties"] = s.properties
	}
	return out
}

func (f *Fake) getSession(w http.ResponseWriter, r *http.Request) {
	if !f.requireAPIKey(w, r) {
		return
	}
	f.mu.Lock()
	s, ok := f.sessions[r.PathValue("id")]
	var out map[string]any
	if ok {
		out = s.wire()
	}
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "SESSION_NOT_FOUND", "no such session")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) createDeepLink(w http.ResponseWriter, r *http.Request) {
	if !f.requireAPIKey(w, r) {
		return
	}
	workflows := r.URL.Query()["workflowId"]
	if len(workflows) == 0 || slices.Contains(workflows, "") {
		writeError(w, http.StatusBadRequest, "INVALID_WORKFLOW", "at least one non-empty workflowId is required")
		return
	}
	body, ok := readObject(w, r)
	if !ok {
		return
	}
	ttl, ok := ttlFrom(w, body)
	if !ok {
		return
	}
	if _, ok := metadataFrom(w, body); !ok {
		return
	}
	f.mu.Lock()
	f.seq++
	n := f.seq
	now := f.now()
	f.mu.Unlock()
	link := url.URL{Scheme: requestScheme(r), Host: requestHost(r), Path: "/deeplink/dl-" + strconv.Itoa(n)}
	writeJSON(w, http.StatusOK, map[string]any{
		"url":         link.String(),
		"createdAt":   now.UTC().Format(time.RFC3339Nano),
		"expiresAt":   now.Add(ttl).UTC().Format(time.RFC3339Nano),
		"workflowIds": workflows,
	})
}

func requestScheme(r *http.Request) string {
	if r.URL.Scheme != "" {
		return r.URL.Scheme // a client-side request (Responder)
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func requestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

// single returns the one value of key in q, or false when it is absent,
// empty or repeated.
func single(q url.Values, key string) (string, bool) {
	v := q[key]
	if len(v) != 1 || v[0] == "" {
		return "", false
	}
	return v[0], true
}

func (f *Fake) capture(w http.ResponseWriter, r *http.Request) {
	raw, ok := single(r.URL.Query(), idv.HandoffURLParam)
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID_URL", "exactly one url parameter is required")
		return
	}
	inner, err := url.Parse(raw)
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, "INVALID_URL", "url is not a URL")
		return
	case inner.Scheme != requestScheme(r) || inner.Host != requestHost(r) || inner.User != nil:
		writeError(w, http.StatusBadRequest, "FOREIGN_URL", "url must point to this host")
		return
	case inner.Path != "/mobile":
		writeError(w, http.StatusBadRequest, "FOREIGN_URL", "url must point to the /mobile page")
		return
	}
	q := inner.Query()
	id, okID := single(q, idv.HandoffSessionParam)
	_, okTok := single(q, idv.HandoffTokenParam)
	if !okID || !okTok {
		writeError(w, http.StatusBadRequest, "INVALID_URL", "url must carry authorization and sessionId")
		return
	}
	f.mu.Lock()
	_, exists := f.sessions[id]
	f.mu.Unlock()
	if !exists {
		writeError(w, http.StatusNotFound, "SESSION_NOT_FOUND", "no such session")
		return
	}
	http.Redirect(w, r, inner.String(), http.StatusFound)
}

func (f *Fake) mobile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, okID := single(q, idv.HandoffSessionParam)
	tok, okTok := single(q, idv.HandoffTokenParam)
	if !okID || !okTok {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "authorization and sessionId are required")
		return
	}
	workflowID, fail := f.openSession(id, tok)
	if fail != nil {
		writeError(w, fail.status, fail.code, fail.msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"sessionId": id, "workflowId": workflowID})
}

// refusal is an error answer of the fake.
type refusal struct {
	status    int
	code, msg string
}

// openSession records a visit to session id's mobile page with tok and
// returns the session's workflow id.
func (f *Fake) openSession(id, tok string) (string, *refusal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	switch {
	case !ok:
		return "", &refusal{http.StatusNotFound, "SESSION_NOT_FOUND", "no such session"}
	case !equal(tok, s.token):
		return "", &refusal{http.StatusUnauthorized, "INVALID_TOKEN", "token does not belong to this session"}
	case !f.now().Before(f.devices[s.token]):
		return "", &refusal{http.StatusUnauthorized, "TOKEN_EXPIRED", "device token expired"}
	}
	s.opened++
	return s.workflowID, nil
}
