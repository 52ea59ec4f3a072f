package sdkbroker_test

// The call sweep of the secret-leak suite (issue 16, item 1): every public
// method of the four clients, through success and every failure class,
// against servers that echo what they were sent (the credential, the
// request body, the URL) back in error bodies, in a message field and in a
// request-id header, with each secret placed at every offset around the
// error-body cut (httpx.MaxErrorBody) and the message cut. No sentinel, and
// no 4-byte-or-longer prefix of one at a cut, may appear in any Error(),
// any fmt verb or slog record of the error, any APIError.Body or Message,
// or any line the clients log at debug level (JSON and Text handlers).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// maxErrorBody and maxMessage are the cuts of APIError.Body and
// APIError.Message (httpx.MaxErrorBody, and the message cap of 256 bytes).
const (
	maxErrorBody = 4 << 10
	maxMessage   = 256
)

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fanout sends every record to each of its handlers.
type fanout []slog.Handler

func (f fanout) Enabled(context.Context, slog.Level) bool { return true }

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if err := h.Handle(ctx, r.Clone()); err != nil {
			return err
		}
	}
	return nil
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// captureLogs returns a debug-level logger writing through both the JSON
// and the Text handler into buf.
func captureLogs(buf *lockedBuffer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	return slog.New(fanout{slog.NewJSONHandler(buf, opts), slog.NewTextHandler(buf, opts)})
}

// checkErr fails t if err shows a secret of set: its Error(), its fmt
// verbs, a slog record of it (JSON and Text), its JSON, and the Body and
// Message of an APIError in its chain (where a cut secret is looked for at
// the end).
func checkErr(t *testing.T, set *secretSet, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var outs []string
	outs = append(outs, err.Error())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, err))
	}
	var lb lockedBuffer
	captureLogs(&lb).Debug("failed", "err", err, "nested", struct{ Err error }{err})
	outs = append(outs, lb.String())
	if b, jerr := json.Marshal(err); jerr == nil {
		outs = append(outs, string(b))
	}
	var apiErr *entrupy.APIError
	if errors.As(err, &apiErr) {
		outs = append(outs, string(apiErr.Body), apiErr.Message, apiErr.RequestID, apiErr.Code)
	}
	for _, out := range outs {
		if s := set.find(out); s != "" {
			t.Errorf("%s: error shows %q: %.300s", what, s, out)
			return
		}
	}
}

// echoStyle is how an echo server answers a request it fails.
type echoStyle int

const (
	echoText   echoStyle = iota // 400, text/plain: padding then the echo, past the body cut
	echoJSON                    // 400, JSON {"message": padding then the echo}, past the message cut
	echoHTML                    // 200, an HTML page holding the echo (a decode error)
	echoHeader                  // 429 with the echo in X-Request-Id and Retry-After 0
	echoReset                   // the connection is reset before an answer
)

func (s echoStyle) String() string {
	return [...]string{"text", "json", "html", "header", "reset"}[s]
}

// echoServer answers every request by echoing what it was sent, except
// the token-issuing routes a call needs first (uqudo's access token, IDV's
// ephemeral device), which it answers with secretToken unless failTokens
// is set.
type echoServer struct {
	*httptest.Server
	style      atomic.Int32
	at         atomic.Int32 // where the placed secret starts in the body (or message)
	place      atomic.Value // string: the secret to place at at
	failTokens atomic.Bool
	requests   atomic.Int32
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	e := &echoServer{}
	e.place.Store("")
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

func (e *echoServer) serve(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	route := r.Method + " " + r.URL.Path
	if !e.failTokens.Load() {
		switch {
		case strings.HasSuffix(route, "POST /api/oauth/token"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token": %q, "token_type": "bearer", "expires_in": 1800}`, secretToken)
			return
		case route == "POST /api/device/ephemeral":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"authorization": %q}`, secretToken)
			return
		}
	}
	echo := "auth=" + r.Header.Get("Authorization") + " url=" + r.URL.String() + " body=" + string(body) + " end"
	place, _ := e.place.Load().(string)
	pad := int(e.at.Load())
	if i := strings.Index(echo, place); place != "" && i >= 0 {
		pad -= i
	}
	if pad < 0 {
		pad = 0
	}
	text := strings.Repeat("x", pad) + echo
	switch echoStyle(e.style.Load()) {
	case echoText:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, text+strings.Repeat("y", 64))
	case echoJSON:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": text, "error": "echo", "code": "echo"})
	case echoHTML:
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>"+text+"</body></html>")
	case echoHeader:
		w.Header().Set("X-Request-Id", echo)
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
	case echoReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
	}
}

// vendorCall is one public method of a client: open builds a client for
// base logging to log, and returns the call and a func closing the client.
type vendorCall struct {
	name string
	// secrets the request carries, to place at the cuts.
	carries []string
	// full: every offset around the cuts (one call per vendor and secret);
	// the others get the offsets where a cut keeps all, most, 4 bytes or
	// none of the secret.
	full bool
	// tokenRoute: the call is itself a token-issuing route of the echo
	// server; emptyOK: a 2xx without a body is its success; fresh: each
	// call needs a new client (uqudo's client remembers a failed token
	// fetch for a while, so a second call would not reach the server).
	tokenRoute, emptyOK, fresh bool
	open                       func(base string, log *slog.Logger) (call func(context.Context) error, closeFn func(), err error)
}

func tokenRoute(vc vendorCall) vendorCall { vc.tokenRoute = true; return vc }

func full(vc vendorCall) vendorCall { vc.full = true; return vc }

func emptyOK(vc vendorCall) vendorCall { vc.emptyOK = true; return vc }

func sweepCalls() []vendorCall {
	entrupyClient := func(base string, log *slog.Logger) (*entrupy.Client, error) {
		return entrupy.NewClient(entrupy.Credentials{APIToken: secretAPIKey}, entrupy.WithBaseURL(base),
			entrupy.WithLogger(log), entrupy.WithRetry(1, 0, time.Millisecond), entrupy.WithTimeout(5*time.Second))
	}
	sentianceClient := func(base string, log *slog.Logger) (*sentiance.Client, error) {
		return sentiance.NewClient(sentiance.Credentials{APIKey: secretAPIKey}, sentiance.WithBaseURL(base),
			sentiance.WithLogger(log), sentiance.WithRetry(1, 0, time.Millisecond), sentiance.WithTimeout(5*time.Second))
	}
	idvClient := func(base string, log *slog.Logger) (*idv.Client, error) {
		return idv.NewClient(base, idv.Credentials{APIKey: secretAPIKey}, idv.WithInsecureHTTP(),
			idv.WithLogger(log), idv.WithRetry(1, 0, time.Millisecond), idv.WithTimeout(5*time.Second))
	}
	uqudoClient := func(base string, log *slog.Logger) (*uqudo.Client, error) {
		return uqudo.NewClient(uqudo.Credentials{ClientID: "client", ClientSecret: secretAPIKey}, uqudo.WithBaseURL(base),
			uqudo.WithLogger(log), uqudo.WithRetry(1, 0, time.Millisecond), uqudo.WithTimeout(5*time.Second))
	}
	ent := func(name string, carries []string, f func(context.Context, *entrupy.Client) error) vendorCall {
		return vendorCall{name: "entrupy." + name, carries: carries, open: func(base string, log *slog.Logger) (func(context.Context) error, func(), error) {
			c, err := entrupyClient(base, log)
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) error { return f(ctx, c) }, c.Close, nil
		}}
	}
	sen := func(name string, f func(context.Context, *sentiance.Client) error) vendorCall {
		return vendorCall{name: "sentiance." + name, carries: []string{secretAPIKey}, open: func(base string, log *slog.Logger) (func(context.Context) error, func(), error) {
			c, err := sentianceClient(base, log)
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) error { return f(ctx, c) }, c.Close, nil
		}}
	}
	iv := func(name string, carries []string, f func(context.Context, *idv.Client) error) vendorCall {
		return vendorCall{name: "idv." + name, carries: carries, open: func(base string, log *slog.Logger) (func(context.Context) error, func(), error) {
			c, err := idvClient(base, log)
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) error { return f(ctx, c) }, c.Close, nil
		}}
	}
	uq := func(name string, carries []string, f func(context.Context, *uqudo.Client) error) vendorCall {
		return vendorCall{name: "uqudo." + name, carries: carries, fresh: true, open: func(base string, log *slog.Logger) (func(context.Context) error, func(), error) {
			c, err := uqudoClient(base, log)
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) error { return f(ctx, c) }, c.Close, nil
		}}
	}
	key := []string{secretAPIKey}
	device := func(c *idv.Client, ctx context.Context) (*idv.EphemeralDevice, error) {
		return c.CreateEphemeralDevice(ctx, time.Hour)
	}
	return []vendorCall{
		full(ent("AuthorizeUser", []string{secretAPIKey, secretRequest}, func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: secretRequest, UniqueUserID: "user-0001", Email: "a@example.com"})
			return err
		})),
		ent("GetAuthentication", key, func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.GetAuthentication(ctx, "E-1")
			return err
		}),
		ent("LookupAuthentication", key, func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.LookupAuthentication(ctx, "item-1")
			return err
		}),
		ent("ListSupportMessages", key, func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.ListSupportMessages(ctx, "E-1", nil)
			return err
		}),
		ent("PostSupportMessage", key, func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.PostSupportMessage(ctx, "E-1", entrupy.SupportReplyParams{Text: "hello"})
			return err
		}),
		ent("Escalate", key, func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.Escalate(ctx, entrupy.EscalationParams{EntrupyID: "E-1", CustomerItemID: "item-1", Reason: "why"})
			return err
		}),
		full(sen("CreateAuthCode", func(ctx context.Context, c *sentiance.Client) error {
			_, err := c.CreateAuthCode(ctx, "user-0001")
			return err
		})),
		sen("LinkInstall", func(ctx context.Context, c *sentiance.Client) error {
			_, err := c.LinkInstall(ctx, "install-1", "user-0001")
			return err
		}),
		emptyOK(sen("DeleteUser", func(ctx context.Context, c *sentiance.Client) error {
			return c.DeleteUser(ctx, "sentiance-user-1")
		})),
		full(tokenRoute(iv("CreateEphemeralDevice", key, func(ctx context.Context, c *idv.Client) error {
			_, err := c.CreateEphemeralDevice(ctx, time.Hour)
			return err
		}))),
		full(iv("StartSession", []string{secretToken}, func(ctx context.Context, c *idv.Client) error {
			d, err := device(c, ctx)
			if err != nil {
				return err
			}
			_, err = c.StartSession(ctx, d, "wf-1", idv.WithExternalUserID(nil, "user-0001"))
			return err
		})),
		iv("Initiate", []string{secretAPIKey, secretToken}, func(ctx context.Context, c *idv.Client) error {
			_, err := c.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf-1", ExternalUserID: "user-0001"})
			return err
		}),
		iv("CreateDeepLink", key, func(ctx context.Context, c *idv.Client) error {
			_, err := c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf-1"}})
			return err
		}),
		iv("GetSession", key, func(ctx context.Context, c *idv.Client) error {
			_, err := c.GetSession(ctx, "session-1")
			return err
		}),
		full(tokenRoute(uq("AccessToken", key, func(ctx context.Context, c *uqudo.Client) error {
			_, err := c.AccessToken(ctx)
			return err
		}))),
		full(uq("CreateSession", []string{secretToken}, func(ctx context.Context, c *uqudo.Client) error {
			_, err := c.CreateSession(ctx, uqudo.NewSessionData(uqudo.DocumentTypePassport))
			return err
		})),
		emptyOK(uq("DeleteSession", []string{secretToken}, func(ctx context.Context, c *uqudo.Client) error {
			return c.DeleteSession(ctx, "qr-1")
		})),
		uq("Info", []string{secretToken}, func(ctx context.Context, c *uqudo.Client) error {
			_, err := c.Info(ctx, "session-1")
			return err
		}),
		emptyOK(uq("DeleteInfo", []string{secretToken}, func(ctx context.Context, c *uqudo.Client) error {
			return c.DeleteInfo(ctx, "session-1")
		})),
	}
}

// offsets returns where to start a secret of n bytes in a text cut at
// cut: every offset from where it fits whole to just past the cut, or
// (not full) the offsets where the cut keeps all of it, all but 4 bytes, 4
// bytes, 1 byte or none.
func offsets(cut, n int, full bool) []int {
	if !full {
		return []int{cut - n - 1, cut - n + 4, cut - 4, cut - 1, cut}
	}
	var out []int
	for at := cut - n - 2; at <= cut+2; at++ {
		out = append(out, at)
	}
	return out
}

// TestLeak_EchoedAtEveryOffset sends every call to a server that echoes it
// back, in each failure style; in the text and JSON styles each secret the
// call carries is placed around the cut (see offsets).
func TestLeak_EchoedAtEveryOffset(t *testing.T) {
	t.Parallel()
	set := newSecretSet()
	for _, vc := range sweepCalls() {
		t.Run(vc.name, func(t *testing.T) {
			t.Parallel()
			srv := newEchoServer(t)
			var logs lockedBuffer
			log := captureLogs(&logs)
			call, closeFn, err := vc.open(srv.URL+"/", log)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { closeFn() }()
			ctx := context.Background()
			srv.failTokens.Store(vc.tokenRoute)
			run := func(style echoStyle, place string, at int) {
				if vc.fresh {
					closeFn()
					if call, closeFn, err = vc.open(srv.URL+"/", log); err != nil {
						t.Fatal(err)
					}
				}
				srv.style.Store(int32(style))
				srv.place.Store(place)
				srv.at.Store(int32(at))
				before := srv.requests.Load()
				err := call(ctx)
				if srv.requests.Load() == before {
					t.Fatalf("%s: the call sent nothing", style)
				}
				if err == nil && !(style == echoHTML && vc.emptyOK) {
					t.Fatalf("%s: no error from an echoing server", style)
				}
				checkErr(t, set, fmt.Sprintf("%s style %s, %.12s at %d", vc.name, style, place, at), err)
			}
			for _, style := range []echoStyle{echoHTML, echoHeader, echoReset} {
				run(style, "", 0)
			}
			for _, sec := range vc.carries {
				for _, at := range offsets(maxErrorBody, len(sec), vc.full) {
					run(echoText, sec, at)
				}
				for _, at := range offsets(maxMessage, len(sec), vc.full) {
					run(echoJSON, sec, at)
				}
				run(echoText, sec, 10)
			}
			// The token-issuing routes fail too: a call that needs a token
			// fails there, echoing the credential that asked for it.
			srv.failTokens.Store(true)
			for _, at := range offsets(maxErrorBody, len(secretAPIKey), false) {
				run(echoText, secretAPIKey, at)
			}
			if s := set.find(logs.String()); s != "" {
				t.Errorf("the client's debug log shows %q", s)
			}
		})
	}
}
