package sentiance_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
)

const authCodeURL = testBase + "users/auth-code"

func TestClient_CreateAuthCode(t *testing.T) {
	mt := newMock(t)
	var body []byte
	var method, path string
	mt.RegisterResponder(http.MethodPost, authCodeURL, func(r *http.Request) (*http.Response, error) {
		method, path = r.Method, r.URL.Path
		body = readAll(t, r.Body)
		return jsonResponder(200, `{"authentication_code":"`+testCode+`","expires_at":"2021-02-03T14:32:03.076Z","extra":1}`)(r)
	})
	c := newClient(t, mt)

	code, err := c.CreateAuthCode(context.Background(), "user-42@example.com")
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, method)
	assert.Equal(t, "/api/users/auth-code", path)
	assert.JSONEq(t, `{"external_id":"user-42@example.com"}`, string(body))
	assert.Equal(t, testCode, code.Code)
	want := time.Date(2021, 2, 3, 14, 32, 3, 76_000_000, time.UTC)
	assert.True(t, code.ExpiresAt.Equal(want), "expires_at = %s", code.ExpiresAt.UTC())
	assert.Equal(t, 1, calls(mt, "POST "+authCodeURL))
}

func TestClient_CreateAuthCode_ExpiresAtForms(t *testing.T) {
	tests := map[string]time.Time{
		"2021-02-03T14:32:03Z":          time.Date(2021, 2, 3, 14, 32, 3, 0, time.UTC),
		"2021-02-03T14:32:03.5+01:00":   time.Date(2021, 2, 3, 13, 32, 3, 500_000_000, time.UTC),
		"2021-02-03T14:32:03.076123Z":   time.Date(2021, 2, 3, 14, 32, 3, 76_123_000, time.UTC),
		"2021-02-03T14:32:03.000-05:00": time.Date(2021, 2, 3, 19, 32, 3, 0, time.UTC),
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder(http.MethodPost, authCodeURL, jsonResponder(200, `{"authentication_code":"abc","expires_at":"`+in+`"}`))
			code, err := newClient(t, mt).CreateAuthCode(context.Background(), "u")
			require.NoError(t, err)
			assert.True(t, code.ExpiresAt.Equal(want), "got %s", code.ExpiresAt.UTC())
		})
	}
}

func TestValidateExternalID(t *testing.T) {
	valid := []string{"u", "user-1", "ünïcödé-ユーザー", "a b", strings.Repeat("x", sentiance.MaxExternalIDLength), "e@mail.example"}
	for _, id := range valid {
		assert.NoError(t, sentiance.ValidateExternalID(id), "%q", id)
	}
	invalid := map[string]string{
		"empty":           "",
		"too long":        strings.Repeat("x", sentiance.MaxExternalIDLength+1),
		"too long UTF-8":  strings.Repeat("é", sentiance.MaxExternalIDLength/2+1),
		"bad UTF-8":       "user\xff",
		"newline":         "user\n1",
		"carriage return": "user\r",
		"NUL":             "user\x00",
		"tab":             "\tuser",
		"DEL":             "user\x7f",
		"C1 control":      "user\u0085",
		"spaces only":     "   ",
		"unicode spaces":  "\u00a0\u2003",
	}
	for name, id := range invalid {
		t.Run(name, func(t *testing.T) {
			err := sentiance.ValidateExternalID(id)
			require.Error(t, err)
			assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
			var ve *sentiance.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "external_id", ve.Field)
			if len(id) > 2 {
				assert.NotContains(t, err.Error(), id)
			}
		})
	}
}

func TestClient_CreateAuthCode_InvalidIDMakesNoCall(t *testing.T) {
	mt := newMock(t) // any request fails the test
	c := newClient(t, mt)
	for _, id := range []string{"", " ", "a\nb", strings.Repeat("x", 257), "\xfe"} {
		code, err := c.CreateAuthCode(context.Background(), id)
		assert.Nil(t, code)
		assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
	}
	assert.Zero(t, mt.GetTotalCallCount())
}

// errorCase is one row of the status/body -> error table shared by every method.
type errorCase struct {
	name       string
	status     int
	body       string
	header     http.Header
	is         []error
	code       string
	message    string
	ref        string
	retryAfter time.Duration
	decodeKind error
	field      string
}

func statusErrorCases() []errorCase {
	sentianceErr := func(code, msg string) string {
		return `{"message":"` + msg + `","errorCode":"` + code + `","ref":"5d1c2f3e-0000-4000-8000-00000000abcd"}`
	}
	const ref = "5d1c2f3e-0000-4000-8000-00000000abcd"
	return []errorCase{
		{name: "400", status: 400, body: sentianceErr("INVALID_EXTERNAL_ID", "bad id"), is: []error{sentiance.ErrInvalidInput}, code: "INVALID_EXTERNAL_ID", message: "bad id", ref: ref},
		{name: "400 linking not configured", status: 400, body: sentianceErr(sentiance.CodeUserLinkingNotConfigured, "not configured"), is: []error{sentiance.ErrInvalidInput}, code: sentiance.CodeUserLinkingNotConfigured, message: "not configured", ref: ref},
		{name: "401", status: 401, body: sentianceErr("UNAUTHORIZED", "no key"), is: []error{sentiance.ErrUnauthorized}, code: "UNAUTHORIZED", message: "no key", ref: ref},
		{name: "403", status: 403, body: sentianceErr("FORBIDDEN", "missing scope user.link"), is: []error{sentiance.ErrForbidden}, code: "FORBIDDEN", message: "missing scope user.link", ref: ref},
		{name: "404 user not found", status: 404, body: sentianceErr(sentiance.CodeUserNotFound, "no user"), is: []error{sentiance.ErrNotFound}, code: sentiance.CodeUserNotFound, message: "no user", ref: ref},
		{name: "409 install linked", status: 409, body: sentianceErr(sentiance.CodeInstallLinkedToOtherUser, "linked"), is: []error{sentiance.ErrConflict}, code: sentiance.CodeInstallLinkedToOtherUser, message: "linked", ref: ref},
		{name: "422", status: 422, body: sentianceErr("UNPROCESSABLE", "nope"), is: []error{sentiance.ErrInvalidInput}, code: "UNPROCESSABLE", message: "nope", ref: ref},
		{name: "429 with Retry-After", status: 429, body: sentianceErr("RATE_LIMITED", "slow down"), header: http.Header{"Retry-After": {"7"}}, is: []error{sentiance.ErrRateLimited}, code: "RATE_LIMITED", message: "slow down", ref: ref, retryAfter: 7 * time.Second},
		{name: "500", status: 500, body: sentianceErr("INTERNAL_ERROR", "oops"), is: []error{sentiance.ErrServer}, code: "INTERNAL_ERROR", message: "oops", ref: ref},
		{name: "503 HTML page", status: 503, body: "<html><body>Service Unavailable</body></html>", is: []error{sentiance.ErrServer}},
		{name: "500 empty body", status: 500, body: "", is: []error{sentiance.ErrServer}},
		{name: "errorCode wins over code", status: 400, body: `{"code":400,"errorCode":"BAD_EXTERNAL_ID","message":"m","ref":"r-2","error":"Bad Request"}`, is: []error{sentiance.ErrInvalidInput}, code: "BAD_EXTERNAL_ID", message: "m", ref: "r-2"},
		{name: "404 ref in header only", status: 404, body: `{"message":"gone"}`, header: http.Header{"X-Request-Id": {"hdr-ref-1"}}, is: []error{sentiance.ErrNotFound}, message: "gone", ref: "hdr-ref-1"},
	}
}

func decodeErrorCases(missingField string, extraMissing ...errorCase) []errorCase {
	cases := []errorCase{
		{name: "malformed JSON", status: 200, body: `{"authentication_code": abc}`, is: []error{sentiance.ErrMalformedResponse}, decodeKind: errNotJSONKind()},
		{name: "HTML page", status: 200, body: "<!doctype html><html>maintenance</html>", is: []error{sentiance.ErrMalformedResponse}, decodeKind: errNotJSONKind()},
		{name: "empty body", status: 200, body: "", is: []error{sentiance.ErrMalformedResponse}, decodeKind: errEmptyKind()},
		{name: "truncated JSON", status: 200, body: `{"authentication_code":"abc","expi`, is: []error{sentiance.ErrMalformedResponse}, decodeKind: errTruncatedKind()},
		{name: "empty object", status: 200, body: `{}`, is: []error{sentiance.ErrMalformedResponse}, decodeKind: errMissingKind(), field: missingField},
		{name: "JSON array", status: 200, body: `[]`, is: []error{sentiance.ErrMalformedResponse}},
	}
	return append(cases, extraMissing...)
}

// The DecodeError kinds are exported, so callers can tell an HTML page from
// a truncated answer.
func errNotJSONKind() error   { return sentiance.ErrNotJSON }
func errEmptyKind() error     { return sentiance.ErrEmptyBody }
func errTruncatedKind() error { return sentiance.ErrTruncatedJSON }
func errMissingKind() error   { return sentiance.ErrMissingField }

// checkErrorCase asserts err against tc and that no secret leaked into it.
func checkErrorCase(t *testing.T, tc errorCase, err error, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	for _, target := range tc.is {
		assert.ErrorIs(t, err, target)
	}
	for _, s := range append(secrets, testKey) {
		assert.NotContains(t, err.Error(), s)
	}
	if tc.status >= 300 {
		var ae *sentiance.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, tc.status, ae.StatusCode)
		assert.Equal(t, tc.code, ae.Code)
		assert.Equal(t, tc.code, sentiance.ErrorCode(err))
		assert.Equal(t, tc.message, ae.Message)
		assert.Equal(t, tc.ref, ae.RequestID)
		assert.Equal(t, tc.retryAfter, ae.RetryAfter)
		assert.Equal(t, "sentiance", ae.Vendor)
		assert.NotContains(t, err.Error(), "<html>")
		return
	}
	var de *sentiance.DecodeError
	require.ErrorAs(t, err, &de)
	if tc.decodeKind != nil {
		assert.ErrorIs(t, err, tc.decodeKind)
		assert.Equal(t, tc.decodeKind, de.Kind)
	}
	assert.Equal(t, tc.field, de.Field)
	assert.Empty(t, sentiance.ErrorCode(err))
	assert.False(t, sentiance.IsRetryable(err))
}

func TestClient_CreateAuthCode_Errors(t *testing.T) {
	cases := append(statusErrorCases(), decodeErrorCases("authentication_code",
		errorCase{name: "missing expires_at", status: 200, body: `{"authentication_code":"` + testCode + `"}`, is: []error{sentiance.ErrMalformedResponse}, decodeKind: errMissingKind(), field: "expires_at"},
		errorCase{name: "null code", status: 200, body: `{"authentication_code":null,"expires_at":"2030-01-01T00:00:00Z"}`, is: []error{sentiance.ErrMalformedResponse}, decodeKind: errMissingKind(), field: "authentication_code"},
		errorCase{name: "empty expires_at", status: 200, body: `{"authentication_code":"` + testCode + `","expires_at":""}`, is: []error{sentiance.ErrMalformedResponse}, decodeKind: errMissingKind(), field: "expires_at"},
		errorCase{name: "bad expires_at", status: 200, body: `{"authentication_code":"` + testCode + `","expires_at":"tomorrow"}`, is: []error{sentiance.ErrMalformedResponse}, field: "expires_at"},
		errorCase{name: "numeric code", status: 200, body: `{"authentication_code":12,"expires_at":"2030-01-01T00:00:00Z"}`, is: []error{sentiance.ErrMalformedResponse}, field: "authentication_code"},
	)...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder(http.MethodPost, authCodeURL, func(r *http.Request) (*http.Response, error) {
				resp, _ := jsonResponder(tc.status, tc.body)(r)
				for k, v := range tc.header {
					resp.Header[k] = v
				}
				return resp, nil
			})
			c := newClient(t, mt, sentiance.WithRetry(0, 0, 0))
			code, err := c.CreateAuthCode(context.Background(), "user-1")
			assert.Nil(t, code)
			checkErrorCase(t, tc, err, testCode)
		})
	}
}

func TestClient_CreateAuthCode_ServerErrorNotRetried(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			mt := newMock(t)
			mt.RegisterResponder(http.MethodPost, authCodeURL, jsonResponder(status, `{"message":"down"}`))
			_, err := newClient(t, mt).CreateAuthCode(context.Background(), "user-1")
			require.ErrorIs(t, err, sentiance.ErrServer)
			assert.Equal(t, 1, calls(mt, "POST "+authCodeURL), "a POST that creates a code must not be retried after reaching the server")
			assert.Equal(t, status != 500, sentiance.IsRetryable(err))
		})
	}
}

func TestClient_CreateAuthCode_RateLimitedRetried(t *testing.T) {
	mt := newMock(t)
	n := 0
	mt.RegisterResponder(http.MethodPost, authCodeURL, func(r *http.Request) (*http.Response, error) {
		n++ // the client sends one attempt at a time
		if n < 3 {
			resp, _ := jsonResponder(429, `{"message":"slow","errorCode":"RATE_LIMITED"}`)(r)
			resp.Header.Set("Retry-After", "0")
			return resp, nil
		}
		return jsonResponder(200, `{"authentication_code":"`+testCode+`","expires_at":"2030-01-01T00:00:00.000Z"}`)(r)
	})
	code, err := newClient(t, mt).CreateAuthCode(context.Background(), "user-1")
	require.NoError(t, err)
	assert.Equal(t, testCode, code.Code)
	assert.Equal(t, 3, calls(mt, "POST "+authCodeURL))
}

func TestClient_CreateAuthCode_RateLimitedGivesUp(t *testing.T) {
	mt := newMock(t)
	mt.RegisterResponder(http.MethodPost, authCodeURL, jsonResponder(429, `{"message":"slow","errorCode":"RATE_LIMITED","ref":"r1"}`))
	_, err := newClient(t, mt).CreateAuthCode(context.Background(), "user-1")
	require.ErrorIs(t, err, sentiance.ErrRateLimited)
	assert.True(t, sentiance.IsRetryable(err))
	var ae *sentiance.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 3, ae.Attempts)
	assert.Equal(t, 3, calls(mt, "POST "+authCodeURL))
}

func TestClient_CreateAuthCode_BodyTooLarge(t *testing.T) {
	mt := newMock(t)
	big := `{"authentication_code":"` + strings.Repeat("a", 2048) + `","expires_at":"2030-01-01T00:00:00Z"}`
	mt.RegisterResponder(http.MethodPost, authCodeURL, jsonResponder(200, big))
	_, err := newClient(t, mt, sentiance.WithMaxBodySize(1024)).CreateAuthCode(context.Background(), "user-1")
	assert.ErrorIs(t, err, sentiance.ErrMalformedResponse)
	assert.ErrorIs(t, err, sentiance.ErrBodyTooLarge)
}

func TestAuthCode_Expired(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	code := sentiance.AuthCode{Code: testCode, ExpiresAt: exp}
	assert.False(t, code.Expired(exp.Add(-time.Millisecond)))
	assert.True(t, code.Expired(exp))
	assert.True(t, code.Expired(exp.Add(time.Hour)))
	assert.True(t, sentiance.AuthCode{}.Expired(time.Now()), "a zero AuthCode is expired")
}

func TestAuthCode_JSONKeepsCode(t *testing.T) {
	code := sentiance.AuthCode{Code: testCode, ExpiresAt: time.Date(2021, 2, 3, 14, 32, 3, 76_000_000, time.UTC)}
	b, err := json.Marshal(code)
	require.NoError(t, err)
	assert.JSONEq(t, `{"authentication_code":"`+testCode+`","expires_at":"2021-02-03T14:32:03.076Z"}`, string(b))
	var back sentiance.AuthCode
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, code.Code, back.Code)
	assert.True(t, code.ExpiresAt.Equal(back.ExpiresAt))
}
