package sentiance_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
)

func TestClient_LinkInstall(t *testing.T) {
	mt := newMock(t)
	var body []byte
	var rawPath string
	mt.RegisterResponder(http.MethodPost, testBase+"v2/users/install-7/link", func(r *http.Request) (*http.Response, error) {
		body = readAll(t, r.Body)
		rawPath = r.URL.EscapedPath()
		return jsonResponder(200, `{"id":"5f1e2d3c4b5a"}`)(r)
	})
	user, err := newClient(t, mt).LinkInstall(context.Background(), "install-7", "user-42")
	require.NoError(t, err)
	assert.Equal(t, "5f1e2d3c4b5a", user.ID)
	assert.Equal(t, "/api/v2/users/install-7/link", rawPath)
	assert.JSONEq(t, `{"external_id":"user-42"}`, string(body))
}

func TestClient_LinkInstall_EscapesInstallID(t *testing.T) {
	mt := newMock(t)
	var rawPath string
	mt.RegisterRegexpResponder(http.MethodPost, mustRegexp(`^https://sentiance\.test/api/v2/users/.+/link$`), func(r *http.Request) (*http.Response, error) {
		rawPath = r.URL.EscapedPath()
		return jsonResponder(200, `{"id":"u1"}`)(r)
	})
	for id, want := range map[string]string{
		"a/b":   "/api/v2/users/a%2Fb/link",
		"..":    "/api/v2/users/%2E%2E/link",
		"a?b#c": "/api/v2/users/a%3Fb%23c/link",
		"a b":   "/api/v2/users/a%20b/link",
	} {
		rawPath = ""
		_, err := newClient(t, mt).LinkInstall(context.Background(), id, "user-1")
		require.NoError(t, err, id)
		assert.Equal(t, want, rawPath, id)
	}
}

func TestClient_LinkInstall_InvalidInput(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	tests := []struct{ install, external, field string }{
		{"", "user-1", "install_id"},
		{" ", "user-1", "install_id"},
		{"inst\n", "user-1", "install_id"},
		{strings.Repeat("i", sentiance.MaxIDLength+1), "user-1", "install_id"},
		{"inst\xff", "user-1", "install_id"},
		{"install-1", "", "external_id"},
		{"install-1", "a\x00b", "external_id"},
		{"install-1", strings.Repeat("e", sentiance.MaxExternalIDLength+1), "external_id"},
	}
	for _, tt := range tests {
		user, err := c.LinkInstall(context.Background(), tt.install, tt.external)
		assert.Nil(t, user)
		var ve *sentiance.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tt.field, ve.Field)
		assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
	}
	assert.Zero(t, mt.GetTotalCallCount())
}

func TestClient_LinkInstall_Errors(t *testing.T) {
	cases := append(statusErrorCases(), decodeErrorCases("id",
		errorCase{name: "empty id", status: 200, body: `{"id":""}`, is: []error{sentiance.ErrMalformedResponse}, decodeKind: errMissingKind(), field: "id"},
	)...)
	const url = testBase + "v2/users/install-1/link"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder(http.MethodPost, url, func(r *http.Request) (*http.Response, error) {
				resp, _ := jsonResponder(tc.status, tc.body)(r)
				for k, v := range tc.header {
					resp.Header[k] = v
				}
				return resp, nil
			})
			user, err := newClient(t, mt, sentiance.WithRetry(0, 0, 0)).LinkInstall(context.Background(), "install-1", "user-1")
			assert.Nil(t, user)
			checkErrorCase(t, tc, err)
		})
	}
}

func TestClient_LinkInstall_ErrorCodeSwitch(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder(http.MethodPost, testBase+"v2/users/install-1/link",
		jsonResponder(409, `{"message":"Install is linked to another user","errorCode":"INSTALL_LINKED_TO_OTHER_USER","ref":"r-9"}`))
	_, err := newClient(t, mt).LinkInstall(context.Background(), "install-1", "user-1")
	var outcome string
	switch sentiance.ErrorCode(err) {
	case sentiance.CodeInstallLinkedToOtherUser:
		outcome = "linked elsewhere"
	case sentiance.CodeUserLinkingNotConfigured, sentiance.CodeUserNotFound:
		outcome = "other"
	}
	assert.Equal(t, "linked elsewhere", outcome)
	assert.ErrorIs(t, err, sentiance.ErrConflict)
	assert.Equal(t, 1, mt.GetTotalCallCount(), "a 409 is not retried")
}

func TestClient_DeleteUser(t *testing.T) {
	for _, status := range []int{200, 202, 204} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			mt := newMock(t)
			var auth string
			mt.RegisterResponder(http.MethodDelete, testBase+"users/5f1e2d3c", func(r *http.Request) (*http.Response, error) {
				auth = r.Header.Get("Authorization")
				return httpmock.NewStringResponse(status, ""), nil
			})
			require.NoError(t, newClient(t, mt).DeleteUser(context.Background(), "5f1e2d3c"))
			assert.Equal(t, "Bearer "+testKey, auth)
			assert.Equal(t, 1, calls(mt, "DELETE "+testBase+"users/5f1e2d3c"))
		})
	}
}

func TestClient_DeleteUser_InvalidInput(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	for _, id := range []string{"", "  ", "a\tb", strings.Repeat("u", sentiance.MaxIDLength+1), "\xc3"} {
		err := c.DeleteUser(context.Background(), id)
		var ve *sentiance.ValidationError
		require.ErrorAs(t, err, &ve, "%q", id)
		assert.Equal(t, "user_id", ve.Field)
	}
	assert.Zero(t, mt.GetTotalCallCount())
}

func TestClient_DeleteUser_Errors(t *testing.T) {
	const url = testBase + "users/u-1"
	for _, tc := range statusErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder(http.MethodDelete, url, func(r *http.Request) (*http.Response, error) {
				resp, _ := jsonResponder(tc.status, tc.body)(r)
				for k, v := range tc.header {
					resp.Header[k] = v
				}
				return resp, nil
			})
			err := newClient(t, mt, sentiance.WithRetry(0, 0, 0)).DeleteUser(context.Background(), "u-1")
			checkErrorCase(t, tc, err)
		})
	}
}

// TestClient_DeleteUser_Retried checks that DELETE, being idempotent, is
// retried on 503 and 502 and succeeds once Sentiance recovers.
func TestClient_DeleteUser_Retried(t *testing.T) {
	mt := newMock(t)
	statuses := []int{503, 502, 204}
	n := 0
	mt.RegisterResponder(http.MethodDelete, testBase+"users/u-1", func(r *http.Request) (*http.Response, error) {
		s := statuses[n]
		n++
		return httpmock.NewStringResponse(s, `{"message":"x"}`), nil
	})
	require.NoError(t, newClient(t, mt).DeleteUser(context.Background(), "u-1"))
	assert.Equal(t, 3, calls(mt, "DELETE "+testBase+"users/u-1"))
}

func TestClient_DeleteUser_NotFoundCode(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder(http.MethodDelete, testBase+"users/u-404",
		jsonResponder(404, `{"message":"User not found","errorCode":"USER_NOT_FOUND","ref":"0b7e"}`))
	err := newClient(t, mt).DeleteUser(context.Background(), "u-404")
	assert.ErrorIs(t, err, sentiance.ErrNotFound)
	assert.Equal(t, sentiance.CodeUserNotFound, sentiance.ErrorCode(err))
	assert.Equal(t, "sentiance: DELETE /api/users/u-404: 404 not found [USER_NOT_FOUND]: User not found (request id 0b7e)", err.Error())
	assert.Equal(t, 1, mt.GetTotalCallCount(), "a 404 is not retried")
}

func TestErrorCode(t *testing.T) {
	assert.Empty(t, sentiance.ErrorCode(nil))
	assert.Empty(t, sentiance.ErrorCode(sentiance.ErrNotFound))
	wrapped := &wrapErr{&sentiance.APIError{StatusCode: 404, Code: sentiance.CodeUserNotFound}}
	assert.Equal(t, sentiance.CodeUserNotFound, sentiance.ErrorCode(wrapped))
}

type wrapErr struct{ err error }

func (w *wrapErr) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }
