package idv_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
)

func TestClient_GetSession(t *testing.T) {
	fixture, err := os.ReadFile("testdata/session_result.json")
	require.NoError(t, err)
	id := "6f1c2a4e-9b0d-4c1e-8a57-2d3b4c5d6e7f"
	mt := newMock(t)
	rec := register(mt, http.MethodGet, "https://idv.test/tenant/api/sessions/"+id, respond(200, string(fixture)))
	c := newClient(t, mt)

	res, err := c.GetSession(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, id, res.ID)
	assert.Equal(t, "kyc-passport", res.WorkflowID)
	assert.Equal(t, idv.SessionStatusApproved, res.Status)
	assert.Equal(t, map[string]any{"externalUserId": "user-42"}, res.Metadata)
	assert.JSONEq(t, `{"documentType":"passport","firstName":"JANE","lastName":"DOE"}`, string(res.Properties))
	assert.Equal(t, time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), res.CreatedAt)
	assert.Equal(t, time.Date(2025, 3, 4, 5, 16, 7, 5e8, time.UTC), res.UpdatedAt)
	assert.JSONEq(t, string(fixture), string(res.Raw))

	var raw struct {
		Files []struct{ Name string } `json:"files"`
	}
	require.NoError(t, json.Unmarshal(res.Raw, &raw))
	assert.Equal(t, "portrait.jpg", raw.Files[0].Name, "everything else stays reachable through Raw")

	r := rec.requests()[0]
	assert.Equal(t, "ApiKey "+testKey, r.Header.Get("Authorization"))
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
}

func TestClient_GetSession_EscapesID(t *testing.T) {
	mt := newMock(t)
	rec := register(mt, http.MethodGet, `=~^https://idv\.test/tenant/api/sessions/`, respond(200, `{"id":"x"}`))
	c := newClient(t, mt)
	for _, tt := range []struct{ id, path string }{
		{"a/b", "https://idv.test/tenant/api/sessions/a%2Fb"},
		{"..", "https://idv.test/tenant/api/sessions/%2E%2E"},
		{"a b?c#d", "https://idv.test/tenant/api/sessions/a%20b%3Fc%23d"},
	} {
		_, err := c.GetSession(context.Background(), tt.id)
		require.NoError(t, err, tt.id)
		reqs := rec.requests()
		last := reqs[len(reqs)-1]
		assert.Equal(t, tt.path, last.URL, tt.id)
		assert.Empty(t, last.Query, tt.id)
	}
}

func TestClient_GetSession_Validation(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	for _, id := range []string{"", "a\nb", "\xff"} {
		_, err := c.GetSession(context.Background(), id)
		require.ErrorIs(t, err, idv.ErrInvalidInput, "%q", id)
	}
	assert.Zero(t, totalCalls(mt))
}

func TestClient_GetSession_RetriesGET(t *testing.T) {
	mt := newMock(t)
	url := "https://idv.test/tenant/api/sessions/s1"
	register(mt, http.MethodGet, url, respond(503, ""), respond(502, "<html>bad gateway</html>"), respond(200, `{"id":"s1","status":2}`))
	c := newClient(t, mt)
	res, err := c.GetSession(context.Background(), "s1")
	require.NoError(t, err)
	assert.Equal(t, idv.SessionStatusVerified, res.Status)
	assert.Equal(t, 3, calls(mt, "GET "+url))
}

func TestClient_GetSession_NullProperties(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodGet, "https://idv.test/tenant/api/sessions/s1", respond(200, `{"id":"s1","properties":null}`))
	c := newClient(t, mt)
	res, err := c.GetSession(context.Background(), "s1")
	require.NoError(t, err)
	assert.Nil(t, res.Properties)
	assert.Equal(t, idv.SessionStatus(""), res.Status)
}

func TestSessionStatus_Decode(t *testing.T) {
	tests := []struct {
		wire string
		want idv.SessionStatus
	}{
		{`0`, idv.SessionStatusNotCompleted},
		{`1`, idv.SessionStatusNotVerified},
		{`2`, idv.SessionStatusVerified},
		{`3`, idv.SessionStatusApproved},
		{`4`, idv.SessionStatusPending},
		{`1000`, idv.SessionStatusRejected},
		{`7`, "7"},
		{`-1`, "-1"},
		{`2.5`, "2.5"},
		{`"2"`, "2"},
		{`"IN_REVIEW"`, "IN_REVIEW"},
		{`"verified"`, idv.SessionStatusVerified},
		{`null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.wire, func(t *testing.T) {
			var s idv.SessionStatus
			require.NoError(t, json.Unmarshal([]byte(tt.wire), &s))
			assert.Equal(t, tt.want, s)
		})
	}
	var s idv.SessionStatus
	assert.Error(t, json.Unmarshal([]byte(`{}`), &s))
	assert.Error(t, json.Unmarshal([]byte(`true`), &s))
}

func TestSessionStatus_Code(t *testing.T) {
	tests := []struct {
		s     idv.SessionStatus
		code  int
		ok    bool
		known bool
	}{
		{idv.SessionStatusNotCompleted, 0, true, true},
		{idv.SessionStatusVerified, 2, true, true},
		{idv.SessionStatusRejected, 1000, true, true},
		{"7", 7, true, false},
		{"-3", -3, true, false},
		{"IN_REVIEW", 0, false, false},
		{"", 0, false, false},
		{"-", 0, false, false},
		{"99999999999999999999999", 0, false, false},
	}
	for _, tt := range tests {
		code, ok := tt.s.Code()
		assert.Equal(t, tt.ok, ok, "%q", tt.s)
		assert.Equal(t, tt.code, code, "%q", tt.s)
		assert.Equal(t, tt.known, tt.s.Known(), "%q", tt.s)
	}
}
