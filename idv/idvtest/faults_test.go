package idvtest_test

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

// mockClient returns a client over fake.Responder() with fast retries.
func mockClient(t *testing.T, fake *idvtest.Fake, opts ...idv.Option) *idv.Client {
	t.Helper()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	all := append([]idv.Option{idv.WithHTTPClient(&http.Client{Transport: mt}), idvtest.FastRetry()}, opts...)
	c, err := idv.NewClient("https://idv.test", fake.Credentials(), all...)
	require.NoError(t, err)
	return c
}

func serverClient(t *testing.T, srv *idvtest.Server, opts ...idv.Option) *idv.Client {
	t.Helper()
	c, err := srv.NewClient(opts...)
	require.NoError(t, err)
	return c
}

func TestFake_FailNext_ErrorBody(t *testing.T) {
	f := idvtest.New()
	f.FailNext(1, idvtest.Failure{Route: idvtest.RouteCreateDeepLink, Status: http.StatusForbidden, Code: "NO_PERMISSION", RetryAfter: 2 * time.Second})
	status, _, _ := do(t, f, http.MethodPost, "http://example.com/api/device/ephemeral", apiKeyHeader, `{"ttl":60}`)
	assert.Equal(t, http.StatusOK, status, "another route is not failed")
	status, out, hdr := do(t, f, http.MethodPost, "http://example.com/api/v1/deeplink?workflowId=wf", "", "")
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "2", hdr.Get("Retry-After"))
	assert.Equal(t, map[string]any{"code": "NO_PERMISSION", "message": "injected failure"}, out)
	assert.Equal(t, 1, f.Calls(idvtest.RouteCreateDeepLink))
}

func TestFake_FailNext_PagesOnlyWhenNamed(t *testing.T) {
	f := idvtest.New()
	tok := newDevice(t, f, "60")
	id := newSession(t, f, tok)
	f.FailNext(1, idvtest.Failure{Route: idvtest.RouteMobile, Status: http.StatusBadGateway})
	status, _, _ := do(t, f, http.MethodGet, handoff(t, "example.com", tok, id), "", "")
	assert.Equal(t, http.StatusFound, status, "only the named page fails")
	status, _, _ = do(t, f, http.MethodGet, "http://example.com/mobile?authorization=x&sessionId="+id, "", "")
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Equal(t, 1, f.Calls(idvtest.RouteMobile))
}

func TestFake_FailNext_Reset(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"socket", "responder"} {
		t.Run(name, func(t *testing.T) {
			srv := idvtest.NewServer(t)
			c := mockClient(t, srv.Fake)
			if name == "socket" {
				c = serverClient(t, srv)
			}
			srv.FailNext(1, idvtest.Failure{Reset: true})
			_, err := c.CreateEphemeralDevice(ctx, 0)
			var te *idv.TransportError
			require.ErrorAs(t, err, &te, "%v", err)
			if name == "responder" {
				assert.ErrorIs(t, err, syscall.ECONNRESET)
			}
			assert.Equal(t, 1, srv.Calls(idvtest.RouteCreateDevice), "a create that may have been sent is not retried")

			// A read is retried through a reset.
			h, err := c.Initiate(ctx, idv.InitiateParams{WorkflowID: "kyc"})
			require.NoError(t, err)
			srv.FailNext(1, idvtest.Failure{Reset: true})
			_, err = c.GetSession(ctx, h.Session.ID)
			require.NoError(t, err)
			assert.Equal(t, 2, srv.Calls(idvtest.RouteGetSession), "one reset, one retry")
		})
	}
}

func TestFake_FailNext_Delay(t *testing.T) {
	for _, name := range []string{"socket", "responder"} {
		t.Run(name, func(t *testing.T) {
			srv := idvtest.NewServer(t)
			c := mockClient(t, srv.Fake)
			if name == "socket" {
				c = serverClient(t, srv)
			}
			srv.FailNext(1, idvtest.Failure{Delay: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.CreateEphemeralDevice(ctx, 0)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), 10*time.Second, "the delay watches the request's context")
			srv.FailNext(0, idvtest.Failure{}) // in case a slow client never sent it

			srv.FailNext(1, idvtest.Failure{Delay: 20 * time.Millisecond, Status: http.StatusBadGateway})
			start = time.Now()
			_, err = c.CreateEphemeralDevice(context.Background(), 0)
			assert.ErrorIs(t, err, idv.ErrServer)
			assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
		})
	}
}

func TestFake_Credentials(t *testing.T) {
	assert.Equal(t, idv.Credentials{APIKey: idvtest.DefaultAPIKey}, idvtest.New().Credentials())
	f := idvtest.New(idvtest.WithAPIKey("k-custom-123456"))
	assert.Equal(t, "k-custom-123456", f.Credentials().APIKey)
	_, err := mockClient(t, f).CreateEphemeralDevice(context.Background(), 0)
	require.NoError(t, err, "the credentials are the ones the fake accepts")
}

func TestStart(t *testing.T) {
	srv, err := idvtest.Start()
	require.NoError(t, err)
	c, err := srv.NewClient()
	require.NoError(t, err)
	_, err = c.CreateEphemeralDevice(context.Background(), 0)
	require.NoError(t, err)
	srv.Close()
	srv.Close() // twice is fine
	_, err = c.CreateEphemeralDevice(context.Background(), 0)
	assert.Error(t, err, "the server is gone")
}
