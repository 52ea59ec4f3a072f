package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// These tests change http.DefaultTransport (httpmock.Activate does): they
// must not run in parallel, and each restores it in its cleanup.

const mockURL = "https://vendor.test/api/thing"

func activate(t *testing.T) {
	t.Helper()
	httpmock.Activate()
	t.Cleanup(httpmock.DeactivateAndReset)
}

func doThing(t *testing.T, c *httpx.Client) {
	t.Helper()
	var out thing
	_, err := c.Do(context.Background(), &httpx.Request{Path: "thing"}, &out)
	require.NoError(t, err)
	assert.Equal(t, "t1", out.ID)
}

func thingResponder() httpmock.Responder {
	return httpmock.NewStringResponder(200, `{"id":"t1"}`)
}

func TestHTTPMock_ActivateBeforeNew(t *testing.T) {
	activate(t)
	httpmock.RegisterResponder("GET", mockURL, thingResponder())
	c := newClient(t, clientOpts{}) // building it used to panic: the default transport is not an *http.Transport
	doThing(t, c)
	assert.Equal(t, 1, httpmock.GetCallCountInfo()["GET "+mockURL])
}

func TestHTTPMock_ActivateAfterNew(t *testing.T) {
	for name, o := range map[string]clientOpts{
		"no HTTPClient":                  {},
		"no HTTPClient, with a logger":   {logs: &syncBuffer{}},
		"HTTPClient without a Transport": {hc: &http.Client{Timeout: time.Minute}},
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, o)
			activate(t)
			httpmock.RegisterResponder("GET", mockURL, thingResponder())
			doThing(t, c) // used to bypass the mock and look up vendor.test for real
			assert.Equal(t, 1, httpmock.GetCallCountInfo()["GET "+mockURL])
		})
	}
}

func TestHTTPMock_ActivateNonDefault(t *testing.T) {
	hc := &http.Client{}
	httpmock.ActivateNonDefault(hc)
	t.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterResponder("GET", mockURL, thingResponder())
	c := newClient(t, clientOpts{hc: hc})
	doThing(t, c)
	assert.Equal(t, 1, httpmock.GetCallCountInfo()["GET "+mockURL])
}

func TestHTTPMock_NewMockTransport(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder("GET", mockURL, thingResponder())
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}})
	doThing(t, c)
	assert.Equal(t, 1, calls(mt, "GET "+mockURL))
}

// countingTransport is what a program that instruments the default
// transport (tracing, metrics) puts in its place.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestDefaultTransport_WrappedIsKept(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"id":"t1"}`))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, clientOpts{base: srv.URL + "/api/"})
	orig := http.DefaultTransport
	wrapped := &countingTransport{next: orig}
	http.DefaultTransport = wrapped
	t.Cleanup(func() { http.DefaultTransport = orig })
	doThing(t, c)
	doThing(t, c)
	assert.EqualValues(t, 2, wrapped.n.Load(), "every request goes through the program's wrapping")
}

func TestClient_Close(t *testing.T) {
	var nilClient *httpx.Client
	nilClient.Close()
	nilClient.Close()

	mt := newMock(t)
	mt.RegisterResponder("GET", mockURL, thingResponder())
	hc := &http.Client{Transport: mt}
	c := newClient(t, clientOpts{hc: hc})
	c.Close()
	c.Close()
	doThing(t, c) // documented: calls after Close keep working
	assert.Same(t, mt, hc.Transport, "the caller's client is not touched")
}
