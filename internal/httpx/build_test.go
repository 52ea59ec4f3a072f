package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// rtFunc is a RoundTripper from a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func okJSON(r *http.Request) *http.Response {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"id":"t1"}`)),
		Request:    r,
	}
}

func TestDo_NilRequest(t *testing.T) {
	c := newClient(t, clientOpts{hc: &http.Client{Transport: newMock(t)}})
	_, err := c.Do(context.Background(), nil, nil)
	var ve *httpx.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "request", ve.Field)
}

// TestDo_ClientAuthBuiltOnce: New calls Config.Auth once; every request
// carries what it set, over a Request.Header of the same name; a
// Request.Auth replaces it.
func TestDo_ClientAuthBuiltOnce(t *testing.T) {
	var authCalls atomic.Int32
	var mu sync.Mutex
	var seen []http.Header
	cfg := httpx.NewConfig("acme", "https://vendor.test/api/")
	cfg.HTTPClient = &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		return okJSON(r), nil
	})}
	cfg.Header.Set("Api-Version", "2")
	cfg.Auth = func(h http.Header) {
		authCalls.Add(1)
		h.Set("Authorization", "Token "+testKey)
	}
	c, err := httpx.New(cfg)
	require.NoError(t, err)
	assert.EqualValues(t, 1, authCalls.Load(), "New builds the credential")

	ctx := context.Background()
	for range 3 {
		_, err := c.Do(ctx, &httpx.Request{Path: "thing", Header: http.Header{"Authorization": {"Bearer other"}, "X-Extra": {"1"}}}, nil)
		require.NoError(t, err)
	}
	_, err = c.Do(ctx, &httpx.Request{Path: "thing", Auth: func(h http.Header) { h.Set("Authorization", "Bearer per-call") }}, nil)
	require.NoError(t, err)
	_, err = c.Do(ctx, &httpx.Request{Method: http.MethodPost, Path: "thing", JSON: map[string]int{"a": 1}, Accept: "text/plain"}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 1, authCalls.Load(), "and never calls it again")

	require.Len(t, seen, 5)
	for i, h := range seen[:3] {
		assert.Equal(t, []string{"Token " + testKey}, h["Authorization"], "request %d: the client's credential wins over Request.Header", i)
		assert.Equal(t, []string{"1"}, h["X-Extra"], "request %d", i)
		assert.Equal(t, []string{"2"}, h["Api-Version"], "request %d", i)
		assert.Equal(t, []string{"application/json"}, h["Accept"], "request %d", i)
		assert.Equal(t, []string{"sdkbroker/" + httpx.Version + " (+acme)"}, h["User-Agent"], "request %d", i)
		assert.Empty(t, h["Content-Type"], "request %d: no body", i)
	}
	assert.Equal(t, []string{"Bearer per-call"}, seen[3]["Authorization"], "Request.Auth replaces the client's")
	assert.Equal(t, []string{"text/plain"}, seen[4]["Accept"])
	assert.Equal(t, []string{"application/json"}, seen[4]["Content-Type"])
	assert.Equal(t, []string{"Token " + testKey}, seen[4]["Authorization"])
}

// TestDo_SharedHeaderValuesStayIntact: the client's header values are
// shared by every request; a transport that adds to a request's headers
// (as some signing or tracing transports do) must not change the next
// request's.
func TestDo_SharedHeaderValuesStayIntact(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	hc := &http.Client{Transport: rtFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		r.Header.Add("Accept", "text/html")
		r.Header.Add("Authorization", "Extra x")
		r.Header.Add("User-Agent", "wrapper/1")
		r.Header.Add("Content-Type", "text/plain")
		return okJSON(r), nil
	})}
	c := newClient(t, clientOpts{hc: hc})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodPost, Path: "thing", JSON: 1, Idempotent: true}, nil)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Len(t, seen, 8)
	for i, h := range seen {
		assert.Equal(t, []string{"application/json"}, h["Accept"], "request %d", i)
		assert.Equal(t, []string{"Bearer " + testKey}, h["Authorization"], "request %d", i)
		assert.Len(t, h["User-Agent"], 1, "request %d", i)
		assert.Equal(t, []string{"application/json"}, h["Content-Type"], "request %d", i)
	}
}

// TestClient_PrintsNoCredential: the credential New built is kept where no
// fmt verb can reach it, printing the *Client or a copy of it.
func TestClient_PrintsNoCredential(t *testing.T) {
	c := newClient(t, clientOpts{})
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T", "%d"} {
		for _, v := range []any{c, *c} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, testKey, verb)
			assert.NotContains(t, strings.ToLower(out), fmt.Sprintf("%x", testKey), verb)
		}
	}
}

// TestDo_BodySentWholeOnEveryAttempt: each retry and a 307 redirect
// (through GetBody) send the whole body again, with its Content-Length.
func TestDo_BodySentWholeOnEveryAttempt(t *testing.T) {
	const want = `{"user":"u-42","scope":"sdk"}`
	var mu sync.Mutex
	var bodies []string
	var lengths []int64
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		lengths = append(lengths, r.ContentLength)
		mu.Unlock()
		switch n := hits.Add(1); {
		case n <= 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/api/start":
			http.Redirect(w, r, "/api/moved", http.StatusTemporaryRedirect)
		default:
			_, _ = io.WriteString(w, `{"id":"t1"}`)
		}
	}))
	defer srv.Close()
	c := newClient(t, clientOpts{base: srv.URL + "/api/"})
	var out thing
	_, err := c.Do(context.Background(), &httpx.Request{
		Method: http.MethodPut, Path: "start", JSON: json.RawMessage(want),
	}, &out)
	require.NoError(t, err)
	assert.Equal(t, "t1", out.ID)
	assert.Equal(t, []string{want, want, want, want}, bodies, "two 503s, the 307, the redirected request")
	for i, n := range lengths {
		assert.EqualValues(t, len(want), n, "request %d", i)
	}
}

// TestDo_LargeAndChunkedBodies: a 2xx body with and without a
// Content-Length, small and over the first buffer, arrives whole.
func TestDo_LargeAndChunkedBodies(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, 4096, 100_000} {
		for _, chunked := range []bool{false, true} {
			payload := strings.Repeat("x", size)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if chunked {
					w.(http.Flusher).Flush() // headers go first: no Content-Length
				}
				_, _ = io.WriteString(w, payload)
			}))
			c := newClient(t, clientOpts{base: srv.URL + "/"})
			var got []byte
			resp, err := c.Do(context.Background(), &httpx.Request{Path: "b"}, &got)
			srv.Close()
			require.NoError(t, err, "size %d chunked %v", size, chunked)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, payload, string(got), "size %d chunked %v", size, chunked)
		}
	}
}

// stallHeaders answers nothing until the client goes away, for the first
// `stalls` requests, then answers {"id":"t1"}.
func stallHeaders(t *testing.T, stalls int32) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= stalls {
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, `{"id":"t1"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestDo_AttemptTimeout: Config.Timeout bounds each attempt; a GET whose
// attempt timed out is retried with a fresh one; when every attempt times
// out the error is a retryable *TransportError that is a timeout and
// matches context.DeadlineExceeded.
func TestDo_AttemptTimeout(t *testing.T) {
	newTimeoutClient := func(t *testing.T, base string, retries int) *httpx.Client {
		cfg := httpx.NewConfig("acme", base)
		cfg.Timeout = 100 * time.Millisecond
		cfg.Retry = httpx.RetryPolicy{MaxRetries: retries, MinWait: time.Millisecond, MaxWait: time.Millisecond}
		c, err := httpx.New(cfg)
		require.NoError(t, err)
		return c
	}
	t.Run("retried", func(t *testing.T) {
		srv, hits := stallHeaders(t, 1)
		var out thing
		_, err := newTimeoutClient(t, srv.URL+"/", 1).Do(context.Background(), &httpx.Request{Path: "x"}, &out)
		require.NoError(t, err)
		assert.Equal(t, "t1", out.ID)
		assert.EqualValues(t, 2, hits.Load())
	})
	t.Run("gives up", func(t *testing.T) {
		srv, hits := stallHeaders(t, 100)
		start := time.Now()
		_, err := newTimeoutClient(t, srv.URL+"/", 1).Do(context.Background(), &httpx.Request{Path: "x"}, nil)
		var te *httpx.TransportError
		require.ErrorAs(t, err, &te)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		assert.True(t, httpx.IsRetryable(err), "the attempt timed out, not the caller")
		assert.Contains(t, err.Error(), "attempt timeout")
		assert.Equal(t, 2, te.Attempts)
		assert.EqualValues(t, 2, hits.Load())
		assert.Less(t, time.Since(start), 2*time.Second, "two 100 ms attempts")
	})
	t.Run("the caller's sooner deadline", func(t *testing.T) {
		srv, hits := stallHeaders(t, 100)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := newTimeoutClient(t, srv.URL+"/", 3).Do(ctx, &httpx.Request{Path: "x"}, nil)
		var te *httpx.TransportError
		require.ErrorAs(t, err, &te)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, httpx.IsRetryable(err), "the caller's own deadline")
		assert.NotContains(t, err.Error(), "attempt timeout")
		assert.EqualValues(t, 1, hits.Load())
	})
	t.Run("error body read within the attempt", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond) // the body comes after the headers, within the timeout
			_, _ = io.WriteString(w, `{"code":"NOPE","message":"no such thing"}`)
		}))
		defer srv.Close()
		_, err := newTimeoutClient(t, srv.URL+"/", 0).Do(context.Background(), &httpx.Request{Path: "x"}, nil)
		var ae *httpx.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "NOPE", ae.Code)
		assert.Equal(t, "no such thing", ae.Message)
	})
}

// TestDo_AttemptTimeoutErrorKeepsItsCause: an attempt that times out while
// reading a 2xx body is still told apart as a body read failure.
func TestDo_AttemptTimeoutErrorKeepsItsCause(t *testing.T) {
	srv, hits, _ := stallServer(t, 100)
	cfg := httpx.NewConfig("acme", srv.URL+"/")
	cfg.Timeout = 100 * time.Millisecond
	cfg.Retry = httpx.RetryPolicy{}
	c, err := httpx.New(cfg)
	require.NoError(t, err)
	_, err = c.Do(context.Background(), &httpx.Request{Method: http.MethodPost, Path: "x"}, nil)
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Sent)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "reading the response body")
	assert.True(t, httpx.IsRetryable(err))
	assert.False(t, errors.Is(err, context.Canceled))
	assert.EqualValues(t, 1, hits.Load())
}
