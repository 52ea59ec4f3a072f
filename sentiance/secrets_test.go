package sentiance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
)

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"}

// assertNoSecretFormatted formats v with every verb, and logs it with slog,
// and checks that secret never shows.
func assertNoSecretFormatted(t *testing.T, v any, secret string) {
	t.Helper()
	for _, verb := range verbs {
		out := fmt.Sprintf(verb, v)
		assert.NotContains(t, out, secret, "verb %s", verb)
		assert.NotContains(t, out, fmt.Sprintf("%x", secret), "verb %s", verb)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("value", "v", v)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("value", "v", v)
	assert.NotContains(t, buf.String(), secret)
}

func TestCredentials_Redacted(t *testing.T) {
	creds := sentiance.Credentials{APIKey: testKey}
	assertNoSecretFormatted(t, creds, testKey)
	assertNoSecretFormatted(t, &creds, testKey)
	assertNoSecretFormatted(t, []sentiance.Credentials{creds}, testKey)
	assert.Contains(t, creds.String(), "[REDACTED]")
	assert.Contains(t, sentiance.Credentials{}.String(), `""`, "an empty key shows as empty, not as redacted")
}

func TestAuthCode_Redacted(t *testing.T) {
	code := sentiance.AuthCode{Code: testCode, ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	assertNoSecretFormatted(t, code, testCode)
	assertNoSecretFormatted(t, &code, testCode)
	assert.Contains(t, code.String(), "2030-01-02T03:04:05Z", "the expiry is not secret")
	assert.Contains(t, fmt.Sprintf("%v", code), "[REDACTED]")
}

func TestClient_Redacted(t *testing.T) {
	c, err := sentiance.NewClient(sentiance.Credentials{APIKey: testKey})
	require.NoError(t, err)
	assertNoSecretFormatted(t, c, testKey)
	assertNoSecretFormatted(t, *c, testKey) // a copy of the struct, not the pointer
	assert.Contains(t, c.String(), "https://api.sentiance.com/")
}

func TestFirehoseConfig_Redacted(t *testing.T) {
	const password = "fh-pass-8e2d4c6a0b"
	cfg := sentiance.FirehoseConfig{AppID: "app-1", Username: "sentiance", Password: password}
	assertNoSecretFormatted(t, cfg, password)
	assertNoSecretFormatted(t, &cfg, password)
	assert.Contains(t, cfg.String(), "app-1")
	h := newFirehose(t, cfg, func(context.Context, []sentiance.Message) error { return nil })
	assertNoSecretFormatted(t, h, password)
}

// TestClient_NoSecretInLogsOrErrors runs every call through success, a
// retried 429 and errors whose bodies echo the key and the code, logging at
// debug level, and checks that neither secret reaches the log or an error.
func TestClient_NoSecretInLogsOrErrors(t *testing.T) {
	var logs bytes.Buffer
	mt := newMock(t)
	// Error bodies echoing the key, and (credential-shaped) a code.
	echo := `{"message":"bad key ` + testKey + `","errorCode":"X","ref":"r","authentication_code":"` + testCode + `"}`
	step := 0
	mt.RegisterResponder(http.MethodPost, authCodeURL, func(r *http.Request) (*http.Response, error) {
		step++
		switch step {
		case 1:
			resp, _ := jsonResponder(429, echo)(r)
			resp.Header.Set("Retry-After", "0")
			return resp, nil
		case 2:
			return jsonResponder(200, `{"authentication_code":"`+testCode+`","expires_at":"2030-01-01T00:00:00.000Z"}`)(r)
		case 3:
			return jsonResponder(401, echo)(r)
		default:
			// a truncated success body holding the code
			return jsonResponder(200, `{"authentication_code":"`+testCode+`","expires_at":`)(r)
		}
	})
	mt.RegisterResponder(http.MethodPost, testBase+"v2/users/i-1/link", jsonResponder(403, echo))
	mt.RegisterResponder(http.MethodDelete, testBase+"users/u-1", jsonResponder(500, echo))
	c := newClient(t, mt, sentiance.WithLogger(debugLogger(&logs)))
	ctx := context.Background()

	code, err := c.CreateAuthCode(ctx, "user-1")
	require.NoError(t, err)
	slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})).Debug("issued", "code", code)

	var errs []error
	_, err = c.CreateAuthCode(ctx, "user-1")
	errs = append(errs, err)
	_, err = c.CreateAuthCode(ctx, "user-1")
	errs = append(errs, err)
	_, err = c.LinkInstall(ctx, "i-1", "user-1")
	errs = append(errs, err)
	errs = append(errs, c.DeleteUser(ctx, "u-1"))

	for _, err := range errs {
		require.Error(t, err)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, err)
			assert.NotContains(t, out, testKey)
			assert.NotContains(t, out, testCode)
		}
		var ae *sentiance.APIError
		if errors.As(err, &ae) {
			assert.NotContains(t, string(ae.Body), testKey)
			assert.NotContains(t, string(ae.Body), testCode)
			assert.NotContains(t, ae.Message, testKey)
		}
	}
	out := logs.String()
	assert.Contains(t, out, "path=/api/users/auth-code", "the logger was used")
	assert.Contains(t, out, "status=429")
	assert.Contains(t, out, "path=/api/v2/users/i-1/link")
	assert.NotContains(t, out, testKey)
	assert.NotContains(t, out, testCode)
	assert.NotContains(t, out, "Bearer")
}

func TestAuthCode_LogValueInJSONHandler(t *testing.T) {
	var buf bytes.Buffer
	code := sentiance.AuthCode{Code: testCode, ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("code", "c", code)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	c := rec["c"].(map[string]any)
	assert.Equal(t, "[REDACTED]", c["authentication_code"])
	assert.True(t, strings.HasPrefix(c["expires_at"].(string), "2030-01-01T00:00:00"))
}
