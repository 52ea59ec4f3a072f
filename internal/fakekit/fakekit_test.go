package fakekit_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sdkbroker/sdkbroker/internal/fakekit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	routeA = "POST /a"
	routeB = "GET /b"
	routeP = "GET /page"
)

// newFake returns a handler with three routes behind q: /a and /b take
// failures for any route, /page only those naming it.
func newFake() (*fakekit.Faults, http.Handler) {
	q := fakekit.NewFaults("DEFAULT_CODE", func(w http.ResponseWriter, status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "ok "+r.Host+" "+r.RequestURI+" "+string(b))
	})
	mux := http.NewServeMux()
	mux.Handle(routeA, q.Wrap(routeA, true, ok))
	mux.Handle(routeB, q.Wrap(routeB, true, ok))
	mux.Handle(routeP, q.Wrap(routeP, false, ok))
	return q, mux
}

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestFaults_QueueAndRoutes(t *testing.T) {
	q, h := newFake()
	q.FailNext(1, fakekit.Failure{Route: routeB, Status: http.StatusBadGateway})
	q.FailNext(2, fakekit.Failure{Status: http.StatusServiceUnavailable})
	assert.Equal(t, 3, q.Pending())

	// /page takes only failures naming it.
	assert.Equal(t, http.StatusOK, serve(h, http.MethodGet, "/page").Code)
	// /a skips the failure for /b and takes the first one for any route.
	assert.Equal(t, http.StatusServiceUnavailable, serve(h, http.MethodPost, "/a").Code)
	// /b takes its own failure first (queue order).
	assert.Equal(t, http.StatusBadGateway, serve(h, http.MethodGet, "/b").Code)
	assert.Equal(t, http.StatusServiceUnavailable, serve(h, http.MethodGet, "/b").Code)
	assert.Equal(t, http.StatusOK, serve(h, http.MethodGet, "/b").Code)
	assert.Zero(t, q.Pending())

	assert.Equal(t, 1, q.Calls(routeA))
	assert.Equal(t, 3, q.Calls(routeB), "failed requests are counted")
	assert.Equal(t, 1, q.Calls(routeP))
	assert.Zero(t, q.Calls("GET /nowhere"))
}

func TestFaults_Cancel(t *testing.T) {
	q, h := newFake()
	q.FailNext(2, fakekit.Failure{Route: routeA})
	q.FailNext(3, fakekit.Failure{Route: routeB})
	q.FailNext(1, fakekit.Failure{})
	q.FailNext(0, fakekit.Failure{Route: routeA})
	assert.Equal(t, 4, q.Pending(), "only /a's failures are cancelled")
	assert.Equal(t, http.StatusInternalServerError, serve(h, http.MethodGet, "/b").Code)
	q.FailNext(-1, fakekit.Failure{})
	assert.Zero(t, q.Pending(), "an empty route cancels all")
	assert.Equal(t, http.StatusOK, serve(h, http.MethodGet, "/b").Code)
	assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, "/a").Code)
}

func TestFaults_Answer(t *testing.T) {
	q, h := newFake()

	q.FailNext(1, fakekit.Failure{})
	rec := serve(h, http.MethodPost, "/a")
	assert.Equal(t, fakekit.DefaultStatus, rec.Code)
	assert.JSONEq(t, `{"code":"DEFAULT_CODE","message":"injected failure"}`, rec.Body.String())
	assert.Empty(t, rec.Header().Get("Retry-After"))

	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {3 * time.Second, "3"}} {
		q.FailNext(1, fakekit.Failure{Status: http.StatusTooManyRequests, Code: "SLOW_DOWN", RetryAfter: tt.d})
		rec = serve(h, http.MethodPost, "/a")
		assert.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.Equal(t, tt.want, rec.Header().Get("Retry-After"), "%v", tt.d)
		assert.Contains(t, rec.Body.String(), `"SLOW_DOWN"`)
	}
}

func TestFaults_DelayThenAnswer(t *testing.T) {
	q, h := newFake()
	q.FailNext(1, fakekit.Failure{Status: http.StatusServiceUnavailable, Delay: 30 * time.Millisecond})
	start := time.Now()
	rec := serve(h, http.MethodPost, "/a")
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
}

func TestReset_NotHijackable(t *testing.T) {
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { fakekit.Reset(httptest.NewRecorder()) })
}

func newMock(h http.Handler) *http.Client {
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fakekit.Responder(h))
	return &http.Client{Transport: mt}
}

func TestResponder_ServesTheRequest(t *testing.T) {
	_, h := newFake()
	resp, err := newMock(h).Post("https://fake.test/a?x=1", "text/plain", strings.NewReader("body"))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "ok fake.test /a?x=1 body", string(b))
	assert.NotNil(t, resp.Request)

	resp2, err := newMock(h).Get("https://fake.test/b")
	require.NoError(t, err, "a request without a body")
	resp2.Body.Close()
	assert.Equal(t, http.StatusOK, resp2.StatusCode)
}

func TestResponder_Reset(t *testing.T) {
	q, h := newFake()
	q.FailNext(1, fakekit.Failure{Reset: true, Status: http.StatusTeapot})
	_, err := newMock(h).Post("https://fake.test/a", "text/plain", nil)
	require.Error(t, err)
	assert.True(t, fakekit.IsReset(err), "%v", err)
	assert.ErrorIs(t, err, syscall.ECONNRESET)
	assert.ErrorIs(t, err, fakekit.ErrReset)
	assert.Equal(t, 1, q.Calls(routeA))
}

func TestResponder_Panics(t *testing.T) {
	abort := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	_, err := newMock(abort).Get("https://fake.test/")
	assert.ErrorIs(t, err, fakekit.ErrReset)

	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	assert.PanicsWithValue(t, "boom", func() {
		_, _ = fakekit.Responder(boom)(httptest.NewRequest(http.MethodGet, "https://fake.test/", nil))
	})
}

func TestResponder_DelayWatchesContext(t *testing.T) {
	q, h := newFake()
	q.FailNext(1, fakekit.Failure{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://fake.test/a", nil)
	start := time.Now()
	_, err := newMock(h).Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func listen(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv, err := fakekit.Listen(h)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

func TestListen_ResetOverSocket(t *testing.T) {
	q, h := newFake()
	srv := listen(t, h)
	hc := srv.Client()
	q.FailNext(1, fakekit.Failure{Route: routeA, Reset: true})
	resp, err := hc.Post(srv.URL+"/a", "text/plain", strings.NewReader("x"))
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err, "no answer")
	assert.True(t, fakekit.IsReset(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "%v", err)

	resp, err = hc.Post(srv.URL+"/a", "text/plain", strings.NewReader("x"))
	require.NoError(t, err, "the next request gets an answer")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 2, q.Calls(routeA))
}

func TestListen_DelayWatchesContext(t *testing.T) {
	q, h := newFake()
	srv := listen(t, h)
	q.FailNext(1, fakekit.Failure{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	// With a body: the server watches the connection only once it is read.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/a", strings.NewReader(`{"a":1}`))
	start := time.Now()
	_, err := srv.Client().Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	srv.Close() // returns once the handler has given up its delay
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestListen_CloseTwice(t *testing.T) {
	_, h := newFake()
	srv, err := fakekit.Listen(h)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:") || strings.HasPrefix(srv.URL, "http://[::1]:"), srv.URL)
	srv.Close()
	srv.Close()
}

// A reset GET reaches the client: the server does not keep connections
// alive, so net/http has no reused connection to resend it on.
func TestListen_ResetGETReachesClient(t *testing.T) {
	q, h := newFake()
	srv := listen(t, h)
	hc := srv.Client()
	for range 3 { // warm a connection, if the server kept it
		resp, err := hc.Get(srv.URL + "/b")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	q.FailNext(1, fakekit.Failure{Reset: true})
	resp, err := hc.Get(srv.URL + "/b")
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	assert.Equal(t, 4, q.Calls(routeB), "sent once, not resent by net/http")
}
