package uqudo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sdkbroker/sdkbroker/internal/dedup"
	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// DefaultWebhookMaxBody is the default body limit of the webhook handler.
const DefaultWebhookMaxBody = 1 << 20

// WebhookConfig configures [NewWebhookHandler]. uqudo signs the result but
// not the request, so the JWS, checked by Verifier, is what proves
// authenticity; Basic auth or a custom header, as configured in uqudo's
// Customer Portal, are extra checks. Each check is either fully configured
// or absent: a Password without a Username (or the reverse), or a Header
// without a HeaderValue (or the reverse), is a configuration error, never
// a check that lets every request through.
//
// Password and HeaderValue never print: String, GoString, Format (every
// verb) and LogValue redact them, and JSON encoding leaves them out.
type WebhookConfig struct {
	// Verifier checks the result JWS; usually [Client.Verifier]. Required.
	Verifier *Verifier `json:"-"`
	// Username and Password, when set (both or neither), require this HTTP
	// Basic auth, compared in constant time. Username must not contain ':'.
	Username string
	// Password is the Basic auth password. Secret: left out of JSON.
	Password string `json:"-"`
	// Header and HeaderValue, when set (both or neither), require this
	// header with this value, compared in constant time.
	Header string
	// HeaderValue is the expected value of Header. Secret: left out of JSON.
	HeaderValue string `json:"-"`
	// Expect returns the expectations for the session a result claims (its
	// signed jti): return VerifyOptions{SessionID: sessionID, Nonce: ...}
	// for a session you created, or an error matching [ErrSessionMismatch],
	// [ErrNotFound] or [ErrInvalidInput] for one you did not, which answers
	// 401; any other error (the lookup failed) answers 503, so uqudo
	// delivers the result again later. Nil accepts every session id:
	// the callback must then check Result.SessionID itself.
	Expect func(ctx context.Context, sessionID string) (VerifyOptions, error) `json:"-"`
}

// WebhookOptions is the former name of [WebhookConfig].
//
// Deprecated: use WebhookConfig.
type WebhookOptions = WebhookConfig

// Validate reports a configuration [NewWebhookHandler] refuses: a nil
// Verifier, a half-configured Basic auth (Username without Password or the
// reverse, or a Username with ':'), or a half-configured header check
// (Header without HeaderValue or the reverse, or a Header that is not a
// valid header name). The error is a [*ValidationError] that never
// contains a secret.
func (c WebhookConfig) Validate() error {
	switch {
	case c.Verifier == nil:
		return invalid("verifier", "is nil")
	case c.Password != "" && c.Username == "":
		return invalid("username", "is empty while Password is set (Basic auth needs both)")
	case c.Username != "" && c.Password == "":
		return invalid("password", "is empty while Username is set (Basic auth needs both)")
	case strings.ContainsRune(c.Username, ':'):
		return invalid("username", "must not contain ':'")
	case c.HeaderValue != "" && c.Header == "":
		return invalid("header", "is empty while HeaderValue is set")
	case c.Header != "" && c.HeaderValue == "":
		return invalid("header_value", "is empty while Header is set")
	case c.Header != "" && !validHeaderName(c.Header):
		return invalid("header", "is not a valid HTTP header name")
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	for _, r := range s {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return s != ""
}

// String describes the configuration with Password and HeaderValue redacted.
func (c WebhookConfig) String() string {
	return fmt.Sprintf("uqudo.WebhookConfig{Verifier: %s, Username: %q, Password: %s, Header: %q, HeaderValue: %s, Expect: %s}",
		setOrNil(c.Verifier != nil), c.Username, redactedIfSet(c.Password), c.Header, redactedIfSet(c.HeaderValue), setOrNil(c.Expect != nil))
}

// GoString is String, for %#v.
func (c WebhookConfig) GoString() string { return c.String() }

// Format prints String for every verb.
func (c WebhookConfig) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the configuration with Password and HeaderValue redacted.
func (c WebhookConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("verifier", c.Verifier != nil),
		slog.String("username", c.Username),
		slog.String("password", redactedIfSet(c.Password)),
		slog.String("header", c.Header),
		slog.String("header_value", redactedIfSet(c.HeaderValue)),
		slog.Bool("expect", c.Expect != nil),
	)
}

func setOrNil(set bool) string {
	if set {
		return "set"
	}
	return "nil"
}

// WebhookOption configures [NewWebhookHandler]; see WithWebhookLogger,
// WithWebhookMaxBodySize and WithDedup.
type WebhookOption func(*webhookSettings) error

type webhookSettings struct {
	logger *slog.Logger
	limit  int64
	dedup  Deduper
}

// WithDedup makes the handler answer a replayed result 200 without calling
// the callback again, through d (see [NewMemoryDeduper], or broker's
// Store-backed deduper to share it across replicas). A result is
// identified by its signed jti, the session id (**assumed**: uqudo sends
// one result per session, so a second verified result for a session within
// the window is treated as a replay). A result is claimed only after its
// JWS was verified, so forged or unauthenticated requests never reach d.
// While another request holds the claim for the same session (a concurrent
// duplicate), the answer is 503 with Retry-After, so uqudo delivers it
// again later. When d fails, the result is processed anyway (and the
// failure logged). A nil d is an error.
func WithDedup(d Deduper) WebhookOption {
	return func(s *webhookSettings) error {
		if d == nil {
			return invalid("deduper", "is nil")
		}
		s.dedup = d
		return nil
	}
}

// dedupRetryAfter is the Retry-After, in seconds, of the 503 answering a
// result whose duplicate is being processed.
const dedupRetryAfter = "5"

// WithWebhookLogger makes the handler log one line per rejected request or
// failed callback: the status and the reason, never the body, the JWS or a
// credential. A nil logger is an error.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(s *webhookSettings) error {
		if l == nil {
			return invalid("logger", "is nil")
		}
		s.logger = l
		return nil
	}
}

// WithWebhookMaxBodySize limits the request body to n bytes (default
// [DefaultWebhookMaxBody]); a larger one is refused with 413. n must be
// positive.
func WithWebhookMaxBodySize(n int64) WebhookOption {
	return func(s *webhookSettings) error {
		if n <= 0 {
			return invalid("max_body_size", "must be positive")
		}
		s.limit = n
		return nil
	}
}

// webhookBody is the POST body uqudo sends.
type webhookBody struct {
	JWSResult string `json:"jwsResult"`
}

// NewWebhookHandler returns the http.Handler for uqudo's result webhook: a
// POST of {"jwsResult": "<JWS>"}. It checks the method (405), the
// configured Basic auth or header (401), the body size (413) and shape
// (400), verifies the JWS with cfg.Verifier (an invalid result is 401; keys
// that cannot be used now, such as a failed JWKS download or a kid too new
// to look up yet, are 503 so that uqudo delivers again), then calls fn with
// the verified result and answers 200 only when fn returned nil. An error
// from fn, or a panic in it (recovered), answers 500; the log line, if a
// logger is set, never holds the body or the result (a panic is logged by
// its value's type only, such as "callback panicked: string", never its
// text, which may hold the result). With [WithDedup], a
// replayed result is answered 200 without calling fn.
//
// It returns an error matching [ErrInvalidInput] (a [*ValidationError]) for
// a nil fn, a nil option, an invalid option or a configuration
// [WebhookConfig.Validate] refuses.
//
// To attribute a result to its user: the Result's SessionID (the JWS jti)
// is the session id you stored when you created the session. A backend
// built on sdkbroker's broker (b, a *broker.Broker) asks it in fn:
//
//	userID, err := b.Owner(ctx, broker.Uqudo, result.SessionID)
func NewWebhookHandler(cfg WebhookConfig, fn func(ctx context.Context, r *Result) error, opts ...WebhookOption) (http.Handler, error) {
	if fn == nil {
		return nil, invalid("callback", "is nil")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st := webhookSettings{limit: DefaultWebhookMaxBody}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalid("option", "is nil")
		}
		if err := opt(&st); err != nil {
			return nil, err
		}
	}
	return &webhookHandler{cfg: cfg, fn: fn, st: st}, nil
}

type webhookHandler struct {
	cfg WebhookConfig
	fn  func(context.Context, *Result) error
	st  webhookSettings
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !h.authorized(r) {
		if h.cfg.Username != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="uqudo webhook"`)
		}
		h.reject(w, r, http.StatusUnauthorized, "unauthorized")
		return
	}
	if r.ContentLength > h.st.limit {
		h.reject(w, r, http.StatusRequestEntityTooLarge, "body too large") // refused unread
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.st.limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.reject(w, r, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		h.reject(w, r, http.StatusBadRequest, "cannot read body")
		return
	}
	var in webhookBody
	if json.Unmarshal(body, &in) != nil || strings.TrimSpace(in.JWSResult) == "" {
		h.reject(w, r, http.StatusBadRequest, `body must be {"jwsResult": "<JWS>"}`)
		return
	}
	expect := func(ctx context.Context, jti string) (VerifyOptions, error) {
		if h.cfg.Expect == nil {
			return VerifyOptions{SessionID: jti}, nil
		}
		want, err := h.cfg.Expect(ctx, jti)
		switch {
		case err == nil:
		case errors.Is(err, ErrSessionMismatch), errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidInput):
			return VerifyOptions{}, wrapf(ErrSessionMismatch, "session not expected: %v", err)
		default:
			// The lookup itself failed (a store outage, say): answer 503 so
			// uqudo delivers again, rather than refusing a genuine result.
			return VerifyOptions{}, fmt.Errorf("uqudo: cannot look up the expected session: %w", err)
		}
		return want, nil
	}
	res, err := h.cfg.Verifier.verify(r.Context(), in.JWSResult, expect)
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidResult):
		h.reject(w, r, http.StatusUnauthorized, "invalid result", slog.String("error", err.Error()))
		return
	default:
		h.reject(w, r, http.StatusServiceUnavailable, "cannot verify the result now", slog.String("error", err.Error()))
		return
	}
	key := dedup.Key("uqudo", "jti", []byte(res.SessionID))
	out, err, dedupErr := dedup.Run(r.Context(), h.st.dedup, key, func() error { return h.call(r.Context(), res) })
	if dedupErr != nil && h.st.logger != nil {
		h.st.logger.LogAttrs(r.Context(), slog.LevelWarn, "uqudo webhook dedup failed",
			slog.String("dedup_key", key), slog.String("error", httpx.Redact(dedupErr.Error(), h.cfg.Password, h.cfg.HeaderValue)))
	}
	switch out {
	case dedup.Replayed:
		if l := h.st.logger; l != nil {
			l.LogAttrs(r.Context(), slog.LevelDebug, "uqudo webhook replay ignored", slog.Int("status", http.StatusOK), slog.String("dedup_key", key))
		}
	case dedup.InProgress:
		w.Header().Set("Retry-After", dedupRetryAfter)
		h.reject(w, r, http.StatusServiceUnavailable, "result being processed", slog.String("dedup_key", key))
		return
	default:
		if err != nil {
			h.reject(w, r, http.StatusInternalServerError, "callback failed", slog.String("error", err.Error()))
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{}\n"))
}

// call runs the callback, turning a panic into an error that names only
// the type of the panic's value ("callback panicked: *errors.errorString",
// "callback panicked: string"), never its text: an error's or a string's
// text is the app's, and may quote the result. http.ErrAbortHandler is
// re-panicked, as net/http expects.
func (h *webhookHandler) call(ctx context.Context, res *Result) (err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if e, ok := p.(error); ok && errors.Is(e, http.ErrAbortHandler) {
			panic(p)
		}
		err = fmt.Errorf("callback panicked: %T", p)
	}()
	return h.fn(ctx, res)
}

// authorized checks the configured Basic auth and header in constant time
// (both sides hashed first, so lengths do not leak either).
func (h *webhookHandler) authorized(r *http.Request) bool {
	ok := true
	if h.cfg.Username != "" {
		user, pass, found := r.BasicAuth()
		userOK, passOK := equalSecret(user, h.cfg.Username), equalSecret(pass, h.cfg.Password)
		ok = found && userOK && passOK
	}
	if h.cfg.Header != "" {
		ok = equalSecret(r.Header.Get(h.cfg.Header), h.cfg.HeaderValue) && ok
	}
	return ok
}

func equalSecret(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (h *webhookHandler) reject(w http.ResponseWriter, r *http.Request, status int, msg string, attrs ...slog.Attr) {
	if l := h.st.logger; l != nil {
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		attrs = append(attrs, slog.Int("status", status), slog.String("reason", msg))
		l.LogAttrs(r.Context(), level, "uqudo webhook rejected", attrs...)
	}
	http.Error(w, msg, status)
}
