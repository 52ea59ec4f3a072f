package uqudotest_test

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

var passport = uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}}

// mockClient returns a client over fake.Responder() with fast retries,
// closed at the end of the test.
func mockClient(t *testing.T, fake *uqudotest.Fake, opts ...uqudo.Option) *uqudo.Client {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	all := append([]uqudo.Option{
		uqudo.WithBaseURL("https://uqudo.test"),
		uqudo.WithHTTPClient(&http.Client{Transport: mt}),
		uqudotest.FastRetry(),
	}, opts...)
	c, err := uqudo.NewClient(fake.Credentials(), all...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func serverClient(t *testing.T, srv *uqudotest.Server, opts ...uqudo.Option) *uqudo.Client {
	t.Helper()
	c, err := srv.NewClient(opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestFake_FailNext_ErrorBody(t *testing.T) {
	f := uqudotest.New()
	f.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteJWKS, Status: http.StatusBadGateway, Code: "upstream", RetryAfter: 2 * time.Second})
	assert.Equal(t, http.StatusOK, do(t, f, http.MethodPost, "/api/oauth/token",
		tokenForm(uqudotest.DefaultClientID, uqudotest.DefaultClientSecret), "").Code, "another route is not failed")
	rec := do(t, f, http.MethodGet, "/api/.well-known/jwks.json", "", "")
	assert.Equal(t, http.StatusBadGateway, rec.Code)
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))
	assert.JSONEq(t, `{"error":"upstream","message":"injected failure"}`, rec.Body.String())

	f.FailNext(1, uqudotest.Failure{})
	rec = do(t, f, http.MethodGet, "/prefix/api/.well-known/jwks.json", "", "")
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.JSONEq(t, `{"error":"`+uqudotest.CodeInjected+`","message":"injected failure"}`, rec.Body.String())
	assert.Equal(t, 2, f.Calls(uqudotest.RouteJWKS), "counted under a base path too")
	assert.Equal(t, 1, f.Calls(uqudotest.RouteToken))
}

func TestFake_FailNext_Reset(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"socket", "responder"} {
		t.Run(name, func(t *testing.T) {
			srv := uqudotest.NewServer(t)
			c := mockClient(t, srv.Fake)
			if name == "socket" {
				c = serverClient(t, srv)
			}
			srv.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Reset: true})
			_, err := c.CreateSession(ctx, passport)
			var te *uqudo.TransportError
			require.ErrorAs(t, err, &te, "%v", err)
			if name == "responder" {
				assert.ErrorIs(t, err, syscall.ECONNRESET)
			}
			assert.Equal(t, 1, srv.Calls(uqudotest.RouteCreateSession), "a create that may have been sent is not retried")

			// A read is retried through a reset.
			s, err := c.CreateSession(ctx, passport)
			require.NoError(t, err)
			_, err = srv.CompleteSession(s.ID, nil)
			require.NoError(t, err)
			srv.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteInfo, Reset: true})
			_, err = c.Info(ctx, s.ID)
			require.NoError(t, err)
			assert.Equal(t, 2, srv.Calls(uqudotest.RouteInfo), "one reset, one retry")
		})
	}
}

func TestFake_FailNext_Delay(t *testing.T) {
	for _, name := range []string{"socket", "responder"} {
		t.Run(name, func(t *testing.T) {
			srv := uqudotest.NewServer(t)
			c := mockClient(t, srv.Fake)
			if name == "socket" {
				c = serverClient(t, srv)
			}
			_, err := c.AccessToken(context.Background()) // the token first, outside the deadline
			require.NoError(t, err)
			srv.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Delay: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = c.CreateSession(ctx, passport)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), 10*time.Second, "the delay watches the request's context")
			srv.FailNext(0, uqudotest.Failure{}) // in case a slow client never sent it

			srv.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Delay: 20 * time.Millisecond, Status: http.StatusBadGateway})
			start = time.Now()
			_, err = c.CreateSession(context.Background(), passport)
			assert.ErrorIs(t, err, uqudo.ErrServer)
			assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
		})
	}
}

func TestFake_Credentials(t *testing.T) {
	assert.Equal(t, uqudo.Credentials{ClientID: uqudotest.DefaultClientID, ClientSecret: uqudotest.DefaultClientSecret},
		uqudotest.New().Credentials())
	f := uqudotest.New(uqudotest.WithClientCredentials("my-client", "my-secret-0123456789"))
	assert.Equal(t, uqudo.Credentials{ClientID: "my-client", ClientSecret: "my-secret-0123456789"}, f.Credentials())
	_, err := mockClient(t, f).CreateSession(context.Background(), passport)
	require.NoError(t, err, "the credentials are the ones the fake accepts")
}

func TestStart(t *testing.T) {
	srv, err := uqudotest.Start()
	require.NoError(t, err)
	c, err := srv.NewClient()
	require.NoError(t, err)
	defer c.Close()
	_, err = c.CreateSession(context.Background(), passport)
	require.NoError(t, err)
	srv.Close()
	srv.Close() // twice is fine
	_, err = c.CreateSession(context.Background(), passport)
	assert.Error(t, err, "the server is gone")
}
