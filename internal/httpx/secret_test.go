package httpx_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

func TestSecret_NeverPrints(t *testing.T) {
	s := httpx.Secret(testKey)
	type holder struct {
		Key    httpx.Secret
		hidden httpx.Secret
	}
	h := holder{Key: s, hidden: s}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s"} {
		assert.NotContains(t, fmt.Sprintf(verb, s), testKey, verb)
		assert.NotContains(t, fmt.Sprintf(verb, &s), testKey, verb)
		assert.NotContains(t, fmt.Sprintf(verb, []httpx.Secret{s}), testKey, verb)
		assert.NotContains(t, fmt.Sprintf(verb, h.Key), testKey, verb)
	}
	assert.NotContains(t, fmt.Sprintf("%+v", struct{ K httpx.Secret }{s}), testKey)
	b, err := json.Marshal(map[string]httpx.Secret{"k": s})
	assert.NoError(t, err)
	assert.NotContains(t, string(b), testKey)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s)
	assert.NotContains(t, buf.String(), testKey)
	assert.Equal(t, testKey, s.Value())
	_ = h.hidden
}

func TestRedact(t *testing.T) {
	r := httpx.NewRedactor(testKey, "", "abc") // empty and short secrets are ignored
	cases := map[string]string{
		"key " + testKey + " bad":                        "key [REDACTED] bad",
		"Authorization: Bearer eyJhbGciOi.payload.sig":   "Authorization: [REDACTED]",
		"Token abc123def456 given":                       "Token [REDACTED] given",
		"ApiKey K-98765432":                              "ApiKey [REDACTED]",
		"basic dXNlcjpwYXNzd29yZA==":                     "basic [REDACTED]",
		`{"access_token":"tok-1234567","x":1}`:           `{"access_token":"[REDACTED]","x":1}`,
		"grant_type=client_credentials&client_secret=s3": "grant_type=client_credentials&client_secret=[REDACTED]",
		`"authentication_code": "a1b2c3"`:                `"authentication_code": "[REDACTED]"`,
		"the token expired":                              "the token expired",
		"Invalid token provided":                         "Invalid token provided",
		"nothing here abc":                               "nothing here abc",
		"":                                               "",
	}
	for in, want := range cases {
		assert.Equal(t, want, r.Redact(in), in)
	}
	assert.Equal(t, "dev [REDACTED]", r.Redact("dev tok-42-xyz", "tok-42-xyz"))
	assert.Equal(t, "[REDACTED][REDACTED]", httpx.Redact(testKey+"devtok-1", testKey, "devtok-1"))
	// A secret that contains another is scrubbed whole.
	assert.Equal(t, "x [REDACTED] y", httpx.Redact("x "+testKey+" y", "SUPERSECRET", testKey))
}

func FuzzRedact(f *testing.F) {
	f.Add("key "+testKey, testKey)
	f.Add("Bearer abcdefghijklmnop", "abcdefghijklmnop")
	f.Add(`{"client_secret":"zzzzzzzz"}`, "zzzzzzzz")
	f.Add("token token token", "token token")
	f.Fuzz(func(t *testing.T, s, secret string) {
		out := httpx.Redact(s, secret)
		if len(secret) >= 6 && !strings.Contains(httpx.Redacted, secret) && strings.Contains(out, secret) {
			// The only way a registered secret survives is by being rebuilt
			// from the replacement text around it.
			if !strings.Contains(strings.ReplaceAll(out, httpx.Redacted, ""), secret) {
				return
			}
			t.Fatalf("secret %q survives in %q", secret, out)
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{"", " ", "{}", `{"id":"x"}`, `{"id":`, "<html>", "null", "[1,2]", `"s"`, `{"id":1}`, "\xff"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var out struct {
			ID string `json:"id"`
		}
		err := httpx.DecodeJSON(raw, &out)
		if err == nil {
			if !json.Valid(bytes.TrimSpace(raw)) {
				t.Fatalf("invalid JSON %q accepted", raw)
			}
			return
		}
		var de *httpx.DecodeError
		if !errorAs(err, &de) || !errorIs(err, httpx.ErrMalformedResponse) {
			t.Fatalf("error %v is not a DecodeError", err)
		}
		if json.Valid(bytes.TrimSpace(raw)) && errorIs(err, httpx.ErrNotJSON) {
			t.Fatalf("valid JSON %q called not JSON", raw)
		}
	})
}

func TestRedactor_TrimPartial(t *testing.T) {
	r := httpx.NewRedactor(testKey)
	cases := map[string]string{
		"cut at key " + testKey[:4]:              "cut at key ",
		"cut at key " + testKey[:len(testKey)-1]: "cut at key ",
		"cut at key " + testKey[:3]:              "cut at key " + testKey[:3], // 3 bytes say nothing
		"ends in [REDACTED]":                     "ends in [REDACTED]",
		"ends in [REDAC":                         "ends in ",
		"Authorization: Bearer ab1":              "Authorization: Bearer ",
		"the token exp":                          "the token ", // a cut-off value after a scheme word may be a credential
		"two [RED" + testKey[:6]:                 "two ",
		"nothing to trim":                        "nothing to trim",
		"":                                       "",
	}
	for in, want := range cases {
		assert.Equal(t, want, r.TrimPartial(in), in)
	}
	assert.Equal(t, "dev ", r.TrimPartial("dev tok-42", "tok-42-xyz"), "extra secrets count too")
	assert.Equal(t, "dev ", (*httpx.Redactor)(nil).TrimPartial("dev tok-42", "tok-42-xyz"), "a nil Redactor works")
}

func TestRedact_JSONEscapedForms(t *testing.T) {
	secret := "ab/cd<ef>+gh"
	for _, in := range []string{`{"m":"key ab\/cd<ef>+gh"}`, `{"m":"key ab/cd\u003cef\u003e+gh"}`, `{"m":"key ab\/cd\u003cef\u003e+gh"}`} {
		out := httpx.Redact(in, secret)
		assert.Equal(t, `{"m":"key [REDACTED]"}`, out, in)
	}
}
