package sentiancetest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

// mockClient returns a client over fake.Responder() with fast retries.
func mockClient(t *testing.T, fake *sentiancetest.Fake, opts ...sentiance.Option) *sentiance.Client {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	all := append([]sentiance.Option{
		sentiance.WithBaseURL("https://sentiance.test"),
		sentiance.WithHTTPClient(&http.Client{Transport: mt}),
		sentiancetest.FastRetry(),
	}, opts...)
	c, err := sentiance.NewClient(fake.Credentials(), all...)
	require.NoError(t, err)
	return c
}

func TestFake_FailNext_ErrorBody(t *testing.T) {
	srv := sentiancetest.NewServer(t)
	srv.FailNext(1, sentiancetest.Failure{Route: sentiancetest.RouteLinkInstall, Status: http.StatusConflict,
		Code: sentiance.CodeInstallLinkedToOtherUser, RetryAfter: 2 * time.Second})
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v2/users/i-1/link", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp, err := srv.Client().Do(req) // no key: the failure comes first
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, sentiance.CodeInstallLinkedToOtherUser, body["errorCode"])
	assert.Equal(t, "injected failure", body["message"])
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, body["ref"])
	assert.Len(t, body, 3)
	assert.Equal(t, 1, srv.Calls(sentiancetest.RouteLinkInstall))
}

func TestFake_FailNext_Route(t *testing.T) {
	ctx := context.Background()
	srv := sentiancetest.NewServer(t)
	c, err := srv.NewClient(sentiance.WithRetry(0, 0, 0))
	require.NoError(t, err)
	srv.FailNext(1, sentiancetest.Failure{Route: sentiancetest.RouteLinkInstall, Status: http.StatusServiceUnavailable})

	_, err = c.CreateAuthCode(ctx, "user-1")
	require.NoError(t, err, "another route is not failed")
	_, err = c.LinkInstall(ctx, "install-1", "user-1")
	var apiErr *sentiance.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Equal(t, sentiancetest.CodeInjected, apiErr.Code)
	_, err = c.LinkInstall(ctx, "install-1", "user-1")
	require.NoError(t, err)
}

func TestFake_FailNext_Reset(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"socket", "responder"} {
		t.Run(name, func(t *testing.T) {
			srv := sentiancetest.NewServer(t)
			c := mockClient(t, srv.Fake)
			if name == "socket" {
				c = newClient(t, srv)
			}
			srv.FailNext(1, sentiancetest.Failure{Reset: true})
			_, err := c.CreateAuthCode(ctx, "user-1")
			var te *sentiance.TransportError
			require.ErrorAs(t, err, &te, "%v", err)
			if name == "responder" {
				assert.ErrorIs(t, err, syscall.ECONNRESET)
			}
			assert.Equal(t, 1, srv.Calls(sentiancetest.RouteCreateAuthCode), "a create that may have been sent is not retried")

			// A DELETE is retried through a reset.
			user, err := c.LinkInstall(ctx, "install-1", "user-1")
			require.NoError(t, err)
			srv.FailNext(1, sentiancetest.Failure{Reset: true})
			require.NoError(t, c.DeleteUser(ctx, user.ID))
			assert.Equal(t, 2, srv.Calls(sentiancetest.RouteDeleteUser), "one reset, one retry")
		})
	}
}

func TestFake_FailNext_Delay(t *testing.T) {
	for _, name := range []string{"socket", "responder"} {
		t.Run(name, func(t *testing.T) {
			srv := sentiancetest.NewServer(t)
			c := mockClient(t, srv.Fake)
			if name == "socket" {
				c = newClient(t, srv)
			}
			srv.FailNext(1, sentiancetest.Failure{Delay: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.CreateAuthCode(ctx, "user-1")
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), 10*time.Second, "the delay watches the request's context")
			srv.FailNext(0, sentiancetest.Failure{}) // in case a slow client never sent it

			srv.FailNext(1, sentiancetest.Failure{Delay: 20 * time.Millisecond, Status: http.StatusBadGateway})
			start = time.Now()
			_, err = c.CreateAuthCode(context.Background(), "user-1")
			assert.ErrorIs(t, err, sentiance.ErrServer)
			assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
		})
	}
}

func TestFake_Credentials(t *testing.T) {
	assert.Equal(t, sentiance.Credentials{APIKey: sentiancetest.DefaultAPIKey}, sentiancetest.New().Credentials())
	f := sentiancetest.New(sentiancetest.WithAPIKey(apiKey))
	assert.Equal(t, apiKey, f.Credentials().APIKey)
	_, err := mockClient(t, f).CreateAuthCode(context.Background(), "user-1")
	require.NoError(t, err, "the credentials are the ones the fake accepts")
}

func TestServer_NewClient_Clock(t *testing.T) {
	clk := newClock()
	srv := sentiancetest.NewServer(t, sentiancetest.WithClock(clk.Now))
	c, err := srv.NewClient()
	require.NoError(t, err)
	assert.Equal(t, clk.Now(), c.Now(), "the client reads the fake's clock")
	code, err := c.CreateAuthCode(context.Background(), "user-1")
	require.NoError(t, err)
	assert.False(t, code.Expired(c.Now()))
	clk.Add(sentiancetest.DefaultCodeTTL)
	assert.True(t, code.Expired(c.Now()))
}

func TestStart(t *testing.T) {
	srv, err := sentiancetest.Start()
	require.NoError(t, err)
	c, err := srv.NewClient()
	require.NoError(t, err)
	_, err = c.CreateAuthCode(context.Background(), "user-1")
	require.NoError(t, err)
	srv.Close()
	srv.Close() // twice is fine
	_, err = c.CreateAuthCode(context.Background(), "user-1")
	assert.Error(t, err, "the server is gone")
}
