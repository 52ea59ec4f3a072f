package brokerhttp

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/sdkbroker/sdkbroker/broker"
)

// DefaultMaxBodyBytes is the largest request body the handler reads unless
// [WithMaxBodyBytes] says otherwise: 64 KiB.
const DefaultMaxBodyBytes int64 = 64 << 10

// Option configures [Handler] and [New].
type Option func(*config) error

type config struct {
	user      func(*http.Request) (string, error)
	maxBody   int64
	logger    *slog.Logger
	onError   func(*http.Request, *Error)
	startHook func(*http.Request, *broker.Request) error
}

// WithUser sets how the handler learns who is calling: fn reads your own
// authentication from the request (a session cookie, a bearer token checked
// by your middleware and put in the request's context, ...) and returns
// your user id, which becomes [broker.Request].UserID. It is required:
// without it every request is answered 500. The user is never read from the
// body; a body that names one ("user_id", "userId", "user", ...) is refused
// with 400.
//
// fn returning an empty id, or any error, answers 401 with the code
// [CodeUnauthenticated] and a fixed message; return an [*Error] to choose
// the status (such as 403), code and message instead. fn is called once
// per request that passed the route, method and content-type checks, and
// before the body is read.
func WithUser(fn func(r *http.Request) (userID string, err error)) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("brokerhttp: WithUser: the function is nil")
		}
		c.user = fn
		return nil
	}
}

// WithMaxBodyBytes sets the largest request body read, in bytes (default
// [DefaultMaxBodyBytes]); a larger body is answered 413. n must be positive.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return errors.New("brokerhttp: WithMaxBodyBytes: the limit must be positive")
		}
		c.maxBody = n
		return nil
	}
}

// WithLogger logs each answer: a 500 at Error, other 5xx at Warn,
// everything else (grants included) at Debug, and a request whose client
// went away at Debug with status 0. A line carries the operation ("start",
// "invalidate"), the vendor, the status and the error code, and for a
// vendor failure the kind of error, the vendor's HTTP status, error code
// and request id when they look like codes. It never carries a user id, a
// header, a body, a token or a vendor's message. nil (the default) logs
// nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithErrorHook calls fn for every error answer the handler writes, after
// writing it, with the request and the [*Error] sent (its Err field holds
// the cause: the broker's *broker.OpError, a decoding error, ...), for your
// metrics or logs. The cause comes from the vendor packages, whose errors
// are scrubbed of secrets but may carry vendor text and your user id: log
// it with care. fn is not called when the client went away (nothing is
// written then). It must be safe for concurrent use.
func WithErrorHook(fn func(r *http.Request, e *Error)) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("brokerhttp: WithErrorHook: the function is nil")
		}
		c.onError = fn
		return nil
	}
}

// WithStartHook calls fn for every start request after its body was
// decoded and before [broker.Interface.Start], with the request as the
// broker will get it. fn may check or change the vendor params (req.Entrupy,
// req.IDV, req.Uqudo): fill in Entrupy's e-mail and names from your user
// records instead of trusting the app, pin the IDV workflow, or refuse
// uqudo session data the app should not choose. Changes to req.Vendor and
// req.UserID are ignored (they come from the path and [WithUser]).
//
// An error answers 400 with the code [CodeInvalidRequest] and a fixed
// message; return an [*Error] to choose the status, code and message.
func WithStartHook(fn func(r *http.Request, req *broker.Request) error) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("brokerhttp: WithStartHook: the function is nil")
		}
		c.startHook = fn
		return nil
	}
}
