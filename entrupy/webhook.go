package entrupy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// SignatureHeader is the header that carries a webhook's signature.
const SignatureHeader = "Entrupy-Signature"

// signaturePrefix is tolerated before the hex digest (any case).
const signaturePrefix = "sha256="

// DefaultWebhookMaxBodyBytes is how much of a webhook body the handler reads
// (1 MiB); a larger one is answered 413.
const DefaultWebhookMaxBodyBytes = 1 << 20

// VerifySignature checks a webhook's Entrupy-Signature header against its
// raw body. The signature is **assumed** to be the hex HMAC-SHA256 of the raw
// body keyed with the subscription secret (the secret's bytes as given);
// upper- or lower-case hex is accepted, with or without a "sha256=" prefix.
// The comparison takes constant time.
//
// It returns nil for a valid signature, [ErrSignatureMissing],
// [ErrSignatureMalformed] or [ErrSignatureMismatch] (all matching
// [ErrInvalidSignature]) otherwise, and a [*ValidationError] for an empty
// secret. No error contains the secret or the signature.
func VerifySignature(secret string, body []byte, header string) error {
	if secret == "" {
		return httpx.Invalid("webhook_secret", "is empty")
	}
	sig := strings.TrimSpace(header)
	if len(sig) >= len(signaturePrefix) && strings.EqualFold(sig[:len(signaturePrefix)], signaturePrefix) {
		sig = strings.TrimSpace(sig[len(signaturePrefix):])
	}
	if sig == "" {
		if strings.TrimSpace(header) == "" {
			return ErrSignatureMissing
		}
		return ErrSignatureMalformed
	}
	if len(sig) != hex.EncodedLen(sha256.Size) {
		return ErrSignatureMalformed
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return ErrSignatureMalformed
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrSignatureMismatch
	}
	return nil
}

// EventType names a webhook event. Unknown types are kept verbatim.
type EventType string

// Webhook event types Entrupy sends.
const (
	// EventSupportMessage: Entrupy's support team wrote about an item;
	// Event.SupportMessage holds it.
	EventSupportMessage EventType = "support.message"
	// EventSessionCompleted: an authentication finished; Event.SessionCompleted
	// holds the item.
	EventSessionCompleted EventType = "session.completed"
	// EventCertificateTransfer: an item's certificate changed hands;
	// Event.CertificateTransfer holds the details.
	EventCertificateTransfer EventType = "certificate.transfer"
)

// Event is a parsed webhook. The envelope is **assumed** to be
// {"id": "...", "event": "<type>", "created_at": <Unix seconds or RFC 3339>,
// "data": {"entrupy_id": "...", "customer_item_id": "...", ...}}. Exactly one
// typed payload is set for a known type; for an unknown type all are nil and
// Data holds the payload.
type Event struct {
	// ID is the event's id, if Entrupy sent one (useful to drop redeliveries).
	ID string
	// Type is the event type.
	Type EventType
	// CreatedAt is when the event happened; zero if not sent.
	CreatedAt time.Time
	// EntrupyID is data.entrupy_id, the item the event is about.
	EntrupyID string
	// CustomerItemID is data.customer_item_id, your id of the item.
	CustomerItemID string
	// Data is the raw "data" object.
	Data json.RawMessage

	// SupportMessage is set for [EventSupportMessage].
	SupportMessage *SupportMessageEvent
	// SessionCompleted is set for [EventSessionCompleted]: the item, with
	// its status, result and certificate link.
	SessionCompleted *Authentication
	// CertificateTransfer is set for [EventCertificateTransfer].
	CertificateTransfer *CertificateTransferEvent
}

// SupportMessageEvent is the payload of a support.message event. Field
// names are **assumed**: "entrupy_id", "customer_item_id", "message" (a
// [Message]) and "structured_responses".
type SupportMessageEvent struct {
	// EntrupyID is Entrupy's id of the item.
	EntrupyID string `json:"entrupy_id"`
	// CustomerItemID is your id of the item.
	CustomerItemID string `json:"customer_item_id"`
	// Message is the new message.
	Message Message `json:"message"`
	// StructuredResponses are the canned answers offered, if any.
	StructuredResponses []StructuredResponse `json:"structured_responses"`
}

// CertificateTransferEvent is the payload of a certificate.transfer event.
// Field names are **assumed**: "entrupy_id", "customer_item_id",
// "certificate_url", "from_user", "to_user".
type CertificateTransferEvent struct {
	// EntrupyID is Entrupy's id of the item.
	EntrupyID string `json:"entrupy_id"`
	// CustomerItemID is your id of the item.
	CustomerItemID string `json:"customer_item_id"`
	// CertificateURL links the certificate.
	CertificateURL string `json:"certificate_url"`
	// FromUser is the previous owner's user id, when sent.
	FromUser string `json:"from_user"`
	// ToUser is the new owner's user id, when sent.
	ToUser string `json:"to_user"`
}

// eventError is a ParseEvent failure; it matches ErrMalformedEvent and its cause.
type eventError struct {
	reason string
	cause  error
}

func (e *eventError) Error() string { return ErrMalformedEvent.Error() + ": " + e.reason }

func (e *eventError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrMalformedEvent}
	}
	return []error{ErrMalformedEvent, e.cause}
}

func malformed(reason string, cause error) error { return &eventError{reason: reason, cause: cause} }

// decodeReason names a DecodeJSON failure for an event.
func decodeReason(err error) string {
	var de *httpx.DecodeError
	switch {
	case errors.Is(err, httpx.ErrEmptyBody):
		return "empty body"
	case errors.Is(err, httpx.ErrTruncatedJSON):
		return "truncated JSON"
	case errors.Is(err, httpx.ErrNotJSON):
		return "not JSON"
	case errors.As(err, &de) && de.Field != "":
		return fmt.Sprintf("field %q has the wrong type", de.Field)
	}
	return "not a JSON object of the expected shape"
}

// ParseEvent parses a webhook body (verify its signature first). Known
// types get their typed payload; an unknown type is not an error: it is
// returned with Data only. Errors match [ErrMalformedEvent] (and, for a
// body that is not JSON, [ErrNotJSON], [ErrTruncatedJSON] or [ErrEmptyBody]);
// they never quote the body.
func ParseEvent(body []byte) (*Event, error) {
	var env struct {
		ID        string          `json:"id"`
		Type      string          `json:"event"`
		CreatedAt timestamp       `json:"created_at"`
		Data      json.RawMessage `json:"data"`
	}
	if err := httpx.DecodeJSON(body, &env); err != nil {
		return nil, malformed(decodeReason(err), err)
	}
	if strings.TrimSpace(env.Type) == "" {
		return nil, malformed(`"event" is missing`, httpx.ErrMissingField)
	}
	ev := &Event{ID: env.ID, Type: EventType(env.Type), CreatedAt: time.Time(env.CreatedAt)}
	if data := env.Data; len(data) > 0 && string(data) != "null" {
		ev.Data = append(json.RawMessage(nil), data...)
	}
	var ids struct {
		EntrupyID      string `json:"entrupy_id"`
		CustomerItemID string `json:"customer_item_id"`
	}
	idsErr := errors.New("no data")
	if ev.Data != nil {
		idsErr = json.Unmarshal(ev.Data, &ids)
	}
	ev.EntrupyID, ev.CustomerItemID = ids.EntrupyID, ids.CustomerItemID

	var payload any
	switch ev.Type {
	case EventSupportMessage:
		ev.SupportMessage = &SupportMessageEvent{}
		payload = ev.SupportMessage
	case EventSessionCompleted:
		ev.SessionCompleted = &Authentication{}
		payload = ev.SessionCompleted
	case EventCertificateTransfer:
		ev.CertificateTransfer = &CertificateTransferEvent{}
		payload = ev.CertificateTransfer
	default:
		return ev, nil // unknown type: kept raw
	}
	if ev.Data == nil {
		return nil, malformed(`"data" is missing`, httpx.ErrMissingField)
	}
	if err := httpx.DecodeJSON(ev.Data, payload); err != nil {
		return nil, malformed("data: "+decodeReason(err), err)
	}
	if idsErr != nil {
		return nil, malformed("data: not a JSON object of the expected shape", nil)
	}
	if ev.EntrupyID == "" {
		return nil, malformed(`"data.entrupy_id" is missing`, httpx.ErrMissingField)
	}
	return ev, nil
}

// WebhookOption configures [NewWebhookHandler].
type WebhookOption func(*webhookHandler)

// WithWebhookMaxBodySize sets how many bytes of a body the handler reads
// (default [DefaultWebhookMaxBodyBytes]); larger bodies are answered 413. A
// value that is not positive is a configuration error (see NewWebhookHandler).
func WithWebhookMaxBodySize(n int64) WebhookOption {
	return func(h *webhookHandler) {
		if n <= 0 {
			h.cfgErr = errors.Join(h.cfgErr, httpx.Invalid("webhook_max_body_size", "must be positive"))
			return
		}
		h.maxBody = n
	}
}

// WithWebhookLogger logs each rejected or failed delivery (status and reason,
// never the body, the signature or the secret). Without it the handler is
// silent. Nil is ignored.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(h *webhookHandler) { h.logger = l }
}

// NewWebhookHandler returns the http.Handler for Entrupy's webhook
// deliveries. For each request it:
//
//   - answers 405 to anything but POST;
//   - reads at most the size limit (default 1 MiB) and answers 413 beyond it;
//   - checks the Entrupy-Signature header with [VerifySignature] against
//     secret and answers 401 when it is missing or wrong, before parsing;
//   - parses the body with [ParseEvent] and answers 400 when it is malformed
//     (an unknown event type is passed on, not refused);
//   - calls fn with the request's context and answers 200 only once fn
//     returned nil, or 500 when fn returned an error or panicked, so that
//     Entrupy delivers the event again. fn should therefore be idempotent
//     (Event.ID helps to drop repeats).
//
// A handler built with an empty secret, a nil fn or an invalid option cannot
// verify anything: it answers 500 to every POST and logs why.
func NewWebhookHandler(secret string, fn func(context.Context, *Event) error, opts ...WebhookOption) http.Handler {
	h := &webhookHandler{secret: secret, fn: fn, maxBody: DefaultWebhookMaxBodyBytes}
	for _, opt := range opts {
		if opt != nil {
			opt(h)
		}
	}
	if secret == "" {
		h.cfgErr = errors.Join(h.cfgErr, httpx.Invalid("webhook_secret", "is empty"))
	}
	if fn == nil {
		h.cfgErr = errors.Join(h.cfgErr, httpx.Invalid("webhook_callback", "is nil"))
	}
	return h
}

type webhookHandler struct {
	secret  string
	fn      func(context.Context, *Event) error
	maxBody int64
	logger  *slog.Logger
	cfgErr  error
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if h.cfgErr != nil {
		h.reply(w, r, http.StatusInternalServerError, "webhook handler misconfigured", slog.String("error", h.cfgErr.Error()))
		return
	}
	if r.ContentLength > h.maxBody {
		h.reply(w, r, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.reply(w, r, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		h.reply(w, r, http.StatusBadRequest, "cannot read body")
		return
	}
	if err := VerifySignature(h.secret, body, r.Header.Get(SignatureHeader)); err != nil {
		h.reply(w, r, http.StatusUnauthorized, "invalid signature", slog.String("error", err.Error()))
		return
	}
	ev, err := ParseEvent(body)
	if err != nil {
		h.reply(w, r, http.StatusBadRequest, "malformed event", slog.String("error", err.Error()))
		return
	}
	if err := h.call(r.Context(), ev); err != nil {
		h.reply(w, r, http.StatusInternalServerError, "event not processed",
			slog.String("event", string(ev.Type)), slog.String("entrupy_id", ev.EntrupyID),
			slog.String("error", httpx.Redact(err.Error(), h.secret)))
		return
	}
	h.log(r, slog.LevelDebug, "entrupy webhook processed", slog.Int("status", http.StatusOK),
		slog.String("event", string(ev.Type)), slog.String("entrupy_id", ev.EntrupyID))
	w.WriteHeader(http.StatusOK)
}

// call runs the callback, turning a panic into an error.
func (h *webhookHandler) call(ctx context.Context, ev *Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("webhook callback panicked: %v", p)
		}
	}()
	return h.fn(ctx, ev)
}

func (h *webhookHandler) reply(w http.ResponseWriter, r *http.Request, status int, msg string, attrs ...slog.Attr) {
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	h.log(r, level, "entrupy webhook rejected", append([]slog.Attr{slog.Int("status", status), slog.String("reason", msg)}, attrs...)...)
	http.Error(w, msg, status)
}

func (h *webhookHandler) log(r *http.Request, level slog.Level, msg string, attrs ...slog.Attr) {
	if h.logger == nil {
		return
	}
	h.logger.LogAttrs(r.Context(), level, msg, attrs...)
}
