package brokerhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokerhttp"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// userHeader carries the test's user: a stand-in for the app's own
// authentication (a session cookie, a checked bearer token).
const userHeader = "X-Test-User"

// testUser fits every vendor's user-id rule (Entrupy: 8 to 40 of A-Za-z0-9@.+_-).
const testUser = "customer-0001"

// sdkRequest is the Entrupy SDK's authorization request in the tests; it is
// a secret of the user's session and must never appear in an error answer.
const sdkRequest = "entrupy-sdk-authorization-request-7f3a9b"

func userFromHeader(r *http.Request) (string, error) {
	return r.Header.Get(userHeader), nil
}

// env is a broker over the four vendor fakes (real loopback servers) and a
// Handler over it.
type env struct {
	t   testing.TB
	ent *entrupytest.Server
	sen *sentiancetest.Server
	idv *idvtest.Server
	uq  *uqudotest.Server
	b   *broker.Broker
	h   http.Handler
	log *syncBuffer
}

type envOpts struct {
	vendors []broker.Vendor // nil: all four
	handler []brokerhttp.Option
	broker  []broker.Option
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{t: t, log: &syncBuffer{}}
	want := map[broker.Vendor]bool{}
	for _, v := range o.vendors {
		want[v] = true
	}
	all := len(o.vendors) == 0
	var opts []broker.Option
	if all || want[broker.Entrupy] {
		e.ent = entrupytest.NewServer(t)
		c, err := e.ent.NewClient()
		require.NoError(t, err)
		t.Cleanup(c.Close)
		opts = append(opts, broker.WithEntrupy(c))
	}
	if all || want[broker.Sentiance] {
		e.sen = sentiancetest.NewServer(t)
		c, err := e.sen.NewClient()
		require.NoError(t, err)
		t.Cleanup(c.Close)
		opts = append(opts, broker.WithSentiance(c))
	}
	if all || want[broker.IDV] {
		e.idv = idvtest.NewServer(t)
		c, err := e.idv.NewClient()
		require.NoError(t, err)
		t.Cleanup(c.Close)
		opts = append(opts, broker.WithIDV(c, broker.IDVParams{WorkflowID: "kyc-basic"}))
	}
	if all || want[broker.Uqudo] {
		e.uq = uqudotest.NewServer(t)
		c, err := e.uq.NewClient()
		require.NoError(t, err)
		t.Cleanup(c.Close)
		opts = append(opts, broker.WithUqudo(c, broker.UqudoParams{Data: uqudo.NewSessionData(uqudo.DocumentTypePassport)}))
	}
	b, err := broker.New(append(opts, o.broker...)...)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	e.b = b
	logger := slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hopts := append([]brokerhttp.Option{brokerhttp.WithUser(userFromHeader), brokerhttp.WithLogger(logger)}, o.handler...)
	e.h, err = brokerhttp.New(b, hopts...)
	require.NoError(t, err)
	return e
}

// secrets are the strings no error answer and no log line may hold: the
// fakes' credentials and the Entrupy SDK request.
func (e *env) secrets() []string {
	s := []string{sdkRequest}
	if e.ent != nil {
		s = append(s, e.ent.Credentials().APIToken)
	}
	if e.sen != nil {
		s = append(s, e.sen.Credentials().APIKey)
	}
	if e.idv != nil {
		s = append(s, e.idv.Credentials().APIKey)
	}
	if e.uq != nil {
		c := e.uq.Credentials()
		s = append(s, c.ClientSecret)
	}
	return s
}

// bodyFor is a valid start body for v.
func bodyFor(v broker.Vendor) string {
	switch v {
	case broker.Entrupy:
		return `{"sdk_authorization_request":"` + sdkRequest + `","email":"ann@example.com","first_name":"Ann"}`
	case broker.IDV:
		return `{"metadata":{"plan":"gold"}}`
	case broker.Uqudo:
		return `{"data":{"documents":[{"documentType":"PASSPORT"}]}}`
	}
	return `{}`
}

// post sends a JSON POST as user ("" for none) through h and returns the recorder.
func post(t testing.TB, h http.Handler, path, user, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if user != "" {
		r.Header.Set(userHeader, user)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func grantOf(t testing.TB, w *httptest.ResponseRecorder) broker.Grant {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	require.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	var g broker.Grant
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&g))
	return g
}

type errorAnswer struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Vendor  string `json:"vendor"`
	} `json:"error"`
}

// errorOf checks an error answer's status, headers and JSON shape and returns it.
func errorOf(t testing.TB, w *httptest.ResponseRecorder, status int, code string) errorAnswer {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	require.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	var a errorAnswer
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&a), w.Body.String())
	require.Equal(t, code, a.Error.Code, w.Body.String())
	require.NotEmpty(t, a.Error.Message)
	return a
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stubBroker is a broker.Interface answering from functions, for tests that
// need no vendor.
type stubBroker struct {
	start      func(ctx context.Context, req broker.Request) (*broker.Grant, error)
	invalidate func(ctx context.Context, v broker.Vendor, user string) error
}

func (s *stubBroker) Start(ctx context.Context, req broker.Request) (*broker.Grant, error) {
	if s.start == nil {
		return &broker.Grant{Vendor: req.Vendor, UserID: req.UserID, Token: "stub-token"}, nil
	}
	return s.start(ctx, req)
}

func (s *stubBroker) Invalidate(ctx context.Context, v broker.Vendor, user string) error {
	if s.invalidate == nil {
		return nil
	}
	return s.invalidate(ctx, v, user)
}

func (s *stubBroker) Owner(context.Context, broker.Vendor, string) (string, error) {
	return "", errors.New("stub: no ledger")
}

// drain reads and closes a response body.
func drain(r io.ReadCloser) { _, _ = io.Copy(io.Discard, r); _ = r.Close() }

// failure is an injected failure of a vendor's grant-minting call.
type failure struct {
	status     int
	retryAfter time.Duration
	reset      bool
}

// failNext makes the next n grant-minting calls to v fail with f.
func (e *env) failNext(v broker.Vendor, n int, f failure) {
	switch v {
	case broker.Entrupy:
		e.ent.FailNext(n, entrupytest.Failure{Route: entrupytest.RouteAuthorizeUser, Status: f.status, RetryAfter: f.retryAfter, Reset: f.reset})
	case broker.Sentiance:
		e.sen.FailNext(n, sentiancetest.Failure{Route: sentiancetest.RouteCreateAuthCode, Status: f.status, RetryAfter: f.retryAfter, Reset: f.reset})
	case broker.IDV:
		e.idv.FailNext(n, idvtest.Failure{Route: idvtest.RouteCreateDevice, Status: f.status, RetryAfter: f.retryAfter, Reset: f.reset})
	case broker.Uqudo:
		e.uq.FailNext(n, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Status: f.status, RetryAfter: f.retryAfter, Reset: f.reset})
	default:
		e.t.Fatalf("no fake for %q", v)
	}
}

// calls is the number of grant-minting calls v's fake saw.
func (e *env) calls(v broker.Vendor) int {
	switch v {
	case broker.Entrupy:
		return e.ent.Calls(entrupytest.RouteAuthorizeUser)
	case broker.Sentiance:
		return e.sen.Calls(sentiancetest.RouteCreateAuthCode)
	case broker.IDV:
		return e.idv.Calls(idvtest.RouteCreateDevice)
	case broker.Uqudo:
		return e.uq.Calls(uqudotest.RouteCreateSession)
	}
	e.t.Fatalf("no fake for %q", v)
	return 0
}
