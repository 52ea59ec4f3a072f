package entrupy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

const authorizeURL = testBase + "v2/integrations/authorize-user"

func validParams() entrupy.AuthorizeUserParams {
	return entrupy.AuthorizeUserParams{
		SDKAuthorizationRequest: "sdk-req-AbC123",
		UniqueUserID:            "user.0001@shop",
		Email:                   "ann@example.com",
		FirstName:               "Ann",
		LastName:                "Lee",
	}
}

func TestAuthorizeUserParams_Validate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*entrupy.AuthorizeUserParams)
		field string // "" means valid
	}{
		{"valid", func(*entrupy.AuthorizeUserParams) {}, ""},
		{"no names", func(p *entrupy.AuthorizeUserParams) { p.FirstName, p.LastName = "", "" }, ""},
		{"id of 8", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = "abcdefgh" }, ""},
		{"id of 40", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = strings.Repeat("a", 40) }, ""},
		{"id with every symbol", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = "Az09@.+_-" }, ""},
		{"empty SDK request", func(p *entrupy.AuthorizeUserParams) { p.SDKAuthorizationRequest = "" }, "sdk_authorization_request"},
		{"blank SDK request", func(p *entrupy.AuthorizeUserParams) { p.SDKAuthorizationRequest = " \t" }, "sdk_authorization_request"},
		{"empty id", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = "" }, "unique_user_id"},
		{"id of 7", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = "abcdefg" }, "unique_user_id"},
		{"id of 41", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = strings.Repeat("a", 41) }, "unique_user_id"},
		{"id with space", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = "user 0001" }, "unique_user_id"},
		{"id with slash", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = "user/0001" }, "unique_user_id"},
		{"id with non-ASCII", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = "usér-0001" }, "unique_user_id"},
		{"id with hash", func(p *entrupy.AuthorizeUserParams) { p.UniqueUserID = "user#0001" }, "unique_user_id"},
		{"empty email", func(p *entrupy.AuthorizeUserParams) { p.Email = "" }, "email"},
		{"email without @", func(p *entrupy.AuthorizeUserParams) { p.Email = "ann.example.com" }, "email"},
		{"email with name", func(p *entrupy.AuthorizeUserParams) { p.Email = "Ann <ann@example.com>" }, "email"},
		{"email with spaces", func(p *entrupy.AuthorizeUserParams) { p.Email = " ann@example.com" }, "email"},
		{"email without domain", func(p *entrupy.AuthorizeUserParams) { p.Email = "ann@" }, "email"},
		{"email too long", func(p *entrupy.AuthorizeUserParams) { p.Email = strings.Repeat("a", 250) + "@x.io" }, "email"},
		{"SDK request at the bound", func(p *entrupy.AuthorizeUserParams) {
			p.SDKAuthorizationRequest = strings.Repeat("s", entrupy.MaxSDKAuthorizationRequestLength)
		}, ""},
		{"SDK request of 100 KiB", func(p *entrupy.AuthorizeUserParams) { p.SDKAuthorizationRequest = strings.Repeat("s", 100<<10) }, "sdk_authorization_request"},
		{"SDK request with NUL", func(p *entrupy.AuthorizeUserParams) { p.SDKAuthorizationRequest = "abc\x00def" }, "sdk_authorization_request"},
		{"first name of 100 KiB", func(p *entrupy.AuthorizeUserParams) { p.FirstName = strings.Repeat("n", 100<<10) }, "first_name"},
		{"last name not UTF-8", func(p *entrupy.AuthorizeUserParams) { p.LastName = "Le\xffe" }, "last_name"},
		{"last name with control", func(p *entrupy.AuthorizeUserParams) { p.LastName = "Lee\x1b[31m" }, "last_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validParams()
			tt.edit(&p)
			err := p.Validate()
			if tt.field == "" {
				assert.NoError(t, err)
				return
			}
			var ve *entrupy.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
			noSecret(t, "error", err.Error(), p.SDKAuthorizationRequest)
			assert.Less(t, len(err.Error()), 200, "an error never carries an input")

			// The client refuses it without a request (the no-responder fails the test).
			c, _ := newMock(t)
			tok, err := c.AuthorizeUser(context.Background(), p)
			assert.Nil(t, tok)
			assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
		})
	}
}

func TestClient_AuthorizeUser_Request(t *testing.T) {
	c, mt := newMock(t)
	var body map[string]any
	var contentType string
	mt.RegisterResponder(http.MethodPost, authorizeURL, func(r *http.Request) (*http.Response, error) {
		body = readJSONBody(t, r)
		contentType = r.Header.Get("Content-Type")
		return jsonResponder(200, `{"signed_authorization_request":"sr-xyz-0123456789","username":"ann_lee",
			"exp":1772409600,"soft_exp":"1772407800"}`)(r)
	})
	tok, err := c.AuthorizeUser(context.Background(), validParams())
	require.NoError(t, err)
	assert.Equal(t, "application/json", contentType)
	assert.Equal(t, map[string]any{
		"sdk_authorization_request": "sdk-req-AbC123",
		"unique_user_id":            "user.0001@shop",
		"email":                     "ann@example.com",
		"first_name":                "Ann",
		"last_name":                 "Lee",
	}, body)
	assert.Equal(t, "sr-xyz-0123456789", tok.SignedRequest)
	assert.Equal(t, "ann_lee", tok.Username)
	assert.Equal(t, time.Unix(1772409600, 0).UTC(), tok.ExpiresAt)
	assert.Equal(t, time.Unix(1772407800, 0).UTC(), tok.SoftExpiresAt)
}

func TestClient_AuthorizeUser_OmitsEmptyNames(t *testing.T) {
	c, mt := newMock(t)
	var body map[string]any
	mt.RegisterResponder(http.MethodPost, authorizeURL, func(r *http.Request) (*http.Response, error) {
		body = readJSONBody(t, r)
		return jsonResponder(200, `{"signed_authorization_request":"sr-1"}`)(r)
	})
	p := validParams()
	p.FirstName, p.LastName = "", ""
	_, err := c.AuthorizeUser(context.Background(), p)
	require.NoError(t, err)
	assert.NotContains(t, body, "first_name")
	assert.NotContains(t, body, "last_name")
}

func TestClient_AuthorizeUser_Expiry(t *testing.T) {
	now := fixedNow
	unix := func(d time.Duration) int64 { return now.Add(d).Unix() }
	at := func(d time.Duration) time.Time { return now.Add(d).UTC() }
	tests := []struct {
		name      string
		opts      []entrupy.Option
		extra     string // JSON members after the signed request
		exp, soft time.Time
	}{
		{"both as numbers", nil, fmt.Sprintf(`,"exp":%d,"soft_exp":%d`, unix(10*time.Hour), unix(9*time.Hour)), at(10 * time.Hour), at(9 * time.Hour)},
		{"both as strings", nil, fmt.Sprintf(`,"exp":"%d","soft_exp":"%d"`, unix(10*time.Hour), unix(9*time.Hour)), at(10 * time.Hour), at(9 * time.Hour)},
		{"fractional seconds", nil, fmt.Sprintf(`,"exp":%d.5`, unix(time.Hour)), at(time.Hour + 500*time.Millisecond), at(30*time.Minute + 500*time.Millisecond)},
		{"none: 24 h and 30 min", nil, ``, at(24 * time.Hour), at(23*time.Hour + 30*time.Minute)},
		{"nulls and zeros count as absent", nil, `,"exp":null,"soft_exp":0`, at(24 * time.Hour), at(23*time.Hour + 30*time.Minute)},
		{"empty strings count as absent", nil, `,"exp":"","soft_exp":""`, at(24 * time.Hour), at(23*time.Hour + 30*time.Minute)},
		{"exp only", nil, fmt.Sprintf(`,"exp":%d`, unix(2*time.Hour)), at(2 * time.Hour), at(90 * time.Minute)},
		{"soft_exp only", nil, fmt.Sprintf(`,"soft_exp":%d`, unix(time.Hour)), at(24 * time.Hour), at(time.Hour)},
		{"soft_exp after exp is ignored", nil, fmt.Sprintf(`,"exp":%d,"soft_exp":%d`, unix(2*time.Hour), unix(3*time.Hour)), at(2 * time.Hour), at(90 * time.Minute)},
		{"short life: refresh half-way", nil, fmt.Sprintf(`,"exp":%d`, unix(20*time.Minute)), at(20 * time.Minute), at(10 * time.Minute)},
		{"RFC 3339 accepted", nil, `,"exp":"` + at(5*time.Hour).Format(time.RFC3339) + `"`, at(5 * time.Hour), at(4*time.Hour + 30*time.Minute)},
		{"custom lifetime and window", []entrupy.Option{entrupy.WithDefaultTokenLifetime(2 * time.Hour), entrupy.WithSoftWindow(10 * time.Minute)}, ``, at(2 * time.Hour), at(110 * time.Minute)},
		{"zero window", []entrupy.Option{entrupy.WithSoftWindow(0)}, ``, at(24 * time.Hour), at(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mt := newMock(t, tt.opts...)
			mt.RegisterResponder(http.MethodPost, authorizeURL, jsonResponder(200, `{"signed_authorization_request":"sr-1"`+tt.extra+`}`))
			tok, err := c.AuthorizeUser(context.Background(), validParams())
			require.NoError(t, err)
			assert.True(t, tt.exp.Equal(tok.ExpiresAt), "ExpiresAt %v, want %v", tok.ExpiresAt, tt.exp)
			assert.True(t, tt.soft.Equal(tok.SoftExpiresAt), "SoftExpiresAt %v, want %v", tok.SoftExpiresAt, tt.soft)
			assert.False(t, tok.Expired(now))
		})
	}
}

func TestClient_AuthorizeUser_BadExpiry(t *testing.T) {
	tests := []struct {
		name, extra, field string
	}{
		{"exp in the past", fmt.Sprintf(`,"exp":%d`, fixedNow.Add(-time.Minute).Unix()), "exp"},
		{"exp now", fmt.Sprintf(`,"exp":%d`, fixedNow.Unix()), "exp"},
		{"exp not a number", `,"exp":"tomorrow"`, "exp"},
		{"exp negative", `,"exp":-5`, "exp"},
		{"exp in milliseconds", fmt.Sprintf(`,"exp":%d`, fixedNow.UnixMilli()*1000), "exp"},
		{"soft_exp an object", `,"soft_exp":{}`, "soft_exp"},
		{"exp a bool", `,"exp":true`, "exp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mt := newMock(t)
			mt.RegisterResponder(http.MethodPost, authorizeURL, jsonResponder(200, `{"signed_authorization_request":"sr-secret-123456"`+tt.extra+`}`))
			tok, err := c.AuthorizeUser(context.Background(), validParams())
			assert.Nil(t, tok)
			require.Error(t, err)
			assert.ErrorIs(t, err, entrupy.ErrMalformedResponse)
			var de *entrupy.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.field, de.Field)
			assert.Equal(t, http.MethodPost, de.Method)
			assert.Equal(t, "/api/v2/integrations/authorize-user", de.Path)
			noSecret(t, "error", err.Error(), "sr-secret-123456")
		})
	}
}

func TestClient_AuthorizeUser_ErrorScrubsSecrets(t *testing.T) {
	c, mt := newMock(t)
	p := validParams()
	p.SDKAuthorizationRequest = "sdk-request-payload-0123456789"
	mt.RegisterResponder(http.MethodPost, authorizeURL, jsonResponder(400,
		`{"code":"invalid","detail":"cannot sign sdk-request-payload-0123456789 with Token `+testToken+`"}`))
	_, err := c.AuthorizeUser(context.Background(), p)
	require.ErrorIs(t, err, entrupy.ErrInvalidInput)
	var apiErr *entrupy.APIError
	require.ErrorAs(t, err, &apiErr)
	for where, s := range map[string]string{"Error()": err.Error(), "Message": apiErr.Message, "Body": string(apiErr.Body), "%+v": fmt.Sprintf("%+v", err)} {
		noSecret(t, where, s, testToken, p.SDKAuthorizationRequest)
	}
	assert.Contains(t, apiErr.Message, "cannot sign")
}

func TestSDKToken_NeedsRefreshAndExpired(t *testing.T) {
	tok := &entrupy.SDKToken{SignedRequest: "x", ExpiresAt: fixedNow.Add(time.Hour), SoftExpiresAt: fixedNow.Add(30 * time.Minute)}
	tests := []struct {
		at               time.Duration
		refresh, expired bool
	}{
		{0, false, false},
		{30*time.Minute - time.Nanosecond, false, false},
		{30 * time.Minute, true, false},
		{time.Hour - time.Nanosecond, true, false},
		{time.Hour, true, true},
		{2 * time.Hour, true, true},
	}
	for _, tt := range tests {
		now := fixedNow.Add(tt.at)
		assert.Equal(t, tt.refresh, tok.NeedsRefresh(now), "NeedsRefresh at +%v", tt.at)
		assert.Equal(t, tt.expired, tok.Expired(now), "Expired at +%v", tt.at)
	}
	var nilTok *entrupy.SDKToken
	assert.True(t, nilTok.NeedsRefresh(fixedNow))
	assert.True(t, nilTok.Expired(fixedNow))
	assert.True(t, (&entrupy.SDKToken{}).Expired(fixedNow))
}

// TestAuthorizeUserParams_Redacted: the SDK's authorization request, which
// the library scrubs from errors, never prints or logs either.
func TestAuthorizeUserParams_Redacted(t *testing.T) {
	const sdkReq = "sdk-authz-request-4e9b1f0c7d2a"
	p := validParams()
	p.SDKAuthorizationRequest = sdkReq
	type holder struct {
		Params  entrupy.AuthorizeUserParams
		PParams *entrupy.AuthorizeUserParams
		List    []entrupy.AuthorizeUserParams
	}
	h := holder{p, &p, []entrupy.AuthorizeUserParams{p}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range []any{p, &p, h, &h} {
			noSecret(t, fmt.Sprintf("%s of %T", verb, v), fmt.Sprintf(verb, v), sdkReq)
		}
	}
	assert.Contains(t, p.String(), "[REDACTED]")
	assert.Contains(t, p.String(), p.UniqueUserID)
	assert.Equal(t, p.String(), p.GoString())
	assert.Contains(t, entrupy.AuthorizeUserParams{}.String(), `SDKAuthorizationRequest:""`)

	var buf bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(hd).Info("authorize", "params", p, "ptr", &p, "nested", h,
			slog.Group("g", slog.Any("params", p)))
	}
	assert.Contains(t, buf.String(), "[REDACTED]")
	noSecret(t, "slog", buf.String(), sdkReq)

	// JSON (what a JSON log of a struct holding the params does) redacts it
	// too; decoding reads it, so an app's request body can be decoded.
	b, err := json.Marshal(h)
	require.NoError(t, err)
	noSecret(t, "json", string(b), sdkReq)
	b, err = json.Marshal(p)
	require.NoError(t, err)
	var back entrupy.AuthorizeUserParams
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, "[REDACTED]", back.SDKAuthorizationRequest)
	assert.Equal(t, p.UniqueUserID, back.UniqueUserID)
	require.NoError(t, json.Unmarshal([]byte(`{"sdk_authorization_request":"`+sdkReq+`","unique_user_id":"u-000001","email":"a@b.test"}`), &back))
	assert.Equal(t, sdkReq, back.SDKAuthorizationRequest)
}

func TestSDKToken_DoesNotPrintSignedRequest(t *testing.T) {
	const signed = "signed-authz-request-7d1e0c2b9a"
	tok := entrupy.SDKToken{SignedRequest: signed, Username: "ann_lee", ExpiresAt: fixedNow, SoftExpiresAt: fixedNow}
	type holder struct {
		Token  entrupy.SDKToken
		PToken *entrupy.SDKToken
		List   []entrupy.SDKToken
	}
	h := holder{tok, &tok, []entrupy.SDKToken{tok}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range []any{tok, &tok, h, &h} {
			out := fmt.Sprintf(verb, v)
			noSecret(t, fmt.Sprintf("%s of %T", verb, v), out, signed)
		}
	}
	assert.Contains(t, tok.String(), "[REDACTED]")
	assert.Contains(t, tok.String(), "ann_lee")
	assert.Equal(t, tok.String(), tok.GoString())

	var buf bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(hd).Info("issued", "token", tok, "ptr", &tok)
	}
	assert.Contains(t, buf.String(), "[REDACTED]")
	noSecret(t, "slog", buf.String(), signed)

	// JSON is how the token reaches the app: it carries the signed request.
	b, err := json.Marshal(tok)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, signed, back["signed_authorization_request"])
}
