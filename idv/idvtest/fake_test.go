package idvtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

const apiKeyHeader = "ApiKey " + idvtest.DefaultAPIKey

// do sends one request to the fake through its handler and returns the
// status and decoded JSON body.
func do(t *testing.T, f *idvtest.Fake, method, target, auth, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out, rec.Header()
}

// newDevice creates a device on f and returns its token.
func newDevice(t *testing.T, f *idvtest.Fake, ttl string) string {
	t.Helper()
	status, out, _ := do(t, f, http.MethodPost, "http://example.com/api/device/ephemeral", apiKeyHeader, `{"ttl":`+ttl+`}`)
	require.Equal(t, http.StatusOK, status)
	tok, _ := out["authorization"].(string)
	require.True(t, strings.HasPrefix(tok, idvtest.TokenPrefix))
	return tok
}

// newSession starts a session with tok and returns its id.
func newSession(t *testing.T, f *idvtest.Fake, tok string) string {
	t.Helper()
	status, out, _ := do(t, f, http.MethodPost, "http://example.com/api/sessions?workflowId=wf", "Token "+tok, `{"metadata":{"k":"v"}}`)
	require.Equal(t, http.StatusCreated, status, out)
	id, _ := out["id"].(string)
	require.NotEmpty(t, id)
	assert.EqualValues(t, 0, out["status"])
	return id
}

func handoff(t *testing.T, host, tok, id string) string {
	t.Helper()
	u, err := idv.BuildHandoffURL("http://"+host, tok, id)
	require.NoError(t, err)
	return u
}

func TestFake_CreateDevice(t *testing.T) {
	f := idvtest.New()
	for _, tt := range []struct {
		name, auth, body string
		status           int
		code             string
	}{
		{"ok", apiKeyHeader, `{"ttl":60}`, 200, ""},
		{"default ttl", apiKeyHeader, ``, 200, ""},
		{"no key", "", `{"ttl":60}`, 401, "UNAUTHORIZED"},
		{"bare key", idvtest.DefaultAPIKey, `{"ttl":60}`, 401, "UNAUTHORIZED"},
		{"ttl zero", apiKeyHeader, `{"ttl":0}`, 400, "INVALID_TTL"},
		{"ttl too big", apiKeyHeader, `{"ttl":86401}`, 400, "INVALID_TTL"},
		{"ttl fraction", apiKeyHeader, `{"ttl":1.5}`, 400, "INVALID_TTL"},
		{"ttl string", apiKeyHeader, `{"ttl":"60"}`, 400, "INVALID_TTL"},
		{"not an object", apiKeyHeader, `[1]`, 400, "INVALID_BODY"},
		{"not JSON", apiKeyHeader, `ttl=60`, 400, "INVALID_BODY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out, _ := do(t, f, http.MethodPost, "http://example.com/api/device/ephemeral", tt.auth, tt.body)
			assert.Equal(t, tt.status, status)
			if tt.code != "" {
				assert.Equal(t, tt.code, out["code"])
			}
		})
	}
	assert.Equal(t, 10, f.Calls(idvtest.RouteCreateDevice))
}

func TestFake_StartSession(t *testing.T) {
	f := idvtest.New()
	tok := newDevice(t, f, "60")
	for _, tt := range []struct {
		name, target, auth, body string
		status                   int
		code                     string
	}{
		{"bare token", "/api/sessions?workflowId=wf", tok, `{}`, 201, ""},
		{"no metadata", "/api/sessions?workflowId=wf", "Token " + tok, ``, 201, ""},
		{"null metadata", "/api/sessions?workflowId=wf", "Token " + tok, `{"metadata":null}`, 201, ""},
		{"api key", "/api/sessions?workflowId=wf", apiKeyHeader, `{}`, 401, "API_KEY_NOT_ALLOWED"},
		{"unknown token", "/api/sessions?workflowId=wf", "Token nope", `{}`, 401, "INVALID_TOKEN"},
		{"no workflow", "/api/sessions", "Token " + tok, `{}`, 400, "INVALID_WORKFLOW"},
		{"two workflows", "/api/sessions?workflowId=a&workflowId=b", "Token " + tok, `{}`, 400, "INVALID_WORKFLOW"},
		{"metadata not object", "/api/sessions?workflowId=wf", "Token " + tok, `{"metadata":[1]}`, 400, "INVALID_METADATA"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out, _ := do(t, f, http.MethodPost, "http://example.com"+tt.target, tt.auth, tt.body)
			assert.Equal(t, tt.status, status, out)
			if tt.code != "" {
				assert.Equal(t, tt.code, out["code"])
			}
		})
	}
	id := newSession(t, f, tok)
	rec, ok := f.Session(id)
	require.True(t, ok)
	assert.Equal(t, map[string]any{"k": "v"}, rec.Metadata)
	assert.Equal(t, idv.SessionStatusNotCompleted, rec.Status)
	rec.Metadata["k"] = "changed"
	again, _ := f.Session(id)
	assert.Equal(t, "v", again.Metadata["k"], "Session returns a copy")
}

func TestFake_GetSession(t *testing.T) {
	f := idvtest.New()
	tok := newDevice(t, f, "60")
	id := newSession(t, f, tok)

	status, out, _ := do(t, f, http.MethodGet, "http://example.com/api/sessions/"+id, apiKeyHeader, "")
	require.Equal(t, 200, status)
	assert.Equal(t, id, out["id"])
	assert.Equal(t, "wf", out["workflowId"])

	status, out, _ = do(t, f, http.MethodGet, "http://example.com/api/sessions/"+id, "Token "+tok, "")
	assert.Equal(t, 401, status)
	assert.Equal(t, "DEVICE_TOKEN_NOT_ALLOWED", out["code"])

	status, _, _ = do(t, f, http.MethodGet, "http://example.com/api/sessions/nope", apiKeyHeader, "")
	assert.Equal(t, 404, status)

	require.NoError(t, f.SetResult(id, idv.SessionStatusRejected, map[string]any{"reason": "blurry"}))
	_, out, _ = do(t, f, http.MethodGet, "http://example.com/api/sessions/"+id, apiKeyHeader, "")
	assert.EqualValues(t, 1000, out["status"], "named statuses go on the wire as their code")
	assert.Equal(t, map[string]any{"reason": "blurry"}, out["properties"])
	assert.Error(t, f.SetResult("nope", idv.SessionStatusVerified, nil))

	status, _, _ = do(t, f, http.MethodDelete, "http://example.com/api/sessions/"+id, apiKeyHeader, "")
	assert.Equal(t, http.StatusMethodNotAllowed, status)
}

func TestFake_DeepLink(t *testing.T) {
	f := idvtest.New()
	status, out, _ := do(t, f, http.MethodPost, "https://idv.example/api/v1/deeplink?workflowId=a&workflowId=b", apiKeyHeader, `{"metadata":{},"locale":null,"ttl":60}`)
	require.Equal(t, 200, status, out)
	assert.True(t, strings.HasPrefix(out["url"].(string), "https://idv.example/deeplink/"), out["url"])
	assert.Equal(t, []any{"a", "b"}, out["workflowIds"])
	created, err := time.Parse(time.RFC3339Nano, out["createdAt"].(string))
	require.NoError(t, err)
	expires, err := time.Parse(time.RFC3339Nano, out["expiresAt"].(string))
	require.NoError(t, err)
	assert.Equal(t, time.Minute, expires.Sub(created))

	for _, target := range []string{"/api/v1/deeplink", "/api/v1/deeplink?workflowId=", "/api/v1/deeplink?workflowId=a&workflowId="} {
		status, out, _ = do(t, f, http.MethodPost, "http://example.com"+target, apiKeyHeader, `{}`)
		assert.Equal(t, 400, status, target)
		assert.Equal(t, "INVALID_WORKFLOW", out["code"])
	}
}

func TestFake_CaptureAndMobile(t *testing.T) {
	f := idvtest.New()
	tok := newDevice(t, f, "60")
	id := newSession(t, f, tok)
	other := newDevice(t, f, "60")
	host := "example.com"
	good := handoff(t, host, tok, id)
	innerOf := func(s string) string { u, _ := url.Parse(s); return u.Query().Get("url") }
	capture := func(inner string) string { return "http://" + host + "/capture?" + url.Values{"url": {inner}}.Encode() }

	status, _, hdr := do(t, f, http.MethodGet, good, "", "")
	require.Equal(t, http.StatusFound, status)
	assert.Equal(t, innerOf(good), hdr.Get("Location"), "capture redirects to the inner URL")

	for _, tt := range []struct {
		name, target string
		status       int
		code         string
	}{
		{"no url", "http://" + host + "/capture", 400, "INVALID_URL"},
		{"two urls", "http://" + host + "/capture?url=a&url=b", 400, "INVALID_URL"},
		{"not a URL", capture("http://[::1"), 400, "INVALID_URL"},
		{"other host", capture("http://evil.example/mobile?authorization=x&sessionId=" + id), 400, "FOREIGN_URL"},
		{"other scheme", capture("https://" + host + "/mobile?authorization=x&sessionId=" + id), 400, "FOREIGN_URL"},
		{"other path", capture("http://" + host + "/admin?authorization=x&sessionId=" + id), 400, "FOREIGN_URL"},
		{"no token", capture("http://" + host + "/mobile?sessionId=" + id), 400, "INVALID_URL"},
		{"unknown session", handoff(t, host, tok, "session-404"), 404, "SESSION_NOT_FOUND"},
		{"mobile without params", "http://" + host + "/mobile", 400, "INVALID_REQUEST"},
		{"mobile wrong token", innerOf(handoff(t, host, other, id)), 401, "INVALID_TOKEN"},
		{"mobile unknown session", innerOf(handoff(t, host, tok, "session-404")), 404, "SESSION_NOT_FOUND"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out, _ := do(t, f, http.MethodGet, tt.target, "", "")
			assert.Equal(t, tt.status, status, out)
			assert.Equal(t, tt.code, out["code"])
		})
	}

	status, out, _ := do(t, f, http.MethodGet, innerOf(good), "", "")
	require.Equal(t, 200, status)
	assert.Equal(t, id, out["sessionId"])
	rec, _ := f.Session(id)
	assert.Equal(t, 1, rec.Opened, "only the successful visit counts")
}

func TestFake_TokenExpiry(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	f := idvtest.New(idvtest.WithClock(clock))
	tok := newDevice(t, f, "10")
	id := newSession(t, f, tok)
	inner, _ := url.Parse(handoff(t, "example.com", tok, id))
	mobile := inner.Query().Get("url")

	now = now.Add(10 * time.Second)
	status, out, _ := do(t, f, http.MethodPost, "http://example.com/api/sessions?workflowId=wf", "Token "+tok, `{}`)
	assert.Equal(t, 401, status)
	assert.Equal(t, "TOKEN_EXPIRED", out["code"])
	status, out, _ = do(t, f, http.MethodGet, mobile, "", "")
	assert.Equal(t, 401, status)
	assert.Equal(t, "TOKEN_EXPIRED", out["code"])
}

func TestFake_FailNextOnlyAPI(t *testing.T) {
	f := idvtest.New()
	tok := newDevice(t, f, "60")
	id := newSession(t, f, tok)
	f.FailNext(1, idvtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})

	status, _, _ := do(t, f, http.MethodGet, handoff(t, "example.com", tok, id), "", "")
	assert.Equal(t, http.StatusFound, status, "pages are not failed")

	status, out, hdr := do(t, f, http.MethodGet, "http://example.com/api/sessions/"+id, apiKeyHeader, "")
	assert.Equal(t, 429, status)
	assert.Equal(t, "INJECTED_FAILURE", out["code"])
	assert.Equal(t, "2", hdr.Get("Retry-After"), "whole seconds, rounded up")

	status, _, _ = do(t, f, http.MethodGet, "http://example.com/api/sessions/"+id, apiKeyHeader, "")
	assert.Equal(t, 200, status)
	assert.Equal(t, 2, f.Calls(idvtest.RouteGetSession))
	assert.Equal(t, 1, f.Calls(idvtest.RouteCapture))
	assert.Zero(t, f.Calls("GET /nowhere"))
}

func TestFake_ResponderAndServer(t *testing.T) {
	f := idvtest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodPost, "https://idv.mock/api/device/ephemeral", f.Responder())
	hc := &http.Client{Transport: mt}
	req, _ := http.NewRequest(http.MethodPost, "https://idv.mock/api/device/ephemeral", strings.NewReader(`{"ttl":5}`))
	req.Header.Set("Authorization", apiKeyHeader)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, 1, f.Calls(idvtest.RouteCreateDevice))

	srv := idvtest.NewServer(t, idvtest.WithAPIKey("k-123456"))
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/api/device/ephemeral", nil)
	req.Header.Set("Authorization", "ApiKey k-123456")
	resp2, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp2.Body.Close()
	assert.Equal(t, 200, resp2.StatusCode)
	assert.Equal(t, 1, srv.Calls(idvtest.RouteCreateDevice))
}

func TestServer_NewClient(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := idvtest.NewServer(t, idvtest.WithAPIKey("k-123456"), idvtest.WithAuthScheme(""),
		idvtest.WithClock(func() time.Time { return now }))
	c, err := srv.NewClient(idv.WithRetry(0, 0, 0))
	require.NoError(t, err)
	assert.Equal(t, srv.URL, strings.TrimSuffix(fmt.Sprint(c.BaseURL()), "/"))

	// The fake's key and scheme: the whole initiation goes through.
	h, err := c.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "kyc", ExternalUserID: "user-42"})
	require.NoError(t, err)
	// The fake's clock: the client computes the device's expiry from it.
	assert.Equal(t, now.Add(idv.DefaultTTL), h.Device.ExpiresAt)
	rec, ok := srv.Session(h.Session.ID)
	require.True(t, ok)
	assert.Equal(t, "user-42", rec.Metadata["externalUserId"])

	// The caller's options come after the defaults.
	other, err := srv.NewClient(idv.WithAuthScheme("Bearer"), idv.WithRetry(0, 0, 0))
	require.NoError(t, err)
	_, err = other.CreateEphemeralDevice(context.Background(), time.Minute)
	require.ErrorIs(t, err, idv.ErrUnauthorized)

	_, err = srv.NewClient(nil)
	require.Error(t, err, "a bad option is the client's error")
}

func TestWithAPIKey_EmptyKeepsDefault(t *testing.T) {
	f := idvtest.New(idvtest.WithAPIKey(""), idvtest.WithClock(nil))
	status, _, _ := do(t, f, http.MethodPost, "http://example.com/api/device/ephemeral", apiKeyHeader, `{"ttl":60}`)
	assert.Equal(t, http.StatusOK, status)
}
