package sentiance_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
)

func TestNewClient_InvalidInput(t *testing.T) {
	hc := &http.Client{Transport: httpmock.NewMockTransport()}
	tests := []struct {
		name  string
		creds sentiance.Credentials
		opts  []sentiance.Option
		field string
	}{
		{"empty key", sentiance.Credentials{}, nil, "api_key"},
		{"key with newline", sentiance.Credentials{APIKey: "abc\r\nX-Evil: 1"}, nil, "api_key"},
		{"key with space", sentiance.Credentials{APIKey: "abc def"}, nil, "api_key"},
		{"key padded", sentiance.Credentials{APIKey: " abcdef"}, nil, "api_key"},
		{"nil option", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{nil}, "option"},
		{"unknown region", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithRegion("mars")}, "region"},
		{"empty region", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithRegion("")}, "region"},
		{"relative base URL", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithBaseURL("/users")}, "base_url"},
		{"ftp base URL", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithBaseURL("ftp://x.test")}, "base_url"},
		{"base URL with query", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithBaseURL("https://x.test/?a=1")}, "base_url"},
		{"base URL with user", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithBaseURL("https://u:p@x.test/")}, "base_url"},
		{"empty base URL", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithBaseURL("")}, "base_url"},
		{"nil http client", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithHTTPClient(nil)}, "http_client"},
		{"negative retries", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithRetry(-1, 0, 0)}, "retry.max_retries"},
		{"inverted waits", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithRetry(1, time.Second, time.Millisecond)}, "retry.max_wait"},
		{"nil logger", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithLogger(nil)}, "logger"},
		{"blank user agent", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithUserAgent(" ")}, "user_agent"},
		{"multi-line user agent", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithUserAgent("a\nb")}, "user_agent"},
		{"zero timeout", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithTimeout(0)}, "timeout"},
		{"zero max body", sentiance.Credentials{APIKey: testKey}, []sentiance.Option{sentiance.WithMaxBodySize(0)}, "max_body_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]sentiance.Option{sentiance.WithHTTPClient(hc)}, tt.opts...)
			c, err := sentiance.NewClient(tt.creds, opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
			var ve *sentiance.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			if tt.creds.APIKey != "" {
				assert.NotContains(t, err.Error(), tt.creds.APIKey)
			}
		})
	}
}

func TestNewClient_RegionAndBaseURL(t *testing.T) {
	tests := []struct {
		name string
		opts []sentiance.Option
		want string
	}{
		{"default is EU", nil, "https://api.sentiance.com/"},
		{"EU", []sentiance.Option{sentiance.WithRegion(sentiance.RegionEU)}, "https://api.sentiance.com/"},
		{"US", []sentiance.Option{sentiance.WithRegion(sentiance.RegionUS)}, "https://api.p15.sentiance.com/"},
		{"India", []sentiance.Option{sentiance.WithRegion(sentiance.RegionIN)}, "https://api.r16.sentiance.com/"},
		{"custom base URL", []sentiance.Option{sentiance.WithBaseURL("http://127.0.0.1:9/x")}, "http://127.0.0.1:9/x/"},
		{"base URL wins over a later region", []sentiance.Option{sentiance.WithBaseURL(testBase), sentiance.WithRegion(sentiance.RegionUS)}, testBase},
		{"base URL wins over an earlier region", []sentiance.Option{sentiance.WithRegion(sentiance.RegionIN), sentiance.WithBaseURL(testBase)}, testBase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sentiance.NewClient(sentiance.Credentials{APIKey: testKey}, tt.opts...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.BaseURL())
		})
	}
}

// TestClient_PlatformURL checks the platform URL the SDK gets for each region
// and for a custom base URL, with and without an explicit region.
func TestClient_PlatformURL(t *testing.T) {
	tests := []struct {
		name string
		opts []sentiance.Option
		want string
	}{
		{"default is EU", nil, "https://api.sentiance.com"},
		{"EU", []sentiance.Option{sentiance.WithRegion(sentiance.RegionEU)}, "https://api.sentiance.com"},
		{"US", []sentiance.Option{sentiance.WithRegion(sentiance.RegionUS)}, "https://api.p15.sentiance.com"},
		{"India", []sentiance.Option{sentiance.WithRegion(sentiance.RegionIN)}, "https://api.r16.sentiance.com"},
		{"custom base URL alone", []sentiance.Option{sentiance.WithBaseURL("http://127.0.0.1:9/x/")}, "http://127.0.0.1:9/x"},
		{"proxy with a later region", []sentiance.Option{sentiance.WithBaseURL(testBase), sentiance.WithRegion(sentiance.RegionUS)}, "https://api.p15.sentiance.com"},
		{"proxy with an earlier region", []sentiance.Option{sentiance.WithRegion(sentiance.RegionIN), sentiance.WithBaseURL(testBase)}, "https://api.r16.sentiance.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sentiance.NewClient(sentiance.Credentials{APIKey: testKey}, tt.opts...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.PlatformURL())
		})
	}
	assert.Equal(t, sentiance.PlatformURLUS, sentiance.RegionUS.PlatformURL())
	assert.Empty(t, sentiance.Region("mars").PlatformURL())
	var nilClient *sentiance.Client
	assert.Empty(t, nilClient.PlatformURL())
	assert.Empty(t, (&sentiance.Client{}).PlatformURL())
}

// TestClient_RegionHosts checks that each region's calls really go to its host.
func TestClient_RegionHosts(t *testing.T) {
	for region, host := range map[sentiance.Region]string{
		sentiance.RegionEU: "https://api.sentiance.com",
		sentiance.RegionUS: "https://api.p15.sentiance.com",
		sentiance.RegionIN: "https://api.r16.sentiance.com",
	} {
		t.Run(string(region), func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder(http.MethodDelete, host+"/users/u1", httpmock.NewStringResponder(http.StatusNoContent, ""))
			c, err := sentiance.NewClient(sentiance.Credentials{APIKey: testKey},
				sentiance.WithRegion(region), sentiance.WithHTTPClient(&http.Client{Transport: mt}))
			require.NoError(t, err)
			require.NoError(t, c.DeleteUser(context.Background(), "u1"))
			assert.Equal(t, 1, mt.GetTotalCallCount())
			assert.Equal(t, host, region.BaseURL())
		})
	}
	assert.Empty(t, sentiance.Region("xx").BaseURL())
}

func TestClient_Headers(t *testing.T) {
	mt := newMock(t)
	var got http.Header
	mt.RegisterResponder(http.MethodPost, testBase+"users/auth-code", func(r *http.Request) (*http.Response, error) {
		got = r.Header.Clone()
		return jsonResponder(200, `{"authentication_code":"`+testCode+`","expires_at":"2030-01-01T00:00:00.000Z"}`)(r)
	})
	c := newClient(t, mt, sentiance.WithUserAgent("myapp/1.2"))
	_, err := c.CreateAuthCode(context.Background(), "user-1")
	require.NoError(t, err)
	assert.Equal(t, "Bearer "+testKey, got.Get("Authorization"))
	assert.Equal(t, "application/json", got.Get("Content-Type"))
	assert.Equal(t, "application/json", got.Get("Accept"))
	assert.True(t, strings.HasPrefix(got.Get("User-Agent"), "myapp/1.2 sdkbroker/"), got.Get("User-Agent"))
	assert.Contains(t, got.Get("User-Agent"), "sentiance")
}

// TestNewClient_OptionOrder checks that WithHTTPClient given after WithRetry
// keeps the retry policy (options fill a config; the client is built once).
func TestNewClient_OptionOrder(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder(http.MethodDelete, testBase+"users/u1", jsonResponder(503, `{"message":"down"}`))
	c, err := sentiance.NewClient(sentiance.Credentials{APIKey: testKey},
		sentiance.WithRetry(1, time.Millisecond, 2*time.Millisecond),
		sentiance.WithBaseURL(testBase),
		sentiance.WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	err = c.DeleteUser(context.Background(), "u1")
	require.ErrorIs(t, err, sentiance.ErrServer)
	assert.Equal(t, 2, calls(mt, "DELETE "+testBase+"users/u1"))
}

func TestClient_ContextCanceled(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.CreateAuthCode(ctx, "user-1")
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	var te *sentiance.TransportError
	assert.ErrorAs(t, err, &te)
	assert.False(t, sentiance.IsRetryable(err))
}

func TestClient_NilContext(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	//lint:ignore SA1012 testing that a nil context is refused, not a panic
	_, err := c.CreateAuthCode(nil, "user-1")
	assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
	assert.Zero(t, mt.GetTotalCallCount())
}

func TestClient_SilentWithoutLogger(t *testing.T) {
	// A client without WithLogger must not write to the default logger.
	var buf strings.Builder
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })
	mt := newMock(t)
	mt.RegisterResponder(http.MethodDelete, testBase+"users/u1", httpmock.NewStringResponder(204, ""))
	c := newClient(t, mt)
	require.NoError(t, c.DeleteUser(context.Background(), "u1"))
	assert.Empty(t, buf.String())
}

// TestClient_ZeroValue: a nil or zero Client prints safely and its calls
// fail with a clear error instead of panicking.
func TestClient_ZeroValue(t *testing.T) {
	for name, c := range map[string]*sentiance.Client{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			assert.NotPanics(t, func() {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
					_ = fmt.Sprintf(verb, c)
				}
			})
			assert.Equal(t, "sentiance.Client{}", c.String())
			assert.Empty(t, c.BaseURL())
			assert.Empty(t, c.PlatformURL())
			assert.False(t, c.Now().IsZero())
			_, err := c.CreateAuthCode(context.Background(), "user-1")
			var ve *sentiance.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "client", ve.Field)
			_, err = c.LinkInstall(context.Background(), "install-1", "user-1")
			assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
			assert.ErrorIs(t, c.DeleteUser(context.Background(), "u1"), sentiance.ErrInvalidInput)
			assert.NotPanics(t, c.Close)
			assert.NotPanics(t, c.Close)
		})
	}
	var zero sentiance.Client
	assert.NotPanics(t, func() { _ = fmt.Sprintf("%v %+v %#v", zero, zero, zero) })
}

// TestClient_Close: Close is idempotent and safe concurrently; calls after
// it fail with ErrClosed and send nothing.
func TestClient_Close(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder(http.MethodDelete, testBase+"users/u1", httpmock.NewStringResponder(http.StatusNoContent, ""))
	c := newClient(t, mt)
	require.NoError(t, c.DeleteUser(context.Background(), "u1"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(c.Close)
	}
	wg.Wait()
	c.Close()
	err := c.DeleteUser(context.Background(), "u1")
	assert.ErrorIs(t, err, sentiance.ErrClosed)
	_, err = c.CreateAuthCode(context.Background(), "user-1")
	assert.ErrorIs(t, err, sentiance.ErrClosed)
	_, err = c.LinkInstall(context.Background(), "install-1", "user-1")
	assert.ErrorIs(t, err, sentiance.ErrClosed)
	assert.Equal(t, 1, mt.GetTotalCallCount(), "nothing is sent after Close")
	assert.Equal(t, testBase, c.BaseURL(), "accessors keep working")
}

// TestClient_WithClock: the clock is what Now reports, for AuthCode.Expired.
func TestClient_WithClock(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := sentiance.NewClient(sentiance.Credentials{APIKey: testKey}, sentiance.WithClock(func() time.Time { return at }))
	require.NoError(t, err)
	assert.Equal(t, at, c.Now())
	code := sentiance.AuthCode{Code: testCode, ExpiresAt: at.Add(time.Minute)}
	assert.False(t, code.Expired(c.Now()))

	_, err = sentiance.NewClient(sentiance.Credentials{APIKey: testKey}, sentiance.WithClock(nil))
	var ve *sentiance.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "clock", ve.Field)
}
