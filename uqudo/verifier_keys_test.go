package uqudo_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// secondKey is another signing key of the test's own.
var secondKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// jwksServer serves a JWKS whose keys, Cache-Control header and failures
// the test controls, and records the paths requested.
type jwksServer struct {
	*httptest.Server
	mu           sync.Mutex
	keys         map[string]*rsa.PrivateKey
	cacheControl string
	fail         int // answer the next fail requests with 503
	paths        []string
	block        chan struct{} // when set, requests wait for it to close
}

func newJWKSServer(t *testing.T, keys map[string]*rsa.PrivateKey) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.Path)
	block := s.block
	fail := s.fail > 0
	if fail {
		s.fail--
	}
	set := jose.JSONWebKeySet{}
	for kid, k := range s.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
	}
	cc := s.cacheControl
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if fail {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *jwksServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.paths)
}

// keysVerifier builds a verifier of s's keys on clock, without retries.
func keysVerifier(t *testing.T, s *jwksServer, clock *fakeClock, cfg uqudo.VerifierConfig) *uqudo.Verifier {
	t.Helper()
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = s.URL + "/keys/jwks.json"
	}
	cfg.Clock = clock.Now
	cfg.Retry = &uqudo.RetryPolicy{}
	v, err := uqudo.NewVerifier(cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

// signWith signs a result for sid issued now by clock with key as kid.
func signWith(t *testing.T, key *rsa.PrivateKey, kid string, clock *fakeClock) string {
	t.Helper()
	jws, err := uqudotest.SignPayload(key, kid, claimsJSON(t, clock, sid))
	require.NoError(t, err)
	return jws
}

// Issue 11 item 8a: a result signed with a newly published key, arriving
// right after a download, is "try again later" (the webhook answers 503),
// and succeeds once the interval has passed; it is never a 401.
func TestVerifier_NewKeyRightAfterDownload(t *testing.T) {
	clock := newClock()
	s := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": attackerKey()})
	v := keysVerifier(t, s, clock, uqudo.VerifierConfig{})
	ctx := context.Background()
	_, err := v.Verify(ctx, signWith(t, attackerKey(), "k1", clock), uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)

	s.set(func(s *jwksServer) { s.keys["k2"] = secondKey() }) // uqudo publishes k2 and signs with it
	clock.Advance(10 * time.Second)
	newJWS := signWith(t, secondKey(), "k2", clock)
	_, err = v.Verify(ctx, newJWS, uqudo.VerifyOptions{SessionID: sid})
	requireTryLater(t, err)
	assert.Equal(t, 1, s.calls(), "rate-limited: no download yet")

	h, err := uqudo.NewWebhookHandler(uqudo.WebhookConfig{Verifier: v}, func(context.Context, *uqudo.Result) error { return nil })
	require.NoError(t, err)
	rec := post(h, `{"jwsResult":"`+newJWS+`"}`, nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "uqudo delivers again later")

	clock.Advance(uqudo.DefaultJWKSMinRefresh)
	rec = post(h, `{"jwsResult":"`+newJWS+`"}`, nil)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, 2, s.calls())
}

// Issue 11 item 8b: the JWKS is downloaded again every RefreshInterval
// (default one hour) and keys it no longer lists stop being trusted.
func TestVerifier_ScheduledRefreshDropsRetiredKeys(t *testing.T) {
	clock := newClock()
	s := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": attackerKey(), "k2": secondKey()})
	v := keysVerifier(t, s, clock, uqudo.VerifierConfig{})
	ctx := context.Background()
	old := signWith(t, attackerKey(), "k1", clock)
	_, err := v.Verify(ctx, old, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)

	s.set(func(s *jwksServer) { delete(s.keys, "k1") }) // uqudo retires k1
	clock.Advance(uqudo.DefaultJWKSRefreshInterval - time.Second)
	_, err = v.Verify(ctx, old, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err, "cached keys are used until the interval ends")
	assert.Equal(t, 1, s.calls())

	clock.Advance(time.Second)
	_, err = v.Verify(ctx, old, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrUnknownKey, "the retired key is no longer trusted")
	assert.Equal(t, 2, s.calls())
	_, err = v.Verify(ctx, signWith(t, secondKey(), "k2", clock), uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
	assert.Equal(t, 2, s.calls())
}

// Cache-Control max-age shortens the refresh interval, bounded below by
// MinRefreshInterval and above by RefreshInterval.
func TestVerifier_CacheControlMaxAge(t *testing.T) {
	cases := []struct {
		header string
		want   time.Duration // when the second download happens
	}{
		{"public, max-age=300", 5 * time.Minute},
		{"max-age=5", uqudo.DefaultJWKSMinRefresh},
		{"no-store", uqudo.DefaultJWKSMinRefresh},
		{"max-age=86400", uqudo.DefaultJWKSRefreshInterval},
		{"max-age=bogus", uqudo.DefaultJWKSRefreshInterval},
		{"", uqudo.DefaultJWKSRefreshInterval},
	}
	for _, tc := range cases {
		t.Run(tc.header, func(t *testing.T) {
			clock := newClock()
			s := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": attackerKey()})
			s.set(func(s *jwksServer) { s.cacheControl = tc.header })
			v := keysVerifier(t, s, clock, uqudo.VerifierConfig{})
			jws := signWith(t, attackerKey(), "k1", clock)
			opts := uqudo.VerifyOptions{SessionID: sid}
			_, err := v.Verify(context.Background(), jws, opts)
			require.NoError(t, err)
			clock.Advance(tc.want - time.Second)
			_, err = v.Verify(context.Background(), jws, opts)
			require.NoError(t, err)
			assert.Equal(t, 1, s.calls(), "not yet")
			clock.Advance(time.Second)
			_, err = v.Verify(context.Background(), jws, opts)
			require.NoError(t, err)
			assert.Equal(t, 2, s.calls(), "downloaded again")
		})
	}
	// A configured RefreshInterval is the upper bound.
	clock := newClock()
	s := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": attackerKey()})
	v := keysVerifier(t, s, clock, uqudo.VerifierConfig{RefreshInterval: 10 * time.Minute})
	jws := signWith(t, attackerKey(), "k1", clock)
	_, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
	clock.Advance(10 * time.Minute)
	_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.NoError(t, err)
	assert.Equal(t, 2, s.calls())
}

// Issue 11 item 8c: a failed download is retried after a short backoff
// (1 s, doubling, at most MinRefreshInterval), not a minute later.
func TestVerifier_FailedDownloadBackoff(t *testing.T) {
	clock := newClock()
	s := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": attackerKey()})
	s.set(func(s *jwksServer) { s.fail = 100 })
	v := keysVerifier(t, s, clock, uqudo.VerifierConfig{})
	jws := signWith(t, attackerKey(), "k1", clock)
	verify := func() error {
		_, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
		return err
	}
	require.ErrorIs(t, verify(), uqudo.ErrJWKSUnavailable)
	require.Equal(t, 1, s.calls())
	// Waits 1, 2, 4, ... 32, then MinRefreshInterval (60 s) at most.
	for _, wait := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		wait *= time.Second
		before := s.calls()
		clock.Advance(wait - time.Millisecond)
		err := verify()
		require.ErrorIs(t, err, uqudo.ErrJWKSUnavailable)
		require.ErrorIs(t, err, uqudo.ErrServer, "the cause stays reachable")
		require.Equal(t, before, s.calls(), "still backing off before %s", wait)
		clock.Advance(time.Millisecond)
		require.ErrorIs(t, verify(), uqudo.ErrJWKSUnavailable)
		require.Equal(t, before+1, s.calls(), "tried again after %s", wait)
	}
	s.set(func(s *jwksServer) { s.fail = 0 })
	clock.Advance(uqudo.DefaultJWKSMinRefresh)
	jws = signWith(t, attackerKey(), "k1", clock)
	require.NoError(t, verify())
	// After a success the next failure starts the backoff at 1 s again.
	s.set(func(s *jwksServer) { s.fail = 1 })
	clock.Advance(uqudo.DefaultJWKSRefreshInterval)
	jws = signWith(t, attackerKey(), "k1", clock)
	require.ErrorIs(t, verify(), uqudo.ErrJWKSUnavailable)
	clock.Advance(time.Second)
	require.NoError(t, verify())
}

// Issue 11 item 8d: a JWKS at the root of its host is requested as
// /jwks.json, not //jwks.json.
func TestVerifier_JWKSURLAtHostRoot(t *testing.T) {
	for _, file := range []string{"/jwks.json", "/a/jwks.json", "/a/b/keys"} {
		t.Run(file, func(t *testing.T) {
			clock := newClock()
			s := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": attackerKey()})
			v := keysVerifier(t, s, clock, uqudo.VerifierConfig{JWKSURL: s.URL + file})
			_, err := v.Verify(context.Background(), signWith(t, attackerKey(), "k1", clock), uqudo.VerifyOptions{SessionID: sid})
			require.NoError(t, err)
			s.mu.Lock()
			defer s.mu.Unlock()
			assert.Equal(t, []string{file}, s.paths)
		})
	}
}

// Issue 11 item 8e: a result without exp is bounded by iat (MaxAge, default
// 24 h); one with neither exp nor iat is rejected.
func TestVerifier_NoExpBoundedByIat(t *testing.T) {
	clock := newClock()
	s := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": attackerKey()})
	sign := func(claims map[string]any) string {
		claims["jti"], claims["aud"] = sid, uqudotest.DefaultClientID
		raw, err := json.Marshal(claims)
		require.NoError(t, err)
		jws, err := uqudotest.SignPayload(attackerKey(), "k1", raw)
		require.NoError(t, err)
		return jws
	}
	now := clock.Now()
	cases := []struct {
		name   string
		cfg    uqudo.VerifierConfig
		claims map[string]any
		want   error
	}{
		{"fresh iat, no exp", uqudo.VerifierConfig{}, map[string]any{"iat": now.Add(-time.Hour).Unix()}, nil},
		{"iat 24h ago", uqudo.VerifierConfig{}, map[string]any{"iat": now.Add(-24 * time.Hour).Unix()}, nil},
		{"iat 24h+leeway ago", uqudo.VerifierConfig{}, map[string]any{"iat": now.Add(-24*time.Hour - uqudo.DefaultLeeway - time.Second).Unix()}, uqudo.ErrExpiredResult},
		{"iat a year ago", uqudo.VerifierConfig{}, map[string]any{"iat": now.AddDate(-1, 0, 0).Unix()}, uqudo.ErrExpiredResult},
		{"custom max age", uqudo.VerifierConfig{MaxAge: 10 * time.Minute}, map[string]any{"iat": now.Add(-12 * time.Minute).Unix()}, uqudo.ErrExpiredResult},
		{"neither exp nor iat", uqudo.VerifierConfig{}, map[string]any{}, uqudo.ErrExpiredResult},
		{"old iat, valid exp", uqudo.VerifierConfig{}, map[string]any{"iat": now.AddDate(0, 0, -3).Unix(), "exp": now.Add(time.Hour).Unix()}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := keysVerifier(t, s, clock, tc.cfg)
			_, err := v.Verify(context.Background(), sign(tc.claims), uqudo.VerifyOptions{SessionID: sid})
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, uqudo.ErrInvalidResult)
		})
	}
}

// Close is idempotent and nil-safe, ends a download under way at once, and
// makes later calls fail with ErrClosed (not an invalid result).
func TestVerifier_Close(t *testing.T) {
	var nilV *uqudo.Verifier
	nilV.Close()
	(&uqudo.Verifier{}).Close()
	_, err := (&uqudo.Verifier{}).Verify(context.Background(), "a.b.c", uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrInvalidInput, "a zero Verifier gives an error, not a panic")
	_, err = nilV.Verify(context.Background(), "a.b.c", uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrInvalidInput)

	clock := newClock()
	s := newJWKSServer(t, map[string]*rsa.PrivateKey{"k1": attackerKey()})
	block := make(chan struct{})
	defer close(block)
	s.set(func(s *jwksServer) { s.block = block })
	v := keysVerifier(t, s, clock, uqudo.VerifierConfig{})
	jws := signWith(t, attackerKey(), "k1", clock)
	errc := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
		errc <- err
	}()
	require.Eventually(t, func() bool { return s.calls() == 1 }, 10*time.Second, time.Millisecond)
	start := time.Now()
	v.Close()
	v.Close()
	assert.Less(t, time.Since(start), 5*time.Second, "Close does not wait for the 30 s download timeout")
	err = <-errc
	require.ErrorIs(t, err, uqudo.ErrClosed)
	assert.False(t, errors.Is(err, uqudo.ErrInvalidResult))
	_, err = v.Verify(context.Background(), jws, uqudo.VerifyOptions{SessionID: sid})
	require.ErrorIs(t, err, uqudo.ErrClosed)
	assert.Equal(t, 1, s.calls())
}

// A JWKS answer that is not a key set is ErrJWKSUnavailable holding a
// *DecodeError that names the call.
func TestVerifier_JWKSNotAKeySet(t *testing.T) {
	for body, kind := range map[string]error{
		"<html>down</html>": uqudo.ErrNotJSON,
		`{"other":1}`:       uqudo.ErrMissingField,
		`{"keys":[`:         uqudo.ErrTruncatedJSON,
	} {
		t.Run(body, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
			defer ts.Close()
			clock := newClock()
			v, err := uqudo.NewVerifier(uqudo.VerifierConfig{JWKSURL: ts.URL + "/k/jwks.json", Clock: clock.Now})
			require.NoError(t, err)
			defer v.Close()
			_, err = v.Verify(context.Background(), signWith(t, attackerKey(), "k1", clock), uqudo.VerifyOptions{SessionID: sid})
			require.ErrorIs(t, err, uqudo.ErrJWKSUnavailable)
			require.ErrorIs(t, err, kind)
			var de *uqudo.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "uqudo", de.Vendor)
			assert.Equal(t, http.MethodGet, de.Method)
			assert.Equal(t, "/k/jwks.json", de.Path)
			assert.Equal(t, http.StatusOK, de.StatusCode)
			assert.False(t, errors.Is(err, uqudo.ErrInvalidResult))
		})
	}
}
