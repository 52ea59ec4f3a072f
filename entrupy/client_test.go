package entrupy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

func TestNewClient_Invalid(t *testing.T) {
	ok := entrupy.Credentials{APIToken: testToken}
	tests := []struct {
		name  string
		creds entrupy.Credentials
		opts  []entrupy.Option
		field string
	}{
		{"empty token", entrupy.Credentials{}, nil, "api_token"},
		{"token with spaces", entrupy.Credentials{APIToken: " " + testToken}, nil, "api_token"},
		{"token with newline", entrupy.Credentials{APIToken: testToken + "\r\nX-Evil: 1"}, nil, "api_token"},
		{"empty base URL", ok, []entrupy.Option{entrupy.WithBaseURL("")}, "base_url"},
		{"relative base URL", ok, []entrupy.Option{entrupy.WithBaseURL("/v2")}, "base_url"},
		{"ftp base URL", ok, []entrupy.Option{entrupy.WithBaseURL("ftp://entrupy.test/")}, "base_url"},
		{"base URL with query", ok, []entrupy.Option{entrupy.WithBaseURL("https://entrupy.test/?a=1")}, "base_url"},
		{"unparsable base URL", ok, []entrupy.Option{entrupy.WithBaseURL("https://[::1")}, "base_url"},
		{"nil HTTP client", ok, []entrupy.Option{entrupy.WithHTTPClient(nil)}, "http_client"},
		{"negative retries", ok, []entrupy.Option{entrupy.WithRetry(-1, 0, 0)}, "retry.max_retries"},
		{"inverted waits", ok, []entrupy.Option{entrupy.WithRetry(1, time.Second, time.Millisecond)}, "retry.max_wait"},
		{"nil logger", ok, []entrupy.Option{entrupy.WithLogger(nil)}, "logger"},
		{"empty user agent", ok, []entrupy.Option{entrupy.WithUserAgent(" ")}, "user_agent"},
		{"zero timeout", ok, []entrupy.Option{entrupy.WithTimeout(0)}, "timeout"},
		{"zero body size", ok, []entrupy.Option{entrupy.WithMaxBodySize(0)}, "max_body_bytes"},
		{"empty API version", ok, []entrupy.Option{entrupy.WithAPIVersion("")}, "api_version"},
		{"API version with newline", ok, []entrupy.Option{entrupy.WithAPIVersion("2.0\n")}, "api_version"},
		{"language fr", ok, []entrupy.Option{entrupy.WithLanguage("fr")}, "language"},
		{"nil clock", ok, []entrupy.Option{entrupy.WithClock(nil)}, "clock"},
		{"zero lifetime", ok, []entrupy.Option{entrupy.WithDefaultTokenLifetime(0)}, "token_lifetime"},
		{"lifetime over 7 days", ok, []entrupy.Option{entrupy.WithDefaultTokenLifetime(8 * 24 * time.Hour)}, "token_lifetime"},
		{"negative soft window", ok, []entrupy.Option{entrupy.WithSoftWindow(-time.Second)}, "soft_window"},
		{"soft window not shorter than lifetime", ok, []entrupy.Option{entrupy.WithSoftWindow(24 * time.Hour)}, "soft_window"},
		{"nil option", ok, []entrupy.Option{nil}, "option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := entrupy.NewClient(tt.creds, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
			var ve *entrupy.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			noSecret(t, "error", err.Error(), testToken)
		})
	}
}

func TestNewClient_OptionOrderDoesNotMatter(t *testing.T) {
	// A 2 h soft window is only valid with a lifetime over 2 h: the check
	// runs after every option, whatever their order.
	a := []entrupy.Option{entrupy.WithSoftWindow(2 * time.Hour), entrupy.WithDefaultTokenLifetime(3 * time.Hour)}
	b := []entrupy.Option{a[1], a[0]}
	for _, opts := range [][]entrupy.Option{a, b} {
		_, err := entrupy.NewClient(entrupy.Credentials{APIToken: testToken}, opts...)
		assert.NoError(t, err)
	}
}

func TestClient_Headers(t *testing.T) {
	tests := []struct {
		name     string
		opts     []entrupy.Option
		version  string
		language string
		uaPrefix string
	}{
		{"defaults", nil, "2.0", "", "sdkbroker/"},
		{"options", []entrupy.Option{entrupy.WithAPIVersion("2.1"), entrupy.WithLanguage(entrupy.LanguageJapanese), entrupy.WithUserAgent("myapp/1.2")}, "2.1", "ja", "myapp/1.2 sdkbroker/"},
		{"english", []entrupy.Option{entrupy.WithLanguage("en")}, "2.0", "en", "sdkbroker/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mt := newMock(t, tt.opts...)
			var got http.Header
			mt.RegisterResponder(http.MethodGet, testBase+"v2/authentications/ent_1", func(r *http.Request) (*http.Response, error) {
				got = r.Header.Clone()
				return jsonResponder(200, `{"entrupy_id":"ent_1"}`)(r)
			})
			_, err := c.GetAuthentication(context.Background(), "ent_1")
			require.NoError(t, err)
			assert.Equal(t, []string{"Token " + testToken}, got.Values("Authorization"))
			assert.Equal(t, tt.version, got.Get("Api-Version"))
			assert.Equal(t, tt.language, got.Get("Accept-Language"))
			assert.Equal(t, "application/json", got.Get("Accept"))
			assert.True(t, strings.HasPrefix(got.Get("User-Agent"), tt.uaPrefix), "User-Agent %q", got.Get("User-Agent"))
			assert.Contains(t, got.Get("User-Agent"), "(+entrupy)")
		})
	}
}

func TestClient_DefaultBaseURL(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, "https://api.entrupy.com/v2/lookup/authentications/sku-1",
		jsonResponder(200, `{"entrupy_id":"ent_1","customer_item_id":"sku-1"}`))
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		return httpmock.NewStringResponse(501, ""), nil
	})
	c, err := entrupy.NewClient(entrupy.Credentials{APIToken: testToken}, entrupy.WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	a, err := c.LookupAuthentication(context.Background(), "sku-1")
	require.NoError(t, err)
	assert.Equal(t, "ent_1", a.EntrupyID)
}

func TestClient_BaseURLPathKept(t *testing.T) {
	for _, base := range []string{"https://proxy.test/entrupy", "https://proxy.test/entrupy/"} {
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodPost, "https://proxy.test/entrupy/v2/support/escalations",
			jsonResponder(201, `{"id":"esc_1"}`))
		mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			return httpmock.NewStringResponse(501, ""), nil
		})
		c, err := entrupy.NewClient(entrupy.Credentials{APIToken: testToken},
			entrupy.WithBaseURL(base), entrupy.WithHTTPClient(&http.Client{Transport: mt}))
		require.NoError(t, err)
		_, err = c.Escalate(context.Background(), entrupy.EscalationParams{EntrupyID: "e", CustomerItemID: "c", Reason: "r"})
		require.NoError(t, err, base)
	}
}

func TestCredentialsAndClient_DoNotPrintToken(t *testing.T) {
	creds := entrupy.Credentials{APIToken: testToken}
	c, _ := newMock(t)
	type wrapper struct {
		Creds  entrupy.Credentials
		Client *entrupy.Client
	}
	w := wrapper{creds, c}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{creds, &creds, c, *c, w, &w} {
			noSecret(t, fmt.Sprintf("%s of %T", verb, v), fmt.Sprintf(verb, v), testToken)
		}
	}
	assert.Contains(t, creds.String(), "[REDACTED]")
	assert.Contains(t, creds.GoString(), "[REDACTED]")
	assert.Equal(t, `entrupy.Credentials{APIToken:""}`, entrupy.Credentials{}.String())
	assert.Contains(t, c.String(), "https://entrupy.test/api/")

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("creds", "creds", creds, "client", c)
	}
	assert.Contains(t, buf.String(), "[REDACTED]")
	noSecret(t, "slog", buf.String(), testToken)
}

func TestClient_LogsHoldNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mt := newMock(t, entrupy.WithLogger(logger))
	const signed = "signed-request-5ec7e7-abcdefghijkl"
	const sdkReq = "sdk-request-from-the-app-0123456789"
	n := 0
	mt.RegisterResponder(http.MethodPost, testBase+"v2/integrations/authorize-user", func(r *http.Request) (*http.Response, error) {
		n++
		switch n {
		case 1:
			return jsonResponder(429, `{"detail":"slow down `+testToken+`"}`, "Retry-After", "0")(r)
		case 2:
			return jsonResponder(200, `{"signed_authorization_request":"`+signed+`"}`)(r)
		}
		return jsonResponder(401, `{"detail":"Invalid token `+testToken+` for `+sdkReq+`"}`)(r)
	})
	p := entrupy.AuthorizeUserParams{SDKAuthorizationRequest: sdkReq, UniqueUserID: "user-0001", Email: "ann@example.com"}
	tok, err := c.AuthorizeUser(context.Background(), p)
	require.NoError(t, err)
	logger.Info("token issued", "token", tok)
	_, err = c.AuthorizeUser(context.Background(), p)
	require.ErrorIs(t, err, entrupy.ErrUnauthorized)
	noSecret(t, "error", err.Error(), testToken, sdkReq)
	var apiErr *entrupy.APIError
	require.ErrorAs(t, err, &apiErr)
	noSecret(t, "APIError.Body", string(apiErr.Body), testToken, sdkReq)
	noSecret(t, "APIError.Message", apiErr.Message, testToken, sdkReq)

	out := buf.String()
	assert.Contains(t, out, "/api/v2/integrations/authorize-user")
	assert.Contains(t, out, "status=429")
	noSecret(t, "log", out, testToken, signed, sdkReq)
}

func TestClient_ContextCanceled(t *testing.T) {
	c, mt := newMock(t)
	mt.RegisterResponder(http.MethodGet, testBase+"v2/authentications/ent_1", jsonResponder(200, `{"entrupy_id":"ent_1"}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.GetAuthentication(ctx, "ent_1")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	var te *entrupy.TransportError
	assert.True(t, errors.As(err, &te))
	assert.False(t, entrupy.IsRetryable(err))
}

func TestClient_NilContext(t *testing.T) {
	c, _ := newMock(t)
	//lint:ignore SA1012 checking that a nil context is an error, not a panic
	_, err := c.GetAuthentication(nil, "ent_1") //nolint:staticcheck
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
}

// TestClient_ZeroValue: a nil or zero Client prints safely and its calls
// fail with a clear error instead of panicking.
func TestClient_ZeroValue(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]*entrupy.Client{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			assert.NotPanics(t, func() {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
					_ = fmt.Sprintf(verb, c)
				}
			})
			assert.Equal(t, "entrupy.Client{}", c.String())
			assert.Empty(t, c.BaseURL())
			_, err := c.GetAuthentication(ctx, "ent_1")
			var ve *entrupy.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "client", ve.Field)
			_, err = c.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: "r", UniqueUserID: "user-0001", Email: "a@b.test"})
			assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
			_, err = c.ListSupportMessages(ctx, "ent_1", nil)
			assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
			assert.NotPanics(t, c.Close)
			assert.NotPanics(t, c.Close)
		})
	}
	var zero entrupy.Client
	assert.NotPanics(t, func() { _ = fmt.Sprintf("%v %+v %#v", zero, zero, zero) })
}

// TestClient_Close: Close is idempotent and safe concurrently; calls after it
// fail with ErrClosed and send nothing.
func TestClient_Close(t *testing.T) {
	c, mt := newMock(t)
	mt.RegisterResponder(http.MethodGet, testBase+"v2/authentications/e", jsonResponder(200, `{"entrupy_id":"e"}`))
	_, err := c.GetAuthentication(context.Background(), "e")
	require.NoError(t, err)
	done := make(chan struct{})
	for range 4 {
		go func() { c.Close(); done <- struct{}{} }()
	}
	for range 4 {
		<-done
	}
	c.Close()
	_, err = c.GetAuthentication(context.Background(), "e")
	assert.ErrorIs(t, err, entrupy.ErrClosed)
	_, err = c.AuthorizeUser(context.Background(), entrupy.AuthorizeUserParams{SDKAuthorizationRequest: "r", UniqueUserID: "user-0001", Email: "a@b.test"})
	assert.ErrorIs(t, err, entrupy.ErrClosed)
	assert.Equal(t, 1, mt.GetTotalCallCount(), "nothing is sent after Close")
	assert.Equal(t, testBase, c.BaseURL(), "accessors keep working")
}
