package uqudo_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
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
	fake := uqudotest.New(uqudotest.WithClientCredentials(testClientID, testSecret))
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
	} {
		t.Run(name, func(t *testing.T) {
			mt.RegisterResponder(http.MethodGet, apiBase+"api/v1/info/"+sid, httpmock.NewStringResponder(200, tc.body))
			res, err := c.Info(context.Background(), sid)
			require.Nil(t, res)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, uqudo.ErrInvalidResult)
			var de *uqudo.DecodeError
			assert.False(t, errors.As(err, &de), "a whole JWS that fails verification is not a decode error")
			assert.False(t, errors.Is(err, uqudo.ErrMalformedResponse))
		})
	}
}

// Issue 11 item 10: a 200 whose body is not a whole JWS (empty, an HTML
// page, cut short) is a *DecodeError matching ErrMalformedResponse and its
// specific kind, as the README promises; ErrMalformedResult still matches.
func TestClient_Info_MalformedBody(t *testing.T) {
	mt, fake, c := infoMock(t)
	good, err := fake.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	dots := strings.Index(good, ".") + 1 + strings.Index(good[strings.Index(good, ".")+1:], ".")
	cases := map[string]struct {
		body string
		kind error
	}{
		"empty":                {"", uqudo.ErrEmptyBody},
		"blank":                {" \n ", uqudo.ErrEmptyBody},
		"HTML page":            {"<html><body>Maintenance. Back soon.</body></html>", uqudo.ErrNotJSON},
		"JSON":                 {`{"error":"oops"}`, uqudo.ErrNotJSON},
		"cut in the signature": {good[:len(good)-10], uqudo.ErrTruncatedJSON},
		"cut by 1":             {good[:len(good)-1], uqudo.ErrTruncatedJSON},
		"cut by 2":             {good[:len(good)-2], uqudo.ErrTruncatedJSON},
		"cut by 3":             {good[:len(good)-3], uqudo.ErrTruncatedJSON},
		"no signature":         {good[:dots+1], uqudo.ErrTruncatedJSON},
		"cut in the payload":   {good[:dots-20], uqudo.ErrTruncatedJSON},
		"header only":          {good[:strings.Index(good, ".")], uqudo.ErrTruncatedJSON},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			mt.RegisterResponder(http.MethodGet, apiBase+"api/v1/info/"+sid, httpmock.NewStringResponder(200, tc.body))
			res, err := c.Info(context.Background(), sid)
			require.Nil(t, res)
			var de *uqudo.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.kind, de.Kind)
			assert.Equal(t, http.MethodGet, de.Method)
			assert.Equal(t, "/i/api/v1/info/"+sid, de.Path)
			assert.Equal(t, http.StatusOK, de.StatusCode)
			require.ErrorIs(t, err, uqudo.ErrMalformedResponse)
			require.ErrorIs(t, err, tc.kind)
			require.ErrorIs(t, err, uqudo.ErrMalformedResult)
			assert.False(t, uqudo.IsRetryable(err))
			if len(tc.body) > 20 {
				assert.NotContains(t, err.Error(), tc.body[len(tc.body)-20:], "no JWS in the message")
			}
		})
	}
	// The whole JWS verifies.
	mt.RegisterResponder(http.MethodGet, apiBase+"api/v1/info/"+sid, httpmock.NewStringResponder(200, good))
	_, err = c.Info(context.Background(), sid)
	require.NoError(t, err)
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
