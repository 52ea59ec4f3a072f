package fakekit

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"

	"github.com/jarcoal/httpmock"
)

// ErrReset is what a reset looks like to the client of a [Responder]: the
// error of a read from a TCP connection the server reset. Test with
// errors.Is(err, syscall.ECONNRESET).
var ErrReset error = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}

// recorder is the ResponseWriter of a Responder: an httptest recorder that
// also remembers an abort.
type recorder struct {
	*httptest.ResponseRecorder
	aborted bool
	err     error
}

func (r *recorder) abort(ctxErr error) {
	r.aborted = true
	r.err = ctxErr
	if r.err == nil {
		r.err = ErrReset
	}
}

// Responder returns an httpmock.Responder that serves each request with h,
// without a socket. A request h resets ([Reset], or a panic with
// http.ErrAbortHandler) ends in [ErrReset]; one whose context ends while h
// waits on an injected delay ends in the context's error. Any other panic in
// h is not recovered.
func Responder(h http.Handler) httpmock.Responder {
	return func(req *http.Request) (resp *http.Response, err error) {
		in := req.Clone(req.Context())
		if in.Body == nil {
			in.Body = http.NoBody
		}
		if in.Host == "" {
			in.Host = req.URL.Host
		}
		in.RequestURI = req.URL.RequestURI()
		rec := &recorder{ResponseRecorder: httptest.NewRecorder()}
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler { //nolint:errorlint // net/http compares it the same way
					panic(p)
				}
				resp, err = nil, ErrReset
			}
		}()
		h.ServeHTTP(rec, in)
		if rec.aborted {
			return nil, rec.err
		}
		resp = rec.Result()
		resp.Request = req
		return resp, nil
	}
}

// IsReset reports whether err is a connection reset, over a socket or from
// a [Responder].
func IsReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
