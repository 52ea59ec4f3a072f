package uqudo_test

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

// infoMock serves the JWKS of fake at apiBase and returns a client whose
// audience is the fake's client id.
func infoMock(t *testing.T) (*httpmock.MockTransport, *uqudotest.Fake, *uqudo.Client) {
	t.Helper()
	mt := newMock(t)
	fake := uqudotest.New(uqudotest.WithCredentials(testClientID, testSecret))
	mt.RegisterResponder(http.MethodGet, apiBase+"api/.well-known/jwks.json", fake.Responder())
	return mt, fake, mockClient(t, mt)
}

func TestClient_Info_Request(t *testing.T) {
	mt, fake, c := infoMock(t)
	jws, err := fake.SignResult(uqudotest.ResultClaims{SessionID: sid, Nonce: "abc"})
	require.NoError(t, err)
	var accept, authz string
	mt.RegisterResponder(http.MethodGet, apiBase+"api/v1/info/"+sid, func(r *http.Request) (*http.Response, error) {
		accept, authz = r.Header.Get("Accept"), r.Header.Get("Authorization")
		resp := httpmock.NewStringResponse(200, jws)
		resp.Header.Set("Content-Type", "application/jwt")
		return resp, nil
	})
	res, err := c.Info(context.Background(), sid)
	require.NoError(t, err)
	assert.Equal(t, "application/jwt", accept)
	assert.Equal(t, "Bearer "+testToken, authz)
	assert.Equal(t, sid, res.SessionID)
	assert.Equal(t, "abc", res.Nonce)
	assert.Equal(t, 1, mt.GetCallCountInfo()["GET "+apiBase+"api/.well-known/jwks.json"])
}

// A result for another session, or signed by someone else, is rejected.
func TestClient_Info_Rejected(t *testing.T) {
	mt, fake, c := infoMock(t)
	otherSession, err := fake.SignResult(uqudotest.ResultClaims{SessionID: "aaaaaaaa-0000-4000-8000-000000000000"})
	require.NoError(t, err)
	forged, err := uqudotest.SignPayload(attackerKey(), fake.KeyID(), claimsJSON(t, newClock(), sid))
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		body string
		want error
	}{
		"other session": {otherSession, uqudo.ErrSessionMismatch},
		"forged":        {forged, uqudo.ErrBadSignature},
		"not a JWS":     {"<html>hi</html>", uqudo.ErrMalformedResult},
		"empty":         {"", uqudo.ErrMalformedResult},
	} {
		t.Run(name, func(t *testing.T) {
			mt.RegisterResponder(http.MethodGet, apiBase+"api/v1/info/"+sid, httpmock.NewStringResponder(200, tc.body))
			res, err := c.Info(context.Background(), sid)
			require.Nil(t, res)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, uqudo.ErrInvalidResult)
		})
	}
}

func TestClient_Info_Errors(t *testing.T) {
	cases := []struct {
		status int
		want   error
		calls  int
	}{
		{400, uqudo.ErrInvalidInput, 1},
		{401, uqudo.ErrUnauthorized, 2},
		{403, uqudo.ErrForbidden, 1},
		{404, uqudo.ErrNotFound, 1},
		{429, uqudo.ErrRateLimited, 3},
		{500, uqudo.ErrServer, 1},
		{503, uqudo.ErrServer, 3}, // GET is retried
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			mt := newMock(t)
			c := mockClient(t, mt, uqudo.WithRetry(2, time.Millisecond, 2*time.Millisecond))
			mt.RegisterResponder(http.MethodGet, apiBase+"api/v1/info/"+sid, httpmock.NewStringResponder(tc.status, `{"error":"X"}`))
			_, err := c.Info(context.Background(), sid)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, tc.calls, mt.GetCallCountInfo()["GET "+apiBase+"api/v1/info/"+sid])
		})
	}
	mt := newMock(t)
	c := mockClient(t, mt)
	for _, bad := range []string{"", "a\x00b"} {
		_, err := c.Info(context.Background(), bad)
		require.ErrorIs(t, err, uqudo.ErrInvalidInput)
		require.ErrorIs(t, c.DeleteInfo(context.Background(), bad), uqudo.ErrInvalidInput)
	}
	assert.Empty(t, mt.GetCallCountInfo()[tokenURL])
}

func TestClient_DeleteInfo(t *testing.T) {
	mt := newMock(t)
	c := mockClient(t, mt)
	mt.RegisterResponder(http.MethodDelete, apiBase+"api/v1/info/"+sid, httpmock.NewStringResponder(204, ""))
	require.NoError(t, c.DeleteInfo(context.Background(), sid))
	mt.RegisterResponder(http.MethodDelete, apiBase+"api/v1/info/..%2Fx", httpmock.NewStringResponder(404, ""))
	require.ErrorIs(t, c.DeleteInfo(context.Background(), "../x"), uqudo.ErrNotFound)
	assert.Equal(t, 1, mt.GetCallCountInfo()["DELETE "+apiBase+"api/v1/info/..%2Fx"])
}

// End to end over a socket: create, complete, fetch, purge.
func TestClient_Info_Fake(t *testing.T) {
	clock := newClock()
	srv, c := fakeClient(t, []uqudotest.Option{uqudotest.WithClock(clock.Now)})
	ctx := context.Background()
	s, err := c.CreateSession(ctx, uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypeSAUID}}})
	require.NoError(t, err)
	_, err = c.Info(ctx, s.ID)
	require.ErrorIs(t, err, uqudo.ErrNotFound)

	_, err = srv.CompleteSession(s.ID, nil)
	require.NoError(t, err)
	res, err := c.Info(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, s.ID, res.SessionID)
	assert.Equal(t, uqudo.DocumentTypeSAUID, res.Documents[0].DocumentType)

	// The result expires by the shared clock.
	clock.Advance(uqudotest.DefaultResultTTL + 2*uqudo.DefaultLeeway)
	_, err = c.Info(ctx, s.ID)
	require.ErrorIs(t, err, uqudo.ErrExpiredResult)

	require.NoError(t, c.DeleteInfo(ctx, s.ID))
	_, err = c.Info(ctx, s.ID)
	require.ErrorIs(t, err, uqudo.ErrNotFound)
	require.ErrorIs(t, c.DeleteInfo(ctx, s.ID), uqudo.ErrNotFound)
	assert.Equal(t, 1, srv.Calls(uqudotest.RouteJWKS))
}
