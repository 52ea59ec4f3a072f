package uqudotest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func do(t *testing.T, h http.Handler, method, path, body, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func tokenForm(id, secret string) string {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
}

func getToken(t *testing.T, f *uqudotest.Fake) string {
	t.Helper()
	rec := do(t, f, http.MethodPost, "/api/oauth/token", tokenForm(uqudotest.DefaultClientID, uqudotest.DefaultClientSecret), "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   any    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.NotEmpty(t, out.AccessToken)
	assert.Equal(t, "bearer", out.TokenType)
	return out.AccessToken
}

func sessionBody(t *testing.T) string {
	t.Helper()
	enc, err := (&uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}}).Encode()
	require.NoError(t, err)
	return `{"data":"` + enc + `"}`
}

func TestFake_Token(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	f := uqudotest.New(uqudotest.WithClock(clk.Now), uqudotest.WithTokenTTL(time.Hour))
	rec := do(t, f, http.MethodPost, "/api/oauth/token", tokenForm(uqudotest.DefaultClientID, "wrong"), "")
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Contains(t, rec.Body.String(), "invalid_client")
	rec = do(t, f, http.MethodPost, "/api/oauth/token", "grant_type=password", "")
	assert.Equal(t, http.StatusBadRequest, rec.Code)

	rec = do(t, f, http.MethodPost, "/api/oauth/token", tokenForm(uqudotest.DefaultClientID, uqudotest.DefaultClientSecret), "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `"expires_in":3600`)
	tok := getToken(t, f)

	// The token works until it expires by the fake's clock.
	assert.Equal(t, http.StatusOK, do(t, f, http.MethodPost, "/api/v1/session", sessionBody(t), tok).Code)
	clk.Advance(time.Hour)
	rec = do(t, f, http.MethodPost, "/api/v1/session", sessionBody(t), tok)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, 4, f.Calls(uqudotest.RouteToken))
	assert.Equal(t, 2, f.Calls(uqudotest.RouteCreateSession))

	s := uqudotest.New(uqudotest.WithExpiresInString())
	rec = do(t, s, http.MethodPost, "/api/oauth/token", tokenForm(uqudotest.DefaultClientID, uqudotest.DefaultClientSecret), "")
	assert.Contains(t, rec.Body.String(), `"expires_in":"1800"`)
}

func TestFake_EnforcesTokens(t *testing.T) {
	f := uqudotest.New()
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/session"}, {http.MethodDelete, "/api/v1/session/x"},
		{http.MethodGet, "/api/v1/info/x"}, {http.MethodDelete, "/api/v1/info/x"},
	} {
		assert.Equal(t, http.StatusUnauthorized, do(t, f, r.method, r.path, "", "").Code, r.path)
		assert.Equal(t, http.StatusUnauthorized, do(t, f, r.method, r.path, "", "made-up").Code, r.path)
	}
	tok := getToken(t, f)
	f.RevokeTokens()
	assert.Equal(t, http.StatusUnauthorized, do(t, f, http.MethodGet, "/api/v1/info/x", "", tok).Code)
	// The JWKS is public.
	assert.Equal(t, http.StatusOK, do(t, f, http.MethodGet, "/api/.well-known/jwks.json", "", "").Code)
	assert.Equal(t, http.StatusNotFound, do(t, f, http.MethodGet, "/elsewhere", "", "").Code)
}

func TestFake_SessionData(t *testing.T) {
	f := uqudotest.New()
	tok := getToken(t, f)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for name, body := range map[string]string{
		"not JSON":         `data=x`,
		"no data":          `{}`,
		"empty data":       `{"data":""}`,
		"not base64":       `{"data":"***"}`,
		"base64 garbage":   `{"data":"` + b64("garbage") + `"}`,
		"no documents":     `{"data":"` + b64(`{"documents":[]}`) + `"}`,
		"unknown document": `{"data":"` + b64(`{"documents":[{"documentType":"moon id"}]}`) + `"}`,
	} {
		rec := do(t, f, http.MethodPost, "/api/v1/session", body, tok)
		assert.Equal(t, http.StatusBadRequest, rec.Code, name)
	}
	rec := do(t, f, http.MethodPost, "/api/v1/session", sessionBody(t), tok)
	require.Equal(t, http.StatusOK, rec.Code)
	var s struct{ SessionID, QRCodeText, QRCodeTextWithDynamicLink string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &s))
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, s.SessionID)
	assert.NotEmpty(t, s.QRCodeText)
	assert.Contains(t, s.QRCodeTextWithDynamicLink, s.QRCodeText)
	d, raw, ok := f.SessionData(s.SessionID)
	require.True(t, ok)
	assert.Equal(t, uqudo.DocumentTypePassport, d.Documents[0].DocumentType)
	assert.NotEmpty(t, raw)

	opaque := uqudotest.New(uqudotest.WithOpaqueData())
	rec = do(t, opaque, http.MethodPost, "/api/v1/session", `{"data":"anything at all"}`, getToken(t, opaque))
	require.Equal(t, http.StatusOK, rec.Code)
}

func TestFake_InfoLifecycle(t *testing.T) {
	f := uqudotest.New()
	tok := getToken(t, f)
	rec := do(t, f, http.MethodPost, "/api/v1/session", sessionBody(t), tok)
	var s struct{ SessionID, QRCodeText string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &s))

	assert.Equal(t, http.StatusNotFound, do(t, f, http.MethodGet, "/api/v1/info/"+s.SessionID, "", tok).Code)
	_, err := f.CompleteSession("no-such-session", nil)
	require.Error(t, err)
	jws, err := f.CompleteSession(s.SessionID, nil)
	require.NoError(t, err)
	rec = do(t, f, http.MethodGet, "/api/v1/info/"+s.SessionID, "", tok)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/jwt", rec.Header().Get("Content-Type"))
	assert.Equal(t, jws, rec.Body.String())

	// The result is an RS256 JWS with the current kid, for this session.
	obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.RS256})
	require.NoError(t, err)
	assert.Equal(t, f.KeyID(), obj.Signatures[0].Protected.KeyID)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(obj.UnsafePayloadWithoutVerification(), &claims))
	assert.Equal(t, s.SessionID, claims["jti"])
	assert.Equal(t, uqudotest.DefaultClientID, claims["aud"])

	// Deleting the session keeps the result; deleting the info purges it.
	assert.Equal(t, http.StatusNoContent, do(t, f, http.MethodDelete, "/api/v1/session/"+url.PathEscape(s.QRCodeText), "", tok).Code)
	assert.Equal(t, http.StatusNotFound, do(t, f, http.MethodDelete, "/api/v1/session/"+url.PathEscape(s.QRCodeText), "", tok).Code)
	assert.Equal(t, http.StatusNoContent, do(t, f, http.MethodDelete, "/api/v1/info/"+s.SessionID, "", tok).Code)
	assert.Equal(t, http.StatusNotFound, do(t, f, http.MethodGet, "/api/v1/info/"+s.SessionID, "", tok).Code)
	assert.Equal(t, http.StatusNotFound, do(t, f, http.MethodDelete, "/api/v1/info/"+s.SessionID, "", tok).Code)
}

func TestFake_FailNext(t *testing.T) {
	f := uqudotest.New()
	f.FailNext(2, uqudotest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	rec := do(t, f, http.MethodGet, "/api/.well-known/jwks.json", "", "")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusTooManyRequests, do(t, f, http.MethodPost, "/api/oauth/token", "", "").Code)
	assert.Equal(t, http.StatusOK, do(t, f, http.MethodGet, "/api/.well-known/jwks.json", "", "").Code)

	f.FailNext(1, uqudotest.Failure{Route: uqudotest.RouteInfo, Status: http.StatusServiceUnavailable})
	assert.Equal(t, http.StatusOK, do(t, f, http.MethodGet, "/api/.well-known/jwks.json", "", "").Code)
	tok := getToken(t, f)
	rec = do(t, f, http.MethodGet, "/api/v1/info/x", "", tok)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Empty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusNotFound, do(t, f, http.MethodGet, "/api/v1/info/x", "", tok).Code)
	assert.Equal(t, 3, f.Calls(uqudotest.RouteJWKS))
	assert.Equal(t, 2, f.Calls(uqudotest.RouteToken))
	assert.Equal(t, 2, f.Calls(uqudotest.RouteInfo))
}

func TestFake_RotateKey(t *testing.T) {
	f := uqudotest.New()
	kids := func() []string {
		var set jose.JSONWebKeySet
		require.NoError(t, json.Unmarshal(do(t, f, http.MethodGet, "/api/.well-known/jwks.json", "", "").Body.Bytes(), &set))
		var out []string
		for _, k := range set.Keys {
			assert.True(t, k.IsPublic())
			assert.Equal(t, "RS256", k.Algorithm)
			out = append(out, k.KeyID)
		}
		return out
	}
	first := f.KeyID()
	assert.Equal(t, []string{first}, kids())
	second := f.RotateKey()
	assert.NotEqual(t, first, second)
	assert.Equal(t, second, f.KeyID())
	assert.Equal(t, []string{second, first}, kids())
	f.RetireOldKeys()
	assert.Equal(t, []string{second}, kids())

	_, err := f.SignResult(uqudotest.ResultClaims{SessionID: "s", Nonce: "n", Data: []int{1}})
	require.Error(t, err)
}

// The fake plugs into an httpmock transport: a uqudo client runs on it
// without a socket.
func TestFake_Responder(t *testing.T) {
	f := uqudotest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(f.Responder())
	c, err := uqudo.NewClient(f.Credentials(), uqudo.WithHTTPClient(&http.Client{Transport: mt}),
		uqudo.WithBaseURL("https://uqudo.test/prefix/"))
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	s, err := c.CreateSession(ctx, uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypeGenericID}}})
	require.NoError(t, err)
	_, err = f.CompleteSession(s.ID, nil)
	require.NoError(t, err)
	res, err := c.Info(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, uqudo.DocumentTypeGenericID, res.Documents[0].DocumentType)
	assert.Equal(t, 1, f.Calls(uqudotest.RouteToken))
	assert.Equal(t, 1, f.Calls(uqudotest.RouteJWKS))
}

func TestFake_Concurrent(t *testing.T) {
	srv := uqudotest.NewServer(t)
	c, err := uqudo.NewClient(srv.Credentials(), uqudo.WithBaseURL(srv.URL))
	require.NoError(t, err)
	defer c.Close()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.CreateSession(context.Background(), uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}})
			if !assert.NoError(t, err) {
				return
			}
			_, err = srv.CompleteSession(s.ID, nil)
			assert.NoError(t, err)
			_, err = c.Info(context.Background(), s.ID)
			assert.NoError(t, err)
			_ = srv.KeyID()
			_ = srv.Calls(uqudotest.RouteInfo)
			srv.FailNext(1, uqudotest.Failure{Route: "none"})
		}()
	}
	wg.Wait()
	assert.Equal(t, 16, srv.Calls(uqudotest.RouteCreateSession))
}

func TestServer_NewClient(t *testing.T) {
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	srv := uqudotest.NewServer(t, uqudotest.WithClientCredentials("my-client", "my-secret-0123456789"), uqudotest.WithClock(clk.Now))
	c, err := srv.NewClient(uqudo.WithRetry(0, 0, 0))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx := context.Background()

	// The fake's credentials and one base URL for all three services.
	s, err := c.CreateSession(ctx, uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}})
	require.NoError(t, err)
	// The fake's clock: the client dates the session by it.
	assert.Equal(t, clk.Now().Add(uqudo.SessionLifetime), s.ExpiresAt)
	_, err = srv.CompleteSession(s.ID, nil)
	require.NoError(t, err)
	res, err := c.Info(ctx, s.ID)
	require.NoError(t, err, "the result verifies against the fake's JWKS, aud = its client id")
	assert.Equal(t, []string{"my-client"}, res.Audience)
	assert.Equal(t, 1, srv.Calls(uqudotest.RouteToken))

	// The shared clock moves the token past its expiry on both sides: the
	// client fetches a new one instead of being refused.
	clk.Advance(uqudotest.DefaultTokenTTL + time.Second)
	_, err = c.CreateSession(ctx, uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}})
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Calls(uqudotest.RouteToken))

	// The caller's options come after the defaults.
	elsewhere := uqudotest.NewServer(t)
	other, err := srv.NewClient(uqudo.WithAuthURL(elsewhere.URL), uqudo.WithRetry(0, 0, 0))
	require.NoError(t, err)
	t.Cleanup(other.Close)
	_, err = other.CreateSession(ctx, uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}})
	require.ErrorIs(t, err, uqudo.ErrUnauthorized, "the other fake does not know these credentials")
	assert.Equal(t, 1, elsewhere.Calls(uqudotest.RouteToken), "the token request went to the caller's auth URL")
	assert.Equal(t, 2, srv.Calls(uqudotest.RouteToken))

	_, err = srv.NewClient(nil)
	require.Error(t, err, "a bad option is the client's error")
}

func TestServer_NewClient_DefaultClock(t *testing.T) {
	srv := uqudotest.NewServer(t, uqudotest.WithClientCredentials("", ""), uqudotest.WithClock(nil))
	assert.Equal(t, uqudo.Credentials{ClientID: uqudotest.DefaultClientID, ClientSecret: uqudotest.DefaultClientSecret},
		srv.Credentials(), "empty credentials keep the defaults")
	c, err := srv.NewClient()
	require.NoError(t, err)
	t.Cleanup(c.Close)
	before := time.Now()
	s, err := c.CreateSession(context.Background(), uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}})
	require.NoError(t, err)
	assert.WithinRange(t, s.ExpiresAt, before.Add(uqudo.SessionLifetime), time.Now().Add(uqudo.SessionLifetime))
}
