package entrupytest_test

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

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
)

func TestRoutes_MatchThePackage(t *testing.T) {
	assert.Equal(t, entrupy.RouteAuthorizeUser, entrupytest.RouteAuthorizeUser)
	assert.Equal(t, entrupy.RouteGetAuthentication, entrupytest.RouteGetAuthentication)
	assert.Equal(t, entrupy.RouteLookupAuthentication, entrupytest.RouteLookupAuthentication)
	assert.Equal(t, entrupy.RouteListSupportMessages, entrupytest.RouteListSupportMessages)
	assert.Equal(t, entrupy.RoutePostSupportMessage, entrupytest.RoutePostSupportMessage)
	assert.Equal(t, entrupy.RouteEscalate, entrupytest.RouteEscalate)
}

// mockClient returns a client over fake.Responder() with fast retries.
func mockClient(t *testing.T, fake *entrupytest.Fake, opts ...entrupy.Option) *entrupy.Client {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	all := append([]entrupy.Option{
		entrupy.WithBaseURL("https://entrupy.test"),
		entrupy.WithHTTPClient(&http.Client{Transport: mt}),
		entrupytest.FastRetry(),
	}, opts...)
	c, err := entrupy.NewClient(fake.Credentials(), all...)
	require.NoError(t, err)
	return c
}

func TestFake_FailNext_ErrorBody(t *testing.T) {
	s := entrupytest.NewServer(t)
	s.FailNext(1, entrupytest.Failure{Route: entrupytest.RouteEscalate, Status: http.StatusConflict, Code: "already_open", RetryAfter: 2 * time.Second})
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v2/support/escalations", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp, err := s.Client().Do(req) // no credentials: the failure comes first
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, map[string]string{"code": "already_open", "detail": "injected failure"}, body)
	assert.Equal(t, 1, s.Calls(entrupytest.RouteEscalate))
}

func TestFake_FailNext_Route(t *testing.T) {
	ctx := context.Background()
	s := entrupytest.NewServer(t)
	c, err := s.NewClient(entrupy.WithRetry(0, 0, 0))
	require.NoError(t, err)
	s.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_1", CustomerItemID: "sku-1"})
	s.FailNext(1, entrupytest.Failure{Route: entrupytest.RouteLookupAuthentication, Status: http.StatusServiceUnavailable})

	_, err = c.GetAuthentication(ctx, "ent_1")
	require.NoError(t, err, "another route is not failed")
	_, err = c.LookupAuthentication(ctx, "sku-1")
	var apiErr *entrupy.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Equal(t, entrupytest.CodeInjected, apiErr.Code)
	_, err = c.LookupAuthentication(ctx, "sku-1")
	require.NoError(t, err)
}

func TestFake_FailNext_Reset(t *testing.T) {
	ctx := context.Background()
	for name, newClient := range map[string]func(*entrupytest.Server) *entrupy.Client{
		"socket": func(s *entrupytest.Server) *entrupy.Client {
			c, err := s.NewClient()
			require.NoError(t, err)
			return c
		},
		"responder": func(s *entrupytest.Server) *entrupy.Client { return mockClient(t, s.Fake) },
	} {
		t.Run(name, func(t *testing.T) {
			s := entrupytest.NewServer(t)
			c := newClient(s)
			s.FailNext(1, entrupytest.Failure{Reset: true})
			_, err := c.AuthorizeUser(ctx, params("user-0001"))
			var te *entrupy.TransportError
			require.ErrorAs(t, err, &te, "%v", err)
			if name == "responder" {
				assert.ErrorIs(t, err, syscall.ECONNRESET)
			}
			assert.Equal(t, 1, s.Calls(entrupytest.RouteAuthorizeUser), "a create that may have been sent is not retried")
			_, ok := s.User("user-0001")
			assert.False(t, ok)

			// A read is retried through a reset.
			s.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_1"})
			s.FailNext(1, entrupytest.Failure{Reset: true})
			_, err = c.GetAuthentication(ctx, "ent_1")
			require.NoError(t, err)
			assert.Equal(t, 2, s.Calls(entrupytest.RouteGetAuthentication), "one reset, one retry")
		})
	}
}

func TestFake_FailNext_Delay(t *testing.T) {
	for name, viaSocket := range map[string]bool{"socket": true, "responder": false} {
		t.Run(name, func(t *testing.T) {
			s := entrupytest.NewServer(t)
			c := mockClient(t, s.Fake)
			if viaSocket {
				var err error
				c, err = s.NewClient()
				require.NoError(t, err)
			}
			s.FailNext(1, entrupytest.Failure{Delay: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.AuthorizeUser(ctx, params("user-0001"))
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), 10*time.Second, "the delay watches the request's context")
			s.FailNext(0, entrupytest.Failure{}) // in case a slow client never sent it

			// A short delay, then the answer.
			s.FailNext(1, entrupytest.Failure{Delay: 20 * time.Millisecond, Status: http.StatusBadGateway})
			start = time.Now()
			_, err = c.AuthorizeUser(context.Background(), params("user-0001"))
			assert.ErrorIs(t, err, entrupy.ErrServer)
			assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
		})
	}
}

func TestFake_Credentials(t *testing.T) {
	assert.Equal(t, entrupy.Credentials{APIToken: entrupytest.DefaultAPIToken}, entrupytest.New().Credentials())
	f := entrupytest.New(entrupytest.WithAPIToken("tok_custom_123456"))
	assert.Equal(t, "tok_custom_123456", f.Credentials().APIToken)
	_, err := mockClient(t, f).AuthorizeUser(context.Background(), params("user-0001"))
	require.NoError(t, err, "the credentials are the ones the fake accepts")
}

func TestStart(t *testing.T) {
	s, err := entrupytest.Start(entrupytest.WithClock(clock))
	require.NoError(t, err)
	c, err := s.NewClient()
	require.NoError(t, err)
	tok, err := c.AuthorizeUser(context.Background(), params("user-0001"))
	require.NoError(t, err)
	assert.Equal(t, now.Add(entrupytest.DefaultTokenLifetime), tok.ExpiresAt)
	s.Close()
	s.Close() // twice is fine
	_, err = c.AuthorizeUser(context.Background(), params("user-0001"))
	assert.Error(t, err, "the server is gone")
}
