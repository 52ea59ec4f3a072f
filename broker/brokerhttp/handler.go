package brokerhttp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// The operations of the two routes, as they appear in the path.
const (
	opStart      = "start"
	opInvalidate = "invalidate"
)

// Handler returns an http.Handler serving b to your app:
//
//	POST /{vendor}/start       body: the vendor's params (see the package doc)  -> 200, the broker.Grant as JSON
//	POST /{vendor}/invalidate  body: empty or {}                                 -> 204
//
// [WithUser] is required; a Handler built without it, with a nil b or with
// an option that fails answers every request 500 with the code
// [CodeInternal] (and logs why, with [WithLogger]). Use [New] to get that
// error at start-up instead.
//
// Mount it under a prefix with http.StripPrefix:
//
//	mux.Handle("/v1/", http.StripPrefix("/v1", brokerhttp.Handler(b, brokerhttp.WithUser(userFromSession))))
func Handler(b broker.Interface, opts ...Option) http.Handler {
	h, err := newHandler(b, opts)
	if err != nil {
		return &broken{err: err, logger: h.cfg.logger}
	}
	return h
}

// New is [Handler] reporting a configuration error (no [WithUser], a nil
// broker, a failing option) instead of answering 500 to every request.
func New(b broker.Interface, opts ...Option) (http.Handler, error) {
	h, err := newHandler(b, opts)
	if err != nil {
		return nil, err
	}
	return h, nil
}

type handler struct {
	b   broker.Interface
	cfg config
}

func newHandler(b broker.Interface, opts []Option) (*handler, error) {
	h := &handler{b: b, cfg: config{maxBody: DefaultMaxBodyBytes}}
	for _, o := range opts {
		if o == nil {
			return h, errors.New("brokerhttp: an option is nil")
		}
		if err := o(&h.cfg); err != nil {
			return h, err
		}
	}
	if b == nil {
		return h, errors.New("brokerhttp: the broker is nil")
	}
	if h.cfg.user == nil {
		return h, errors.New("brokerhttp: WithUser is required: the app's own authentication decides the user")
	}
	return h, nil
}

// broken answers every request 500: the handler was built without what it needs.
type broken struct {
	err    error
	logger *slog.Logger
}

func (h *broken) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.logger != nil {
		h.logger.LogAttrs(r.Context(), slog.LevelError, "brokerhttp: misconfigured handler", slog.String("reason", h.err.Error()))
	}
	writeError(w, r, newError(http.StatusInternalServerError, CodeInternal, msgInternal, "", h.err))
}

// ServeHTTP routes, authenticates, decodes and calls the broker.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	vendor, op, e := route(r)
	if e == nil {
		e = h.serve(w, r, vendor, op)
	}
	if e == nil {
		return
	}
	if e.Vendor == "" {
		e.Vendor = vendor
	}
	if !writeError(w, r, e) {
		h.log(r, op, vendor, 0, e)
		return
	}
	h.log(r, op, vendor, e.Status, e)
	if h.cfg.onError != nil {
		h.cfg.onError(r, e)
	}
}

// route checks the path and the method: /{vendor}/{op} with a supported
// vendor, POST, and a JSON body.
func route(r *http.Request) (broker.Vendor, string, *Error) {
	p := r.URL.Path
	if r.URL.RawPath != "" && r.URL.RawPath != p { // no escapes in these paths
		return "", "", newError(http.StatusNotFound, CodeNotFound, msgNotFound, "", nil)
	}
	name, op, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !ok || !strings.HasPrefix(p, "/") || (op != opStart && op != opInvalidate) {
		return "", "", newError(http.StatusNotFound, CodeNotFound, msgNotFound, "", nil)
	}
	v := broker.Vendor(name)
	if !v.Valid() {
		return "", op, newError(http.StatusNotFound, CodeUnknownVendor, msgUnknownVendor, "", nil)
	}
	if r.Method != http.MethodPost {
		return v, op, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, msgMethod, v, nil)
	}
	if !isJSON(r) {
		return v, op, newError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, msgMediaType, v, nil)
	}
	return v, op, nil
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, v broker.Vendor, op string) *Error {
	user, e := h.user(r)
	if e != nil {
		return e
	}
	body, e := readBody(w, r, h.cfg.maxBody)
	if e != nil {
		return e
	}
	ctx := r.Context()
	if op == opInvalidate {
		if e := decode(body, &emptyBody{}); e != nil {
			return e
		}
		if err := h.b.Invalidate(ctx, v, user); err != nil {
			return classify(v, err)
		}
		h.log(r, op, v, written(writeHeaders(w, r, http.StatusNoContent, nil), http.StatusNoContent), nil)
		return nil
	}
	req := broker.Request{Vendor: v, UserID: user}
	if e := decodeStart(body, &req); e != nil {
		return e
	}
	if h.cfg.startHook != nil {
		if err := h.cfg.startHook(r, &req); err != nil {
			return appError(err, http.StatusBadRequest, CodeInvalidRequest, msgHookRefused)
		}
		req.Vendor, req.UserID = v, user
	}
	g, err := h.b.Start(ctx, req)
	if err != nil {
		return classify(v, err)
	}
	if g == nil {
		return newError(http.StatusInternalServerError, CodeInternal, msgInternal, v, errors.New("brokerhttp: Start returned no grant and no error"))
	}
	out, err := json.Marshal(g)
	if err != nil {
		return newError(http.StatusInternalServerError, CodeInternal, msgInternal, v, err)
	}
	h.log(r, op, v, written(writeHeaders(w, r, http.StatusOK, append(out, '\n')), http.StatusOK), nil, slog.Bool("reused", g.Reused))
	return nil
}

// written is status if the answer was written, else 0 (the client went away).
func written(ok bool, status int) int {
	if ok {
		return status
	}
	return 0
}

// user runs the WithUser function.
func (h *handler) user(r *http.Request) (string, *Error) {
	id, err := h.cfg.user(r)
	if err != nil {
		return "", appError(err, http.StatusUnauthorized, CodeUnauthenticated, msgUnauthenticated)
	}
	if id == "" {
		return "", newError(http.StatusUnauthorized, CodeUnauthenticated, msgUnauthenticated, "", nil)
	}
	return id, nil
}

// appError turns an error of the app's own function into the answer: its
// *Error as given (defaults filled in), else the default status, code and
// message.
func appError(err error, status int, code, msg string) *Error {
	var ae *Error
	if !errors.As(err, &ae) {
		return newError(status, code, msg, "", err)
	}
	e := &Error{Status: ae.Status, Code: ae.Code, Message: ae.Message, RetryAfter: ae.RetryAfter, Err: err}
	if e.Status < 400 || e.Status > 599 {
		e.Status = status
	}
	if e.Code == "" {
		e.Code = code
	}
	if e.Message == "" {
		e.Message = msg
	}
	return e
}

// writeError writes e as JSON, unless the client went away. It reports
// whether it wrote.
func writeError(w http.ResponseWriter, r *http.Request, e *Error) bool {
	var body errorBody
	body.Error.Code = e.Code
	body.Error.Message = e.Message
	body.Error.Vendor = string(e.Vendor)
	out, err := json.Marshal(body)
	if err != nil { // not reached: three strings
		out = []byte(`{"error":{"code":"internal","message":"","vendor":""}}`)
	}
	return writeHeaders(w, r, e.Status, append(out, '\n'), func(hd http.Header) {
		switch e.Status {
		case http.StatusMethodNotAllowed:
			hd.Set("Allow", http.MethodPost)
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			if e.RetryAfter > 0 {
				hd.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(e.RetryAfter), 10))
			}
		}
	})
}

// writeHeaders writes an answer with the headers every answer carries
// (Cache-Control: no-store, X-Content-Type-Options: nosniff and, with a
// body, Content-Type: application/json), unless the request's context has
// ended: a client that went away gets nothing, not even headers. It
// reports whether it wrote.
func writeHeaders(w http.ResponseWriter, r *http.Request, status int, body []byte, extra ...func(http.Header)) bool {
	if r.Context().Err() != nil {
		return false
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	if body != nil {
		hd.Set("Content-Type", "application/json; charset=utf-8")
		hd.Set("Content-Length", strconv.Itoa(len(body)))
	}
	for _, f := range extra {
		f(hd)
	}
	w.WriteHeader(status)
	if body != nil {
		_, _ = w.Write(body)
	}
	return true
}

// log writes one line per answer (status 0: nothing was written because
// the client went away). It never logs the user id, a message or a body.
func (h *handler) log(r *http.Request, op string, v broker.Vendor, status int, e *Error, extra ...slog.Attr) {
	l := h.cfg.logger
	if l == nil {
		return
	}
	level := slog.LevelDebug
	switch {
	case status == http.StatusInternalServerError:
		level = slog.LevelError
	case status >= 500:
		level = slog.LevelWarn
	}
	ctx := r.Context()
	if ctx.Err() != nil {
		// The client went away; log all the same.
		ctx = context.WithoutCancel(ctx)
	}
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("op", op), slog.String("vendor", string(v)), slog.Int("status", status))
	if status == 0 {
		attrs = append(attrs, slog.Bool("client_gone", true))
	}
	if e != nil {
		attrs = append(attrs, slog.String("code", e.Code))
		if e.Err != nil {
			attrs = append(attrs, httpx.ErrorLogAttr(e.Err))
		}
	}
	attrs = append(attrs, extra...)
	l.LogAttrs(ctx, level, "brokerhttp", attrs...)
}
