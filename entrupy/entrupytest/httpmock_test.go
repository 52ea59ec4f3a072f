package entrupytest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
)

// The three ways Go users plug httpmock in, each with the fake's Responder.
// The Activate tests change global state: they are not parallel, and
// DeactivateAndReset runs at cleanup.

const mockBase = "https://entrupy.test"

func authorize(t *testing.T, c *entrupy.Client) {
	t.Helper()
	tok, err := c.AuthorizeUser(context.Background(), params("user-0001"))
	require.NoError(t, err)
	assert.NotEmpty(t, tok.SignedRequest)
}

func TestHTTPMock_ActivateBeforeNewClient(t *testing.T) {
	fake := entrupytest.New()
	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(fake.Responder())

	c, err := entrupy.NewClient(fake.Credentials(), entrupy.WithBaseURL(mockBase), entrupytest.FastRetry())
	require.NoError(t, err)
	authorize(t, c)
	assert.Equal(t, 1, fake.Calls(entrupytest.RouteAuthorizeUser))
	assert.Equal(t, 1, httpmock.GetTotalCallCount())
}

func TestHTTPMock_ActivateAfterNewClient(t *testing.T) {
	fake := entrupytest.New()
	c, err := entrupy.NewClient(fake.Credentials(), entrupy.WithBaseURL(mockBase), entrupytest.FastRetry())
	require.NoError(t, err)

	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterResponder(http.MethodPost, mockBase+"/v2/integrations/authorize-user", fake.Responder())
	authorize(t, c)
	assert.Equal(t, 1, fake.Calls(entrupytest.RouteAuthorizeUser))
	assert.Equal(t, 1, httpmock.GetCallCountInfo()["POST "+mockBase+"/v2/integrations/authorize-user"])
}

func TestHTTPMock_ActivateNonDefault(t *testing.T) {
	fake := entrupytest.New()
	hc := &http.Client{}
	httpmock.ActivateNonDefault(hc)
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(fake.Responder())

	c, err := entrupy.NewClient(fake.Credentials(), entrupy.WithBaseURL(mockBase), entrupy.WithHTTPClient(hc), entrupytest.FastRetry())
	require.NoError(t, err)
	authorize(t, c)
	assert.Equal(t, 1, fake.Calls(entrupytest.RouteAuthorizeUser))
	assert.Equal(t, 1, httpmock.GetTotalCallCount())
}

func TestHTTPMock_MockTransport(t *testing.T) {
	fake := entrupytest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())

	c, err := entrupy.NewClient(fake.Credentials(), entrupy.WithBaseURL(mockBase),
		entrupy.WithHTTPClient(&http.Client{Transport: mt}), entrupytest.FastRetry())
	require.NoError(t, err)
	authorize(t, c)
	assert.Equal(t, 1, fake.Calls(entrupytest.RouteAuthorizeUser))
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

// One injected 429 with a long Retry-After costs milliseconds with
// FastRetry, over httpmock and over a socket.
func TestFastRetry_429(t *testing.T) {
	s := entrupytest.NewServer(t)
	viaSocket, err := s.NewClient()
	require.NoError(t, err)
	for name, c := range map[string]*entrupy.Client{"responder": mockClient(t, s.Fake), "socket": viaSocket} {
		t.Run(name, func(t *testing.T) {
			before := s.Calls(entrupytest.RouteAuthorizeUser)
			s.FailNext(1, entrupytest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
			start := time.Now()
			authorize(t, c)
			assert.Less(t, time.Since(start), time.Second)
			assert.Equal(t, before+2, s.Calls(entrupytest.RouteAuthorizeUser))
		})
	}
}
