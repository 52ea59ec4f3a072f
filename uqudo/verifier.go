package uqudo

import (
	"context"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// DefaultJWKSURL is where uqudo publishes the keys that sign results.
const DefaultJWKSURL = "https://id.uqudo.io/api/.well-known/jwks.json"

// jwksPath is the JWKS location relative to the info API base URL.
const jwksPath = "api/.well-known/jwks.json"

// Verification defaults.
const (
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat (**assumed**).
	DefaultLeeway = 60 * time.Second
	// DefaultJWKSMinRefresh is the least time between two JWKS downloads
	// triggered by an unknown kid.
	DefaultJWKSMinRefresh = time.Minute
	// MaxResultSize bounds a result JWS (and the JWKS document).
	MaxResultSize = 1 << 20
	// minRSABits is the smallest RSA modulus accepted from the JWKS.
	minRSABits = 2048
	// jwksFetchTimeout bounds one shared JWKS download, whoever waits for it.
	jwksFetchTimeout = 30 * time.Second
)

// VerifierConfig configures a [Verifier]. The zero value verifies against
// uqudo's JWKS ([DefaultJWKSURL]) with [DefaultLeeway] and
// [DefaultJWKSMinRefresh], without an audience check.
type VerifierConfig struct {
	// JWKSURL is the absolute URL of the JWKS (default [DefaultJWKSURL]).
	JWKSURL string
	// HTTPClient fetches the JWKS (default: a pooled client with a timeout).
	HTTPClient *http.Client
	// Audience, when set, must be one of the result's aud values: your
	// uqudo client id. Leave it empty to skip the check.
	Audience string
	// Leeway is the clock skew tolerated on exp, nbf and iat; 0 means
	// [DefaultLeeway]; it must not be negative.
	Leeway time.Duration
	// Clock tells the time (nil: time.Now); inject one in tests so expiry
	// needs no sleeping.
	Clock func() time.Time
	// MinRefreshInterval is the least time between two JWKS downloads; 0
	// means [DefaultJWKSMinRefresh].
	MinRefreshInterval time.Duration
	// Retry bounds the retries of a JWKS download (nil: 3 retries waiting
	// 250 ms to 5 s, the client default).
	Retry *RetryPolicy
	// Logger receives one debug line per JWKS download attempt (nil: silent).
	Logger *slog.Logger
}

// RetryPolicy bounds retries: at most MaxRetries retries after the first
// attempt, waiting between MinWait and MaxWait.
type RetryPolicy struct {
	MaxRetries       int
	MinWait, MaxWait time.Duration
}

// VerifyOptions are the expectations for one result.
type VerifyOptions struct {
	// SessionID is the session the result must belong to: its jti must
	// equal it. Required.
	SessionID string
	// Nonce, when set, must equal the nonce in the result's data (compared
	// in constant time).
	Nonce string
}

// Verifier checks result JWSs from uqudo (Info, webhooks, SDK results): RS256
// only, signed by a key of uqudo's JWKS, for the expected session, audience
// and time. The JWKS is downloaded on first use and cached; it is downloaded
// again only when a result names an unknown kid, at most once per
// MinRefreshInterval, and concurrent verifications share one download. A
// Verifier is safe for concurrent use.
type Verifier struct {
	hc         *httpx.Client
	baseURL    string // the JWKS URL's directory
	jwksPath   string // relative to baseURL
	audience   string
	leeway     time.Duration
	clock      func() time.Time
	minRefresh time.Duration

	mu sync.Mutex // guards st
	st verifierState
}

type verifierState struct {
	keys      map[string]*rsa.PublicKey
	fetched   bool      // a download was attempted
	lastFetch time.Time // when the last download started
	lastErr   error     // its error, if it failed
	inflight  *flight   // the download under way, if any
}

// flight is one JWKS download shared by every caller that needs it.
type flight struct {
	done chan struct{} // closed when err is set
	err  error
}

// NewVerifier builds a Verifier from cfg. It makes no network call.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	raw := cfg.JWKSURL
	if raw == "" {
		raw = DefaultJWKSURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return nil, invalid("jwks_url", "must be an absolute http(s) URL without query")
	}
	file := path.Base(u.Path)
	if u.Path == "" || strings.HasSuffix(u.Path, "/") || file == "." || file == "/" {
		return nil, invalid("jwks_url", "must name a document, not a directory")
	}
	dir := *u
	dir.Path, dir.RawPath = path.Dir(u.Path)+"/", ""
	hcfg := httpx.NewConfig(vendor, dir.String())
	if cfg.HTTPClient != nil {
		hcfg.HTTPClient = cfg.HTTPClient
	}
	hcfg.MaxBodyBytes = MaxResultSize
	if r := cfg.Retry; r != nil {
		if err := hcfg.SetRetry(r.MaxRetries, r.MinWait, r.MaxWait); err != nil {
			return nil, err
		}
	}
	if cfg.Logger != nil {
		hcfg.Logger = cfg.Logger
	}
	hc, err := httpx.New(hcfg)
	if err != nil {
		return nil, err
	}
	return newVerifier(hc, dir.String(), httpx.Path(file), cfg)
}

func newVerifier(hc *httpx.Client, baseURL, jwksPath string, cfg VerifierConfig) (*Verifier, error) {
	v := &Verifier{
		hc: hc, baseURL: baseURL, jwksPath: jwksPath,
		audience: cfg.Audience, leeway: cfg.Leeway, clock: cfg.Clock, minRefresh: cfg.MinRefreshInterval,
	}
	switch {
	case cfg.Leeway < 0:
		return nil, invalid("leeway", "must not be negative")
	case cfg.MinRefreshInterval < 0:
		return nil, invalid("min_refresh_interval", "must not be negative")
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.minRefresh == 0 {
		v.minRefresh = DefaultJWKSMinRefresh
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	return v, nil
}

// Verify checks jws (a compact JWS, as returned by [Client.Info], posted to
// a webhook or returned by the SDK) and returns its parsed payload. Errors:
// a [*ValidationError] when opts.SessionID is empty; an error matching
// [ErrInvalidResult] and a specific kind ([ErrUnsupportedAlgorithm],
// [ErrUnknownKey], [ErrBadSignature], [ErrSessionMismatch],
// [ErrAudienceMismatch], [ErrExpiredResult], [ErrResultNotYetValid],
// [ErrNonceMismatch], [ErrMalformedResult]) when the result must be
// rejected; [ErrJWKSUnavailable] when the keys could not be fetched.
//
// Docs: https://docs.uqudo.com/docs/kyc/uqudo-sdk/sdk-result/validation-and-parsing
func (v *Verifier) Verify(ctx context.Context, jws string, opts VerifyOptions) (*Result, error) {
	if err := checkID("session_id", opts.SessionID); err != nil {
		return nil, err
	}
	return v.verify(ctx, jws, func(context.Context, string) (VerifyOptions, error) { return opts, nil })
}

// expectFunc returns the expectations for the result whose (signed) jti is
// given; the webhook handler looks them up.
type expectFunc func(ctx context.Context, jti string) (VerifyOptions, error)

func (v *Verifier) verify(ctx context.Context, jws string, expect expectFunc) (*Result, error) {
	if ctx == nil {
		return nil, invalid("ctx", "is nil")
	}
	jws = strings.TrimSpace(jws)
	if jws == "" || len(jws) > MaxResultSize {
		return nil, wrapf(ErrMalformedResult, "empty or larger than %d bytes", MaxResultSize)
	}
	obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, wrapf(ErrUnsupportedAlgorithm, "alg %q", capString(string(algErr.Got), 16))
		}
		return nil, wrapf(ErrMalformedResult, "not a compact JWS")
	}
	if len(obj.Signatures) != 1 {
		return nil, wrapf(ErrMalformedResult, "want exactly one signature")
	}
	hdr := obj.Signatures[0].Protected
	if hdr.Algorithm != string(jose.RS256) {
		return nil, wrapf(ErrUnsupportedAlgorithm, "alg not in the protected header")
	}
	if hdr.KeyID == "" {
		return nil, wrapf(ErrUnknownKey, "no kid in the header")
	}
	key, err := v.key(ctx, hdr.KeyID)
	if err != nil {
		return nil, err
	}
	payload, err := obj.Verify(key)
	if err != nil {
		return nil, wrapf(ErrBadSignature, "kid %q", capString(hdr.KeyID, 64))
	}
	res, err := parseResult(payload)
	if err != nil {
		return nil, err
	}
	res.KeyID = hdr.KeyID
	if err := v.checkTimes(res); err != nil {
		return nil, err
	}
	if v.audience != "" && !res.aud.Contains(v.audience) {
		return nil, wrapf(ErrAudienceMismatch, "want the configured client id")
	}
	want, err := expect(ctx, res.SessionID)
	if err != nil {
		return nil, err
	}
	if res.SessionID == "" || subtle.ConstantTimeCompare([]byte(res.SessionID), []byte(want.SessionID)) != 1 {
		return nil, wrapf(ErrSessionMismatch, "jti differs from the expected session id")
	}
	if want.Nonce != "" && subtle.ConstantTimeCompare([]byte(res.Nonce), []byte(want.Nonce)) != 1 {
		return nil, wrapf(ErrNonceMismatch, "nonce differs from the expected one")
	}
	return res, nil
}

func (v *Verifier) checkTimes(r *Result) error {
	now := v.clock()
	switch {
	case !r.ExpiresAt.IsZero() && now.After(r.ExpiresAt.Add(v.leeway)):
		return wrapf(ErrExpiredResult, "exp is past (leeway %s)", v.leeway)
	case !r.NotBefore.IsZero() && now.Add(v.leeway).Before(r.NotBefore):
		return wrapf(ErrResultNotYetValid, "nbf is in the future (leeway %s)", v.leeway)
	case !r.IssuedAt.IsZero() && now.Add(v.leeway).Before(r.IssuedAt):
		return wrapf(ErrResultNotYetValid, "iat is in the future (leeway %s)", v.leeway)
	}
	return nil
}

// key returns the RSA key for kid, downloading the JWKS when kid is unknown
// and the last download is at least minRefresh old (or there was none).
// Concurrent callers share one download, which runs detached from their
// contexts (bounded by its own timeout); each caller waits on its own context.
func (v *Verifier) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	v.mu.Lock()
	if k, ok := v.st.keys[kid]; ok {
		v.mu.Unlock()
		return k, nil
	}
	f := v.st.inflight
	if f == nil {
		if v.st.fetched && v.clock().Sub(v.st.lastFetch) < v.minRefresh {
			lastErr := v.st.lastErr
			v.mu.Unlock()
			if lastErr != nil {
				return nil, fmt.Errorf("%w: %w", ErrJWKSUnavailable, lastErr)
			}
			return nil, wrapf(ErrUnknownKey, "kid %q not in the JWKS (refreshed less than %s ago)", capString(kid, 64), v.minRefresh)
		}
		f = &flight{done: make(chan struct{})}
		v.st.inflight, v.st.fetched, v.st.lastFetch = f, true, v.clock()
		go v.refresh(context.WithoutCancel(ctx), f)
	}
	v.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrJWKSUnavailable, ctx.Err())
	case <-f.done:
	}
	if f.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJWKSUnavailable, f.err)
	}
	v.mu.Lock()
	k, ok := v.st.keys[kid]
	v.mu.Unlock()
	if !ok {
		return nil, wrapf(ErrUnknownKey, "kid %q not in the JWKS", capString(kid, 64))
	}
	return k, nil
}

// refresh downloads the JWKS for flight f and publishes the outcome.
func (v *Verifier) refresh(ctx context.Context, f *flight) {
	var keys map[string]*rsa.PublicKey
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = errors.New("uqudo: JWKS download panicked")
			}
		}()
		ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
		defer cancel()
		var raw []byte
		if _, err := v.hc.Do(ctx, &httpx.Request{BaseURL: v.baseURL, Path: v.jwksPath, Accept: "application/json"}, &raw); err != nil {
			return err
		}
		keys, err = parseJWKS(raw)
		return err
	}()
	v.mu.Lock()
	v.st.lastErr, v.st.inflight = err, nil
	if err == nil {
		v.st.keys = keys
	}
	f.err = err
	v.mu.Unlock()
	close(f.done)
}

// parseJWKS keeps the usable signing keys of a JWKS: RSA public keys of at
// least 2048 bits with a kid, for signatures ("use" absent or "sig", "alg"
// absent or RS256). Keys of other types (an "oct" HMAC secret, EC, ...) are
// dropped, so no other algorithm can be smuggled in. Keys that do not parse
// are skipped, not fatal.
func parseJWKS(raw []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := httpx.DecodeJSON(raw, &set); err != nil {
		return nil, err
	}
	if set.Keys == nil {
		return nil, httpx.MissingField("keys")
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for _, kr := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(kr, &k) != nil || k.KeyID == "" {
			continue
		}
		pub, ok := k.Key.(*rsa.PublicKey)
		if !ok || pub.N.BitLen() < minRSABits {
			continue
		}
		if (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != string(jose.RS256)) {
			continue
		}
		keys[k.KeyID] = pub
	}
	return keys, nil
}

// capString cuts s to n bytes and drops control characters, for error details.
func capString(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}
