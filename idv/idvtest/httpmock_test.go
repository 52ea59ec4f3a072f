package idvtest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

// The three ways Go users plug httpmock in, each with the fake's Responder.
// The Activate tests change global state: they are not parallel, and
// DeactivateAndReset runs at cleanup.

const mockBase = "https://idv.test"

func createDevice(t *testing.T, c *idv.Client) {
	t.Helper()
	d, err := c.CreateEphemeralDevice(context.Background(), 0)
	require.NoError(t, err)
	assert.NotEmpty(t, d.Token)
}

func TestHTTPMock_ActivateBeforeNewClient(t *testing.T) {
	fake := idvtest.New()
	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(fake.Responder())

	c, err := idv.NewClient(mockBase, fake.Credentials(), idvtest.FastRetry())
	require.NoError(t, err)
	createDevice(t, c)
	assert.Equal(t, 1, fake.Calls(idvtest.RouteCreateDevice))
	assert.Equal(t, 1, httpmock.GetTotalCallCount())
}

func TestHTTPMock_ActivateAfterNewClient(t *testing.T) {
	fake := idvtest.New()
	c, err := idv.NewClient(mockBase, fake.Credentials(), idvtest.FastRetry())
	require.NoError(t, err)

	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterResponder(http.MethodPost, mockBase+"/api/device/ephemeral", fake.Responder())
	createDevice(t, c)
	assert.Equal(t, 1, fake.Calls(idvtest.RouteCreateDevice))
	assert.Equal(t, 1, httpmock.GetCallCountInfo()["POST "+mockBase+"/api/device/ephemeral"])
}

func TestHTTPMock_ActivateNonDefault(t *testing.T) {
	fake := idvtest.New()
	hc := &http.Client{}
	httpmock.ActivateNonDefault(hc)
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(fake.Responder())

	c, err := idv.NewClient(mockBase, fake.Credentials(), idv.WithHTTPClient(hc), idvtest.FastRetry())
	require.NoError(t, err)
	createDevice(t, c)
	assert.Equal(t, 1, fake.Calls(idvtest.RouteCreateDevice))
	assert.Equal(t, 1, httpmock.GetTotalCallCount())
}

func TestHTTPMock_MockTransport(t *testing.T) {
	fake := idvtest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())

	c, err := idv.NewClient(mockBase, fake.Credentials(), idv.WithHTTPClient(&http.Client{Transport: mt}), idvtest.FastRetry())
	require.NoError(t, err)
	createDevice(t, c)
	assert.Equal(t, 1, fake.Calls(idvtest.RouteCreateDevice))
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

// One injected 429 with a long Retry-After costs milliseconds with
// FastRetry, over httpmock and over a socket.
func TestFastRetry_429(t *testing.T) {
	srv := idvtest.NewServer(t)
	for name, c := range map[string]*idv.Client{"responder": mockClient(t, srv.Fake), "socket": serverClient(t, srv)} {
		t.Run(name, func(t *testing.T) {
			before := srv.Calls(idvtest.RouteCreateDevice)
			srv.FailNext(1, idvtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
			start := time.Now()
			createDevice(t, c)
			assert.Less(t, time.Since(start), time.Second)
			assert.Equal(t, before+2, srv.Calls(idvtest.RouteCreateDevice))
		})
	}
}
