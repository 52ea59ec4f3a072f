package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// attempt tracks one Do call across its attempts, and holds what the call
// needs besides the request itself, so that one allocation serves the whole
// call: it is the request's context (the caller's, which it embeds, plus
// itself under attemptKey, so the retryablehttp hooks, whose signatures we do
// not choose, can reach it), the connection trace whose two hooks are its
// methods, the retryablehttp.Request wrapping the *http.Request, the body's
// first reader, and the 2xx body that bodyTransport read inside the attempt.
type attempt struct {
	context.Context

	idempotent bool
	client     *Client
	secrets    []string     // the call's own secrets (Request.Secrets), scrubbed from its log lines too
	number     atomic.Int32 // attempts sent so far
	getConn    atomic.Bool  // the transport asked for a connection this attempt
	gotConn    atomic.Bool  // ... and obtained one: the request may have reached the server
	deadline   time.Time    // the current attempt's end (see timeoutTransport)

	trace     httptrace.ClientTrace
	rreq      retryablehttp.Request
	reqBody   []byte       // the encoded request body, nil without one
	firstBody bytes.Reader // the first attempt's body reader; retries get their own

	// bodyTransport's result: the 2xx response it read in full, and its body.
	// Written and read on the goroutine that runs Do (http.Client.Do runs the
	// round trip on it), one attempt after the other.
	resp    *http.Response
	respRaw []byte
}

type attemptKey struct{}

// Value answers attemptKey with the attempt itself, and every other key from
// the caller's context.
func (a *attempt) Value(key any) any {
	if _, ok := key.(attemptKey); ok {
		return a
	}
	return a.Context.Value(key)
}

// String names the context, as the standard library's contexts do.
func (a *attempt) String() string { return "httpx.attempt" }

func (a *attempt) onGetConn(string)                { a.getConn.Store(true) }
func (a *attempt) onGotConn(httptrace.GotConnInfo) { a.gotConn.Store(true) }

// withTrace returns the context the request is sent with: the attempt, with
// its connection trace (composed with any trace the caller's context holds).
func (a *attempt) withTrace() context.Context {
	a.trace.GetConn = a.onGetConn
	a.trace.GotConn = a.onGotConn
	return httptrace.WithClientTrace(a, &a.trace)
}

// newBody returns a fresh reader of the request body, for a retry or for
// http.Client's GetBody (a 307/308 redirect, or a transport retrying on a
// connection it found dead). The reader is wrapped by io.NopCloser, a form
// net/http recognises as in memory, so it writes headers and body together.
func (a *attempt) newBody() io.ReadCloser { return io.NopCloser(bytes.NewReader(a.reqBody)) }

func (a *attempt) getBody() (io.ReadCloser, error) { return a.newBody(), nil }

// takeBody returns the body bodyTransport read for resp, if it read it.
func (a *attempt) takeBody(resp *http.Response) ([]byte, bool) {
	if a.resp != resp || resp == nil {
		return nil, false
	}
	raw := a.respRaw
	a.resp, a.respRaw = nil, nil
	return raw, true
}

func attemptFrom(ctx context.Context) *attempt {
	if a, ok := ctx.(*attempt); ok {
		return a
	}
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	return a
}

// reachedServer reports whether a failed attempt may have reached the server.
// With a real transport, only a connection that was obtained can carry the
// request; transports that report no connection events (mocks) are judged by
// the error: dial, DNS and TLS handshake failures provably did not.
func (a *attempt) reachedServer(err error) bool {
	if isConnectError(err) {
		return false
	}
	if a.getConn.Load() {
		return a.gotConn.Load()
	}
	return true
}

func isConnectError(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var recErr tls.RecordHeaderError
	if errors.As(err, &recErr) {
		return true
	}
	var certErr *tls.CertificateVerificationError
	return errors.As(err, &certErr)
}

// checkRetry is the retry policy (see the package doc).
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	a := attemptFrom(ctx)
	idempotent := a == nil || a.idempotent
	if err != nil {
		switch {
		case errors.Is(err, ErrRedirectRefused):
			return false, err
		case errors.Is(err, context.Canceled):
			return false, err
		case isCertVerifyError(err):
			return false, err // a bad certificate will not improve by retrying
		case !idempotent && a.reachedServer(err):
			return false, err
		}
		return true, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return true, nil
	}
	return idempotent && retryableStatus(resp.StatusCode), nil
}

func isCertVerifyError(err error) bool {
	var certErr *tls.CertificateVerificationError
	return errors.As(err, &certErr)
}

// backoff waits exponentially with equal jitter between min and max; a
// Retry-After on a 429 or 503 is honoured, capped at max.
func backoff(min, max time.Duration, attemptNum int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if d > max {
				d = max
			}
			if d < 0 {
				d = 0
			}
			return d
		}
	}
	if min <= 0 {
		return 0
	}
	step := min
	for i := 0; i < attemptNum && step < max; i++ {
		step *= 2
	}
	if step > max {
		step = max
	}
	half := step / 2
	return half + rand.N(step-half+1)
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(365*24*time.Hour/time.Second) {
			secs = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// rewindBody is the PrepareRetry hook: before a retry it gives the request
// (a shallow copy of the last attempt's) a fresh reader of the body.
func rewindBody(req *http.Request) error {
	if a := attemptFrom(req.Context()); a != nil && a.reqBody != nil {
		req.Body = a.newBody()
	}
	return nil
}

// keepLastResponse is the give-up handler: like retryablehttp's
// PassthroughErrorHandler it hands back the last response (whose body Do
// reads into the APIError and closes) and the last error.
func keepLastResponse(resp *http.Response, err error, _ int) (*http.Response, error) {
	return resp, err
}

// requestHook runs before every attempt: it resets the per-attempt
// connection state and starts the attempt's timeout.
func requestHook(_ retryablehttp.Logger, req *http.Request, i int) {
	a := attemptFrom(req.Context())
	if a == nil {
		return
	}
	a.number.Store(int32(i + 1))
	a.getConn.Store(false)
	a.gotConn.Store(false)
	a.deadline = time.Now().Add(a.client.timeout)
}

// loggingTransport logs one line per attempt (method, host, path, status or
// failure, attempt, duration, vendor request id) around the caller's
// transport, which it keeps.
type loggingTransport struct {
	next   http.RoundTripper
	logger *slog.Logger
	client *Client
}

func (t *loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	ctx := req.Context()
	attrs := []slog.Attr{
		attrVendor(t.client.vendor), attrMethod(req.Method), attrHost(req.URL.Host), attrPath(req.URL.EscapedPath()),
		slog.Duration("duration", time.Since(start)),
	}
	if a := attemptFrom(ctx); a != nil {
		attrs = append(attrs, attrAttempt(int(a.number.Load())))
	}
	if err != nil {
		attrs = append(attrs, slog.String("failure", failureClass(err)))
		t.logger.LogAttrs(ctx, slog.LevelWarn, "sdkbroker attempt failed", attrs...)
		return resp, err
	}
	attrs = append(attrs, attrStatus(resp.StatusCode))
	if id := requestIDFromHeader(resp.Header); id != "" {
		var secrets []string
		if a := attemptFrom(ctx); a != nil {
			secrets = a.secrets
		}
		attrs = append(attrs, attrRequestID(t.client.redactor.excerpt(id, 128, false, secrets)))
	}
	t.logger.LogAttrs(ctx, levelDebug, "sdkbroker attempt", attrs...)
	return resp, nil
}

// failureClass names a transport failure without its message, which may
// carry a URL.
func failureClass(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case isConnectError(err):
		return "connect"
	}
	var be *bodyReadError
	if errors.As(err, &be) {
		return "read_body"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "transport"
}
