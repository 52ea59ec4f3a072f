// Package entrupytest is an in-memory fake of Entrupy's server-side API, for
// testing code that uses package entrupy and for running demos without an
// Entrupy account.
//
// A [Fake] is an http.Handler serving the routes of package entrupy (the
// Route* constants) at the root of its URL: it checks
// "Authorization: Token <token>" exactly (the token is [DefaultAPIToken]
// unless [WithAPIToken] sets another; [Fake.Credentials] returns it),
// validates authorize-user bodies as Entrupy documents them, issues random
// opaque signed requests with exp / soft_exp read from its clock
// ([WithClock]), fixes a user's names on their first call, stores support
// messages, replies and escalations, and serves authentications.
//
// The four fake packages (entrupytest, sentiancetest, idvtest, uqudotest)
// have the same shape. In tests, [NewServer] serves a fake on a loopback
// socket closed at the end of the test ([Start] is the twin for programs),
// and [Server.NewClient] returns an entrupy client pointed at it, with the
// fake's credentials and clock and [FastRetry]:
//
//	srv := entrupytest.NewServer(t, entrupytest.WithClock(clock))
//	client, err := srv.NewClient()
//
// Without a socket, [Fake.Responder] plugs the fake into httpmock; give the
// client [FastRetry] so that injected 429s cost milliseconds, not seconds:
//
//	fake := entrupytest.New()
//	mt := httpmock.NewMockTransport()
//	mt.RegisterNoResponder(fake.Responder())
//	client, err := entrupy.NewClient(fake.Credentials(),
//		entrupy.WithBaseURL("https://entrupy.test"),
//		entrupy.WithHTTPClient(&http.Client{Transport: mt}),
//		entrupytest.FastRetry())
//
// The Fake is also a plain http.Handler, to mount anywhere.
//
// [Fake.FailNext] injects failures (a status with Entrupy's error body and
// an optional Retry-After, a delay, or a connection reset), and [Fake.Calls]
// counts requests per route.
//
// Errors are JSON objects {"code": "...", "detail": "..."} with the status
// the real API would use (400, 401, 404, 409, 413, 415; see the Code*
// constants). An unknown path (404) or a wrong method on a known route (405,
// with Allow) is answered by the router in plain text, and is not counted.
package entrupytest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

// Defaults of a new Fake.
const (
	// DefaultAPIToken is the API token a Fake accepts unless [WithAPIToken]
	// says otherwise. It is not a real credential.
	DefaultAPIToken = "entrupytest-api-token-4b7d2e91"
	// DefaultTokenLifetime is the time from issue to "exp".
	DefaultTokenLifetime = 24 * time.Hour
	// DefaultSoftWindow is the time from "soft_exp" to "exp".
	DefaultSoftWindow = 30 * time.Minute
	// DefaultPageSize is the support messages page size when no limit is given.
	DefaultPageSize = 20
	// MaxPageSize is the largest limit accepted.
	MaxPageSize = 100
)

// maxBody caps request bodies.
const maxBody = 1 << 20

// Error codes in the fake's error bodies ({"code": ..., "detail": ...}).
const (
	// CodeAuthenticationFailed comes with a 401: the Authorization header is wrong.
	CodeAuthenticationFailed = "authentication_failed"
	// CodeInvalid comes with a 400: a field is missing or wrong; the detail names it.
	CodeInvalid = "invalid"
	// CodeParseError comes with a 400: the body is not JSON.
	CodeParseError = "parse_error"
	// CodeNotFound comes with a 404: unknown entrupy_id or customer_item_id.
	CodeNotFound = "not_found"
	// CodeConflict comes with a 409: the item already has an open escalation.
	CodeConflict = "conflict"
	// CodeUnsupportedMedia comes with a 415: the body is not application/json.
	CodeUnsupportedMedia = "unsupported_media_type"
	// CodeTooLarge comes with a 413: the body is over 1 MiB.
	CodeTooLarge = "request_too_large"
	// CodeInjected is the code of a failure injected by [Fake.FailNext]
	// whose Failure.Code is empty.
	CodeInjected = "injected_failure"
)

// User is what the fake remembers about a user of authorize-user.
type User struct {
	// UniqueUserID is the user's unique_user_id.
	UniqueUserID string
	// Email is the e-mail of the first call.
	Email string
	// FirstName and LastName are fixed by the first call, as Entrupy does.
	FirstName, LastName string
	// Username is the platform username the fake made up.
	Username string
	// Authorizations counts the user's successful authorize-user calls.
	Authorizations int
}

// Fake is an in-memory Entrupy API. It is safe for concurrent use. Build it
// with [New].
type Fake struct {
	token      string
	now        func() time.Time
	lifetime   time.Duration
	softWindow time.Duration
	omitExpiry bool
	pageSize   int
	handler    http.Handler

	mu          sync.Mutex
	users       map[string]*User
	signed      map[string]string // signed request -> unique_user_id
	items       map[string]*item  // by entrupy_id
	escalations []entrupy.Escalation
	seq         int

	faults *fakekit.Faults
}

type item struct {
	auth      *entrupy.Authentication
	messages  []entrupy.Message
	responses []entrupy.StructuredResponse
	replies   []entrupy.Message
}

// Option configures a Fake.
type Option func(*Fake)

// WithAPIToken sets the API token the fake accepts, as
// "Authorization: Token <token>" (default [DefaultAPIToken]). An empty token
// keeps the default.
func WithAPIToken(token string) Option {
	return func(f *Fake) {
		if token != "" {
			f.token = token
		}
	}
}

// WithClock sets the fake's clock (default time.Now), used for exp,
// soft_exp and message times.
func WithClock(now func() time.Time) Option {
	return func(f *Fake) {
		if now != nil {
			f.now = now
		}
	}
}

// WithTokenLifetime sets the time from issue to "exp" (default 24 h);
// values that are not positive are ignored.
func WithTokenLifetime(d time.Duration) Option {
	return func(f *Fake) {
		if d > 0 {
			f.lifetime = d
		}
	}
}

// WithSoftWindow sets the time from "soft_exp" to "exp" (default 30 min);
// negative values are ignored.
func WithSoftWindow(d time.Duration) Option {
	return func(f *Fake) {
		if d >= 0 {
			f.softWindow = d
		}
	}
}

// WithoutExpiry makes authorize-user answers carry no "exp" and
// "soft_exp", so that the client's derived expiries can be tested.
func WithoutExpiry() Option { return func(f *Fake) { f.omitExpiry = true } }

// WithPageSize sets the default support messages page size (default 20);
// values outside 1 to MaxPageSize are ignored.
func WithPageSize(n int) Option {
	return func(f *Fake) {
		if n >= 1 && n <= MaxPageSize {
			f.pageSize = n
		}
	}
}

// New returns a fake that accepts "Authorization: Token <token>", where the
// token is [DefaultAPIToken] or the one given to [WithAPIToken], and nothing
// else.
func New(opts ...Option) *Fake {
	f := &Fake{
		token:      DefaultAPIToken,
		now:        time.Now,
		lifetime:   DefaultTokenLifetime,
		softWindow: DefaultSoftWindow,
		pageSize:   DefaultPageSize,
		users:      map[string]*User{},
		signed:     map[string]string{},
		items:      map[string]*item{},
		faults:     fakekit.NewFaults(CodeInjected, writeError),
	}
	for _, opt := range opts {
		if opt != nil {
			opt(f)
		}
	}
	if f.softWindow >= f.lifetime {
		f.softWindow = 0
	}
	mux := http.NewServeMux()
	for r, h := range map[string]http.HandlerFunc{
		RouteAuthorizeUser:        f.authorizeUser,
		RouteGetAuthentication:    f.getAuthentication,
		RouteLookupAuthentication: f.lookupAuthentication,
		RouteListSupportMessages:  f.listMessages,
		RoutePostSupportMessage:   f.postMessage,
		RouteEscalate:             f.escalate,
	} {
		mux.Handle(r, f.route(r, h))
	}
	f.handler = mux
	return f
}

// ServeHTTP serves the Entrupy routes at the root of the URL space
// ("/v2/..."); give clients of the fake a base URL without a path.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.handler.ServeHTTP(w, r) }

// User returns what the fake remembers of uniqueUserID.
func (f *Fake) User(uniqueUserID string) (User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[uniqueUserID]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// SignedRequestUser reports whether signedRequest was issued by the fake,
// and to which unique_user_id.
func (f *Fake) SignedRequestUser(signedRequest string) (uniqueUserID string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	uniqueUserID, ok = f.signed[signedRequest]
	return uniqueUserID, ok
}

// AddAuthentication stores an item for GetAuthentication and
// LookupAuthentication (by a.EntrupyID and a.CustomerItemID); it replaces
// an item with the same EntrupyID.
func (f *Fake) AddAuthentication(a entrupy.Authentication) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a.Raw = nil
	f.item(a.EntrupyID).auth = &a
}

// AddSupportMessage adds a message to the item's support conversation (the
// item is created if unknown) and returns it as stored: an empty ID, Sender
// or CreatedAt is filled in (sender "entrupy", the fake's clock).
func (f *Fake) AddSupportMessage(entrupyID string, m entrupy.Message) entrupy.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.ID == "" {
		m.ID = f.nextID("msg")
	}
	if m.Sender == "" {
		m.Sender = entrupy.SenderEntrupy
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = f.now().UTC().Truncate(time.Second)
	}
	it := f.item(entrupyID)
	it.messages = append(it.messages, m)
	return m
}

// SetStructuredResponses sets the canned answers offered for the item (the
// item is created if unknown). A reply choosing one of them clears them.
func (f *Fake) SetStructuredResponses(entrupyID string, responses ...entrupy.StructuredResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.item(entrupyID).responses = slices.Clone(responses)
}

// Replies returns the replies posted for the item, oldest first.
func (f *Fake) Replies(entrupyID string) []entrupy.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	if it, ok := f.items[entrupyID]; ok {
		return slices.Clone(it.replies)
	}
	return nil
}

// Escalations returns the escalations received, oldest first.
func (f *Fake) Escalations() []entrupy.Escalation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.escalations)
}

// item returns the item, creating it; f.mu must be held.
func (f *Fake) item(entrupyID string) *item {
	it, ok := f.items[entrupyID]
	if !ok {
		it = &item{}
		f.items[entrupyID] = it
	}
	return it
}

// nextID returns a new id; f.mu must be held.
func (f *Fake) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_%d", prefix, f.seq)
}

// route puts fault injection and call counting, then the auth check, in
// front of h.
func (f *Fake) route(name string, h http.HandlerFunc) http.Handler {
	return f.faults.Wrap(name, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(r) {
			writeError(w, http.StatusUnauthorized, CodeAuthenticationFailed, "Invalid token.")
			return
		}
		h(w, r)
	}))
}

// authorized checks for exactly one "Authorization: Token <token>".
func (f *Fake) authorized(r *http.Request) bool {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(vals[0]), []byte("Token "+f.token)) == 1
}

// errBadBody has already been answered.
var errBadBody = errors.New("bad body")

// readJSON decodes a JSON request body, answering 415, 413 or 400 itself.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be application/json.")
		return errBadBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "Request body too large.")
		} else {
			writeError(w, http.StatusBadRequest, CodeParseError, "Cannot read the request body.")
		}
		return errBadBody
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, CodeParseError, "JSON parse error.")
		return errBadBody
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, map[string]string{"code": code, "detail": detail})
}

func invalid(w http.ResponseWriter, field, reason string) {
	writeError(w, http.StatusBadRequest, CodeInvalid, field+": "+reason)
}

// randomToken returns an opaque random string with prefix.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// str reads an optional string field of a decoded body.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
