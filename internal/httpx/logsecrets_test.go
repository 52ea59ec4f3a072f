package httpx_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// A vendor that echoes the request into its request-id header: the
// per-attempt debug line scrubs the call's own secrets (Request.Secrets)
// from the request id, as the APIError does, not only the client's.
// Found by the root secret-leak sweep (issue 16 item 1).
func TestLog_RequestIDScrubsCallSecrets(t *testing.T) {
	const callSecret = "sdk-request-CALLSECRET-7f3e9a"
	mt := newMock(t)
	mt.RegisterResponder(http.MethodPost, "https://vendor.test/api/sign", func(r *http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(http.StatusBadRequest, "{}")
		resp.Header.Set("X-Request-Id", "echo "+callSecret+" end")
		return resp, nil
	})
	var logs syncBuffer
	c := newClient(t, clientOpts{hc: &http.Client{Transport: mt}, logs: &logs})
	_, err := c.Do(context.Background(), &httpx.Request{Method: http.MethodPost, Path: "sign",
		JSON: map[string]string{"request": callSecret}, Secrets: []string{callSecret}}, nil)
	var apiErr *httpx.APIError
	require.ErrorAs(t, err, &apiErr)
	require.NotContains(t, apiErr.RequestID, callSecret)
	require.Contains(t, logs.String(), "request_id=", "the attempt is logged with its request id")
	for _, line := range strings.Split(logs.String(), "\n") {
		require.NotContains(t, line, "CALLSECRET", "a log line shows the call's secret")
	}
}
