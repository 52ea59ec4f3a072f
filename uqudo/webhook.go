package uqudo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// DefaultWebhookMaxBody is the default body limit of the webhook handler.
const DefaultWebhookMaxBody = 1 << 20

// WebhookOptions configure [NewWebhookHandler]. uqudo signs the result but
// not the request, so the JWS is what proves authenticity; Basic auth or a
// custom header, as configured in uqudo's Customer Portal, are extra checks.
type WebhookOptions struct {
	// Username and Password, when Username is set, require this HTTP Basic
	// auth (compared in constant time).
	Username, Password string
	// Header and HeaderValue, when Header is set, require this header with
	// this value (compared in constant time).
	Header, HeaderValue string
	// MaxBodyBytes limits the request body (default [DefaultWebhookMaxBody]).
	MaxBodyBytes int64
	// Expect returns the expectations for the session a result claims (its
	// signed jti): return VerifyOptions{SessionID: sessionID, Nonce: ...}
	// for a session you created, or an error (such as [ErrSessionMismatch])
	// for one you did not, which answers 401. Nil accepts every session id:
	// the callback must then check Result.SessionID itself.
	Expect func(ctx context.Context, sessionID string) (VerifyOptions, error)
	// Logger, when set, receives one line per rejected request (the reason,
	// never the body or a credential).
	Logger *slog.Logger
}

// webhookBody is the POST body uqudo sends.
type webhookBody struct {
	JWSResult string `json:"jwsResult"`
}

// NewWebhookHandler returns the http.Handler for uqudo's result webhook: a
// POST of {"jwsResult": "<JWS>"}. It checks the optional Basic auth or
// header (401), the method (405), the body size (413) and shape (400),
// verifies the JWS with v (an invalid result is 401; unavailable keys are
// 503 so uqudo tries again), then calls fn with the verified result and
// answers 200 only when fn returned nil (500 otherwise). A nil v or fn
// gives a handler that answers 500.
func NewWebhookHandler(v *Verifier, opts WebhookOptions, fn func(ctx context.Context, r *Result) error) http.Handler {
	h := &webhookHandler{v: v, opts: opts, fn: fn, limit: opts.MaxBodyBytes}
	if h.limit <= 0 {
		h.limit = DefaultWebhookMaxBody
	}
	return h
}

type webhookHandler struct {
	v     *Verifier
	opts  WebhookOptions
	fn    func(context.Context, *Result) error
	limit int64
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.v == nil || h.fn == nil {
		h.reject(w, r, http.StatusInternalServerError, "webhook handler is not configured")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !h.authorized(r) {
		if h.opts.Username != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="uqudo webhook"`)
		}
		h.reject(w, r, http.StatusUnauthorized, "unauthorized")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.limit))
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
		if h.opts.Expect == nil {
			return VerifyOptions{SessionID: jti}, nil
		}
		want, err := h.opts.Expect(ctx, jti)
		if err != nil {
			return VerifyOptions{}, wrapf(ErrSessionMismatch, "session not expected: %v", err)
		}
		return want, nil
	}
	res, err := h.v.verify(r.Context(), in.JWSResult, expect)
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidResult):
		h.reject(w, r, http.StatusUnauthorized, "invalid result", slog.String("error", err.Error()))
		return
	default:
		h.reject(w, r, http.StatusServiceUnavailable, "cannot verify the result now", slog.String("error", err.Error()))
		return
	}
	if err := h.fn(r.Context(), res); err != nil {
		h.reject(w, r, http.StatusInternalServerError, "callback failed", slog.String("error", err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{}\n"))
}

// authorized checks the configured Basic auth and header in constant time
// (both sides hashed first, so lengths do not leak either).
func (h *webhookHandler) authorized(r *http.Request) bool {
	ok := true
	if h.opts.Username != "" {
		user, pass, found := r.BasicAuth()
		userOK, passOK := equalSecret(user, h.opts.Username), equalSecret(pass, h.opts.Password)
		ok = found && userOK && passOK
	}
	if h.opts.Header != "" {
		ok = equalSecret(r.Header.Get(h.opts.Header), h.opts.HeaderValue) && ok
	}
	return ok
}

func equalSecret(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (h *webhookHandler) reject(w http.ResponseWriter, r *http.Request, status int, msg string, attrs ...slog.Attr) {
	if l := h.opts.Logger; l != nil {
		attrs = append(attrs, slog.Int("status", status), slog.String("reason", msg))
		l.LogAttrs(r.Context(), slog.LevelWarn, "uqudo webhook rejected", attrs...)
	}
	http.Error(w, msg, status)
}
