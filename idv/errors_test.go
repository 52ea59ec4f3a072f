package idv_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
)

// TestClient_ErrorMapping maps every answer class to its error, for a create
// call (POST device) and a read (GET session).
func TestClient_ErrorMapping(t *testing.T) {
	type want struct {
		sentinel  error
		status    int
		code      string
		retryable bool
	}
	tests := []struct {
		name   string
		status int
		body   string
		header http.Header
		want   want
	}{
		{"400", 400, `{"code":"INVALID_TTL","message":"ttl out of range"}`, nil, want{idv.ErrInvalidInput, 400, "INVALID_TTL", false}},
		{"401", 401, `{"code":"UNAUTHORIZED","message":"bad key"}`, nil, want{idv.ErrUnauthorized, 401, "UNAUTHORIZED", false}},
		{"403", 403, `{"message":"missing permission Ephemeral Devices: Write"}`, nil, want{idv.ErrForbidden, 403, "", false}},
		{"404", 404, `{"code":"SESSION_NOT_FOUND"}`, nil, want{idv.ErrNotFound, 404, "SESSION_NOT_FOUND", false}},
		{"409", 409, `{"code":"CONFLICT"}`, nil, want{idv.ErrConflict, 409, "CONFLICT", false}},
		{"422", 422, `{"errorCode":"BAD_METADATA"}`, nil, want{idv.ErrInvalidInput, 422, "BAD_METADATA", false}},
		{"429", 429, `{"message":"slow down"}`, http.Header{"Retry-After": {"7"}}, want{idv.ErrRateLimited, 429, "", true}},
		{"500", 500, `oops`, nil, want{idv.ErrServer, 500, "", false}},
		{"503 html", 503, `<html><body>maintenance</body></html>`, nil, want{idv.ErrServer, 503, "", true}},
		{"malformed JSON", 200, `{"authorization": "x", "id": }`, nil, want{idv.ErrNotJSON, 0, "", false}},
		{"html page", 200, `<!doctype html><html>login</html>`, nil, want{idv.ErrNotJSON, 0, "", false}},
		{"empty body", 200, ``, nil, want{idv.ErrEmptyBody, 0, "", false}},
		{"truncated JSON", 200, `{"authorization":"abc","id":"ab`, nil, want{idv.ErrTruncatedJSON, 0, "", false}},
		{"missing field", 200, `{"other":1}`, nil, want{idv.ErrMissingField, 0, "", false}},
	}
	calls := []struct {
		name, method, url string
		do                func(*idv.Client) error
	}{
		{"create device", http.MethodPost, deviceURL, func(c *idv.Client) error {
			_, err := c.CreateEphemeralDevice(context.Background(), time.Minute)
			return err
		}},
		{"get session", http.MethodGet, "https://idv.test/tenant/api/sessions/s1", func(c *idv.Client) error {
			_, err := c.GetSession(context.Background(), "s1")
			return err
		}},
	}
	for _, call := range calls {
		for _, tt := range tests {
			t.Run(call.name+"/"+tt.name, func(t *testing.T) {
				mt := newMock(t)
				register(mt, call.method, call.url, cannedResp{status: tt.status, body: tt.body, header: tt.header})
				c := newClient(t, mt, idv.WithRetry(0, 0, 0))
				err := call.do(c)
				require.Error(t, err)
				require.ErrorIs(t, err, tt.want.sentinel)
				assert.Equal(t, tt.want.retryable, idv.IsRetryable(err))
				assert.Equal(t, 1, totalCalls(mt))
				if tt.want.status == 0 {
					var de *idv.DecodeError
					require.ErrorAs(t, err, &de)
					assert.ErrorIs(t, err, idv.ErrMalformedResponse)
					assert.Equal(t, call.method, de.Method)
					return
				}
				var apiErr *idv.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tt.want.status, apiErr.StatusCode)
				assert.Equal(t, tt.want.code, apiErr.Code)
				assert.Equal(t, call.method, apiErr.Method)
				assert.Equal(t, "idv", apiErr.Vendor)
				if tt.status == 429 {
					assert.Equal(t, 7*time.Second, apiErr.RetryAfter)
				}
			})
		}
	}
}

func TestClient_StartSession_NoRetryOn5xx(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodPost, sessionsPattern, respond(502, ""), respond(200, `{"id":"s"}`))
	c := newClient(t, mt)
	_, err := c.StartSession(context.Background(), device(), "wf", nil)
	require.ErrorIs(t, err, idv.ErrServer)
	assert.True(t, idv.IsRetryable(err))
	assert.Equal(t, 1, totalCalls(mt), "a session is not created twice by a retry")
}

func TestClient_CreateDeepLink_RetryOn429Only(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodPost, deepLinkPattern, respond(429, ""), respond(500, ""), respond(200, `{"url":"https://x/1"}`))
	c := newClient(t, mt)
	_, err := c.CreateDeepLink(context.Background(), idv.DeepLinkParams{WorkflowIDs: []string{"wf"}})
	require.ErrorIs(t, err, idv.ErrServer)
	assert.Equal(t, 2, totalCalls(mt), "429 is retried, the 500 after it is not")
}
