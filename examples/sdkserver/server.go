package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokerhttp"
)

// Server timeouts. The event stream clears its own write deadline.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 10 * time.Second
	// maxJSONBody bounds the bodies of this server's own JSON endpoints.
	maxJSONBody = 4 << 10
)

// server holds the parts the handlers share.
type server struct {
	cfg            *config
	logger         *slog.Logger
	vendors        *vendors
	broker         broker.Interface
	grants         *grantBook
	sessions       *sessions
	hub            *hub
	sentianceUsers *sentianceUsers
	// selfURL is this server's loopback base URL, where the demo's
	// simulated vendors deliver; selfClient sends those deliveries.
	selfURL    string
	selfClient *http.Client
}

// run runs the server until ctx ends (SIGINT, SIGTERM), then shuts it down
// gracefully. Logs go to logOut; ready, if not nil, is called with the base
// URL once the server accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, logOut io.Writer, ready func(baseURL string)) error {
	cfg, err := parseConfig(args, getenv, logOut)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := newLogger(cfg.logFormat, logOut)
	logMode(logger, cfg) // the first log line
	if disableQRDebug() {
		logger.Warn(qrDebugEnv + " was set: cleared, since go-qrcode would log the encoded text (IDV handoff URLs carry a device token)")
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	defer ln.Close()

	v, err := newVendors(cfg, logger)
	if err != nil {
		return err
	}
	defer v.Close()

	s := &server{
		cfg: cfg, logger: logger, vendors: v, broker: v.broker,
		sessions: newSessions(time.Now), hub: newHub(time.Now), sentianceUsers: newSentianceUsers(),
		selfURL:    "http://" + loopback(ln.Addr()),
		selfClient: &http.Client{Timeout: simulateTimeout, Transport: &http.Transport{}},
	}
	defer s.selfClient.CloseIdleConnections()
	s.grants = newGrantBook(v.broker, time.Now)
	handler, err := s.routes()
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.hub.close) // ends the event streams
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	logger.Info("listening", "url", base)
	if ready != nil {
		ready(base)
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// logMode writes the first log line: demo, mixed or real mode, and which
// vendors run on fakes.
func logMode(l *slog.Logger, cfg *config) {
	var fakes, real []string
	for _, v := range broker.Vendors() {
		if cfg.fake(v) {
			fakes = append(fakes, string(v))
		} else {
			real = append(real, string(v))
		}
	}
	switch {
	case cfg.demo():
		l.Info("demo mode: no vendor credentials in the environment, so all four vendors run on in-process fakes; the login is a demo login (anyone may log in as anyone): not for production",
			"mode", "demo", "fake_vendors", strings.Join(fakes, ","))
	case len(fakes) > 0:
		l.Info("mixed mode: some vendors use their real API, the others run on in-process fakes; the login is a demo login (anyone may log in as anyone): not for production",
			"mode", "mixed", "real_vendors", strings.Join(real, ","), "fake_vendors", strings.Join(fakes, ","))
	default:
		l.Info("real mode: every vendor uses its real API; the login is a demo login (anyone may log in as anyone): replace it with your authentication",
			"mode", "real", "real_vendors", strings.Join(real, ","))
	}
}

// loopback returns addr as host:port reachable from this machine: an
// unspecified address (0.0.0.0, ::) becomes loopback.
func loopback(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// routes builds the server's handler.
func (s *server) routes() (http.Handler, error) {
	api, err := brokerhttp.New(s.grants,
		brokerhttp.WithUser(func(r *http.Request) (string, error) {
			return s.sessions.user(r), nil // "" answers 401
		}),
		brokerhttp.WithStartHook(startHook),
		brokerhttp.WithLogger(s.logger.With("component", "brokerhttp")),
	)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", http.StripPrefix("/v1", api))
	mux.HandleFunc("GET /v1/qr.png", s.qr)
	mux.HandleFunc("POST /v1/idv/result", s.idvResult)
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("POST /v1/demo/simulate", s.simulate)
	mux.HandleFunc("POST /auth/login", s.login(false))
	mux.HandleFunc("POST /auth/token", s.login(true))
	mux.HandleFunc("POST /auth/logout", s.logout)
	mux.HandleFunc("GET /auth/me", s.me)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if err := s.mountWebhooks(mux); err != nil {
		return nil, err
	}
	if err := mountPage(mux); err != nil {
		return nil, err
	}
	return s.accessLog(securityHeaders(mux)), nil
}

// securityHeaders sets the headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status written, for the access log. It keeps
// http.ResponseController working through Unwrap.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog logs one line per request: method, path (never the query, a
// header or a body), status and duration, at debug for 2xx and 3xx.
func (s *server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.status >= 400 {
			level = slog.LevelInfo
		}
		path := r.URL.Path
		if len(path) > 100 {
			path = path[:100] + "..."
		}
		s.logger.Log(r.Context(), level, "request", "method", r.Method, "path", path, "status", sw.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

// isJSONRequest reports whether r says its body is JSON. Requiring it on
// every cookie-authenticated POST keeps HTML forms and "simple" cross-site
// requests of other sites out.
func isJSONRequest(r *http.Request) bool {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// readJSON decodes r's JSON body (at most maxJSONBody, one object, no
// unknown fields) into v, or answers the error and returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if !isJSONRequest(r) {
		writeJSONError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "body_too_large", "the body is too large")
			return false
		}
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "the body must be one JSON object with the documented fields")
		return false
	}
	if dec.More() {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "the body has data after the JSON object")
		return false
	}
	return true
}

// writeJSON answers v as JSON, never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeJSONError answers an error in brokerhttp's shape,
// {"error":{"code","message"}}.
func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
