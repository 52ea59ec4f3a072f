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
	"runtime"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/dedup"
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
	// UniqueUserID is data.unique_user_id, the user the item belongs to (the
	// unique_user_id given to [Client.AuthorizeUser]), when Entrupy sends it
	// (**assumed** field name; empty when absent).
	UniqueUserID string
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
		UniqueUserID   string `json:"unique_user_id"`
	}
	idsErr := errors.New("no data")
	if ev.Data != nil {
		idsErr = json.Unmarshal(ev.Data, &ids)
	}
	ev.EntrupyID, ev.CustomerItemID, ev.UniqueUserID = ids.EntrupyID, ids.CustomerItemID, ids.UniqueUserID

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

// WebhookConfig configures [NewWebhookHandler].
//
// Secret never prints: String, GoString, Format and LogValue show
// [REDACTED], and JSON encoding leaves it out.
type WebhookConfig struct {
	// Secret is the webhook subscription's signing secret, the key of the
	// Entrupy-Signature HMAC. Required.
	Secret string `json:"-"`
}

// String describes the configuration with Secret redacted.
func (c WebhookConfig) String() string {
	return "entrupy.WebhookConfig{Secret:" + redactedOrEmpty(c.Secret) + "}"
}

// GoString is String, for %#v.
func (c WebhookConfig) GoString() string { return c.String() }

// Format prints the redacted form for every verb.
func (c WebhookConfig) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }

// LogValue logs the configuration with Secret redacted.
func (c WebhookConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret", redactedOrEmpty(c.Secret)))
}

// Validate reports a configuration [NewWebhookHandler] refuses: an empty
// Secret. The error is a [*ValidationError] that never holds the secret.
func (c WebhookConfig) Validate() error {
	if c.Secret == "" {
		return httpx.Invalid("webhook_secret", "is empty")
	}
	return nil
}

// WebhookOption configures [NewWebhookHandler]. The same options exist,
// with the same names, in every sdkbroker package that receives webhooks.
type WebhookOption func(*webhookHandler) error

// WithWebhookMaxBodySize sets how many bytes of a body the handler reads
// (default [DefaultWebhookMaxBodyBytes]); larger bodies are answered 413. n
// must be positive.
func WithWebhookMaxBodySize(n int64) WebhookOption {
	return func(h *webhookHandler) error {
		if n <= 0 {
			return httpx.Invalid("webhook_max_body_size", "must be positive")
		}
		h.maxBody = n
		return nil
	}
}

// WithWebhookLogger logs each rejected or failed delivery and each recovered
// callback panic (status and reason, never the body, the signature or the
// secret). Without it the handler is silent; nil is ignored.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(h *webhookHandler) error {
		h.logger = l
		return nil
	}
}

// WithDedup makes the handler answer a replayed delivery 200 without
// calling the callback again, through d (see [NewMemoryDeduper], or
// broker's Store-backed deduper to share it across replicas). A delivery
// is identified by its event id ("id") or, for an event without one, by the
// SHA-256 of its signed body; it is claimed only after its signature and
// shape were checked, so unsigned requests never reach d. While another
// request holds the claim for the same delivery (a concurrent duplicate),
// the answer is 503 with Retry-After, so Entrupy delivers it again later.
// When d fails, the delivery is processed anyway (and the failure logged).
// A nil d is an error.
func WithDedup(d Deduper) WebhookOption {
	return func(h *webhookHandler) error {
		if d == nil {
			return httpx.Invalid("deduper", "is nil")
		}
		h.dedup = d
		return nil
	}
}

// dedupRetryAfter is the Retry-After, in seconds, of the 503 answering a
// delivery whose duplicate is being processed.
const dedupRetryAfter = "5"

// NewWebhookHandler returns the http.Handler for Entrupy's webhook
// deliveries. For each request it:
//
//   - answers 405 to anything but POST;
//   - reads at most the size limit (default 1 MiB) and answers 413 beyond it;
//   - checks the Entrupy-Signature header with [VerifySignature] against
//     cfg.Secret and answers 401 when it is missing or wrong, before parsing;
//   - parses the body with [ParseEvent] and answers 400 when it is malformed
//     (an unknown event type is passed on, not refused);
//   - calls fn with the request's context and answers 200 only once fn
//     returned nil, or 500 when fn returned an error or panicked (the panic
//     is recovered and logged without the event), so that Entrupy delivers
//     the event again. fn should therefore be idempotent (Event.ID helps to
//     drop repeats), or the handler given [WithDedup], which answers a
//     replay 200 without calling fn.
//
// An empty secret, a nil fn or an invalid option is an error (a
// [*ValidationError], matching [ErrInvalidInput]) and no handler is returned.
//
// # Attribution
//
// An event names the item (Event.EntrupyID, and Event.CustomerItemID, the id
// you gave it) and, when Entrupy sends it, Event.UniqueUserID: the
// unique_user_id of [Client.AuthorizeUser] whose SDK captured the item. A
// backend built on package broker maps that vendor-side user id back to your
// user with broker.Owner(ctx, "entrupy", ev.UniqueUserID); otherwise keep
// your own table from customer_item_id to user.
func NewWebhookHandler(cfg WebhookConfig, fn func(context.Context, *Event) error, opts ...WebhookOption) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, httpx.Invalid("callback", "is nil")
	}
	h := &webhookHandler{secret: cfg.Secret, fn: fn, maxBody: DefaultWebhookMaxBodyBytes}
	for _, opt := range opts {
		if opt == nil {
			return nil, httpx.Invalid("option", "is nil")
		}
		if err := opt(h); err != nil {
			return nil, err
		}
	}
	return h, nil
}

type webhookHandler struct {
	secret  string
	fn      func(context.Context, *Event) error
	maxBody int64
	logger  *slog.Logger
	dedup   Deduper
}

// String describes the handler without its secret.
func (h *webhookHandler) String() string { return "entrupy.WebhookHandler{}" }

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, r, http.StatusMethodNotAllowed, "method not allowed")
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
	key := dedupKey(ev, body)
	out, err, dedupErr := dedup.Run(r.Context(), h.dedup, key, func() error { return h.call(r, ev) })
	if dedupErr != nil {
		h.log(r, slog.LevelWarn, "entrupy webhook dedup failed", slog.String("dedup_key", key),
			slog.String("error", httpx.Redact(dedupErr.Error(), h.secret)))
	}
	switch out {
	case dedup.Replayed:
		h.log(r, slog.LevelDebug, "entrupy webhook replay ignored", slog.Int("status", http.StatusOK),
			slog.String("event", string(ev.Type)), slog.String("entrupy_id", ev.EntrupyID), slog.String("dedup_key", key))
		w.WriteHeader(http.StatusOK)
		return
	case dedup.InProgress:
		w.Header().Set("Retry-After", dedupRetryAfter)
		h.reply(w, r, http.StatusServiceUnavailable, "delivery being processed", slog.String("dedup_key", key))
		return
	}
	if err != nil {
		h.reply(w, r, http.StatusInternalServerError, "event not processed",
			slog.String("event", string(ev.Type)), slog.String("entrupy_id", ev.EntrupyID),
			slog.String("error", httpx.Redact(err.Error(), h.secret)))
		return
	}
	h.log(r, slog.LevelDebug, "entrupy webhook processed", slog.Int("status", http.StatusOK),
		slog.String("event", string(ev.Type)), slog.String("entrupy_id", ev.EntrupyID))
	w.WriteHeader(http.StatusOK)
}

// dedupKey identifies a delivery: by its event id when it has one, else by
// its signed body.
func dedupKey(ev *Event, body []byte) string {
	if ev.ID != "" {
		return dedup.Key("entrupy", "event", []byte(ev.ID))
	}
	return dedup.Key("entrupy", "body", body)
}

// errCallbackPanicked is what a recovered callback panic becomes.
var errCallbackPanicked = errors.New("webhook callback panicked")

// call runs the callback, turning a panic into errCallbackPanicked. The
// panic is logged by kind only (see panicSummary), never with the event.
func (h *webhookHandler) call(r *http.Request, ev *Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log(r, slog.LevelError, "entrupy webhook callback panicked", slog.String("panic", panicSummary(p)))
			err = errCallbackPanicked
		}
	}()
	return h.fn(r.Context(), ev)
}

// panicSummary describes a recovered panic without its value, which may hold
// the event: a runtime error's own message (such as "index out of range"),
// else the value's type.
func panicSummary(p any) string {
	// The runtime's own errors (an index out of range, a nil map write)
	// carry only indices and type names; any other value, even one that
	// implements runtime.Error, is named by its type alone.
	if re, ok := p.(runtime.Error); ok && strings.HasPrefix(strings.TrimPrefix(fmt.Sprintf("%T", re), "*"), "runtime.") {
		return re.Error()
	}
	return fmt.Sprintf("panic value of type %T", p)
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
