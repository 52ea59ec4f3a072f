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

const sessionsPattern = `=~^https://idv\.test/tenant/api/sessions\?`

func device() *idv.EphemeralDevice {
	return &idv.EphemeralDevice{Token: testToken, ExpiresAt: fixedNow.Add(time.Hour)}
}

func TestClient_StartSession(t *testing.T) {
	mt := newMock(t)
	body := `{"id":"ses-42","workflowId":"wf 1","createdAt":"2025-03-04T05:06:08Z","status":0,"extra":{"a":1}}`
	rec := register(mt, http.MethodPost, sessionsPattern, respond(201, body))
	c := newClient(t, mt)

	md := idv.WithExternalUserID(map[string]any{"plan": "gold"}, "user-7")
	s, err := c.StartSession(context.Background(), device(), "wf 1&x=y", md)
	require.NoError(t, err)
	assert.Equal(t, "ses-42", s.ID)
	assert.Equal(t, "wf 1", s.WorkflowID, "the answer's workflowId wins")
	assert.Equal(t, time.Date(2025, 3, 4, 5, 6, 8, 0, time.UTC), s.CreatedAt)
	assert.JSONEq(t, body, string(s.Raw))

	reqs := rec.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "https://idv.test/tenant/api/sessions", r.URL)
	assert.Equal(t, "workflowId=wf+1%26x%3Dy", r.Query, "the workflow id is one escaped query value")
	assert.Equal(t, "Token "+testToken, r.Header.Get("Authorization"), "the device token, not the API key")
	jsonEq(t, `{"metadata":{"externalUserId":"user-7","plan":"gold"}}`, r.Body)
}

func TestClient_StartSession_Defaults(t *testing.T) {
	mt := newMock(t)
	rec := register(mt, http.MethodPost, sessionsPattern, respond(200, `{"id":17}`))
	c := newClient(t, mt)
	s, err := c.StartSession(context.Background(), device(), "wf", nil)
	require.NoError(t, err)
	assert.Equal(t, "17", s.ID, "a numeric id is accepted")
	assert.Equal(t, "wf", s.WorkflowID, "the requested workflow when the answer has none")
	assert.Equal(t, fixedNow, s.CreatedAt, "the client clock when the answer has no createdAt")
	jsonEq(t, `{"metadata":{}}`, rec.requests()[0].Body)
}

func TestClient_StartSession_TokenWithScheme(t *testing.T) {
	mt := newMock(t)
	rec := register(mt, http.MethodPost, sessionsPattern, respond(200, `{"id":"s"}`))
	c := newClient(t, mt)
	d := &idv.EphemeralDevice{Token: "Bearer " + testToken}
	_, err := c.StartSession(context.Background(), d, "wf", nil)
	require.NoError(t, err)
	assert.Equal(t, "Bearer "+testToken, rec.requests()[0].Header.Get("Authorization"))
}

func TestClient_StartSession_Validation(t *testing.T) {
	expired := &idv.EphemeralDevice{Token: testToken, ExpiresAt: fixedNow}
	tests := []struct {
		name   string
		device *idv.EphemeralDevice
		wf     string
		md     map[string]any
		field  string
	}{
		{"nil device", nil, "wf", nil, "device"},
		{"empty token", &idv.EphemeralDevice{}, "wf", nil, "device.token"},
		{"token with newline", &idv.EphemeralDevice{Token: "a\nb"}, "wf", nil, "device.token"},
		{"token with trailing space", &idv.EphemeralDevice{Token: testToken + " "}, "wf", nil, "device.token"},
		{"expired device", expired, "wf", nil, "device.expires_at"},
		{"empty workflow", device(), "", nil, "workflow_id"},
		{"invalid UTF-8 workflow", device(), "wf\xff", nil, "workflow_id"},
		{"metadata not JSON", device(), "wf", map[string]any{"f": func() {}}, "metadata"},
	}
	mt := newMock(t)
	c := newClient(t, mt)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.StartSession(context.Background(), tt.device, tt.wf, tt.md)
			assert.Nil(t, s)
			require.ErrorIs(t, err, idv.ErrInvalidInput)
			var ve *idv.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			assert.NotContains(t, err.Error(), testToken)
		})
	}
	assert.Zero(t, totalCalls(mt))
}

func TestClient_StartSession_BadResponse(t *testing.T) {
	tests := []struct{ name, body string }{
		{"missing id", `{"workflowId":"wf"}`},
		{"empty id", `{"id":""}`},
		{"null id", `{"id":null}`},
		{"id with control character", `{"id":"a\u0000b"}`},
		{"bad createdAt", `{"id":"s","createdAt":"yesterday"}`},
		{"array", `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := newMock(t)
			register(mt, http.MethodPost, sessionsPattern, respond(200, tt.body))
			c := newClient(t, mt)
			_, err := c.StartSession(context.Background(), device(), "wf", nil)
			require.ErrorIs(t, err, idv.ErrMalformedResponse)
			var de *idv.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, http.MethodPost, de.Method)
			assert.Equal(t, "/tenant/api/sessions", de.Path)
		})
	}
}

func TestClient_StartSession_ExpiredTokenAnswer(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodPost, sessionsPattern,
		respond(401, `{"code":"TOKEN_EXPIRED","message":"token `+testToken+` expired"}`))
	c := newClient(t, mt)
	_, err := c.StartSession(context.Background(), device(), "wf", nil)
	require.ErrorIs(t, err, idv.ErrUnauthorized)
	var apiErr *idv.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "TOKEN_EXPIRED", apiErr.Code)
	assert.NotContains(t, err.Error(), testToken)
	assert.NotContains(t, string(apiErr.Body), testToken)
	assert.False(t, idv.IsRetryable(err))
}

func TestWithExternalUserID(t *testing.T) {
	in := map[string]any{"plan": "gold", idv.MetadataExternalUserID: "old"}
	out := idv.WithExternalUserID(in, "user-9")
	assert.Equal(t, map[string]any{"plan": "gold", "externalUserId": "user-9"}, out)
	assert.Equal(t, "old", in[idv.MetadataExternalUserID], "the caller's map is not modified")

	out = idv.WithExternalUserID(nil, "u")
	assert.Equal(t, map[string]any{"externalUserId": "u"}, out)
}
