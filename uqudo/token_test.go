package uqudo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

const tokenURL = "POST " + authBase + "api/oauth/token"

// The token request is a form-encoded client-credentials grant to the auth URL.
func TestClient_AccessToken_Request(t *testing.T) {
	mt := newMock(t)
	clock := newClock()
	var form url.Values
	var contentType, authz string
	mt.RegisterResponder(http.MethodPost, authBase+"api/oauth/token", func(r *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(r.Body)
		form, _ = url.ParseQuery(string(body))
		contentType, authz = r.Header.Get("Content-Type"), r.Header.Get("Authorization")
		return httpmock.NewStringResponse(200, `{"access_token":"`+testToken+`","token_type":"bearer","expires_in":1800,"scope":"read","jti":"x"}`), nil
	})
	c, err := uqudo.NewClient(testCreds, uqudo.WithHTTPClient(&http.Client{Transport: mt}),
		uqudo.WithAuthURL(authBase), uqudo.WithClock(clock.Now))
	require.NoError(t, err)
	defer c.Close()

	tok, err := c.AccessToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "application/x-www-form-urlencoded", contentType)
	assert.Empty(t, authz)
	assert.Equal(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testSecret}}, form)
	assert.Equal(t, testToken, tok.Token)
	assert.Equal(t, "bearer", tok.Type)
	assert.Equal(t, "read", tok.Scope)
	assert.Equal(t, clock.Now().Add(1800*time.Second), tok.ExpiresAt)

	tok.Token = "changed by the caller"
	again, err := c.AccessToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, testToken, again.Token, "callers get copies")
	assert.Equal(t, 1, mt.GetCallCountInfo()[tokenURL])
}

func TestClient_AccessToken_Responses(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		wantTTL time.Duration
		wantErr error
	}{
		{"expires_in number", 200, `{"access_token":"t-123456","expires_in":1800}`, 1800 * time.Second, nil},
		{"expires_in string", 200, `{"access_token":"t-123456","expires_in":"900"}`, 900 * time.Second, nil},
		{"expires_in float", 200, `{"access_token":"t-123456","expires_in":600.0}`, 600 * time.Second, nil},
		{"expires_in bad string", 200, `{"access_token":"t-123456","expires_in":"soon"}`, 0, uqudo.ErrMalformedResponse},
		{"expires_in missing", 200, `{"access_token":"t-123456"}`, 0, uqudo.ErrMalformedResponse},
		{"expires_in negative", 200, `{"access_token":"t-123456","expires_in":-5}`, 0, uqudo.ErrMalformedResponse},
		{"access_token missing", 200, `{"expires_in":1800}`, 0, uqudo.ErrMalformedResponse},
		{"html", 200, `<html>oops</html>`, 0, uqudo.ErrMalformedResponse},
		{"empty", 200, ``, 0, uqudo.ErrMalformedResponse},
		{"truncated", 200, `{"access_token":"t-1`, 0, uqudo.ErrMalformedResponse},
		{"401", 401, `{"error":"unauthorized"}`, 0, uqudo.ErrBadCredentials},
		{"400 invalid_client", 400, `{"error":"invalid_client"}`, 0, uqudo.ErrBadCredentials},
		{"400 other", 400, `{"error":"invalid_request"}`, 0, uqudo.ErrInvalidInput},
		{"403", 403, `{}`, 0, uqudo.ErrForbidden},
		{"500", 500, `{}`, 0, uqudo.ErrServer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mt := newMock(t)
			clock := newClock()
			mt.RegisterResponder(http.MethodPost, authBase+"api/oauth/token", httpmock.NewStringResponder(tc.status, tc.body))
			c, err := uqudo.NewClient(testCreds, uqudo.WithHTTPClient(&http.Client{Transport: mt}),
				uqudo.WithAuthURL(authBase), uqudo.WithClock(clock.Now), uqudo.WithRetry(1, time.Millisecond, time.Millisecond))
			require.NoError(t, err)
			defer c.Close()
			tok, err := c.AccessToken(context.Background())
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				if tc.wantErr != uqudo.ErrBadCredentials {
					assert.False(t, errors.Is(err, uqudo.ErrBadCredentials))
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, clock.Now().Add(tc.wantTTL), tok.ExpiresAt)
		})
	}
}

// Bad credentials are not retried in a loop: calls during the backoff get
// the remembered error without a request.
func TestClient_BadCredentials_NotRetriedInALoop(t *testing.T) {
	clock := newClock()
	srv := uqudotest.NewServer(t, uqudotest.WithClock(clock.Now))
	c, err := uqudo.NewClient(uqudo.Credentials{ClientID: uqudotest.DefaultClientID, ClientSecret: "wrong-secret-123"},
		uqudo.WithBaseURL(srv.URL), uqudo.WithRetry(3, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	defer c.Close()
	for range 20 {
		_, err := c.CreateSession(context.Background(), passportData())
		require.ErrorIs(t, err, uqudo.ErrBadCredentials)
		assert.NotContains(t, err.Error(), "wrong-secret-123")
	}
	assert.Equal(t, 1, srv.Calls(uqudotest.RouteToken))
	assert.Zero(t, srv.Calls(uqudotest.RouteCreateSession))
}

// Over a real socket: 100 calls (some concurrent) share one token request.
func TestClient_TokenReuse_100Calls(t *testing.T) {
	srv, c := fakeClient(t, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = c.CreateSession(ctx, passportData())
			} else {
				_, err = c.AccessToken(ctx)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, srv.Calls(uqudotest.RouteToken))
	assert.Equal(t, 50, srv.Calls(uqudotest.RouteCreateSession))
}

// Past its expiry the token is refreshed exactly once, however many callers.
func TestClient_TokenExpiry_OneRefresh(t *testing.T) {
	clock := newClock()
	srv, c := fakeClient(t, []uqudotest.Option{uqudotest.WithClock(clock.Now), uqudotest.WithExpiresInString()})
	ctx := context.Background()
	first, err := c.AccessToken(ctx)
	require.NoError(t, err)
	_, err = c.CreateSession(ctx, passportData())
	require.NoError(t, err)
	require.Equal(t, 1, srv.Calls(uqudotest.RouteToken))

	clock.Advance(uqudotest.DefaultTokenTTL + time.Second) // the fake now rejects the old token too
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.CreateSession(ctx, passportData())
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	second, err := c.AccessToken(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first.Token, second.Token)
	assert.Equal(t, 2, srv.Calls(uqudotest.RouteToken))
	assert.Equal(t, 21, srv.Calls(uqudotest.RouteCreateSession), "no call was rejected with the old token")
}

// In the refresh window before expiry the old token is still served and one
// background refresh replaces it.
func TestClient_TokenRefreshAhead(t *testing.T) {
	clock := newClock()
	srv, c := fakeClient(t, []uqudotest.Option{uqudotest.WithClock(clock.Now)})
	ctx := context.Background()
	first, err := c.AccessToken(ctx)
	require.NoError(t, err)

	clock.Advance(uqudotest.DefaultTokenTTL - 2*time.Minute) // inside the soft window, before hard expiry
	for range 10 {
		tok, err := c.AccessToken(ctx)
		require.NoError(t, err)
		if tok.Token != first.Token {
			break // the background refresh already landed
		}
	}
	require.Eventually(t, func() bool {
		tok, err := c.AccessToken(ctx)
		return err == nil && tok.Token != first.Token
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 2, srv.Calls(uqudotest.RouteToken))
}

// A 401 on an API call drops the token and retries the call once with a fresh one.
func TestClient_401_RetriesOnceWithFreshToken(t *testing.T) {
	srv, c := fakeClient(t, nil)
	ctx := context.Background()
	_, err := c.CreateSession(ctx, passportData())
	require.NoError(t, err)
	old, err := c.AccessToken(ctx)
	require.NoError(t, err)

	srv.RevokeTokens()
	s, err := c.CreateSession(ctx, passportData())
	require.NoError(t, err)
	assert.NotEmpty(t, s.ID)
	fresh, err := c.AccessToken(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, old.Token, fresh.Token)
	assert.Equal(t, 2, srv.Calls(uqudotest.RouteToken))
	assert.Equal(t, 3, srv.Calls(uqudotest.RouteCreateSession))
}

// A second 401 is returned, not retried again.
func TestClient_401_Twice_ReturnsUnauthorized(t *testing.T) {
	mt := newMock(t)
	c := mockClient(t, mt)
	mt.RegisterResponder(http.MethodGet, `=~^`+apiBase+`api/v1/info/`, httpmock.NewStringResponder(401, `{"error":"invalid_token"}`))
	_, err := c.Info(context.Background(), "sess-1")
	require.ErrorIs(t, err, uqudo.ErrUnauthorized)
	assert.False(t, errors.Is(err, uqudo.ErrBadCredentials))
	assert.Equal(t, 2, mt.GetCallCountInfo()[tokenURL])
	assert.Equal(t, 2, mt.GetCallCountInfo()["GET "+apiBase+"api/v1/info/sess-1"])
}

func TestClient_Close_NoFetchAfterwards(t *testing.T) {
	mt := newMock(t)
	c := mockClient(t, mt)
	c.Close()
	_, err := c.AccessToken(context.Background())
	require.Error(t, err)
	assert.Zero(t, mt.GetCallCountInfo()[tokenURL])
	c.Close() // idempotent
}

func TestClient_AccessToken_ContextCanceled(t *testing.T) {
	mt := newMock(t)
	release := make(chan struct{})
	mt.RegisterResponder(http.MethodPost, authBase+"api/oauth/token", func(r *http.Request) (*http.Response, error) {
		<-release
		return httpmock.NewStringResponse(200, `{"access_token":"`+testToken+`","expires_in":1800}`), nil
	})
	c, err := uqudo.NewClient(testCreds, uqudo.WithHTTPClient(&http.Client{Transport: mt}), uqudo.WithAuthURL(authBase))
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.AccessToken(ctx)
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	tok, err := c.AccessToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, testToken, tok.Token)
}

// Close ends a background refresh under way and leaves no goroutine behind.
func TestClient_Close_NoGoroutineLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	clock := newClock()
	mt := newMock(t)
	var n atomic.Int32
	started := make(chan struct{})
	mt.RegisterResponder(http.MethodPost, authBase+"api/oauth/token", func(r *http.Request) (*http.Response, error) {
		if n.Add(1) > 1 { // the background refresh hangs until Close cancels it
			close(started)
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		return httpmock.NewStringResponse(200, `{"access_token":"`+testToken+`","expires_in":1800}`), nil
	})
	c, err := uqudo.NewClient(testCreds, uqudo.WithHTTPClient(&http.Client{Transport: mt}),
		uqudo.WithAuthURL(authBase), uqudo.WithClock(clock.Now), uqudo.WithRetry(0, 0, 0))
	require.NoError(t, err)
	_, err = c.AccessToken(context.Background())
	require.NoError(t, err)
	clock.Advance(uqudotest.DefaultTokenTTL - 2*time.Minute)
	tok, err := c.AccessToken(context.Background()) // stale: served, refresh starts
	require.NoError(t, err)
	assert.Equal(t, testToken, tok.Token)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("background refresh did not start")
	}
	c.Close()
}
