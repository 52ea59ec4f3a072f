package uqudo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
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
