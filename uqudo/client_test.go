package uqudo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

func TestNewClient_Validation(t *testing.T) {
	cases := []struct {
		name  string
		creds uqudo.Credentials
		opts  []uqudo.Option
		field string
	}{
		{"empty client id", uqudo.Credentials{ClientSecret: testSecret}, nil, "client_id"},
		{"empty secret", uqudo.Credentials{ClientID: testClientID}, nil, "client_secret"},
		{"nil option", testCreds, []uqudo.Option{nil}, "option"},
		{"bad auth url", testCreds, []uqudo.Option{uqudo.WithAuthURL("ftp://x")}, "auth_url"},
		{"relative session url", testCreds, []uqudo.Option{uqudo.WithSessionURL("/api")}, "session_url"},
		{"api url with query", testCreds, []uqudo.Option{uqudo.WithAPIURL("https://x/?a=b")}, "api_url"},
		{"empty base url", testCreds, []uqudo.Option{uqudo.WithBaseURL("")}, "base_url"},
		{"nil http client", testCreds, []uqudo.Option{uqudo.WithHTTPClient(nil)}, "http_client"},
		{"bad retry", testCreds, []uqudo.Option{uqudo.WithRetry(-1, 0, 0)}, "retry.max_retries"},
		{"nil logger", testCreds, []uqudo.Option{uqudo.WithLogger(nil)}, "logger"},
		{"bad user agent", testCreds, []uqudo.Option{uqudo.WithUserAgent("a\nb")}, "user_agent"},
		{"zero timeout", testCreds, []uqudo.Option{uqudo.WithTimeout(0)}, "timeout"},
		{"zero body size", testCreds, []uqudo.Option{uqudo.WithMaxBodySize(0)}, "max_body_bytes"},
		{"nil clock", testCreds, []uqudo.Option{uqudo.WithClock(nil)}, "clock"},
		{"negative leeway", testCreds, []uqudo.Option{uqudo.WithLeeway(-time.Second)}, "leeway"},
		{"zero jwks refresh", testCreds, []uqudo.Option{uqudo.WithJWKSMinRefresh(0)}, "jwks_min_refresh"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := uqudo.NewClient(tc.creds, tc.opts...)
			require.Nil(t, c)
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
			var ve *uqudo.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
			assert.NotContains(t, err.Error(), testSecret)
		})
	}
}

// Options apply in any order: the HTTP client given last or first is used.
func TestNewClient_OptionOrder(t *testing.T) {
	for _, first := range []bool{true, false} {
		mt := newMock(t)
		mt.RegisterResponder(http.MethodPost, "https://one.test/api/oauth/token",
			httpmock.NewStringResponder(200, `{"access_token":"`+testToken+`","expires_in":60}`))
		opts := []uqudo.Option{uqudo.WithRetry(0, 0, 0), uqudo.WithBaseURL("https://one.test")}
		hc := uqudo.WithHTTPClient(&http.Client{Transport: mt})
		if first {
			opts = append([]uqudo.Option{hc}, opts...)
		} else {
			opts = append(opts, hc)
		}
		c, err := uqudo.NewClient(testCreds, opts...)
		require.NoError(t, err)
		_, err = c.AccessToken(context.Background())
		require.NoError(t, err)
		c.Close()
		assert.Equal(t, 1, mt.GetCallCountInfo()["POST https://one.test/api/oauth/token"])
	}
}

func TestClient_NilContext(t *testing.T) {
	mt := newMock(t)
	c := mockClient(t, mt)
	var nilCtx context.Context
	_, err := c.CreateSession(nilCtx, passportData())
	require.ErrorIs(t, err, uqudo.ErrInvalidInput)
	_, err = c.AccessToken(nilCtx)
	require.ErrorIs(t, err, uqudo.ErrInvalidInput)
	_, err = c.Info(nilCtx, sid)
	require.ErrorIs(t, err, uqudo.ErrInvalidInput)
	_, err = c.Verifier().Verify(nilCtx, "a.b.c", uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrInvalidInput)
	assert.Empty(t, mt.GetCallCountInfo()["POST "+authBase+"api/oauth/token"])
}

func TestCredentials_Redacted(t *testing.T) {
	creds := uqudo.Credentials{ClientID: testClientID, ClientSecret: testSecret}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, creds)
		assert.NotContains(t, out, testSecret, verb)
		out = fmt.Sprintf(verb, &creds)
		assert.NotContains(t, out, testSecret, verb)
	}
	assert.Contains(t, creds.String(), testClientID)
	assert.Contains(t, creds.String(), "[REDACTED]")
	assert.Contains(t, uqudo.Credentials{ClientID: "x"}.String(), `ClientSecret: ""`)

	logger, buf := logCapture()
	logger.Info("creds", "creds", creds)
	assert.NotContains(t, buf.String(), testSecret)
	assert.Contains(t, buf.String(), testClientID)
}

func TestClient_FormatHidesSecrets(t *testing.T) {
	mt := newMock(t)
	c := mockClient(t, mt)
	tok, err := c.AccessToken(context.Background())
	require.NoError(t, err)
	require.Equal(t, testToken, tok.Token)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		for _, v := range []any{c, tok, *tok, []any{c, tok}} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, testSecret, verb)
			assert.NotContains(t, out, testToken, verb)
		}
	}
	logger, buf := logCapture()
	logger.Info("state", "client", c, "token", tok)
	assert.NotContains(t, buf.String(), testToken)
	assert.NotContains(t, buf.String(), testSecret)
	assert.Contains(t, buf.String(), "[REDACTED]")
	var nilTok *uqudo.AccessToken
	assert.Equal(t, "<nil>", fmt.Sprint(nilTok))
}

// Every call, successful or failed, logs nothing secret; errors carry no
// secret even when the vendor echoes it.
func TestClient_NoSecretsInLogsOrErrors(t *testing.T) {
	logger, buf := logCapture()
	mt := newMock(t)
	c := mockClient(t, mt, uqudo.WithLogger(logger))
	echo := `{"message":"bad token ` + testToken + ` for secret ` + testSecret + `"}`
	mt.RegisterResponder(http.MethodPost, sessionBase+"api/v1/session", httpmock.NewStringResponder(400, echo))
	mt.RegisterResponder(http.MethodDelete, `=~^`+sessionBase+`api/v1/session/`, httpmock.NewStringResponder(500, echo))
	mt.RegisterResponder(http.MethodGet, `=~^`+apiBase+`api/v1/info/`, httpmock.NewStringResponder(404, echo))

	ctx := context.Background()
	var errs []error
	_, err := c.CreateSession(ctx, passportData())
	errs = append(errs, err)
	errs = append(errs, c.DeleteSession(ctx, "qr-text"))
	_, err = c.Info(ctx, "sess-1")
	errs = append(errs, err)
	for _, err := range errs {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), testToken)
		assert.NotContains(t, err.Error(), testSecret)
		assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), testToken)
		var apiErr *uqudo.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.NotContains(t, string(apiErr.Body), testToken)
		assert.NotContains(t, string(apiErr.Body), testSecret)
	}
	logs := buf.String()
	require.NotEmpty(t, logs)
	assert.NotContains(t, logs, testToken)
	assert.NotContains(t, logs, testSecret)
}

// Bad credentials: a typed error, matching ErrUnauthorized, without the secret.
func TestClient_BadCredentials_Typed(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder(http.MethodPost, authBase+"api/oauth/token",
		httpmock.NewStringResponder(401, `{"error":"invalid_client","error_description":"Bad credentials"}`))
	c, err := uqudo.NewClient(testCreds, uqudo.WithHTTPClient(&http.Client{Transport: mt}),
		uqudo.WithAuthURL(authBase), uqudo.WithRetry(3, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.CreateSession(context.Background(), passportData())
	require.ErrorIs(t, err, uqudo.ErrBadCredentials)
	require.ErrorIs(t, err, uqudo.ErrUnauthorized)
	var apiErr *uqudo.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 401, apiErr.StatusCode)
	assert.Equal(t, "invalid_client", apiErr.Code)
	assert.NotContains(t, err.Error(), testSecret)
	assert.True(t, errors.Is(uqudo.ErrBadCredentials, uqudo.ErrUnauthorized))
	assert.Equal(t, 1, mt.GetCallCountInfo()["POST "+authBase+"api/oauth/token"], "a 401 is not retried")
}

// Issue 11 item 3: Credentials never JSON-encode the secret, and no secret
// shows under fmt, slog (Text and JSON, nested) or JSON in any exported
// uqudo type holding one.
func TestSecrets_AllTypes(t *testing.T) {
	creds := uqudo.Credentials{ClientID: testClientID, ClientSecret: testSecret}
	raw, err := json.Marshal(creds)
	require.NoError(t, err)
	assert.JSONEq(t, `{"ClientID":"`+testClientID+`"}`, string(raw))
	var back uqudo.Credentials
	require.NoError(t, json.Unmarshal([]byte(`{"ClientID":"a","ClientSecret":"b"}`), &back))
	assert.Empty(t, back.ClientSecret, "the secret is not read from JSON either")

	mt := newMock(t)
	c := mockClient(t, mt)
	tok, err := c.AccessToken(context.Background())
	require.NoError(t, err)
	assertNoSecrets(t, []any{creds, &creds, c}, testSecret, testToken)
	// AccessToken's JSON deliberately carries the token (that is how it
	// reaches the app): check it through fmt and slog only.
	checkNoSecrets(t, []any{*tok, tok}, false, []string{testSecret, testToken})
	raw, err = json.Marshal(tok)
	require.NoError(t, err)
	assert.Contains(t, string(raw), testToken)
}

// Issue 11 item 16 and issue 12: a zero or nil Client prints safely and
// fails with an error instead of panicking; Close is nil-safe and
// idempotent; BaseURL is the info API base.
func TestClient_ZeroAndNil(t *testing.T) {
	var nilC *uqudo.Client
	zero := &uqudo.Client{}
	for _, c := range []*uqudo.Client{nilC, zero} {
		require.NotPanics(t, func() {
			assert.Equal(t, "uqudo.Client{}", c.String())
			assert.Equal(t, "uqudo.Client{}", fmt.Sprintf("%v %+v %#v", c, c, c)[:len("uqudo.Client{}")])
			logger, _ := logCapture()
			logger.Info("x", "client", c)
			assert.Empty(t, c.BaseURL())
			assert.Nil(t, c.Verifier())
			c.Close()
			c.Close()
			_, err := c.AccessToken(context.Background())
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
			_, err = c.CreateSession(context.Background(), passportData())
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
			_, err = c.Info(context.Background(), sid)
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
		})
	}
	c, err := uqudo.NewClient(testCreds)
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, uqudo.DefaultAPIURL, c.BaseURL())
	c2, err := uqudo.NewClient(testCreds, uqudo.WithBaseURL("https://proxy.test/uqudo"))
	require.NoError(t, err)
	defer c2.Close()
	assert.Equal(t, "https://proxy.test/uqudo/", c2.BaseURL())
	c3, err := uqudo.NewClient(testCreds, uqudo.WithBaseURL("https://proxy.test/"), uqudo.WithAPIURL("https://id.test/x"))
	require.NoError(t, err)
	defer c3.Close()
	assert.Equal(t, "https://id.test/x/", c3.BaseURL())
}

// Close releases the token cache and the verifier: every later call fails
// at once with ErrClosed, without a request; Close may be called twice and
// concurrently.
func TestClient_Close_CallsFailWithErrClosed(t *testing.T) {
	mt, fake, c := infoMock(t)
	jws, err := fake.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	_, err = c.AccessToken(context.Background())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	before := mt.GetTotalCallCount()
	_, err = c.AccessToken(context.Background())
	require.ErrorIs(t, err, uqudo.ErrClosed)
	_, err = c.CreateSession(context.Background(), passportData())
	require.ErrorIs(t, err, uqudo.ErrClosed)
	_, err = c.Info(context.Background(), sid)
	require.ErrorIs(t, err, uqudo.ErrClosed)
	require.ErrorIs(t, c.DeleteInfo(context.Background(), sid), uqudo.ErrClosed)
	_, err = c.Verifier().Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrClosed)
	assert.Equal(t, before, mt.GetTotalCallCount())
}

// Issue 11 item 6: a call whose context ends while it waits for the shared
// access-token request returns a *TransportError naming the token request,
// and still matches the context error.
func TestClient_ContextEndsWhileWaitingForToken(t *testing.T) {
	mt := newMock(t)
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	mt.RegisterResponder(http.MethodPost, authBase+"api/oauth/token", func(r *http.Request) (*http.Response, error) {
		<-release
		return httpmock.NewStringResponse(200, `{"access_token":"`+testToken+`","expires_in":1800}`), nil
	})
	mt.RegisterResponder(http.MethodPost, sessionBase+"api/v1/session",
		httpmock.NewStringResponder(200, `{"sessionId":"s1","qrCodeText":"qr1"}`))
	c, err := uqudo.NewClient(testCreds, uqudo.WithHTTPClient(&http.Client{Transport: mt}),
		uqudo.WithAuthURL(authBase), uqudo.WithSessionURL(sessionBase), uqudo.WithAPIURL(apiBase))
	require.NoError(t, err)
	defer c.Close()

	check := func(t *testing.T, err error, want error) {
		t.Helper()
		require.ErrorIs(t, err, want)
		var te *uqudo.TransportError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, "uqudo", te.Vendor)
		assert.Equal(t, http.MethodPost, te.Method)
		assert.Equal(t, "/a/api/oauth/token", te.Path)
		assert.False(t, te.Sent)
		assert.False(t, uqudo.IsRetryable(err), "the caller's own context ended")
		assert.NotContains(t, err.Error(), testSecret)
	}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"AccessToken", func(ctx context.Context) error { _, err := c.AccessToken(ctx); return err }},
		{"CreateSession", func(ctx context.Context) error { _, err := c.CreateSession(ctx, passportData()); return err }},
		{"Info", func(ctx context.Context) error { _, err := c.Info(ctx, sid); return err }},
		{"DeleteSession", func(ctx context.Context) error { return c.DeleteSession(ctx, "qr1") }},
	}
	for _, tc := range calls {
		t.Run(tc.name+"/canceled before", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			check(t, tc.call(ctx), context.Canceled)
		})
		t.Run(tc.name+"/deadline while waiting", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			check(t, tc.call(ctx), context.DeadlineExceeded)
		})
		t.Run(tc.name+"/canceled while waiting", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(10*time.Millisecond, cancel)
			check(t, tc.call(ctx), context.Canceled)
		})
	}
	// The shared request went on: once it answers, calls succeed.
	once.Do(func() { close(release) })
	_, err = c.CreateSession(context.Background(), passportData())
	require.NoError(t, err)
}
