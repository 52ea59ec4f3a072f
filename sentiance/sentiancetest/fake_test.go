package sentiancetest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const apiKey = "sk_fake_1b2c3d4e5f60718293"

// clock is a settable time source for the fake.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClock() *clock { return &clock{now: time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)} }

// clientFor returns a client talking to srv over its real socket.
func clientFor(t *testing.T, srv *sentiancetest.Server, key string, opts ...sentiance.Option) *sentiance.Client {
	t.Helper()
	hc := srv.Client()
	t.Cleanup(hc.CloseIdleConnections)
	all := append([]sentiance.Option{
		sentiance.WithBaseURL(srv.URL),
		sentiance.WithHTTPClient(hc),
		sentiance.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	}, opts...)
	c, err := sentiance.NewClient(sentiance.Credentials{APIKey: key}, all...)
	require.NoError(t, err)
	return c
}

// newClient returns a client from srv.NewClient, on the server's own
// http.Client and with fast retries; opts come last.
func newClient(t *testing.T, srv *sentiancetest.Server, opts ...sentiance.Option) *sentiance.Client {
	t.Helper()
	hc := srv.Client()
	t.Cleanup(hc.CloseIdleConnections)
	all := append([]sentiance.Option{
		sentiance.WithHTTPClient(hc),
		sentiance.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	}, opts...)
	c, err := srv.NewClient(all...)
	require.NoError(t, err)
	return c
}

var hexCode = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestServer_AuthCodeRestoresSameUser(t *testing.T) {
	clk := newClock()
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey), sentiancetest.WithClock(clk.Now))
	c := newClient(t, srv)
	ctx := context.Background()

	first, err := c.CreateAuthCode(ctx, "user-42")
	require.NoError(t, err)
	assert.Regexp(t, hexCode, first.Code)
	assert.True(t, first.ExpiresAt.Equal(clk.Now().Add(sentiancetest.DefaultCodeTTL)), "expires_at = %s", first.ExpiresAt)
	_, linked := srv.UserFor("user-42")
	assert.False(t, linked, "the user is created when the SDK redeems the code")

	userID, restored, err := srv.Redeem(first.Code)
	require.NoError(t, err)
	assert.False(t, restored)
	assert.NotEmpty(t, userID)
	got, ok := srv.UserFor("user-42")
	require.True(t, ok)
	assert.Equal(t, userID, got)

	second, err := c.CreateAuthCode(ctx, "user-42")
	require.NoError(t, err)
	assert.NotEqual(t, first.Code, second.Code, "every call issues a new code")
	again, restored, err := srv.Redeem(second.Code)
	require.NoError(t, err)
	assert.True(t, restored, "an id already linked restores its user")
	assert.Equal(t, userID, again)

	other, err := c.CreateAuthCode(ctx, "user-43")
	require.NoError(t, err)
	otherUser, restored, err := srv.Redeem(other.Code)
	require.NoError(t, err)
	assert.False(t, restored)
	assert.NotEqual(t, userID, otherUser)

	assert.Equal(t, 3, srv.Calls(sentiancetest.RouteCreateAuthCode))
	assert.Zero(t, srv.Calls(sentiancetest.RouteDeleteUser))
}

func TestFake_CodeLifetime(t *testing.T) {
	clk := newClock()
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey), sentiancetest.WithClock(clk.Now), sentiancetest.WithCodeTTL(time.Minute))
	c := newClient(t, srv)
	ctx := context.Background()

	code, err := c.CreateAuthCode(ctx, "u")
	require.NoError(t, err)
	assert.True(t, code.ExpiresAt.Equal(clk.Now().Add(time.Minute)))
	assert.False(t, code.Expired(clk.Now()))

	clk.Add(time.Minute)
	assert.True(t, code.Expired(clk.Now()))
	_, _, err = srv.Redeem(code.Code)
	assert.ErrorIs(t, err, sentiancetest.ErrCodeExpired)

	fresh, err := c.CreateAuthCode(ctx, "u")
	require.NoError(t, err)
	_, _, err = srv.Redeem(fresh.Code)
	require.NoError(t, err)
	_, _, err = srv.Redeem(fresh.Code)
	assert.ErrorIs(t, err, sentiancetest.ErrCodeUsed)
	_, _, err = srv.Redeem("not-a-code")
	assert.ErrorIs(t, err, sentiancetest.ErrUnknownCode)
}

func TestFake_WrongKey(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	c := clientFor(t, srv, "sk_other_key_00000000")
	_, err := c.CreateAuthCode(context.Background(), "u")
	assert.ErrorIs(t, err, sentiance.ErrUnauthorized)
	var ae *sentiance.APIError
	require.ErrorAs(t, err, &ae)
	assert.NotEmpty(t, ae.RequestID, "the fake sends a ref")
	assert.Equal(t, 1, srv.Calls(sentiancetest.RouteCreateAuthCode))

	// No header at all.
	resp, err := srv.Client().Post(srv.URL+"/users/auth-code", "application/json", strings.NewReader(`{"external_id":"u"}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// The default key is refused by a fake given another.
	_, err = clientFor(t, srv, sentiancetest.DefaultAPIKey).CreateAuthCode(context.Background(), "u")
	assert.ErrorIs(t, err, sentiance.ErrUnauthorized)

	// An empty key given to WithAPIKey keeps the default.
	empty := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(""))
	_, err = clientFor(t, empty, apiKey).CreateAuthCode(context.Background(), "u")
	assert.ErrorIs(t, err, sentiance.ErrUnauthorized)
	_, err = clientFor(t, empty, sentiancetest.DefaultAPIKey).CreateAuthCode(context.Background(), "u")
	assert.NoError(t, err)
}

func TestServer_NewClient(t *testing.T) {
	ctx := context.Background()

	// By default the fake accepts DefaultAPIKey, and NewClient uses it.
	srv := sentiancetest.NewServer(t)
	c, err := srv.NewClient()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(c.BaseURL(), srv.URL), "base URL %s", c.BaseURL())
	code, err := c.CreateAuthCode(ctx, "user-1")
	require.NoError(t, err)
	userID, _, err := srv.Redeem(code.Code)
	require.NoError(t, err)
	_, err = clientFor(t, srv, sentiancetest.DefaultAPIKey).CreateAuthCode(ctx, "user-1")
	require.NoError(t, err, "the default key is DefaultAPIKey")

	// With WithAPIKey, NewClient sends that key.
	custom := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	cc, err := custom.NewClient()
	require.NoError(t, err)
	_, err = cc.CreateAuthCode(ctx, "user-1")
	require.NoError(t, err)

	// The caller's options come last and win.
	noRetry, err := srv.NewClient(sentiance.WithRetry(0, 0, 0))
	require.NoError(t, err)
	srv.FailNext(1, sentiancetest.Failure{Status: http.StatusBadGateway})
	assert.ErrorIs(t, noRetry.DeleteUser(ctx, userID), sentiance.ErrServer)
	assert.Equal(t, 1, srv.Calls(sentiancetest.RouteDeleteUser), "DELETE not retried with WithRetry(0, 0, 0)")
	other := sentiancetest.NewServer(t)
	moved, err := srv.NewClient(sentiance.WithBaseURL(other.URL))
	require.NoError(t, err)
	_, err = moved.CreateAuthCode(ctx, "user-2")
	require.NoError(t, err)
	assert.Equal(t, 1, other.Calls(sentiancetest.RouteCreateAuthCode))
	assert.Equal(t, 2, srv.Calls(sentiancetest.RouteCreateAuthCode))

	// A bad option is reported.
	_, err = srv.NewClient(sentiance.WithBaseURL("::not a url"))
	assert.Error(t, err)
}

func TestFake_FailNext(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	c := newClient(t, srv)
	ctx := context.Background()

	srv.FailNext(1, sentiancetest.Failure{Status: http.StatusServiceUnavailable})
	_, err := c.CreateAuthCode(ctx, "u")
	assert.ErrorIs(t, err, sentiance.ErrServer)
	assert.True(t, sentiance.IsRetryable(err))
	assert.Equal(t, 1, srv.Calls(sentiancetest.RouteCreateAuthCode), "the POST is not retried after a 503")

	_, err = c.CreateAuthCode(ctx, "u")
	require.NoError(t, err, "only the next call failed")

	user, err := c.LinkInstall(ctx, "install-1", "u")
	require.NoError(t, err)
	srv.FailNext(2, sentiancetest.Failure{Status: http.StatusBadGateway})
	require.NoError(t, c.DeleteUser(ctx, user.ID), "DELETE is retried through two 502s")
	assert.Equal(t, 3, srv.Calls(sentiancetest.RouteDeleteUser))
}

func TestFake_FailNext_CodeAndRetryAfter(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	c := newClient(t, srv, sentiance.WithRetry(0, 0, 0))
	srv.FailNext(1, sentiancetest.Failure{Status: http.StatusTooManyRequests, Code: "RATE_LIMITED", RetryAfter: 1500 * time.Millisecond})
	_, err := c.CreateAuthCode(context.Background(), "u")
	var ae *sentiance.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusTooManyRequests, ae.StatusCode)
	assert.Equal(t, "RATE_LIMITED", ae.Code)
	assert.Equal(t, "injected failure", ae.Message)
	assert.Equal(t, 2*time.Second, ae.RetryAfter, "Retry-After is whole seconds, rounded up")
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, ae.RequestID)

	// With retries, a 429 with Retry-After is retried and then succeeds.
	fast := newClient(t, srv, sentiance.WithRetry(1, time.Millisecond, 10*time.Millisecond))
	srv.FailNext(1, sentiancetest.Failure{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	_, err = fast.CreateAuthCode(context.Background(), "u")
	require.NoError(t, err, "Retry-After is capped at the client's max wait")
	assert.Equal(t, 3, srv.Calls(sentiancetest.RouteCreateAuthCode))
}

func TestFake_ErrorBodyFormat(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	srv.FailNext(1, sentiancetest.Failure{Status: http.StatusNotFound, Code: sentiance.CodeUserNotFound})
	req, err := http.NewRequest(http.MethodDelete, srv.URL+"/users/abc", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, sentiance.CodeUserNotFound, body["errorCode"])
	assert.Equal(t, "injected failure", body["message"])
	assert.NotEmpty(t, body["ref"])
	assert.Len(t, body, 3)
}

func TestFake_LinkInstall(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	c := newClient(t, srv)
	ctx := context.Background()

	u1, err := c.LinkInstall(ctx, "install-a", "ext-1")
	require.NoError(t, err)
	got, ok := srv.UserFor("ext-1")
	require.True(t, ok)
	assert.Equal(t, u1.ID, got)

	again, err := c.LinkInstall(ctx, "install-a", "ext-1")
	require.NoError(t, err, "linking the same pair again is fine")
	assert.Equal(t, u1.ID, again.ID)

	u2, err := c.LinkInstall(ctx, "install-b", "ext-1")
	require.NoError(t, err)
	assert.Equal(t, u1.ID, u2.ID, "a second install of the same external id joins its user")

	_, err = c.LinkInstall(ctx, "install-a", "ext-2")
	assert.ErrorIs(t, err, sentiance.ErrConflict)
	assert.Equal(t, sentiance.CodeInstallLinkedToOtherUser, sentiance.ErrorCode(err))

	code, err := c.CreateAuthCode(ctx, "ext-1")
	require.NoError(t, err)
	restoredUser, restored, err := srv.Redeem(code.Code)
	require.NoError(t, err)
	assert.True(t, restored)
	assert.Equal(t, u1.ID, restoredUser)

	// Install ids are escaped into the path and unescaped by the fake.
	odd, err := c.LinkInstall(ctx, "install/with?odd#chars", "ext-3")
	require.NoError(t, err)
	assert.NotEmpty(t, odd.ID)
	assert.Equal(t, 5, srv.Calls(sentiancetest.RouteLinkInstall))
}

func TestFake_LinkingNotConfigured(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	srv.SetLinkingConfigured(false)
	c := newClient(t, srv)
	_, err := c.CreateAuthCode(context.Background(), "u")
	assert.Equal(t, sentiance.CodeUserLinkingNotConfigured, sentiance.ErrorCode(err))
	assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
	_, err = c.LinkInstall(context.Background(), "i", "u")
	assert.Equal(t, sentiance.CodeUserLinkingNotConfigured, sentiance.ErrorCode(err))

	srv.SetLinkingConfigured(true)
	_, err = c.CreateAuthCode(context.Background(), "u")
	assert.NoError(t, err)
}

func TestFake_DeleteUser(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	c := newClient(t, srv)
	ctx := context.Background()
	user, err := c.LinkInstall(ctx, "i-1", "ext-1")
	require.NoError(t, err)
	pending, err := c.CreateAuthCode(ctx, "ext-1")
	require.NoError(t, err)

	require.NoError(t, c.DeleteUser(ctx, user.ID))
	_, ok := srv.UserFor("ext-1")
	assert.False(t, ok)
	_, _, err = srv.Redeem(pending.Code)
	assert.ErrorIs(t, err, sentiancetest.ErrUnknownCode, "codes of a deleted user are void")

	err = c.DeleteUser(ctx, user.ID)
	assert.ErrorIs(t, err, sentiance.ErrNotFound)
	assert.Equal(t, sentiance.CodeUserNotFound, sentiance.ErrorCode(err))

	// The install is free again and the external id gets a new user.
	again, err := c.LinkInstall(ctx, "i-1", "ext-2")
	require.NoError(t, err)
	assert.NotEqual(t, user.ID, again.ID)
}

func TestFake_BadRequests(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	tests := []struct {
		method, path, body string
		status             int
	}{
		{http.MethodPost, "/users/auth-code", `not json`, 400},
		{http.MethodPost, "/users/auth-code", `{}`, 400},
		{http.MethodPost, "/users/auth-code", `{"external_id":""}`, 400},
		{http.MethodPost, "/users/auth-code", `{"external_id":"a\nb"}`, 400},
		{http.MethodPost, "/v2/users/i/link", `{"external_id":5}`, 400},
		{http.MethodGet, "/users/auth-code", ``, 404},
		{http.MethodPost, "/nowhere", `{}`, 404},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		var body map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), "%s %s", tt.method, tt.path)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, tt.status, resp.StatusCode, "%s %s %s", tt.method, tt.path, tt.body)
		assert.NotEmpty(t, body["message"])
	}
}

func TestFake_Responder(t *testing.T) {
	fake := sentiancetest.New(sentiancetest.WithAPIKey(apiKey))
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	c, err := sentiance.NewClient(sentiance.Credentials{APIKey: apiKey},
		sentiance.WithBaseURL("https://sentiance.test"),
		sentiance.WithHTTPClient(&http.Client{Transport: mt}),
		sentiance.WithRetry(1, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	ctx := context.Background()

	code, err := c.CreateAuthCode(ctx, "ext-1")
	require.NoError(t, err)
	user, _, err := fake.Redeem(code.Code)
	require.NoError(t, err)
	require.NoError(t, c.DeleteUser(ctx, user))
	err = c.DeleteUser(ctx, user)
	assert.Equal(t, sentiance.CodeUserNotFound, sentiance.ErrorCode(err))

	fake.FailNext(1, sentiancetest.Failure{Status: http.StatusServiceUnavailable})
	_, err = c.LinkInstall(ctx, "i", "ext-1")
	assert.ErrorIs(t, err, sentiance.ErrServer)

	assert.Equal(t, 4, mt.GetTotalCallCount())
	assert.Equal(t, 1, fake.Calls(sentiancetest.RouteCreateAuthCode))
	assert.Equal(t, 2, fake.Calls(sentiancetest.RouteDeleteUser))
	assert.Equal(t, 1, fake.Calls(sentiancetest.RouteLinkInstall))
}

func TestFake_Concurrent(t *testing.T) {
	srv := sentiancetest.NewServer(t, sentiancetest.WithAPIKey(apiKey))
	c := newClient(t, srv)
	const n = 16
	users := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			code, err := c.CreateAuthCode(context.Background(), "shared-user")
			if err != nil {
				errs[i] = err
				return
			}
			users[i], _, errs[i] = srv.Redeem(code.Code)
			_ = srv.Calls(sentiancetest.RouteCreateAuthCode)
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, users[0], users[i], "every code for one external id leads to one user")
	}
	assert.Equal(t, n, srv.Calls(sentiancetest.RouteCreateAuthCode))
}

func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Client().CloseIdleConnections()
		srv.Close()
	})
	return srv
}
