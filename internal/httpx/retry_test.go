package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

func sequence(statuses ...int) httpmock.Responder {
	var n atomic.Int32
	return func(*http.Request) (*http.Response, error) {
		i := int(n.Add(1)) - 1
		if i >= len(statuses) {
			i = len(statuses) - 1
		}
		return httpmock.NewStringResponse(statuses[i], `{"ok":true}`), nil
	}
}

func TestDo_GETRetriesTransientStatuses(t *testing.T) {
	for _, status := range []int{429, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder("GET", "https://vendor.test/api/thing", sequence(status, status, 200))
			c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
			_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, nil)
			require.NoError(t, err)
			assert.Equal(t, 3, calls(mt, "GET https://vendor.test/api/thing"))
		})
	}
}

func TestDo_GETDoesNotRetryOtherStatuses(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 500, 501} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder("GET", "https://vendor.test/api/thing", sequence(status, 200))
			c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
			_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, nil)
			var apiErr *httpx.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, status, apiErr.StatusCode)
			assert.Equal(t, 1, calls(mt, "GET https://vendor.test/api/thing"))
			assert.False(t, httpx.IsRetryable(err))
		})
	}
}

func TestDo_GiveUpKeepsLastResponse(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("GET", "https://vendor.test/api/thing",
		httpmock.NewStringResponder(503, `{"code":"MAINTENANCE","message":"down for maintenance"}`))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, nil)
	var apiErr *httpx.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Equal(t, "MAINTENANCE", apiErr.Code)
	assert.Equal(t, "down for maintenance", apiErr.Message)
	assert.Contains(t, string(apiErr.Body), "MAINTENANCE")
	assert.Equal(t, 4, apiErr.Attempts)
	assert.Equal(t, 4, calls(mt, "GET https://vendor.test/api/thing"))
	assert.True(t, httpx.IsRetryable(err))
	assert.ErrorIs(t, err, httpx.ErrServer)
}

func TestDo_POST502IsSentOnceAndRetryable(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("POST", "https://vendor.test/api/sessions", sequence(502, 200))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions", JSON: map[string]string{"a": "b"}}, nil)
	require.Error(t, err)
	assert.Equal(t, 1, calls(mt, "POST https://vendor.test/api/sessions"))
	assert.True(t, httpx.IsRetryable(err))
	assert.ErrorIs(t, err, httpx.ErrServer)
}

func TestDo_POST429IsRetried(t *testing.T) {
	mt := newMock(t)
	var bodies []string
	mt.RegisterResponder("POST", "https://vendor.test/api/sessions", func(r *http.Request) (*http.Response, error) {
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		bodies = append(bodies, string(b[:n]))
		if len(bodies) == 1 {
			return httpmock.NewStringResponse(429, ""), nil
		}
		return httpmock.NewStringResponse(201, `{"id":"s1"}`), nil
	})
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	var out struct{ ID string }
	_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions", JSON: map[string]string{"a": "b"}}, &out)
	require.NoError(t, err)
	assert.Equal(t, "s1", out.ID)
	assert.Equal(t, []string{`{"a":"b"}`, `{"a":"b"}`}, bodies, "the body is resent whole")
}

func TestDo_IdempotentPOSTRetries5xx(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("POST", "https://vendor.test/api/token", sequence(503, 200))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "token", Idempotent: true}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, calls(mt, "POST https://vendor.test/api/token"))
}

func TestDo_POSTTransportErrorAfterSendIsNotRetried(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("POST", "https://vendor.test/api/sessions", httpmock.NewErrorResponder(errors.New("connection reset by peer")))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions"}, nil)
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 1, calls(mt, "POST https://vendor.test/api/sessions"))
	assert.True(t, te.Sent)
	assert.True(t, httpx.IsRetryable(err))
}

func TestDo_POSTMockDialErrorIsRetried(t *testing.T) {
	mt := newMock(t)
	var n atomic.Int32
	mt.RegisterResponder("POST", "https://vendor.test/api/sessions", func(*http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}
		return httpmock.NewStringResponse(200, `{}`), nil
	})
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions"}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n.Load())
}

// TestDo_POSTDialFailureIsRetried uses a real transport whose first dial
// fails (a closed port), so the decision comes from httptrace: no
// connection was obtained, so the POST provably never reached the server.
func TestDo_POSTDialFailureIsRetried(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := closed.Addr().String()
	require.NoError(t, closed.Close())

	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if dials.Add(1) == 1 {
			return d.DialContext(ctx, network, deadAddr) // refused
		}
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	defer tr.CloseIdleConnections()
	c := newClient(t, clientOpts{base: srv.URL + "/api/", hc: &http.Client{Transport: tr}})
	_, err = c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions", JSON: map[string]int{"ttl": 1}}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, dials.Load())
	assert.EqualValues(t, 1, hits.Load())
}

func TestDo_POSTDialFailureGivesUpUnsent(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + closed.Addr().String() + "/"
	require.NoError(t, closed.Close())
	c := newClient(t, clientOpts{base: base})
	_, err = c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions"}, nil)
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.Sent)
	assert.Equal(t, 4, te.Attempts)
	assert.True(t, httpx.IsRetryable(err))
}

func TestDo_POSTTimeoutAfterWriteIsNotRetried(t *testing.T) {
	var hits atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(t, clientOpts{base: srv.URL, hc: &http.Client{Timeout: 100 * time.Millisecond}})
	_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "sessions"}, nil)
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Sent)
	assert.True(t, httpx.IsRetryable(err), "a timeout is worth retrying by the caller")
	assert.EqualValues(t, 1, hits.Load())
}

func TestDo_RetryAfterIsCappedAtMaxWait(t *testing.T) {
	mt := newMock(t)
	var n atomic.Int32
	mt.RegisterResponder("GET", "https://vendor.test/api/thing", func(*http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			r := httpmock.NewStringResponse(429, "")
			r.Header.Set("Retry-After", "3600")
			return r, nil
		}
		return httpmock.NewStringResponse(200, "{}"), nil
	})
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, retry: &httpx.RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: 2 * time.Second}})
	start := time.Now()
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, nil)
	elapsed := time.Since(start)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, elapsed, 1900*time.Millisecond, "Retry-After is honoured up to the cap")
	assert.Less(t, elapsed, 20*time.Second, "never longer than the max wait (10x margin)")
}

func TestDo_RetryAfterHTTPDate(t *testing.T) {
	mt := newMock(t)
	var n atomic.Int32
	mt.RegisterResponder("GET", "https://vendor.test/api/thing", func(*http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			r := httpmock.NewStringResponse(503, "")
			r.Header.Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			return r, nil
		}
		return httpmock.NewStringResponse(200, "{}"), nil
	})
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, retry: &httpx.RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: 300 * time.Millisecond}})
	start := time.Now()
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "an HTTP-date Retry-After is honoured up to the cap")
}

func TestDo_ContextCancelledDuringBackoff(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("GET", "https://vendor.test/api/thing", func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(503, "")
		r.Header.Set("Retry-After", "5")
		return r, nil
	})
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, retry: &httpx.RetryPolicy{MaxRetries: 3, MinWait: time.Second, MaxWait: 10 * time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Do(ctx, &httpx.Request{Path: "thing"}, nil)
	assert.Less(t, time.Since(start), time.Second)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, httpx.IsRetryable(err))
	assert.Equal(t, 1, calls(mt, "GET https://vendor.test/api/thing"))
}

func TestDo_DeadlineBeforeSend(t *testing.T) {
	c := newClient(t, clientOpts{hc: &http.Client{Transport: newMock(t)}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Do(ctx, &httpx.Request{Path: "thing"}, nil)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestDo_RedirectToAnotherHostIsRefused(t *testing.T) {
	var otherHits atomic.Int32
	var gotAuth atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		gotAuth.Store(r.Header.Get("Authorization"))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/landing", http.StatusFound)
		default:
			_, _ = w.Write([]byte(`{"at":"` + r.URL.Path + `"}`))
		}
	}))
	defer srv.Close()
	c := newClient(t, clientOpts{base: srv.URL})
	_, err := c.Do(context.Background(), &httpx.Request{Path: "away"}, nil)
	require.ErrorIs(t, err, httpx.ErrRedirectRefused)
	assert.False(t, httpx.IsRetryable(err))
	assert.EqualValues(t, 0, otherHits.Load())

	var out struct{ At string }
	_, err = c.Do(context.Background(), &httpx.Request{Path: "here"}, &out)
	require.NoError(t, err)
	assert.Equal(t, "/landing", out.At, "a redirect on the same host is followed")
}

func TestDo_ZeroRetries(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("GET", "https://vendor.test/api/thing", sequence(503, 200))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, retry: &httpx.RetryPolicy{}})
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, nil)
	require.ErrorIs(t, err, httpx.ErrServer)
	assert.Equal(t, 1, calls(mt, "GET https://vendor.test/api/thing"))
}

func TestContextError(t *testing.T) {
	for _, cause := range []error{context.Canceled, context.DeadlineExceeded, fmt.Errorf("waiting for the token: %w", context.Canceled)} {
		err := httpx.ContextError("uqudo", "POST", "/api/oauth/token", cause)
		var te *httpx.TransportError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, httpx.TransportError{Vendor: "uqudo", Method: "POST", Path: "/api/oauth/token", Err: cause}, *te)
		assert.ErrorIs(t, err, cause)
		assert.False(t, te.Sent)
		assert.False(t, httpx.IsRetryable(err), "the caller's context ended")
		assert.Equal(t, "uqudo: POST /api/oauth/token: "+cause.Error(), err.Error())
	}
	assert.NoError(t, httpx.ContextError("uqudo", "GET", "/x", nil))
	other := errors.New("boom")
	assert.Same(t, other, httpx.ContextError("uqudo", "GET", "/x", other))
	already := &httpx.TransportError{Vendor: "idv", Err: context.Canceled}
	assert.Same(t, already, httpx.ContextError("uqudo", "GET", "/x", already), "not wrapped twice")
}
