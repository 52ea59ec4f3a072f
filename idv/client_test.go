package idv_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
)

func TestNewClient_Validation(t *testing.T) {
	good := idv.Credentials{APIKey: testKey}
	tests := []struct {
		name  string
		base  string
		creds idv.Credentials
		opts  []idv.Option
		field string
	}{
		{"empty base", "", good, nil, "base_url"},
		{"relative base", "idv.test/api", good, nil, "base_url"},
		{"http without opt-in", "http://idv.test/", good, nil, "base_url"},
		{"ftp", "ftp://idv.test/", good, []idv.Option{idv.WithInsecureHTTP()}, "base_url"},
		{"query", "https://idv.test/?a=b", good, nil, "base_url"},
		{"fragment", "https://idv.test/#x", good, nil, "base_url"},
		{"user info", "https://u:p@idv.test/", good, nil, "base_url"},
		{"no host", "https:///path", good, nil, "base_url"},
		{"empty key", testBase, idv.Credentials{}, nil, "api_key"},
		{"key with newline", testBase, idv.Credentials{APIKey: "abc\r\nX-Evil: 1"}, nil, "api_key"},
		{"key with spaces around", testBase, idv.Credentials{APIKey: " " + testKey}, nil, "api_key"},
		{"nil option", testBase, good, []idv.Option{nil}, "option"},
		{"nil http client", testBase, good, []idv.Option{idv.WithHTTPClient(nil)}, "http_client"},
		{"negative retries", testBase, good, []idv.Option{idv.WithRetry(-1, 0, 0)}, "retry.max_retries"},
		{"inverted waits", testBase, good, []idv.Option{idv.WithRetry(1, time.Second, time.Millisecond)}, "retry.max_wait"},
		{"nil logger", testBase, good, []idv.Option{idv.WithLogger(nil)}, "logger"},
		{"empty user agent", testBase, good, []idv.Option{idv.WithUserAgent(" ")}, "user_agent"},
		{"user agent newline", testBase, good, []idv.Option{idv.WithUserAgent("a\nb")}, "user_agent"},
		{"zero timeout", testBase, good, []idv.Option{idv.WithTimeout(0)}, "timeout"},
		{"zero body size", testBase, good, []idv.Option{idv.WithMaxBodySize(0)}, "max_body_bytes"},
		{"scheme with space", testBase, good, []idv.Option{idv.WithAuthScheme("Api Key")}, "auth_scheme"},
		{"nil clock", testBase, good, []idv.Option{idv.WithClock(nil)}, "clock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := idv.NewClient(tt.base, tt.creds, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, idv.ErrInvalidInput)
			var ve *idv.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			assert.NotContains(t, err.Error(), testKey)
		})
	}
}

func TestNewClient_HTTPNeedsOptIn(t *testing.T) {
	_, err := idv.NewClient("http://127.0.0.1:8080/", idv.Credentials{APIKey: testKey})
	require.ErrorIs(t, err, idv.ErrInvalidInput)
	assert.Contains(t, err.Error(), "WithInsecureHTTP")

	// Option order never matters: the insecure opt-in works before or after
	// options that would also touch the base URL checks.
	orders := [][]idv.Option{
		{idv.WithInsecureHTTP(), idv.WithTimeout(time.Second), idv.WithAuthScheme("Bearer")},
		{idv.WithTimeout(time.Second), idv.WithAuthScheme("Bearer"), idv.WithInsecureHTTP()},
	}
	for i, opts := range orders {
		c, err := idv.NewClient("http://127.0.0.1:8080/base", idv.Credentials{APIKey: testKey}, opts...)
		require.NoError(t, err, "order %d", i)
		assert.Equal(t, "http://127.0.0.1:8080/base/", c.BaseURL())
	}
}

func TestClient_BaseURLKeepsPath(t *testing.T) {
	c, err := idv.NewClient("https://idv.test/tenant", idv.Credentials{APIKey: testKey})
	require.NoError(t, err)
	assert.Equal(t, "https://idv.test/tenant/", c.BaseURL())
}

// TestClient_WithBaseURL: the option overrides the positional base URL in
// any order, for calls and handoff URLs, with the same checks.
func TestClient_WithBaseURL(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodGet, "https://proxy.test/idv/api/sessions/s1", respond(200, `{"id":"s1"}`), respond(200, `{"id":"s1"}`))
	for _, base := range []string{"https://ignored.test/", ""} {
		c, err := idv.NewClient(base, idv.Credentials{APIKey: testKey},
			idv.WithBaseURL("https://proxy.test/idv"), idv.WithHTTPClient(&http.Client{Transport: mt}))
		require.NoError(t, err)
		assert.Equal(t, "https://proxy.test/idv/", c.BaseURL())
		_, err = c.GetSession(context.Background(), "s1")
		require.NoError(t, err)
		u, err := c.HandoffURL(&idv.EphemeralDevice{Token: "t"}, &idv.Session{ID: "s1"})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(u, "https://proxy.test/idv/capture?"), u)
	}
	// http needs the opt-in, whatever the order.
	_, err := idv.NewClient("", idv.Credentials{APIKey: testKey}, idv.WithBaseURL("http://127.0.0.1:9/"))
	assert.ErrorIs(t, err, idv.ErrInvalidInput)
	c, err := idv.NewClient("", idv.Credentials{APIKey: testKey}, idv.WithBaseURL("http://127.0.0.1:9/"), idv.WithInsecureHTTP())
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9/", c.BaseURL())
	for _, bad := range []string{"", "idv.test", "https://idv.test/?q=1"} {
		_, err := idv.NewClient(testBase, idv.Credentials{APIKey: testKey}, idv.WithBaseURL(bad))
		var ve *idv.ValidationError
		require.ErrorAs(t, err, &ve, bad)
		assert.Equal(t, "base_url", ve.Field)
	}
}

func TestClient_AuthScheme(t *testing.T) {
	tests := []struct {
		name string
		opts []idv.Option
		want string
	}{
		{"default", nil, "ApiKey " + testKey},
		{"custom", []idv.Option{idv.WithAuthScheme("Bearer")}, "Bearer " + testKey},
		{"bare key", []idv.Option{idv.WithAuthScheme("")}, testKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := newMock(t)
			rec := register(mt, http.MethodGet, "https://idv.test/tenant/api/sessions/s1", respond(200, `{"id":"s1"}`))
			c := newClient(t, mt, tt.opts...)
			_, err := c.GetSession(context.Background(), "s1")
			require.NoError(t, err)
			reqs := rec.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.want, reqs[0].Header.Get("Authorization"))
		})
	}
}

func TestClient_UserAgent(t *testing.T) {
	mt := newMock(t)
	rec := register(mt, http.MethodGet, "https://idv.test/tenant/api/sessions/s1", respond(200, `{"id":"s1"}`))
	c := newClient(t, mt, idv.WithUserAgent("acme-backend/2.1"))
	_, err := c.GetSession(context.Background(), "s1")
	require.NoError(t, err)
	ua := rec.requests()[0].Header.Get("User-Agent")
	assert.True(t, strings.HasPrefix(ua, "acme-backend/2.1 sdkbroker/"), ua)
	assert.Contains(t, ua, "(+idv)")
}

func TestClient_MaxBodySize(t *testing.T) {
	mt := newMock(t)
	big := `{"id":"s1","properties":{"blob":"` + strings.Repeat("x", 2048) + `"}}`
	register(mt, http.MethodGet, "https://idv.test/tenant/api/sessions/s1", respond(200, big))
	c := newClient(t, mt, idv.WithMaxBodySize(1024))
	_, err := c.GetSession(context.Background(), "s1")
	require.ErrorIs(t, err, idv.ErrBodyTooLarge)
	require.ErrorIs(t, err, idv.ErrMalformedResponse)
}

func TestClient_ContextCanceled(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder(http.MethodGet, "https://idv.test/tenant/api/sessions/s1", func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	c := newClient(t, mt)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err := c.GetSession(ctx, "s1")
	require.ErrorIs(t, err, context.Canceled)
	var te *idv.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, idv.IsRetryable(err))
}

func TestClient_Timeout(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder(http.MethodGet, "https://idv.test/tenant/api/sessions/s1", func(r *http.Request) (*http.Response, error) {
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-time.After(5 * time.Second):
			return httpmock.NewStringResponse(200, `{"id":"s1"}`), nil
		}
	})
	c := newClient(t, mt, idv.WithTimeout(20*time.Millisecond), idv.WithRetry(0, 0, 0))
	start := time.Now()
	_, err := c.GetSession(context.Background(), "s1")
	var te *idv.TransportError
	require.ErrorAs(t, err, &te)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestCredentials_Redacted(t *testing.T) {
	creds := idv.Credentials{APIKey: testKey}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%10v"} {
		out := fmt.Sprintf(verb, creds)
		assert.NotContains(t, out, testKey, verb)
		out = fmt.Sprintf(verb, &creds)
		assert.NotContains(t, out, testKey, "pointer "+verb)
	}
	assert.Contains(t, creds.String(), "[REDACTED]")
	assert.Contains(t, idv.Credentials{}.String(), `""`, "an empty key shows as empty")

	logger, buf := logBuffer()
	logger.Info("creds", "creds", creds, "nested", struct{ C idv.Credentials }{creds})
	assert.NotContains(t, buf.String(), testKey)

	js := mustJSON(t, creds)
	assert.NotContains(t, js, testKey)
}

func TestClient_Redacted(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, c)
		assert.NotContains(t, out, testKey, verb)
		assert.Contains(t, out, "idv.test", verb)
	}
	var nilClient *idv.Client
	assert.Equal(t, "idv.Client{}", nilClient.String())
}

// TestClient_ZeroValue: a nil or zero Client prints safely and its calls
// fail with a clear error instead of panicking.
func TestClient_ZeroValue(t *testing.T) {
	ctx := context.Background()
	dev := &idv.EphemeralDevice{Token: testToken, ExpiresAt: time.Now().Add(time.Hour)}
	for name, c := range map[string]*idv.Client{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			assert.NotPanics(t, func() {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
					_ = fmt.Sprintf(verb, c)
				}
			})
			assert.Equal(t, "idv.Client{}", c.String())
			assert.Empty(t, c.BaseURL())
			checks := map[string]error{}
			_, checks["device"] = c.CreateEphemeralDevice(ctx, time.Minute)
			_, checks["session"] = c.StartSession(ctx, dev, "wf", nil)
			_, checks["get"] = c.GetSession(ctx, "s1")
			_, checks["deeplink"] = c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf"}})
			_, checks["initiate"] = c.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf"})
			_, checks["handoff"] = c.HandoffURL(dev, &idv.Session{ID: "s1"})
			for call, err := range checks {
				var ve *idv.ValidationError
				require.ErrorAs(t, err, &ve, call)
				assert.Equal(t, "client", ve.Field, call)
			}
			assert.NotPanics(t, c.Close)
			assert.NotPanics(t, c.Close)
		})
	}
	var zero idv.Client
	assert.NotPanics(t, func() { _ = fmt.Sprintf("%v %+v %#v", zero, zero, zero) })
}

// TestClient_Close: Close is idempotent and safe concurrently; calls after it
// fail with ErrClosed and send nothing, while HandoffURL keeps working.
func TestClient_Close(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodGet, "https://idv.test/tenant/api/sessions/s1", respond(200, `{"id":"s1"}`))
	c := newClient(t, mt)
	_, err := c.GetSession(context.Background(), "s1")
	require.NoError(t, err)
	done := make(chan struct{})
	for range 4 {
		go func() { c.Close(); done <- struct{}{} }()
	}
	for range 4 {
		<-done
	}
	c.Close()
	_, err = c.GetSession(context.Background(), "s1")
	assert.ErrorIs(t, err, idv.ErrClosed)
	_, err = c.CreateEphemeralDevice(context.Background(), time.Minute)
	assert.ErrorIs(t, err, idv.ErrClosed)
	assert.Equal(t, 1, mt.GetTotalCallCount(), "nothing is sent after Close")
	_, err = c.HandoffURL(&idv.EphemeralDevice{Token: testToken}, &idv.Session{ID: "s1"})
	assert.NoError(t, err)
}

// TestClient_NoSecretsInLogsOrErrors drives every call, successful and
// failing, with a debug logger and checks that neither the API key nor the
// device token reaches a log line or an error string, even when the vendor
// echoes them in its error bodies: the API key in every error, the device
// token in errors of the call that carries it.
func TestClient_NoSecretsInLogsOrErrors(t *testing.T) {
	mt := newMock(t)
	logger, buf := logBuffer()
	c := newClient(t, mt, idv.WithLogger(logger))
	ctx := context.Background()
	echo := `{"message":"bad key ` + testKey + `","code":"AUTH ` + testKey + `"}`
	tokenEcho := `{"message":"bad token ` + testToken + `","code":"AUTH ` + testToken + `"}`

	register(mt, http.MethodPost, "https://idv.test/tenant/api/device/ephemeral",
		respond(200, `{"authorization":"`+testToken+`"}`), respond(401, echo))
	register(mt, http.MethodPost, `=~^https://idv\.test/tenant/api/sessions\?`,
		respond(200, `{"id":"s1"}`), respond(401, tokenEcho))
	register(mt, http.MethodGet, "https://idv.test/tenant/api/sessions/s1", respond(403, echo))
	register(mt, http.MethodPost, `=~^https://idv\.test/tenant/api/v1/deeplink\?`, respond(500, echo))

	var errs []error
	h, err := c.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf", ExternalUserID: "u1"})
	require.NoError(t, err)
	_, err = c.CreateEphemeralDevice(ctx, time.Minute)
	errs = append(errs, err)
	_, err = c.StartSession(ctx, h.Device, "wf", nil)
	errs = append(errs, err)
	_, err = c.GetSession(ctx, "s1")
	errs = append(errs, err)
	_, err = c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf"}})
	errs = append(errs, err)

	for i, err := range errs {
		require.Error(t, err, "call %d", i)
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			s := fmt.Sprintf(verb, err)
			assert.NotContains(t, s, testKey, "call %d %s", i, verb)
			assert.NotContains(t, s, testToken, "call %d %s", i, verb)
		}
		var apiErr *idv.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.NotContains(t, string(apiErr.Body), testKey)
		assert.NotContains(t, string(apiErr.Body), testToken)
	}
	logger.Info("handoff", "handoff", h, "device", h.Device)
	logs := buf.String()
	require.NotEmpty(t, logs)
	assert.Contains(t, logs, "path=/tenant/api/sessions/s1")
	assert.Contains(t, logs, "status=403")
	assert.NotContains(t, logs, testKey)
	assert.NotContains(t, logs, testToken)
	assert.NotContains(t, logs, "workflowId", "query strings are never logged")
}
