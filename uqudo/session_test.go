package uqudo_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
)

const sessionURL = sessionBase + "api/v1/session"

func TestClient_CreateSession_Request(t *testing.T) {
	mt := newMock(t)
	clock := newClock()
	c := mockClient(t, mt, uqudo.WithClock(clock.Now))
	var body map[string]string
	var authz, contentType string
	mt.RegisterResponder(http.MethodPost, sessionURL, func(r *http.Request) (*http.Response, error) {
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		authz, contentType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		return httpmock.NewStringResponse(200, `{"sessionId":"0b7c7c4e-1111-4a4a-9c9c-000000000001","qrCodeText":"qr-1","qrCodeTextWithDynamicLink":"https://link/qr-1"}`), nil
	})
	data := passportData()
	s, err := c.CreateSession(context.Background(), data)
	require.NoError(t, err)
	want, err := data.Encode()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"data": want}, body)
	assert.Equal(t, "Bearer "+testToken, authz)
	assert.Equal(t, "application/json", contentType)
	assert.Equal(t, &uqudo.Session{
		ID: "0b7c7c4e-1111-4a4a-9c9c-000000000001", QRCodeText: "qr-1", QRCodeTextWithDynamicLink: "https://link/qr-1",
		ExpiresAt: clock.Now().Add(30 * time.Minute),
	}, s)

	// A pointer and a raw string work too.
	_, err = c.CreateSession(context.Background(), &data)
	require.NoError(t, err)
	assert.Equal(t, want, body["data"])
	_, err = c.CreateSession(context.Background(), uqudo.RawSessionData("my-own-format"))
	require.NoError(t, err)
	assert.Equal(t, "my-own-format", body["data"])
	assert.Equal(t, 3, mt.GetCallCountInfo()["POST "+sessionURL])
	assert.Equal(t, 1, mt.GetCallCountInfo()[tokenURL])
}

func TestClient_CreateSession_InvalidInput_NoRequest(t *testing.T) {
	mt := newMock(t)
	c := mockClient(t, mt)
	var nilData *uqudo.SessionData
	cases := map[string]uqudo.SessionInput{
		"nil":               nil,
		"nil pointer":       nilData,
		"no documents":      uqudo.SessionData{},
		"unknown type":      uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: "MARS_ID"}}},
		"empty raw":         uqudo.RawSessionData(""),
		"oversized raw":     uqudo.RawSessionData(make([]byte, uqudo.MaxSessionDataSize+1)),
		"bad level":         uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport, FaceScanMinimumMatchLevel: 6}}},
		"bad timeout":       uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport, Reading: &uqudo.Reading{TimeoutInSeconds: uqudo.Int(-2)}}}},
		"bad face attempts": uqudo.SessionData{Documents: passportData().Documents, FacialRecognition: &uqudo.FacialRecognition{MaxAttempts: -1}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := c.CreateSession(context.Background(), in)
			require.Nil(t, s)
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
		})
	}
	assert.Empty(t, mt.GetCallCountInfo()[tokenURL])
	assert.Empty(t, mt.GetCallCountInfo()["POST "+sessionURL])
}

// Status and body -> error mapping, shared by every call through httpx.
func TestClient_CreateSession_Errors(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       string
		header     http.Header
		want       error
		wantCalls  int
		retryAfter time.Duration
	}{
		{"400", 400, `{"error":"INVALID_INPUT","message":"data is required"}`, nil, uqudo.ErrInvalidInput, 1, 0},
		{"401 retried once with a fresh token", 401, `{"error":"invalid_token"}`, nil, uqudo.ErrUnauthorized, 2, 0},
		{"403", 403, `{"error":"FORBIDDEN"}`, nil, uqudo.ErrForbidden, 1, 0},
		{"404", 404, `{}`, nil, uqudo.ErrNotFound, 1, 0},
		{"409", 409, `{}`, nil, uqudo.ErrConflict, 1, 0},
		{"429 retried then returned", 429, `{}`, http.Header{"Retry-After": {"1"}}, uqudo.ErrRateLimited, 3, time.Second},
		{"500 not retried (POST)", 500, `{}`, nil, uqudo.ErrServer, 1, 0},
		{"503 not retried (POST)", 503, `{}`, nil, uqudo.ErrServer, 1, 0},
		{"malformed JSON", 200, `{"sessionId": 12}`, nil, uqudo.ErrMalformedResponse, 1, 0},
		{"HTML page", 200, `<html><body>maintenance</body></html>`, nil, uqudo.ErrMalformedResponse, 1, 0},
		{"empty body", 200, ``, nil, uqudo.ErrMalformedResponse, 1, 0},
		{"truncated JSON", 200, `{"sessionId":"abc","qrCo`, nil, uqudo.ErrMalformedResponse, 1, 0},
		{"missing sessionId", 200, `{"qrCodeText":"qr"}`, nil, uqudo.ErrMalformedResponse, 1, 0},
		{"missing qrCodeText", 200, `{"sessionId":"abc"}`, nil, uqudo.ErrMalformedResponse, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mt := newMock(t)
			c := mockClient(t, mt, uqudo.WithRetry(2, time.Millisecond, 2*time.Millisecond))
			mt.RegisterResponder(http.MethodPost, sessionURL, func(*http.Request) (*http.Response, error) {
				resp := httpmock.NewStringResponse(tc.status, tc.body)
				for k, v := range tc.header {
					resp.Header[k] = v
				}
				return resp, nil
			})
			s, err := c.CreateSession(context.Background(), passportData())
			require.Nil(t, s)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, tc.wantCalls, mt.GetCallCountInfo()["POST "+sessionURL])
			if tc.status >= 400 {
				var apiErr *uqudo.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tc.status, apiErr.StatusCode)
				assert.Equal(t, tc.retryAfter, apiErr.RetryAfter)
				assert.Contains(t, err.Error(), "/s/api/v1/session")
			} else {
				var de *uqudo.DecodeError
				require.ErrorAs(t, err, &de)
			}
			assert.Equal(t, tc.status == 429 || tc.status == 503, uqudo.IsRetryable(err))
		})
	}
}

func TestClient_DeleteSession(t *testing.T) {
	mt := newMock(t)
	c := mockClient(t, mt)
	// The QR text is one escaped path segment.
	mt.RegisterResponder(http.MethodDelete, sessionBase+"api/v1/session/a%2Fb%20c", httpmock.NewStringResponder(204, ""))
	require.NoError(t, c.DeleteSession(context.Background(), "a/b c"))
	assert.Equal(t, 1, mt.GetCallCountInfo()["DELETE "+sessionBase+"api/v1/session/a%2Fb%20c"])

	mt.RegisterResponder(http.MethodDelete, sessionBase+"api/v1/session/gone", httpmock.NewStringResponder(404, `{"error":"NOT_FOUND"}`))
	require.ErrorIs(t, c.DeleteSession(context.Background(), "gone"), uqudo.ErrNotFound)

	// DELETE is retried on 503.
	mt.RegisterResponder(http.MethodDelete, sessionBase+"api/v1/session/busy", httpmock.NewStringResponder(503, ``))
	require.ErrorIs(t, c.DeleteSession(context.Background(), "busy"), uqudo.ErrServer)
	assert.Equal(t, 3, mt.GetCallCountInfo()["DELETE "+sessionBase+"api/v1/session/busy"])

	for _, bad := range []string{"", "a\nb", string(make([]byte, 5000))} {
		require.ErrorIs(t, c.DeleteSession(context.Background(), bad), uqudo.ErrInvalidInput)
	}
}

// End to end on the fake: sessions are stored from their data and can be deleted.
func TestClient_Sessions_Fake(t *testing.T) {
	srv, c := fakeClient(t, nil)
	ctx := context.Background()
	data := uqudo.SessionData{
		Documents:         []uqudo.Document{{DocumentType: uqudo.DocumentTypeUAEID, Reading: &uqudo.Reading{Enabled: true}}},
		FacialRecognition: &uqudo.FacialRecognition{Enabled: true, ScanMinimumMatchLevel: 3},
	}
	s, err := c.CreateSession(ctx, data)
	require.NoError(t, err)
	got, raw, ok := srv.SessionData(s.ID)
	require.True(t, ok)
	assert.Equal(t, &data, got)
	enc, _ := data.Encode()
	assert.Equal(t, enc, raw)

	require.NoError(t, c.DeleteSession(ctx, s.QRCodeText))
	require.ErrorIs(t, c.DeleteSession(ctx, s.QRCodeText), uqudo.ErrNotFound)

	// The fake (like uqudo's reader app) refuses data that is not its JSON.
	_, err = c.CreateSession(ctx, uqudo.RawSessionData("not base64!"))
	require.ErrorIs(t, err, uqudo.ErrInvalidInput)
	var apiErr *uqudo.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)
}
