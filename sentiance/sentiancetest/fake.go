package sentiancetest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
	"github.com/sdkbroker/sdkbroker/sentiance"
)

// DefaultAPIKey is the API key a Fake accepts, as "Authorization: Bearer
// <key>", unless [WithAPIKey] says otherwise. It is not a real credential.
const DefaultAPIKey = "sentiancetest-api-key-8e2f41c7"

// DefaultCodeTTL is how long the fake's authentication codes live, like
// Sentiance's (about ten minutes).
const DefaultCodeTTL = 10 * time.Minute

// expiresAtLayout is how Sentiance writes expires_at: RFC 3339 in UTC with
// milliseconds, such as 2021-02-03T14:32:03.076Z.
const expiresAtLayout = "2006-01-02T15:04:05.000Z07:00"

// Errors of [Fake.Redeem].
var (
	// ErrUnknownCode reports a code the fake never issued (or whose user was deleted).
	ErrUnknownCode = errors.New("sentiancetest: unknown authentication code")
	// ErrCodeExpired reports a code redeemed at or after its expiry.
	ErrCodeExpired = errors.New("sentiancetest: authentication code expired")
	// ErrCodeUsed reports a code redeemed twice.
	ErrCodeUsed = errors.New("sentiancetest: authentication code already used")
)

// Option configures a [Fake].
type Option func(*Fake)

// WithAPIKey sets the API key the fake accepts (default [DefaultAPIKey]).
// An empty key keeps the default.
func WithAPIKey(key string) Option {
	return func(f *Fake) {
		if key != "" {
			f.apiKey = key
		}
	}
}

// WithClock makes the fake read the time from now (default time.Now), so
// tests can expire codes without sleeping.
func WithClock(now func() time.Time) Option {
	return func(f *Fake) {
		if now != nil {
			f.now = now
		}
	}
}

// WithCodeTTL sets the lifetime of issued codes (default [DefaultCodeTTL]);
// a non-positive d is ignored.
func WithCodeTTL(d time.Duration) Option {
	return func(f *Fake) {
		if d > 0 {
			f.ttl = d
		}
	}
}

// Fake is an in-memory Sentiance API: an http.Handler serving
// POST /users/auth-code, POST /v2/users/{install_id}/link and
// DELETE /users/{user_id} at the root of its URL. It checks
// "Authorization: Bearer <key>", issues codes that expire, and remembers which
// external ids are linked to which Sentiance user.
//
// As in Sentiance, a code only creates (or restores) the user when the SDK
// redeems it: call [Fake.Redeem] where the app's SDK would. Redeeming a code
// for an external id that is already linked restores the same user id; see
// [Fake.UserFor]. It is safe for concurrent use.
type Fake struct {
	apiKey string
	mux    *http.ServeMux

	mu       sync.Mutex
	now      func() time.Time
	ttl      time.Duration
	users    map[string]string // external id -> user id
	owners   map[string]string // user id -> external id
	installs map[string]string // install id -> external id
	codes    map[string]*issuedCode
	noLink   bool

	faults *fakekit.Faults
}

type issuedCode struct {
	externalID string
	expiresAt  time.Time
	used       bool
}

// New returns a fake that accepts [DefaultAPIKey], or the key given to
// [WithAPIKey], and no other.
func New(opts ...Option) *Fake {
	f := &Fake{
		apiKey:   DefaultAPIKey,
		now:      time.Now,
		ttl:      DefaultCodeTTL,
		users:    map[string]string{},
		owners:   map[string]string{},
		installs: map[string]string{},
		codes:    map[string]*issuedCode{},
	}
	f.faults = fakekit.NewFaults(CodeInjected, func(w http.ResponseWriter, status int, code, msg string) {
		writeError(w, apiError{Status: status, ErrorCode: code, Message: msg})
	})
	for _, opt := range opts {
		if opt != nil {
			opt(f)
		}
	}
	f.mux = http.NewServeMux()
	f.mux.Handle(RouteCreateAuthCode, f.route(RouteCreateAuthCode, f.createAuthCode))
	f.mux.Handle(RouteLinkInstall, f.route(RouteLinkInstall, f.linkInstall))
	f.mux.Handle(RouteDeleteUser, f.route(RouteDeleteUser, f.deleteUser))
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError{Status: http.StatusNotFound, Message: "no such route: " + r.Method + " " + r.URL.EscapedPath()})
	})
	return f
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// SetLinkingConfigured switches user linking on (the default) or off; off,
// auth codes and linking fail with 400 USERLINKING_NOT_CONFIGURED (the
// status is the fake's choice).
func (f *Fake) SetLinkingConfigured(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noLink = !on
}

// UserFor returns the Sentiance user id linked to externalID, if any.
func (f *Fake) UserFor(externalID string) (userID string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	userID, ok = f.users[externalID]
	return userID, ok
}

// Redeem does what the Sentiance SDK does with a code in the app: it checks
// the code (issued, unused, unexpired), then creates the user for the code's
// external id, or restores the user already linked to it (restored is then
// true). A code can be redeemed once.
func (f *Fake) Redeem(code string) (userID string, restored bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.codes[code]
	switch {
	case !ok:
		return "", false, ErrUnknownCode
	case c.used:
		return "", false, ErrCodeUsed
	case !f.now().Before(c.expiresAt):
		return "", false, ErrCodeExpired
	}
	c.used = true
	userID, restored = f.users[c.externalID]
	if !restored {
		userID = f.newUserLocked(c.externalID)
	}
	return userID, restored, nil
}

func (f *Fake) newUserLocked(externalID string) string {
	id := randomHex(12)
	f.users[externalID] = id
	f.owners[id] = externalID
	return id
}

// route puts fault injection and call counting, then the bearer key check,
// in front of h.
func (f *Fake) route(name string, h func(http.ResponseWriter, *http.Request)) http.Handler {
	return f.faults.Wrap(name, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := "Bearer " + f.apiKey
		if got := r.Header.Get("Authorization"); subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			writeError(w, apiError{Status: http.StatusUnauthorized, Message: "invalid or missing API key"})
			return
		}
		h(w, r)
	}))
}

func (f *Fake) createAuthCode(w http.ResponseWriter, r *http.Request) {
	ext, ok := readExternalID(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	if f.noLink {
		f.mu.Unlock()
		writeError(w, linkingNotConfigured)
		return
	}
	code := randomHex(32)
	expires := f.now().Add(f.ttl).UTC()
	f.codes[code] = &issuedCode{externalID: ext, expiresAt: expires}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"authentication_code": code,
		"expires_at":          expires.Format(expiresAtLayout),
	})
}

var linkingNotConfigured = apiError{
	Status:    http.StatusBadRequest,
	ErrorCode: sentiance.CodeUserLinkingNotConfigured,
	Message:   "user linking is not configured for this app",
}

func (f *Fake) linkInstall(w http.ResponseWriter, r *http.Request) {
	install := r.PathValue("install_id")
	ext, ok := readExternalID(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noLink {
		writeError(w, linkingNotConfigured)
		return
	}
	if other, linked := f.installs[install]; linked && other != ext {
		writeError(w, apiError{
			Status:    http.StatusConflict,
			ErrorCode: sentiance.CodeInstallLinkedToOtherUser,
			Message:   "install is linked to another user",
		})
		return
	}
	user, ok := f.users[ext]
	if !ok {
		user = f.newUserLocked(ext)
	}
	f.installs[install] = ext
	writeJSON(w, http.StatusOK, map[string]string{"id": user})
}

func (f *Fake) deleteUser(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user_id")
	f.mu.Lock()
	defer f.mu.Unlock()
	ext, ok := f.owners[user]
	if !ok {
		writeError(w, apiError{Status: http.StatusNotFound, ErrorCode: sentiance.CodeUserNotFound, Message: "user not found"})
		return
	}
	delete(f.owners, user)
	delete(f.users, ext)
	for install, e := range f.installs {
		if e == ext {
			delete(f.installs, install)
		}
	}
	for code, c := range f.codes {
		if c.externalID == ext {
			delete(f.codes, code)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// readExternalID decodes {"external_id": ...} and checks it like the client
// does; on failure it has answered 400.
func readExternalID(w http.ResponseWriter, r *http.Request) (string, bool) {
	var body struct {
		ExternalID *string `json:"external_id"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(raw, &body) != nil {
		writeError(w, apiError{Status: http.StatusBadRequest, Message: "body must be a JSON object"})
		return "", false
	}
	if body.ExternalID == nil {
		writeError(w, apiError{Status: http.StatusBadRequest, Message: "external_id is required"})
		return "", false
	}
	if err := sentiance.ValidateExternalID(*body.ExternalID); err != nil {
		writeError(w, apiError{Status: http.StatusBadRequest, Message: err.Error()})
		return "", false
	}
	return *body.ExternalID, true
}

// apiError is an error answer in Sentiance's format.
type apiError struct {
	// Status is the HTTP status.
	Status int
	// ErrorCode is the errorCode field; empty leaves it out.
	ErrorCode string
	// Message is the message field; empty means the status text.
	Message string
}

func writeError(w http.ResponseWriter, e apiError) {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	body := map[string]string{"message": msg, "ref": newRef()}
	if e.ErrorCode != "" {
		body["errorCode"] = e.ErrorCode
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v) // maps of strings always encode
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// newRef returns a random UUID-shaped request reference, as Sentiance's ref.
func newRef() string {
	h := randomHex(16)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}
