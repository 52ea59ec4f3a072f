package uqudo_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

const sid = "6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f"

// attackerKey is a key of the test's own, never published in a JWKS.
var attackerKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func jwksURL(base string) string { return base + "/api/.well-known/jwks.json" }

// newVerifier returns a fake on a socket and a verifier of its results,
// sharing clock.
func newVerifier(t *testing.T, clock *fakeClock, cfg uqudo.VerifierConfig) (*uqudotest.Server, *uqudo.Verifier) {
	t.Helper()
	srv := uqudotest.NewServer(t, uqudotest.WithClock(clock.Now))
	cfg.JWKSURL = jwksURL(srv.URL)
	cfg.Clock = clock.Now
	cfg.Retry = &uqudo.RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond}
	v, err := uqudo.NewVerifier(cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return srv, v
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func claimsJSON(t *testing.T, clock *fakeClock, jti string) []byte {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"jti": jti, "aud": uqudotest.DefaultClientID, "iat": clock.Now().Unix(), "exp": clock.Now().Add(time.Hour).Unix(),
		"data": uqudotest.ResultData("PASSPORT"),
	})
	require.NoError(t, err)
	return raw
}

func TestVerifier_Valid(t *testing.T) {
	clock := newClock()
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{Audience: uqudotest.DefaultClientID})
	jws, err := srv.SignResult(uqudotest.ResultClaims{SessionID: sid, Nonce: "n-1"})
	require.NoError(t, err)
	res, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid, Nonce: "n-1"})
	require.NoError(t, err)
	assert.Equal(t, sid, res.SessionID)
	assert.Equal(t, []string{uqudotest.DefaultClientID}, res.Audience)
	assert.Equal(t, srv.KeyID(), res.KeyID)
	assert.Equal(t, "n-1", res.Nonce)
	assert.Equal(t, clock.Now().Unix(), res.IssuedAt.Unix())
	assert.Equal(t, clock.Now().Add(uqudotest.DefaultResultTTL).Unix(), res.ExpiresAt.Unix())
	require.Len(t, res.Documents, 1)
	assert.Equal(t, uqudo.DocumentTypePassport, res.Documents[0].DocumentType)
	assert.Equal(t, &uqudo.FaceResult{Match: true, MatchLevel: 4, AuditTrailImageID: "5f290764076cff0e3f7b3a2f"}, res.Documents[0].Face)
	assert.True(t, json.Valid(res.Raw))
	assert.Equal(t, 1, srv.Calls(uqudotest.RouteJWKS))

	// Keys are cached.
	for range 5 {
		_, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
		require.NoError(t, err)
	}
	assert.Equal(t, 1, srv.Calls(uqudotest.RouteJWKS))
}

// The documented payload shape parses into the typed sections.
func TestVerifier_DocsPayload(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1740830500, 0)}
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{Audience: "client-1234"})
	raw, err := osReadFile("testdata/result_payload.json")
	require.NoError(t, err)
	var data struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(raw, &data))
	jws, err := srv.SignResult(uqudotest.ResultClaims{
		SessionID: "6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f", Audience: "client-1234",
		IssuedAt: time.Unix(1740830400, 0), ExpiresAt: time.Unix(1740831000, 0), Data: data.Data,
	})
	require.NoError(t, err)
	res, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: "6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f", Nonce: "n-0c0ffee"})
	require.NoError(t, err)
	require.Len(t, res.Documents, 1)
	d := res.Documents[0]
	assert.Equal(t, "5e9960242d35cc7ca0328729", d.Scan.FaceImageID)
	assert.Equal(t, "5e9960232d35cc7ca0328725", d.Scan.FrontImageID)
	assert.Empty(t, d.Scan.BackImageID)
	assert.JSONEq(t, `{}`, string(d.Scan.Back))
	var front map[string]any
	require.NoError(t, json.Unmarshal(d.Scan.Front, &front))
	assert.Equal(t, "YA0000000", front["documentNumber"])
	require.NotNil(t, d.Reading)
	assert.Contains(t, string(d.Reading.Data), `"issuingState":"ITA"`)
	assert.Equal(t, 2, d.Face.MatchLevel)
	assert.Nil(t, res.BackgroundCheck, "null stays nil")
	assert.Equal(t, time.Unix(1740831000, 0).UTC(), res.ExpiresAt.UTC())
}

func TestVerifier_Rejections(t *testing.T) {
	clock := newClock()
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{Audience: uqudotest.DefaultClientID})
	sign := func(c uqudotest.ResultClaims) string {
		if c.SessionID == "" {
			c.SessionID = sid
		}
		jws, err := srv.SignResult(c)
		require.NoError(t, err)
		return jws
	}
	now := clock.Now()
	payload := claimsJSON(t, clock, sid)
	header := func(h string) string { return b64(h) + "." + b64(string(payload)) }
	forged, err := uqudotest.SignPayload(attackerKey(), srv.KeyID(), payload)
	require.NoError(t, err)
	unknownKid, err := uqudotest.SignPayload(attackerKey(), "not-a-uqudo-kid", payload)
	require.NoError(t, err)
	// Key confusion: HS256 keyed with the RSA public key the attacker knows.
	pubDER, err := x509.MarshalPKIXPublicKey(&attackerKey().PublicKey)
	require.NoError(t, err)
	mac := hmac.New(sha256.New, pubDER)
	mac.Write([]byte(header(`{"alg":"HS256","kid":"` + srv.KeyID() + `"}`)))
	hs256 := header(`{"alg":"HS256","kid":"`+srv.KeyID()+`"}`) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	valid := sign(uqudotest.ResultClaims{})
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + b64(strings.Replace(string(mustB64(t, parts[1])), sid, "00000000-0000-4000-8000-000000000000", 1)) + "." + parts[2]

	cases := []struct {
		name string
		jws  string
		opts uqudo.VerifyOptions
		want error
	}{
		{"forged signature", forged, uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrBadSignature},
		{"tampered payload", tampered, uqudo.VerifyOptions{SessionID: "00000000-0000-4000-8000-000000000000"}, uqudo.ErrBadSignature},
		{"no kid", header(`{"alg":"RS256"}`) + "." + parts[2], uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrUnknownKey},
		{"alg none", header(`{"alg":"none","kid":"`+srv.KeyID()+`"}`) + ".", uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrUnsupportedAlgorithm},
		{"alg none, signature kept", header(`{"alg":"none","kid":"`+srv.KeyID()+`"}`) + "." + parts[2], uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrUnsupportedAlgorithm},
		{"alg HS256 key confusion", hs256, uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrUnsupportedAlgorithm},
		{"alg ES256", header(`{"alg":"ES256","kid":"`+srv.KeyID()+`"}`) + "." + parts[2], uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrUnsupportedAlgorithm},
		{"wrong jti", valid, uqudo.VerifyOptions{SessionID: "11111111-2222-4333-8444-555555555555"}, uqudo.ErrSessionMismatch},
		{"empty jti", sign(uqudotest.ResultClaims{SessionID: " "}), uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrSessionMismatch},
		{"expired", sign(uqudotest.ResultClaims{IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-2 * time.Minute)}), uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrExpiredResult},
		{"nbf in the future", sign(uqudotest.ResultClaims{NotBefore: now.Add(5 * time.Minute)}), uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrResultNotYetValid},
		{"iat in the future", sign(uqudotest.ResultClaims{IssuedAt: now.Add(5 * time.Minute)}), uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrResultNotYetValid},
		{"other audience", sign(uqudotest.ResultClaims{Audience: "someone-else"}), uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrAudienceMismatch},
		{"no audience", sign(uqudotest.ResultClaims{Audience: "-"}), uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrAudienceMismatch},
		{"nonce differs", sign(uqudotest.ResultClaims{Nonce: "n-1"}), uqudo.VerifyOptions{SessionID: sid, Nonce: "n-2"}, uqudo.ErrNonceMismatch},
		{"nonce missing", valid, uqudo.VerifyOptions{SessionID: sid, Nonce: "n-2"}, uqudo.ErrNonceMismatch},
		{"data not an object", sign(uqudotest.ResultClaims{Data: "text"}), uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrMalformedResult},
		{"empty", "", uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrMalformedResult},
		{"two parts", "a.b", uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrMalformedResult},
		{"JSON serialization", `{"payload":"e30","signatures":[]}`, uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrMalformedResult},
		{"too large", strings.Repeat("a", uqudo.MaxResultSize+1), uqudo.VerifyOptions{SessionID: sid}, uqudo.ErrMalformedResult},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.Verify(context.Background(), tc.jws, tc.opts)
			require.Nil(t, res)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, uqudo.ErrInvalidResult)
			assert.False(t, errors.Is(err, uqudo.ErrJWKSUnavailable))
			assert.NotContains(t, err.Error(), tc.jws[:min(len(tc.jws), 40)]+"x", "no JWS in errors")
			if len(tc.jws) > 20 {
				assert.NotContains(t, err.Error(), tc.jws[len(tc.jws)-20:])
			}
		})
	}
	// The exp leeway: 30 s past exp is still fine with the default 60 s.
	res, err := v.Verify(context.Background(), sign(uqudotest.ResultClaims{IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-30 * time.Second)}), uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
	assert.Equal(t, sid, res.SessionID)
	_, err = v.Verify(context.Background(), valid, uqudo.VerifyOptions{})
	require.ErrorIs(t, err, uqudo.ErrInvalidInput)

	// A kid missing from the JWKS downloaded moments ago: try later. Once
	// the interval has passed, a new download settles it: unknown key.
	_, err = v.Verify(context.Background(), unknownKid, uqudo.VerifyOptions{SessionID: sid})
	requireTryLater(t, err)
	clock.Advance(uqudo.DefaultJWKSMinRefresh)
	_, err = v.Verify(context.Background(), unknownKid, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrUnknownKey)
	require.ErrorIs(t, err, uqudo.ErrInvalidResult)
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// Without a configured audience, aud is not checked.
func TestVerifier_NoAudienceConfigured(t *testing.T) {
	clock := newClock()
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{})
	jws, err := srv.SignResult(uqudotest.ResultClaims{SessionID: sid, Audience: "anyone"})
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
}

// The JWKS is downloaded again for an unknown kid at most once per
// MinRefreshInterval; within it an unknown kid is "try again later"
// (retryable ErrJWKSUnavailable), never a permanent ErrUnknownKey.
func TestVerifier_JWKSRefresh(t *testing.T) {
	clock := newClock()
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{})
	ctx := context.Background()
	first, err := srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	_, err = v.Verify(ctx, first, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
	require.Equal(t, 1, srv.Calls(uqudotest.RouteJWKS))

	// A new kid right away: no download (rate limit), and a retryable
	// refusal rather than an invalid result.
	srv.RotateKey()
	rotated, err := srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	for range 3 {
		_, err = v.Verify(ctx, rotated, uqudo.VerifyOptions{SessionID: sid})
		requireTryLater(t, err)
	}
	assert.Equal(t, 1, srv.Calls(uqudotest.RouteJWKS))

	// A minute later the new kid triggers one download; old and new keys work.
	clock.Advance(uqudo.DefaultJWKSMinRefresh)
	_, err = v.Verify(ctx, rotated, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
	_, err = v.Verify(ctx, first, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Calls(uqudotest.RouteJWKS))

	// A kid that is nowhere: one download, then ErrUnknownKey; within the
	// interval, try later without a download.
	bogus, err := uqudotest.SignPayload(attackerKey(), "bogus", claimsJSON(t, clock, sid))
	require.NoError(t, err)
	clock.Advance(uqudo.DefaultJWKSMinRefresh)
	_, err = v.Verify(ctx, bogus, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrUnknownKey)
	for range 4 {
		_, err = v.Verify(ctx, bogus, uqudo.VerifyOptions{SessionID: sid})
		requireTryLater(t, err)
	}
	assert.Equal(t, 3, srv.Calls(uqudotest.RouteJWKS))

	// Retired keys disappear after the next download.
	srv.RetireOldKeys()
	clock.Advance(uqudo.DefaultJWKSMinRefresh)
	_, err = v.Verify(ctx, bogus, uqudo.VerifyOptions{SessionID: sid}) // triggers the download
	require.ErrorIs(t, err, uqudo.ErrUnknownKey)
	_, err = v.Verify(ctx, first, uqudo.VerifyOptions{SessionID: sid})
	requireTryLater(t, err)
	clock.Advance(uqudo.DefaultJWKSMinRefresh)
	_, err = v.Verify(ctx, first, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrUnknownKey)
	_, err = v.Verify(ctx, rotated, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
	assert.Equal(t, 5, srv.Calls(uqudotest.RouteJWKS))
}

// requireTryLater checks the refusal of a kid too new to look up yet: it
// matches ErrJWKSUnavailable, is retryable and is not an invalid result.
func requireTryLater(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, uqudo.ErrJWKSUnavailable)
	assert.False(t, errors.Is(err, uqudo.ErrInvalidResult), "not an invalid result: %v", err)
	assert.False(t, errors.Is(err, uqudo.ErrUnknownKey))
	assert.True(t, uqudo.IsRetryable(err), "retryable: %v", err)
}

// Concurrent verifications share one JWKS download.
func TestVerifier_ConcurrentSharesDownload(t *testing.T) {
	clock := newClock()
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{})
	jws, err := srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, srv.Calls(uqudotest.RouteJWKS))
}

// A JWKS outage is ErrJWKSUnavailable (retryable), not an invalid result;
// after it, the next verification tries again after a short backoff, not
// after a minute.
func TestVerifier_JWKSUnavailable(t *testing.T) {
	clock := newClock()
	srv, v := newVerifier(t, clock, uqudo.VerifierConfig{})
	jws, err := srv.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	srv.FailNext(6, uqudotest.Failure{Route: uqudotest.RouteJWKS, Status: http.StatusServiceUnavailable}) // two downloads of 3 attempts
	_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrJWKSUnavailable)
	require.ErrorIs(t, err, uqudo.ErrServer)
	assert.False(t, errors.Is(err, uqudo.ErrInvalidResult))
	assert.True(t, uqudo.IsRetryable(err))
	calls := srv.Calls(uqudotest.RouteJWKS)
	assert.Equal(t, 3, calls, "one download: the first attempt and its 2 retries")

	// Within the backoff the failure is remembered, without a download.
	_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrJWKSUnavailable)
	require.ErrorIs(t, err, uqudo.ErrServer)
	assert.Equal(t, calls, srv.Calls(uqudotest.RouteJWKS))

	// One second later (not a minute) the next verification tries again.
	clock.Advance(time.Second)
	_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrJWKSUnavailable)
	assert.Equal(t, calls+3, srv.Calls(uqudotest.RouteJWKS))

	// The backoff doubles: 1 s is not enough now, 2 s is.
	clock.Advance(time.Second)
	_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrJWKSUnavailable)
	assert.Equal(t, calls+3, srv.Calls(uqudotest.RouteJWKS))
	clock.Advance(time.Second)
	_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err, "the injected failures are used up: the download succeeds")
	assert.Equal(t, calls+4, srv.Calls(uqudotest.RouteJWKS))
}

func TestVerifier_ContextCanceled(t *testing.T) {
	release := make(chan struct{})
	fake := uqudotest.New()
	mt := httpmock.NewMockTransport()
	var calls atomic.Int32
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		<-release
		return fake.Responder()(r)
	})
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{JWKSURL: "https://id.uqudo.test/api/.well-known/jwks.json", HTTPClient: &http.Client{Transport: mt}})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	jws, err := fake.SignResult(uqudotest.ResultClaims{SessionID: sid})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = v.Verify(ctx, jws, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, uqudo.ErrJWKSUnavailable)
	var te *uqudo.TransportError
	require.ErrorAs(t, err, &te, "the wait is reported like any transport failure")
	assert.Equal(t, http.MethodGet, te.Method)
	assert.Equal(t, "/api/.well-known/jwks.json", te.Path)
	assert.False(t, te.Sent)
	close(release)
	// The shared download went on and its keys serve the next caller.
	require.Eventually(t, func() bool {
		_, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
		return err == nil
	}, 10*time.Second, 5*time.Millisecond)
	assert.EqualValues(t, 1, calls.Load())
	assert.Equal(t, 1, fake.Calls(uqudotest.RouteJWKS))
}

// Only RSA signing keys of at least 2048 bits are taken from the JWKS; an
// HMAC ("oct") key cannot be used for key confusion.
func TestVerifier_JWKSKeyFilter(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	good := attackerKey() // here it plays uqudo's key
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "oct", Algorithm: "HS256"},
		{Key: &ec.PublicKey, KeyID: "ec", Algorithm: "ES256"},
		{Key: &small.PublicKey, KeyID: "small", Algorithm: "RS256"},
		{Key: &good.PublicKey, KeyID: "enc", Use: "enc"},
		{Key: &good.PublicKey, KeyID: "ps", Algorithm: "PS256"},
		{Key: &good.PublicKey, KeyID: "good", Algorithm: "RS256", Use: "sig"},
		{Key: &good.PublicKey, KeyID: "bare"},
	}}
	raw, err := json.Marshal(set)
	require.NoError(t, err)
	// A broken key must not spoil the others.
	raw = []byte(strings.Replace(string(raw), `"keys":[`, `"keys":[{"kty":"RSA","kid":"broken","n":"@@"},`, 1))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(raw) }))
	defer ts.Close()
	clock := newClock()
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{JWKSURL: ts.URL + "/keys.json", Clock: clock.Now})
	require.NoError(t, err)
	defer v.Close()
	for kid, want := range map[string]error{
		"good": nil, "bare": nil,
		"oct": uqudo.ErrUnknownKey, "ec": uqudo.ErrUnknownKey, "small": uqudo.ErrUnknownKey,
		"enc": uqudo.ErrUnknownKey, "ps": uqudo.ErrUnknownKey, "broken": uqudo.ErrUnknownKey,
	} {
		signer := good
		if kid == "small" {
			signer = small
		}
		jws, err := uqudotest.SignPayload(signer, kid, claimsJSON(t, clock, sid))
		require.NoError(t, err)
		_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
		if want == nil {
			require.NoError(t, err, kid)
		} else {
			require.ErrorIs(t, err, want, kid)
		}
	}
}

func TestNewVerifier_Validation(t *testing.T) {
	for name, cfg := range map[string]uqudo.VerifierConfig{
		"relative url":       {JWKSURL: "/jwks.json"},
		"ftp url":            {JWKSURL: "ftp://x/jwks.json"},
		"directory url":      {JWKSURL: "https://x/keys/"},
		"no path":            {JWKSURL: "https://x"},
		"query":              {JWKSURL: "https://x/jwks.json?a=1"},
		"negative leeway":    {Leeway: -time.Second},
		"negative refresh":   {MinRefreshInterval: -time.Second},
		"negative interval":  {RefreshInterval: -time.Second},
		"negative max age":   {MaxAge: -time.Second},
		"credentials in url": {JWKSURL: "https://u:p@x/jwks.json"},
		"bad retry":          {Retry: &uqudo.RetryPolicy{MaxRetries: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			v, err := uqudo.NewVerifier(cfg)
			require.Nil(t, v)
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
		})
	}
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{})
	require.NoError(t, err)
	require.NotNil(t, v)
	v.Close()
}

// FuzzVerify: no input panics, and nothing but the genuine result for the
// expected session is accepted.
func FuzzVerify(f *testing.F) {
	fake := uqudotest.New(uqudotest.WithResultTTL(24 * time.Hour))
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{
		JWKSURL: "https://id.uqudo.test/api/.well-known/jwks.json", HTTPClient: &http.Client{Transport: mt},
		Audience: uqudotest.DefaultClientID,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Close)
	good, err := fake.SignResult(uqudotest.ResultClaims{SessionID: sid})
	if err != nil {
		f.Fatal(err)
	}
	other, _ := fake.SignResult(uqudotest.ResultClaims{SessionID: "other-session"})
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(other)
	f.Add(b64(`{"alg":"none"}`) + "." + parts[1] + ".")
	f.Add(b64(`{"alg":"HS256","kid":"`+fake.KeyID()+`"}`) + "." + parts[1] + "." + parts[2])
	f.Add(parts[0] + "." + b64(`{"jti":"`+sid+`"}`) + "." + parts[2])
	f.Add("..")
	f.Add(`{"protected":"e30","payload":"e30","signature":""}`)
	f.Fuzz(func(t *testing.T, jws string) {
		res, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
		if err != nil {
			require.Nil(t, res)
			require.True(t, errors.Is(err, uqudo.ErrInvalidResult) || errors.Is(err, uqudo.ErrJWKSUnavailable), err)
			return
		}
		require.Equal(t, sid, res.SessionID)
		require.Contains(t, res.Audience, uqudotest.DefaultClientID)
	})
}
