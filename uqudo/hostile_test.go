package uqudo_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/hostile"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

func isInvalid(err error) bool { return errors.Is(err, uqudo.ErrInvalidInput) }

// TestClient_HostileIDs: session ids and QR texts that become path segments
// are refused before sending or sent as one escaped segment; the user
// identifier in the session data is refused or sent inside the encoded
// JSON; no error repeats an id (issue 16 item 5).
func TestClient_HostileIDs(t *testing.T) {
	rec := hostile.NewRecorder(t, http.StatusNotFound, `{"error":"not found"}`)
	rec.Answer = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/oauth/token" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"at-hostile-1234567890","token_type":"bearer","expires_in":1800}`)
		return true
	}
	c, err := uqudo.NewClient(uqudo.Credentials{ClientID: "client-hostile", ClientSecret: "secret-hostile-1234567890"},
		uqudo.WithBaseURL(rec.URL), uqudo.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx := context.Background()
	for _, id := range hostile.IDs() {
		t.Run(id.Name, func(t *testing.T) {
			err := c.DeleteSession(ctx, id.Value)
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "DELETE", "/api/v1/session/", "")
			_, err = c.Info(ctx, id.Value)
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "GET", "/api/v1/info/", "")
			err = c.DeleteInfo(ctx, id.Value)
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "DELETE", "/api/v1/info/", "")

			data := passportData()
			data.GeneralConfig = &uqudo.GeneralConfig{UserIdentifier: id.Value}
			_, err = c.CreateSession(ctx, data)
			hostile.CheckRefusedOrSent(t, id.Value, err)
			_, bodies := rec.Take()
			for _, b := range bodies {
				var in struct {
					Data string `json:"data"`
				}
				require.NoError(t, json.Unmarshal(b, &in))
				raw, err := base64.StdEncoding.DecodeString(in.Data)
				require.NoError(t, err)
				var sd uqudo.SessionData
				require.NoError(t, json.Unmarshal(raw, &sd))
				assert.Equal(t, id.Value, sd.GeneralConfig.UserIdentifier, "the user identifier does not round-trip")
			}
		})
	}
}

// TestWebhook_HostileBodies: 100 MiB bodies (streamed, never held whole),
// deep nesting, invalid UTF-8, NUL, CR LF, unknown fields, duplicate keys
// and a gzip body; none reaches the callback unverified.
func TestWebhook_HostileBodies(t *testing.T) {
	e := newHookEnv(t)
	h := e.handler(t, uqudo.WebhookConfig{}, uqudo.WithDedup(memoryDeduper(t, time.Hour)))
	good, err := e.srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)

	t.Run("100 MiB streamed", func(t *testing.T) {
		body, src := hostile.JSONPrefixed(100 * hostile.MiB)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hooks/uqudo", body))
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		assert.LessOrEqual(t, src.Consumed(), int64(uqudo.DefaultWebhookMaxBody+64<<10), "read past the limit")
	})
	t.Run("100 MiB declared", func(t *testing.T) {
		body, src := hostile.JSONPrefixed(100 * hostile.MiB)
		r := httptest.NewRequest(http.MethodPost, "/hooks/uqudo", body)
		r.ContentLength = 100 * hostile.MiB
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		assert.Zero(t, src.Consumed(), "a declared oversize body is refused unread")
	})

	for name, tc := range map[string]struct {
		body string
		want int
	}{
		"nested arrays":                   {string(hostile.NestedJSON(100_000)), http.StatusBadRequest},
		"nested jwsResult":                {string(hostile.NestedObject("jwsResult", 50_000)), http.StatusBadRequest},
		"raw NUL":                         {"{\"jwsResult\":\"a\x00b\"}", http.StatusBadRequest},
		"gzip":                            {string(hostile.GzipBomb(t, 10*hostile.MiB)), http.StatusBadRequest},
		"invalid UTF-8 in the JWS":        {"{\"jwsResult\":\"" + good + "\xff\"}", http.StatusUnauthorized},
		"escaped NUL in the JWS":          {`{"jwsResult":"` + good + `\u0000"}`, http.StatusUnauthorized},
		"CR LF in the JWS":                {`{"jwsResult":"` + good + `\r\nX-Injected: yes"}`, http.StatusUnauthorized},
		"../ as the JWS":                  {`{"jwsResult":"../../a.b.c"}`, http.StatusUnauthorized},
		"1 MB JWS":                        {`{"jwsResult":"` + strings.Repeat("a", 1_000_000) + `"}`, http.StatusUnauthorized},
		"duplicate keys, the last forged": {`{"jwsResult":"` + good + `","jwsResult":"a.b.c"}`, http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, post(h, tc.body, nil).Code)
		})
	}
	assert.Zero(t, e.calls.Load(), "no refused body reached the callback")

	// Unknown fields are ignored; of duplicate keys the last wins (the
	// encoding/json rule), and only a verified JWS is ever used.
	assert.Equal(t, http.StatusOK, post(h, `{"extra":{"a":[1]},"jwsResult":"a.b.c","jwsResult":"`+good+`","more":null}`, nil).Code)
	assert.EqualValues(t, 1, e.calls.Load())
	assert.Equal(t, sid, e.got.Load().(*uqudo.Result).SessionID)
}

// TestClient_HostileAnswers: a gzip bomb, a 100 MiB body, JSON nested 100k
// deep or invalid UTF-8 with NUL from the token endpoint, the info API or
// the JWKS is an error, read no further than the response size limit
// (issue 16 item 5).
func TestClient_HostileAnswers(t *testing.T) {
	token := func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/oauth/token" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"at-hostile-1234567890","token_type":"bearer","expires_in":1800}`)
		return true
	}
	for name, answer := range hostile.Answers(t) {
		t.Run(name, func(t *testing.T) {
			tooLarge := strings.Contains(name, "MiB")
			check := func(what string, err error, also error) {
				t.Helper()
				require.Error(t, err, what)
				if also != nil {
					assert.ErrorIs(t, err, also, what)
				}
				if tooLarge {
					assert.ErrorIs(t, err, uqudo.ErrBodyTooLarge, what)
				}
			}
			// The token endpoint answers the hostile body.
			srv := hostile.ServeAnswer(t, answer, nil)
			c, err := uqudo.NewClient(uqudo.Credentials{ClientID: "client-hostile", ClientSecret: "secret-hostile-1234567890"},
				uqudo.WithBaseURL(srv.URL), uqudo.WithRetry(0, time.Millisecond, time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(c.Close)
			_, err = c.AccessToken(context.Background())
			check("token", err, uqudo.ErrMalformedResponse)

			// The info API answers it, the token being fine.
			srv = hostile.ServeAnswer(t, answer, token)
			c, err = uqudo.NewClient(uqudo.Credentials{ClientID: "client-hostile", ClientSecret: "secret-hostile-1234567890"},
				uqudo.WithBaseURL(srv.URL), uqudo.WithRetry(0, time.Millisecond, time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(c.Close)
			_, err = c.Info(context.Background(), sid)
			check("info", err, nil)

			// The JWKS answers it.
			fake := uqudotest.NewServer(t)
			jws, err := fake.SignResult(uqudotest.ResultClaims{SessionID: sid})
			require.NoError(t, err)
			v, err := uqudo.NewVerifier(uqudo.VerifierConfig{JWKSURL: srv.URL + "/jwks.json",
				Retry: &uqudo.RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Millisecond}})
			require.NoError(t, err)
			t.Cleanup(v.Close)
			_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
			check("jwks", err, nil)
		})
	}
}
