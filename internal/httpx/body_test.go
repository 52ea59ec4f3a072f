package httpx_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

const fullBody = `{"id":"t1","name":"` + "0123456789abcdef0123456789abcdef" + `"}`

// cutShort sends the headers (with the full Content-Length) and half the
// body, then closes the connection: with a reset (RST) when reset is set,
// else with a FIN.
func cutShort(t *testing.T, w http.ResponseWriter, reset bool) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(fullBody)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, fullBody[:len(fullBody)/2])
	w.(http.Flusher).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// flakyServer cuts the body of the first `failures` answers short, then
// answers in full. It counts requests.
func flakyServer(t *testing.T, failures int32, reset bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) <= failures {
			cutShort(t, w, reset)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, fullBody)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func closeKinds() map[string]bool { return map[string]bool{"close": false, "reset": true} }

func TestDo_BodyReadFailureGETIsRetried(t *testing.T) {
	for name, reset := range closeKinds() {
		t.Run(name, func(t *testing.T) {
			srv, hits := flakyServer(t, 1, reset)
			logs := &syncBuffer{}
			c := newClient(t, clientOpts{base: srv.URL + "/api/", logs: logs})
			var out thing
			_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &out)
			require.NoError(t, err)
			assert.Equal(t, "t1", out.ID)
			assert.EqualValues(t, 2, hits.Load())
			assert.Contains(t, logs.String(), "failure=read_body")
			assert.Contains(t, logs.String(), "attempt=2 status=200")
		})
	}
}

func TestDo_BodyReadFailureIsATransportError(t *testing.T) {
	for name, reset := range closeKinds() {
		t.Run(name, func(t *testing.T) {
			srv, hits := flakyServer(t, 100, reset)
			c := newClient(t, clientOpts{base: srv.URL + "/api/"})
			_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &thing{})
			var te *httpx.TransportError
			require.ErrorAs(t, err, &te, "got %T %v", err, err)
			var de *httpx.DecodeError
			assert.False(t, errors.As(err, &de), "a read failure is not a malformed answer")
			assert.NotErrorIs(t, err, httpx.ErrMalformedResponse)
			assert.True(t, te.Sent)
			assert.True(t, te.Retryable())
			assert.True(t, httpx.IsRetryable(err))
			assert.Equal(t, 4, te.Attempts)
			assert.EqualValues(t, 4, hits.Load(), "the first attempt and 3 retries")
			assert.Contains(t, err.Error(), "reading the response body")
			assert.Contains(t, err.Error(), "acme: GET /api/thing: ")
		})
	}
}

func TestDo_BodyReadFailureCreatePOSTIsNotRetried(t *testing.T) {
	for name, reset := range closeKinds() {
		t.Run(name, func(t *testing.T) {
			srv, hits := flakyServer(t, 1, reset)
			c := newClient(t, clientOpts{base: srv.URL + "/api/"})
			_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions", JSON: map[string]string{"a": "b"}}, &thing{})
			var te *httpx.TransportError
			require.ErrorAs(t, err, &te, "got %T %v", err, err)
			assert.True(t, te.Sent, "the server got the request")
			assert.True(t, httpx.IsRetryable(err), "the caller decides whether to create again")
			assert.Equal(t, 1, te.Attempts)
			assert.EqualValues(t, 1, hits.Load())
		})
	}
	t.Run("idempotent POST is retried", func(t *testing.T) {
		srv, hits := flakyServer(t, 1, false)
		c := newClient(t, clientOpts{base: srv.URL + "/api/"})
		_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "lookup", Idempotent: true}, &thing{})
		require.NoError(t, err)
		assert.EqualValues(t, 2, hits.Load())
	})
}

// stallServer sends the headers and a part of the body, then stalls until
// the client goes away, for the first `stalls` requests; then it answers in
// full. started receives once per stalled answer, after the flush.
func stallServer(t *testing.T, stalls int32) (*httptest.Server, *atomic.Int32, chan struct{}) {
	t.Helper()
	var hits atomic.Int32
	started := make(chan struct{}, 16)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) > stalls {
			_, _ = io.WriteString(w, fullBody)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(fullBody)))
		_, _ = io.WriteString(w, fullBody[:10])
		w.(http.Flusher).Flush()
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	return srv, &hits, started
}

func TestDo_BodyStallPastAttemptTimeout(t *testing.T) {
	t.Run("GET retried", func(t *testing.T) {
		srv, hits, _ := stallServer(t, 1)
		c := newClient(t, clientOpts{base: srv.URL + "/api/", hc: &http.Client{Timeout: 100 * time.Millisecond}})
		var out thing
		_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &out)
		require.NoError(t, err)
		assert.Equal(t, "t1", out.ID)
		assert.EqualValues(t, 2, hits.Load())
	})
	t.Run("GET gives up", func(t *testing.T) {
		srv, hits, _ := stallServer(t, 100)
		retry := httpx.RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond}
		c := newClient(t, clientOpts{base: srv.URL + "/api/", hc: &http.Client{Timeout: 100 * time.Millisecond}, retry: &retry})
		start := time.Now()
		_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &thing{})
		var te *httpx.TransportError
		require.ErrorAs(t, err, &te, "got %T %v", err, err)
		assert.True(t, te.Sent)
		assert.True(t, httpx.IsRetryable(err), "the attempt timed out, not the caller")
		assert.Equal(t, 2, te.Attempts)
		assert.EqualValues(t, 2, hits.Load())
		assert.Less(t, time.Since(start), 2*time.Second, "two 100 ms attempts")
	})
	t.Run("create POST not retried", func(t *testing.T) {
		srv, hits, _ := stallServer(t, 1)
		c := newClient(t, clientOpts{base: srv.URL + "/api/", hc: &http.Client{Timeout: 100 * time.Millisecond}})
		_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions"}, &thing{})
		var te *httpx.TransportError
		require.ErrorAs(t, err, &te, "got %T %v", err, err)
		assert.True(t, te.Sent)
		assert.True(t, httpx.IsRetryable(err))
		assert.EqualValues(t, 1, hits.Load())
	})
}

func TestDo_BodyReadCallerContextEnds(t *testing.T) {
	srv, hits, started := stallServer(t, 100)
	c := newClient(t, clientOpts{base: srv.URL + "/api/"})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := c.Do(ctx, &httpx.Request{Path: "thing"}, &thing{})
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te, "got %T %v", err, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, httpx.IsRetryable(err), "the caller's context ended")
	assert.EqualValues(t, 1, hits.Load())
}

func TestDo_BodyOverLimitStaysADecodeError(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		// No Content-Length: the limit is found by reading.
		for range 8 {
			_, _ = io.WriteString(w, strings.Repeat(" ", 512))
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, clientOpts{base: srv.URL + "/api/", maxBody: 1000})
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &thing{})
	var de *httpx.DecodeError
	require.ErrorAs(t, err, &de, "got %T %v", err, err)
	assert.ErrorIs(t, err, httpx.ErrBodyTooLarge)
	assert.False(t, httpx.IsRetryable(err))
	assert.EqualValues(t, 1, hits.Load(), "not retried")
}

// errAfter is a body that fails after n bytes, as a mock transport's body can.
type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestDo_BodyReadFailureWithMockTransport(t *testing.T) {
	mt := newMock(t)
	var n atomic.Int32
	mt.RegisterResponder("GET", "https://vendor.test/api/thing", func(*http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			resp := httpmock.NewStringResponse(200, "")
			resp.Body = io.NopCloser(&errAfter{r: strings.NewReader(fullBody[:5]), err: io.ErrUnexpectedEOF})
			return resp, nil
		}
		return httpmock.NewStringResponse(200, fullBody), nil
	})
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	var out thing
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &out)
	require.NoError(t, err)
	assert.Equal(t, "t1", out.ID)
	assert.EqualValues(t, 2, n.Load())
}
