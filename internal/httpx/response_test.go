package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

type thing struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (t *thing) ValidateResponse() error {
	if t.ID == "" {
		return httpx.MissingField("id")
	}
	return nil
}

func TestDo_DecodeErrorsAreDistinct(t *testing.T) {
	cases := []struct {
		name, body string
		kind       error
	}{
		{"empty", "", httpx.ErrEmptyBody},
		{"whitespace", "  \n", httpx.ErrEmptyBody},
		{"html", "<html><body>Bad Gateway</body></html>", httpx.ErrNotJSON},
		{"text", "Service Unavailable", httpx.ErrNotJSON},
		{"truncated", `{"id":"abc","na`, httpx.ErrTruncatedJSON},
		{"truncated string", `{"id":"ab`, httpx.ErrTruncatedJSON},
		{"missing field", `{"name":"x"}`, httpx.ErrMissingField},
		{"null field", `{"id":null}`, httpx.ErrMissingField},
		{"wrong type", `{"id":42}`, httpx.ErrMalformedResponse},
		{"garbage inside", `{"id": nope}`, httpx.ErrNotJSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder("GET", "https://vendor.test/api/thing", httpmock.NewStringResponder(200, tc.body))
			c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
			var out thing
			_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &out)
			var de *httpx.DecodeError
			require.ErrorAs(t, err, &de)
			assert.ErrorIs(t, err, tc.kind)
			assert.ErrorIs(t, err, httpx.ErrMalformedResponse)
			assert.Equal(t, "acme", de.Vendor)
			assert.Equal(t, "/api/thing", de.Path)
			for _, other := range []error{httpx.ErrEmptyBody, httpx.ErrNotJSON, httpx.ErrTruncatedJSON, httpx.ErrMissingField} {
				if other != tc.kind {
					assert.NotErrorIs(t, err, other)
				}
			}
			assert.False(t, httpx.IsRetryable(err))
		})
	}
}

func TestDo_MissingFieldNamesTheField(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("GET", "https://vendor.test/api/thing", httpmock.NewStringResponder(200, `{}`))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &thing{})
	require.Error(t, err)
	assert.Equal(t, `acme: GET /api/thing: missing required field "id"`, err.Error())
}

func TestDo_RawOutputs(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("GET", "https://vendor.test/api/jwt", httpmock.NewStringResponder(200, "eyJ.a.b"))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	var s string
	_, err := c.Do(context.Background(), &httpx.Request{Path: "jwt", Accept: "application/jwt"}, &s)
	require.NoError(t, err)
	assert.Equal(t, "eyJ.a.b", s)
	var b []byte
	_, err = c.Do(context.Background(), &httpx.Request{Path: "jwt"}, &b)
	require.NoError(t, err)
	assert.Equal(t, "eyJ.a.b", string(b))
}

// countingReader serves n bytes of JSON-ish filler and counts what was read.
type countingReader struct {
	left int64
	read *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > r.left {
		n = r.left
	}
	for i := range p[:n] {
		p[i] = ' '
	}
	r.left -= n
	r.read.Add(n)
	return int(n), nil
}

func TestDo_HugeBodyIsRefusedWithoutReadingIt(t *testing.T) {
	const tenMiB = 10 << 20
	for _, withLength := range []bool{false, true} {
		t.Run("content-length="+strconv.FormatBool(withLength), func(t *testing.T) {
			var read atomic.Int64
			mt := newMock(t)
			mt.RegisterResponder("GET", "https://vendor.test/api/thing", func(r *http.Request) (*http.Response, error) {
				resp := httpmock.NewBytesResponse(200, nil)
				resp.Body = io.NopCloser(&countingReader{left: tenMiB, read: &read})
				resp.ContentLength = -1
				if withLength {
					resp.ContentLength = tenMiB
				}
				return resp, nil
			})
			c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
			_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &thing{})
			require.ErrorIs(t, err, httpx.ErrBodyTooLarge)
			assert.ErrorIs(t, err, httpx.ErrMalformedResponse)
			assert.LessOrEqual(t, read.Load(), int64(httpx.DefaultMaxBodyBytes+64<<10), "read at most the limit (plus the drain)")
		})
	}
}

func TestDo_BodyLimitOption(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("GET", "https://vendor.test/api/thing", httpmock.NewStringResponder(200, `{"id":"0123456789"}`))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, maxBody: 10})
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &thing{})
	require.ErrorIs(t, err, httpx.ErrBodyTooLarge)
}

func TestDo_StatusMapsToSentinel(t *testing.T) {
	cases := []struct {
		status   int
		sentinel error
	}{
		{400, httpx.ErrInvalidInput}, {422, httpx.ErrInvalidInput}, {401, httpx.ErrUnauthorized},
		{403, httpx.ErrForbidden}, {404, httpx.ErrNotFound}, {409, httpx.ErrConflict},
		{429, httpx.ErrRateLimited}, {500, httpx.ErrServer}, {503, httpx.ErrServer},
	}
	all := []error{httpx.ErrInvalidInput, httpx.ErrUnauthorized, httpx.ErrForbidden, httpx.ErrNotFound, httpx.ErrConflict, httpx.ErrRateLimited, httpx.ErrServer}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder("GET", "https://vendor.test/api/thing", func(*http.Request) (*http.Response, error) {
				r := httpmock.NewStringResponse(tc.status, `{"errorCode":"E_`+strconv.Itoa(tc.status)+`","message":"nope","ref":"req-1"}`)
				r.Header.Set("Retry-After", "7")
				return r, nil
			})
			c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, retry: &httpx.RetryPolicy{}})
			_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, nil)
			var apiErr *httpx.APIError
			require.ErrorAs(t, err, &apiErr)
			for _, s := range all {
				assert.Equal(t, s == tc.sentinel, assert.ObjectsAreEqual(true, errorIs(err, s)), "sentinel %v", s)
			}
			assert.Equal(t, "E_"+strconv.Itoa(tc.status), apiErr.Code)
			assert.Equal(t, "req-1", apiErr.RequestID)
			assert.Equal(t, 7e9, float64(apiErr.RetryAfter))
		})
	}
}

func TestAPIError_Message(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("POST", `=~^https://vendor\.test/api/v1/session`, func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(429, `<html>slow down</html>`)
		r.Header.Set("X-Request-Id", "abc")
		return r, nil
	})
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, retry: &httpx.RetryPolicy{}})
	_, err := c.Do(context.Background(), &httpx.Request{Method: "POST", Path: "v1/session", Query: map[string][]string{"token": {"querysecret"}}}, nil)
	require.Error(t, err)
	assert.Equal(t, "acme: POST /api/v1/session: 429 too many requests (request id abc)", err.Error())
	assert.NotContains(t, err.Error(), "querysecret")
	assert.NotContains(t, err.Error(), "slow down", "the body is never part of Error()")
}

func TestDo_SecretsNeverInErrorsOrLogs(t *testing.T) {
	logs := &syncBuffer{}
	mt := newMock(t)
	echo := func(status int) httpmock.Responder {
		return func(r *http.Request) (*http.Response, error) {
			// A careless vendor echoing the credential and the query back.
			body := `{"code":"BAD_KEY","message":"key ` + testKey + ` rejected; header was ` + r.Header.Get("Authorization") + `; url ` + r.URL.String() + `","access_token":"eyJhbGciOiJIUzI1NiJ9.leaked.sig"}`
			resp := httpmock.NewStringResponse(status, body)
			resp.Header.Set("X-Request-Id", "Bearer "+testKey)
			return resp, nil
		}
	}
	mt.RegisterResponder("GET", `=~^https://vendor\.test/api/a`, echo(401))
	mt.RegisterResponder("GET", `=~^https://vendor\.test/api/b`, echo(503))
	mt.RegisterResponder("GET", `=~^https://vendor\.test/api/c`, httpmock.NewErrorResponder(io.ErrUnexpectedEOF))
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, logs: logs})
	var errs []error
	for _, p := range []string{"a", "b", "c"} {
		_, err := c.Do(context.Background(), &httpx.Request{Path: p, Query: map[string][]string{"device_token": {"devtok-987654321"}}, Secrets: []string{"devtok-987654321"}}, nil)
		require.Error(t, err)
		errs = append(errs, err)
	}
	require.NotEmpty(t, logs.String())
	for _, secret := range []string{testKey, "devtok-987654321", "eyJhbGciOiJIUzI1NiJ9.leaked.sig"} {
		assert.NotContains(t, logs.String(), secret)
		for _, err := range errs {
			assert.NotContains(t, err.Error(), secret)
			var apiErr *httpx.APIError
			if errorAs(err, &apiErr) {
				assert.NotContains(t, apiErr.Message, secret)
				assert.NotContains(t, string(apiErr.Body), secret)
				assert.NotContains(t, apiErr.RequestID, secret)
			}
		}
	}
	assert.Contains(t, logs.String(), "path=/api/a")
	assert.Contains(t, logs.String(), "status=401")
	assert.Contains(t, logs.String(), "attempt=")
}

func TestDo_RequestBuilding(t *testing.T) {
	type opts struct {
		WorkflowIDs []string `url:"workflowId"`
		Limit       int      `url:"limit,omitempty"`
	}
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, gotBody = r, string(b)
		_, _ = w.Write([]byte(`{"id":"x"}`))
	}))
	defer srv.Close()
	var seen atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	cfg := httpx.NewConfig("acme", srv.URL+"/base")
	cfg.HTTPClient = hc
	cfg.UserAgent = "myapp/1.2"
	cfg.Header.Set("Api-Version", "2.0")
	cfg.Auth = func(h http.Header) { h.Set("Authorization", "Token k") }
	c, err := httpx.New(cfg)
	require.NoError(t, err)

	_, err = c.Do(context.Background(), &httpx.Request{
		Method: "POST",
		Path:   httpx.Path("items", "a/b c", "..", "ü"),
		Query:  opts{WorkflowIDs: []string{"w1", "w&2"}},
		Form:   map[string][]string{"grant_type": {"client_credentials"}},
	}, &thing{})
	require.NoError(t, err)
	assert.EqualValues(t, 1, seen.Load(), "the caller's transport is kept")
	assert.Equal(t, "/base/items/a%2Fb%20c/%2E%2E/%C3%BC", got.URL.EscapedPath())
	assert.Equal(t, []string{"w1", "w&2"}, got.URL.Query()["workflowId"])
	assert.Equal(t, "grant_type=client_credentials", gotBody)
	assert.Equal(t, "application/x-www-form-urlencoded", got.Header.Get("Content-Type"))
	assert.Equal(t, "myapp/1.2 sdkbroker/"+httpx.Version+" (+acme)", got.Header.Get("User-Agent"))
	assert.Equal(t, "2.0", got.Header.Get("Api-Version"))
	assert.Equal(t, "Token k", got.Header.Get("Authorization"))

	_, err = c.Do(context.Background(), &httpx.Request{
		Method: "POST", Path: "/items", JSON: map[string]int{"ttl": 60},
		Auth: func(h http.Header) { h.Set("Authorization", "Token device") },
	}, &thing{})
	require.NoError(t, err)
	assert.Equal(t, "/base/items", got.URL.Path, "a leading slash stays under the base path")
	assert.Equal(t, `{"ttl":60}`, gotBody)
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.Equal(t, "Token device", got.Header.Get("Authorization"), "a per-request credential wins")

	_, err = c.Do(context.Background(), &httpx.Request{BaseURL: srv.URL + "/other", Path: "x"}, &thing{})
	require.NoError(t, err)
	assert.Equal(t, "/other/x", got.URL.Path)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDo_BadRequestInput(t *testing.T) {
	c := newClient(t, clientOpts{hc: &http.Client{Transport: newMock(t)}})
	_, err := c.Do(context.Background(), &httpx.Request{JSON: map[string]any{"f": func() {}}}, nil)
	assert.ErrorIs(t, err, httpx.ErrInvalidInput)
	_, err = c.Do(context.Background(), &httpx.Request{JSON: 1, Form: map[string][]string{}}, nil)
	assert.ErrorIs(t, err, httpx.ErrInvalidInput)
	_, err = c.Do(context.Background(), &httpx.Request{BaseURL: "ftp://x"}, nil)
	assert.ErrorIs(t, err, httpx.ErrInvalidInput)
	_, err = c.Do(context.Background(), &httpx.Request{Path: "%zz"}, nil)
	assert.ErrorIs(t, err, httpx.ErrInvalidInput)
	_, err = c.Do(context.Background(), &httpx.Request{Query: 42}, nil)
	assert.ErrorIs(t, err, httpx.ErrInvalidInput)
}

func TestNew_Validates(t *testing.T) {
	bad := map[string]func(*httpx.Config){
		"empty vendor":   func(c *httpx.Config) { c.Vendor = "" },
		"empty base":     func(c *httpx.Config) { c.BaseURL = "" },
		"relative base":  func(c *httpx.Config) { c.BaseURL = "/api" },
		"ftp base":       func(c *httpx.Config) { c.BaseURL = "ftp://x.test" },
		"base with user": func(c *httpx.Config) { c.BaseURL = "https://u:p@x.test" },
		"base query":     func(c *httpx.Config) { c.BaseURL = "https://x.test/?a=1" },
		"http required":  func(c *httpx.Config) { c.BaseURL = "http://x.test"; c.RequireHTTPS = true },
		"neg retries":    func(c *httpx.Config) { c.Retry.MaxRetries = -1 },
		"inverted wait":  func(c *httpx.Config) { c.Retry.MinWait, c.Retry.MaxWait = 2, 1 },
		"neg timeout":    func(c *httpx.Config) { c.Timeout = -1 },
		"ua newline":     func(c *httpx.Config) { c.UserAgent = "a\r\nX-Evil: 1" },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			cfg := httpx.NewConfig("acme", "https://x.test")
			mutate(&cfg)
			_, err := httpx.New(cfg)
			assert.ErrorIs(t, err, httpx.ErrInvalidInput)
		})
	}
	cfg := httpx.NewConfig("acme", "https://x.test")
	assert.ErrorIs(t, cfg.SetHTTPClient(nil), httpx.ErrInvalidInput)
	assert.ErrorIs(t, cfg.SetLogger(nil), httpx.ErrInvalidInput)
	assert.ErrorIs(t, cfg.SetRetry(-1, 0, 0), httpx.ErrInvalidInput)
	assert.ErrorIs(t, cfg.SetTimeout(0), httpx.ErrInvalidInput)
	assert.ErrorIs(t, cfg.SetMaxBodyBytes(0), httpx.ErrInvalidInput)
	assert.ErrorIs(t, cfg.SetUserAgent(" "), httpx.ErrInvalidInput)
	assert.ErrorIs(t, cfg.SetBaseURL("nope"), httpx.ErrInvalidInput)
	require.NoError(t, cfg.SetBaseURL("https://y.test/v1"))
	c, err := httpx.New(cfg)
	require.NoError(t, err)
	assert.Equal(t, "https://y.test/v1/", c.BaseURL().String())
}

func TestValidationError(t *testing.T) {
	err := httpx.Invalid("unique_user_id", "must be 8 to 40 characters")
	assert.Equal(t, "invalid input: unique_user_id: must be 8 to 40 characters", err.Error())
	assert.ErrorIs(t, err, httpx.ErrInvalidInput)
	var ve *httpx.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "unique_user_id", ve.Field)
	assert.False(t, httpx.IsRetryable(err))
	assert.False(t, strings.Contains(err.Error(), "\n"))
}
