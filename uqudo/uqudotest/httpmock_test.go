package uqudotest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// The three ways Go users plug httpmock in, each with the fake's Responder.
// The Activate tests change global state: they are not parallel, and
// DeactivateAndReset runs at cleanup.

const mockBase = "https://uqudo.test"

func createSession(t *testing.T, c *uqudo.Client) {
	t.Helper()
	s, err := c.CreateSession(context.Background(), passport)
	require.NoError(t, err)
	assert.NotEmpty(t, s.ID)
}

func TestHTTPMock_ActivateBeforeNewClient(t *testing.T) {
	fake := uqudotest.New()
	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(fake.Responder())

	c, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(mockBase), uqudotest.FastRetry())
	require.NoError(t, err)
	t.Cleanup(c.Close)
	createSession(t, c)
	assert.Equal(t, 1, fake.Calls(uqudotest.RouteToken))
	assert.Equal(t, 1, fake.Calls(uqudotest.RouteCreateSession))
	assert.Equal(t, 2, httpmock.GetTotalCallCount())
}

func TestHTTPMock_ActivateAfterNewClient(t *testing.T) {
	fake := uqudotest.New()
	c, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(mockBase), uqudotest.FastRetry())
	require.NoError(t, err)
	t.Cleanup(c.Close)

	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterResponder(http.MethodPost, mockBase+"/api/oauth/token", fake.Responder())
	httpmock.RegisterResponder(http.MethodPost, mockBase+"/api/v1/session", fake.Responder())
	createSession(t, c)
	assert.Equal(t, 1, fake.Calls(uqudotest.RouteToken))
	assert.Equal(t, 1, fake.Calls(uqudotest.RouteCreateSession))
	assert.Equal(t, 1, httpmock.GetCallCountInfo()["POST "+mockBase+"/api/v1/session"])
}

func TestHTTPMock_ActivateNonDefault(t *testing.T) {
	fake := uqudotest.New()
	hc := &http.Client{}
	httpmock.ActivateNonDefault(hc)
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(fake.Responder())

	c, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(mockBase), uqudo.WithHTTPClient(hc), uqudotest.FastRetry())
	require.NoError(t, err)
	t.Cleanup(c.Close)
	createSession(t, c)
	assert.Equal(t, 1, fake.Calls(uqudotest.RouteCreateSession))
	assert.Equal(t, 2, httpmock.GetTotalCallCount())
}

func TestHTTPMock_MockTransport(t *testing.T) {
	fake := uqudotest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())

	c, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(mockBase),
		uqudo.WithHTTPClient(&http.Client{Transport: mt}), uqudotest.FastRetry())
	require.NoError(t, err)
	t.Cleanup(c.Close)
	createSession(t, c)
	assert.Equal(t, 1, fake.Calls(uqudotest.RouteCreateSession))
	assert.Equal(t, 2, mt.GetTotalCallCount())
}

// One injected 429 with a long Retry-After costs milliseconds with
// FastRetry, over httpmock and over a socket.
func TestFastRetry_429(t *testing.T) {
	srv := uqudotest.NewServer(t)
	for name, c := range map[string]*uqudo.Client{"responder": mockClient(t, srv.Fake), "socket": serverClient(t, srv)} {
		t.Run(name, func(t *testing.T) {
			before := srv.Calls(uqudotest.RouteCreateSession)
			srv.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
			start := time.Now()
			createSession(t, c)
			assert.Less(t, time.Since(start), time.Second)
			assert.Equal(t, before+2, srv.Calls(uqudotest.RouteCreateSession))
		})
	}
}
