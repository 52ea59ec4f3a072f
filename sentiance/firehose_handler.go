package sentiance

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"

	"github.com/sdkbroker/sdkbroker/internal/dedup"
	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

type testDeliveryKey struct{}

// IsTestDelivery reports whether ctx is the context of a Firehose callback
// for a test delivery (header sentiance-payload-type: test). Use it when a
// test delivery carries no messages; each [Message] also has Test set.
func IsTestDelivery(ctx context.Context) bool {
	v, _ := ctx.Value(testDeliveryKey{}).(bool)
	return v
}

// WebhookOption configures [NewFirehoseHandler]. The same options exist,
// with the same names, in every sdkbroker package that receives webhooks.
type WebhookOption func(*firehoseHandler) error

// WithWebhookLogger logs one line per refused or failed delivery and per
// recovered callback panic (status, reason, method, path; never credentials,
// bodies or messages). Without it the handler is silent; nil is ignored.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(h *firehoseHandler) error {
		h.logger = l
		return nil
	}
}

// WithWebhookMaxBodySize limits a delivery to n bytes, both as sent and after
// gzip decompression (default [DefaultFirehoseMaxBody]); larger deliveries
// are refused with 413. n must be positive.
func WithWebhookMaxBodySize(n int64) WebhookOption {
	return func(h *firehoseHandler) error {
		if n <= 0 {
			return httpx.Invalid("webhook_max_body_size", "must be positive")
		}
		h.maxBody = n
		return nil
	}
}

// WithDedup makes the handler answer a replayed delivery 200 without
// calling the callback again, through d (see [NewMemoryDeduper], or
// broker's Store-backed deduper to share it across replicas). A Firehose
// delivery carries no delivery id, so it is identified by the SHA-256 of
// its body after decompression (a redelivery compressed differently is
// still a replay) (**assumed**: Sentiance redelivers the same JSON bytes).
// Test deliveries ([IsTestDelivery]) are never deduplicated. A delivery is
// claimed only after the Basic auth and the body were checked, so
// unauthenticated requests never reach d. While another request holds the
// claim for the same delivery (a concurrent duplicate), the answer is 503
// with Retry-After, so Sentiance delivers it again later. When d fails,
// the delivery is processed anyway (and the failure logged). A nil d is an
// error.
func WithDedup(d Deduper) WebhookOption {
	return func(h *firehoseHandler) error {
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

// NewFirehoseHandler returns the http.Handler to mount at the URL you gave
// Sentiance for its Firehose. It answers:
//
//   - any request without Basic auth matching cfg.Username and cfg.Password:
//     401 (compared in constant time, by SHA-256 digests, so neither length
//     nor content leaks through timing);
//   - GET: 200 {"app_id": cfg.AppID}, the check Sentiance makes on the URL;
//   - POST: a delivery, plain JSON or gzip (Content-Encoding: gzip, or a body
//     starting with the gzip magic bytes). The body is limited to the
//     maximum size ([WithWebhookMaxBodySize]) both as sent and after
//     decompression, so a gzip bomb gets 413. The JSON is decoded with
//     [ParseFirehoseDelivery] (400 if malformed); fn then receives every
//     message in order, in one call, even when there are none; 200 is
//     answered only after fn returned nil, and 500 when it returned an error
//     or panicked (the panic is recovered and logged without the delivery),
//     so Sentiance delivers again. fn runs on the request's context, for
//     which [IsTestDelivery] reports a test delivery. With [WithDedup], a
//     replayed delivery is answered 200 without calling fn;
//   - other methods: 405; an unknown Content-Encoding: 415.
//
// A cfg that fails [FirehoseConfig.Validate], a nil fn or an invalid option
// is an error (a [*ValidationError], matching [ErrInvalidInput]) and no
// handler is returned.
//
// Error answers are short plain text that never repeats the body or a
// credential. The handler keeps only digests of the credentials.
//
// # Attribution
//
// Each [Message] carries Message.UserID, the Sentiance user id (the
// message data's user_id), not your external id. To find your user, keep
// the Sentiance user id the app's SDK reports after user creation (or that
// [Client.LinkInstall] returns) next to the external id you sent; a
// backend built on package broker records the external id it sent and
// resolves it with broker.Owner(ctx, "sentiance", externalID).
func NewFirehoseHandler(cfg FirehoseConfig, fn func(ctx context.Context, msgs []Message) error, opts ...WebhookOption) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, httpx.Invalid("callback", "is nil")
	}
	h := &firehoseHandler{
		appID:    cfg.AppID,
		maxBody:  DefaultFirehoseMaxBody,
		fn:       fn,
		user:     sha256.Sum256([]byte(cfg.Username)),
		pass:     sha256.Sum256([]byte(cfg.Password)),
		redactor: httpx.NewRedactor(cfg.Password),
	}
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

type firehoseHandler struct {
	appID    string
	maxBody  int64
	fn       func(context.Context, []Message) error
	logger   *slog.Logger
	user     [sha256.Size]byte
	pass     [sha256.Size]byte
	redactor *httpx.Redactor
	dedup    Deduper
}

// String describes the handler without its credentials.
func (h *firehoseHandler) String() string { return "sentiance.FirehoseHandler{AppID: " + h.appID + "}" }

func (h *firehoseHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.authorized(r) {
		h.log(r, slog.LevelDebug, "firehose request refused: bad credentials")
		w.Header().Set("WWW-Authenticate", `Basic realm="sentiance-firehose", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]string{"app_id": h.appID})
		return
	}
	h.serveDelivery(w, r)
}

// authorized compares both credentials in constant time; both comparisons
// always run.
func (h *firehoseHandler) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(pass))
	match := subtle.ConstantTimeCompare(u[:], h.user[:]) & subtle.ConstantTimeCompare(p[:], h.pass[:])
	return ok && match == 1
}

func (h *firehoseHandler) serveDelivery(w http.ResponseWriter, r *http.Request) {
	body, status, reason := h.readBody(w, r)
	if status != 0 {
		h.log(r, slog.LevelWarn, "firehose delivery refused", slog.Int("status", status), slog.String("reason", reason))
		http.Error(w, reason, status)
		return
	}
	msgs, err := ParseFirehoseDelivery(body)
	if err != nil {
		h.log(r, slog.LevelWarn, "firehose delivery refused", slog.Int("status", http.StatusBadRequest), slog.String("reason", err.Error()))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	test := strings.EqualFold(strings.TrimSpace(r.Header.Get(PayloadTypeHeader)), "test")
	if test {
		for i := range msgs {
			msgs[i].Test = true
		}
	}
	ctx := context.WithValue(r.Context(), testDeliveryKey{}, test)
	d := h.dedup
	if test {
		d = nil // a test delivery is processed every time it is sent
	}
	key := dedup.Key("sentiance", "body", body)
	out, err, dedupErr := dedup.Run(ctx, d, key, func() error { return h.call(ctx, r, msgs) })
	if dedupErr != nil {
		h.log(r, slog.LevelWarn, "firehose dedup failed", slog.String("dedup_key", key),
			slog.String("error", h.redactor.Redact(dedupErr.Error())))
	}
	switch out {
	case dedup.Replayed:
		h.log(r, slog.LevelDebug, "firehose replay ignored", slog.Int("messages", len(msgs)), slog.String("dedup_key", key))
		w.WriteHeader(http.StatusOK)
		return
	case dedup.InProgress:
		h.log(r, slog.LevelWarn, "firehose delivery refused", slog.Int("status", http.StatusServiceUnavailable),
			slog.String("reason", "delivery being processed"), slog.String("dedup_key", key))
		w.Header().Set("Retry-After", dedupRetryAfter)
		http.Error(w, "delivery being processed", http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		h.log(r, slog.LevelError, "firehose callback failed", slog.Int("messages", len(msgs)),
			slog.String("error", h.redactor.Redact(err.Error())))
		http.Error(w, "delivery not processed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// errCallbackPanicked is what a recovered callback panic becomes.
var errCallbackPanicked = errors.New("firehose callback panicked")

// call runs the callback, turning a panic into errCallbackPanicked. The
// panic is logged by kind only (see panicSummary), never with the messages.
func (h *firehoseHandler) call(ctx context.Context, r *http.Request, msgs []Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log(r, slog.LevelError, "firehose callback panicked", slog.String("panic", panicSummary(p)))
			err = errCallbackPanicked
		}
	}()
	return h.fn(ctx, msgs)
}

// panicSummary describes a recovered panic without its value, which may hold
// the delivery: a runtime error's own message (such as "index out of
// range"), else the value's type.
func panicSummary(p any) string {
	// The runtime's own errors (an index out of range, a nil map write)
	// carry only indices and type names; any other value, even one that
	// implements runtime.Error, is named by its type alone.
	if re, ok := p.(runtime.Error); ok && strings.HasPrefix(strings.TrimPrefix(fmt.Sprintf("%T", re), "*"), "runtime.") {
		return re.Error()
	}
	return fmt.Sprintf("panic value of type %T", p)
}

// readBody reads the delivery within the limits, decompressing gzip. On
// failure it returns the status to answer and a short reason.
func (h *firehoseHandler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, string) {
	const tooLarge = "delivery too large"
	if r.ContentLength > h.maxBody {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	if r.Body == nil {
		return nil, http.StatusBadRequest, "empty body"
	}
	br := bufio.NewReader(http.MaxBytesReader(w, r.Body, h.maxBody))
	var gzipped bool
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "gzip", "x-gzip":
		gzipped = true
	case "", "identity":
		magic, _ := br.Peek(2)
		gzipped = len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b // gzip sent without Content-Encoding
	default:
		return nil, http.StatusUnsupportedMediaType, "unsupported content encoding"
	}
	var src io.Reader = br
	if gzipped {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return readFailure(err, true)
		}
		defer gz.Close()
		src = gz
	}
	body, err := io.ReadAll(io.LimitReader(src, h.maxBody+1))
	if err != nil {
		return readFailure(err, gzipped)
	}
	if int64(len(body)) > h.maxBody {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	return body, 0, ""
}

// readFailure maps a read error: the size limit is 413, anything else
// (a corrupt or truncated gzip stream) 400.
func readFailure(err error, gzipped bool) ([]byte, int, string) {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, http.StatusRequestEntityTooLarge, "delivery too large"
	}
	if gzipped {
		return nil, http.StatusBadRequest, "body is not valid gzip"
	}
	return nil, http.StatusBadRequest, "body could not be read"
}

func (h *firehoseHandler) log(r *http.Request, level slog.Level, msg string, attrs ...slog.Attr) {
	if h.logger == nil {
		return
	}
	attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()))
	h.logger.LogAttrs(r.Context(), level, msg, attrs...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
