package sentiancetest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

// The three ways Go users plug httpmock in, each with the fake's Responder.
// The Activate tests change global state: they are not parallel, and
// DeactivateAndReset runs at cleanup.

const mockBase = "https://sentiance.test"

func createCode(t *testing.T, c *sentiance.Client) {
	t.Helper()
	code, err := c.CreateAuthCode(context.Background(), "user-1")
	require.NoError(t, err)
	assert.NotEmpty(t, code.Code)
}

func TestHTTPMock_ActivateBeforeNewClient(t *testing.T) {
	fake := sentiancetest.New()
	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(fake.Responder())

	c, err := sentiance.NewClient(fake.Credentials(), sentiance.WithBaseURL(mockBase), sentiancetest.FastRetry())
	require.NoError(t, err)
	createCode(t, c)
	assert.Equal(t, 1, fake.Calls(sentiancetest.RouteCreateAuthCode))
	assert.Equal(t, 1, httpmock.GetTotalCallCount())
}

func TestHTTPMock_ActivateAfterNewClient(t *testing.T) {
	fake := sentiancetest.New()
	c, err := sentiance.NewClient(fake.Credentials(), sentiance.WithBaseURL(mockBase), sentiancetest.FastRetry())
	require.NoError(t, err)

	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterResponder(http.MethodPost, mockBase+"/users/auth-code", fake.Responder())
	createCode(t, c)
	assert.Equal(t, 1, fake.Calls(sentiancetest.RouteCreateAuthCode))
	assert.Equal(t, 1, httpmock.GetCallCountInfo()["POST "+mockBase+"/users/auth-code"])
}

func TestHTTPMock_ActivateNonDefault(t *testing.T) {
	fake := sentiancetest.New()
	hc := &http.Client{}
	httpmock.ActivateNonDefault(hc)
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(fake.Responder())

	c, err := sentiance.NewClient(fake.Credentials(), sentiance.WithBaseURL(mockBase), sentiance.WithHTTPClient(hc), sentiancetest.FastRetry())
	require.NoError(t, err)
	createCode(t, c)
	assert.Equal(t, 1, fake.Calls(sentiancetest.RouteCreateAuthCode))
	assert.Equal(t, 1, httpmock.GetTotalCallCount())
}

func TestHTTPMock_MockTransport(t *testing.T) {
	fake := sentiancetest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())

	c, err := sentiance.NewClient(fake.Credentials(), sentiance.WithBaseURL(mockBase),
		sentiance.WithHTTPClient(&http.Client{Transport: mt}), sentiancetest.FastRetry())
	require.NoError(t, err)
	createCode(t, c)
	assert.Equal(t, 1, fake.Calls(sentiancetest.RouteCreateAuthCode))
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

// One injected 429 with a long Retry-After costs milliseconds with
// FastRetry, over httpmock and over a socket.
func TestFastRetry_429(t *testing.T) {
	srv := sentiancetest.NewServer(t)
	viaSocket, err := srv.NewClient()
	require.NoError(t, err)
	for name, c := range map[string]*sentiance.Client{"responder": mockClient(t, srv.Fake), "socket": viaSocket} {
		t.Run(name, func(t *testing.T) {
			before := srv.Calls(sentiancetest.RouteCreateAuthCode)
			srv.FailNext(1, sentiancetest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
			start := time.Now()
			createCode(t, c)
			assert.Less(t, time.Since(start), time.Second)
			assert.Equal(t, before+2, srv.Calls(sentiancetest.RouteCreateAuthCode))
		})
	}
}
