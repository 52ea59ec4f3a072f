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
	"strconv"
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
	// triggered by an unknown kid, and the longest wait between two attempts
	// after failed downloads.
	DefaultJWKSMinRefresh = time.Minute
	// DefaultJWKSRefreshInterval is how long a downloaded JWKS is used before
	// it is downloaded again (a Cache-Control max-age may shorten it), so
	// that keys uqudo retired stop being trusted (**assumed**: uqudo documents
	// no rotation schedule).
	DefaultJWKSRefreshInterval = time.Hour
	// DefaultMaxResultAge bounds the age, by iat, of a result without exp
	// (**assumed**: uqudo documents no lifetime for results).
	DefaultMaxResultAge = 24 * time.Hour
	// MaxResultSize bounds a result JWS (and the JWKS document).
	MaxResultSize = 1 << 20
	// minRSABits is the smallest RSA modulus accepted from the JWKS.
	minRSABits = 2048
	// jwksFetchTimeout bounds one shared JWKS download, whoever waits for it.
	jwksFetchTimeout = 30 * time.Second
	// jwksBackoffMin is the wait after a first failed JWKS download; it
	// doubles with each further failure, up to the MinRefreshInterval.
	jwksBackoffMin = time.Second
)

// VerifierConfig configures a [Verifier]. The zero value verifies against
// uqudo's JWKS ([DefaultJWKSURL]) with the defaults below, without an
// audience check.
type VerifierConfig struct {
	// JWKSURL is the absolute URL of the JWKS (default [DefaultJWKSURL]).
	JWKSURL string
	// HTTPClient fetches the JWKS (default: through http.DefaultTransport
	// with a timeout).
	HTTPClient *http.Client `json:"-"`
	// Audience, when set, must be one of the result's aud values: your
	// uqudo client id. Leave it empty to skip the check.
	Audience string
	// Leeway is the clock skew tolerated on exp, nbf and iat; 0 means
	// [DefaultLeeway]; it must not be negative.
	Leeway time.Duration
	// Clock tells the time (nil: time.Now); inject one in tests so expiry
	// and the JWKS schedule need no sleeping.
	Clock func() time.Time `json:"-"`
	// MinRefreshInterval is the least time between a JWKS download and one
	// triggered by an unknown kid, and the longest wait between attempts
	// after failed downloads; 0 means [DefaultJWKSMinRefresh]. It must not
	// be negative.
	MinRefreshInterval time.Duration
	// RefreshInterval is how long a downloaded JWKS is used before the next
	// verification downloads it again, dropping the keys it no longer lists;
	// 0 means [DefaultJWKSRefreshInterval]. A Cache-Control max-age on the
	// JWKS answer shortens it, and it is never shorter than
	// MinRefreshInterval. It must not be negative.
	RefreshInterval time.Duration
	// MaxAge bounds the age of a result that has no exp: it is rejected
	// ([ErrExpiredResult]) once its iat is more than MaxAge (plus Leeway) in
	// the past; a result with neither exp nor iat is rejected. 0 means
	// [DefaultMaxResultAge]; it must not be negative. Results with an exp
	// are bounded by it alone.
	MaxAge time.Duration
	// Retry bounds the retries of a JWKS download (nil: 3 retries waiting
	// 250 ms to 5 s, the client default).
	Retry *RetryPolicy
	// Logger receives one debug line per JWKS download attempt (nil: silent).
	Logger *slog.Logger `json:"-"`
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
// and time. A Verifier is safe for concurrent use; Close it when done.
//
// The JWKS is downloaded on first use and kept for RefreshInterval (default
// one hour, shortened by a Cache-Control max-age); the first verification
// after that downloads it again, and keys it no longer lists are dropped.
// A kid missing from the keys triggers a download too, unless the last one
// started less than MinRefreshInterval ago: then the result is refused with
// a retryable error matching [ErrJWKSUnavailable] (the key may be newly
// published; the webhook handler answers 503 so uqudo delivers again),
// never with [ErrUnknownKey]. Only a kid absent from a JWKS downloaded for
// it is [ErrUnknownKey]. A failed download is retried by the next
// verification after a backoff (1 s, doubling up to MinRefreshInterval);
// meanwhile verifications fail with [ErrJWKSUnavailable] wrapping the
// failure. Concurrent verifications share one download, which runs detached
// from their contexts (bounded by 30 s and by Close).
type Verifier struct {
	hc          *httpx.Client
	baseURL     string // the JWKS URL's directory
	jwksPath    string // relative to baseURL
	jwksURLPath string // escaped URL path of the JWKS, for errors
	audience    string
	leeway      time.Duration
	clock       func() time.Time
	minRefresh  time.Duration
	every       time.Duration
	maxAge      time.Duration

	life   context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // downloads under way

	mu sync.Mutex // guards st
	st verifierState
}

type verifierState struct {
	keys     map[string]*rsa.PublicKey // nil until a download succeeded
	unusable map[string]bool           // kids the JWKS lists with a key not accepted
	keysAt   time.Time                 // when the download of keys started
	ttl      time.Duration             // how long keys are used
	lastTry  time.Time                 // when the last download started
	failures int                       // consecutive failed downloads
	retryAt  time.Time                 // no download before this after a failure
	lastErr  error                     // the last failure
	inflight *flight                   // the download under way, if any
	closed   bool
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
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, invalid("jwks_url", "must be an absolute http(s) URL without query or credentials")
	}
	file := path.Base(u.Path)
	if u.Path == "" || strings.HasSuffix(u.Path, "/") || file == "." || file == "/" {
		return nil, invalid("jwks_url", "must name a document, not a directory")
	}
	dir := *u
	dir.Path, dir.RawPath = path.Dir(u.Path), ""
	if !strings.HasSuffix(dir.Path, "/") { // path.Dir("/jwks.json") is already "/"
		dir.Path += "/"
	}
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
	switch {
	case cfg.Leeway < 0:
		return nil, invalid("leeway", "must not be negative")
	case cfg.MinRefreshInterval < 0:
		return nil, invalid("min_refresh_interval", "must not be negative")
	case cfg.RefreshInterval < 0:
		return nil, invalid("refresh_interval", "must not be negative")
	case cfg.MaxAge < 0:
		return nil, invalid("max_age", "must not be negative")
	}
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, invalid("jwks_url", "is not a URL")
	}
	v := &Verifier{
		hc: hc, baseURL: baseURL, jwksPath: jwksPath, jwksURLPath: base.EscapedPath() + jwksPath,
		audience: cfg.Audience, leeway: cfg.Leeway, clock: cfg.Clock,
		minRefresh: cfg.MinRefreshInterval, every: cfg.RefreshInterval, maxAge: cfg.MaxAge,
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.minRefresh == 0 {
		v.minRefresh = DefaultJWKSMinRefresh
	}
	if v.every == 0 {
		v.every = DefaultJWKSRefreshInterval
	}
	v.every = max(v.every, v.minRefresh)
	if v.maxAge == 0 {
		v.maxAge = DefaultMaxResultAge
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	v.life, v.cancel = context.WithCancel(context.Background())
	return v, nil
}

// Close cancels the JWKS download under way, if any, and waits for it to
// end. Every Verify after Close fails with an error matching [ErrClosed]
// (not [ErrInvalidResult]: a webhook answers 503). Close is safe to call
// more than once, concurrently, and on a nil or zero Verifier.
func (v *Verifier) Close() {
	if v == nil || v.cancel == nil {
		return
	}
	v.mu.Lock()
	v.st.closed = true
	v.mu.Unlock()
	v.cancel()
	v.wg.Wait()
	v.hc.Close()
}

// Verify checks jws (a compact JWS, as returned by [Client.Info], posted to
// a webhook or returned by the SDK) and returns its parsed payload. Errors:
// a [*ValidationError] when opts.SessionID is empty; an error matching
// [ErrInvalidResult] and a specific kind ([ErrUnsupportedAlgorithm],
// [ErrUnknownKey], [ErrBadSignature], [ErrSessionMismatch],
// [ErrAudienceMismatch], [ErrExpiredResult], [ErrResultNotYetValid],
// [ErrNonceMismatch], [ErrMalformedResult]) when the result must be
// rejected; [ErrJWKSUnavailable] when the keys could not be fetched or a
// new kid cannot be looked up yet (see [Verifier]); [ErrClosed] after Close.
// The context ending while Verify waits for a JWKS download gives an error
// matching [ErrJWKSUnavailable] and holding a [*TransportError].
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
	switch {
	case v == nil || v.hc == nil:
		return nil, invalid("verifier", "is not built by NewVerifier")
	case ctx == nil:
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
	sig := obj.Signatures[0]
	hdr := sig.Protected
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
	if len(sig.Signature) != key.Size() { // cut short (or padded): not a signature by this key
		return nil, fmt.Errorf("uqudo: %w: %w: %d bytes, want %d", ErrMalformedResult, errSignatureLength, len(sig.Signature), key.Size())
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
	case r.ExpiresAt.IsZero() && r.IssuedAt.IsZero():
		return wrapf(ErrExpiredResult, "neither exp nor iat: the age of the result cannot be bounded")
	case r.ExpiresAt.IsZero() && now.After(r.IssuedAt.Add(v.maxAge+v.leeway)):
		return wrapf(ErrExpiredResult, "no exp and iat is more than %s old (leeway %s)", v.maxAge, v.leeway)
	}
	return nil
}

// errSignatureLength marks a signature whose length does not match the
// key's: most likely a JWS cut short.
var errSignatureLength = errors.New("signature has the wrong length")

// retryLaterError refuses a kid missing from a JWKS downloaded moments ago:
// the key may be newly published, so the answer is "try again later".
type retryLaterError struct{ msg string }

func (e *retryLaterError) Error() string   { return ErrJWKSUnavailable.Error() + ": " + e.msg }
func (e *retryLaterError) Unwrap() error   { return ErrJWKSUnavailable }
func (e *retryLaterError) Retryable() bool { return true }

// key returns the RSA key for kid. It downloads the JWKS when there are no
// keys yet, when they are older than their ttl, or when kid is unknown and
// the last download started at least minRefresh ago; after a failed
// download it waits for the backoff first. Concurrent callers share one
// download, which runs detached from their contexts; each caller waits on
// its own context.
func (v *Verifier) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	v.mu.Lock()
	if v.st.closed {
		v.mu.Unlock()
		return nil, ErrClosed
	}
	now := v.clock()
	fresh := v.st.keys != nil && now.Before(v.st.keysAt.Add(v.st.ttl))
	if k, ok := v.st.keys[kid]; ok && fresh {
		v.mu.Unlock()
		return k, nil
	}
	if fresh && v.st.unusable[kid] {
		v.mu.Unlock()
		return nil, unusableKey(kid)
	}
	f := v.st.inflight
	if f == nil {
		switch {
		case v.st.failures > 0 && now.Before(v.st.retryAt):
			lastErr, wait := v.st.lastErr, v.st.retryAt.Sub(now)
			v.mu.Unlock()
			return nil, fmt.Errorf("%w (next attempt in %s): %w", ErrJWKSUnavailable, wait.Round(time.Millisecond), lastErr)
		case fresh && now.Sub(v.st.lastTry) < v.minRefresh:
			wait := v.st.lastTry.Add(v.minRefresh).Sub(now)
			v.mu.Unlock()
			return nil, &retryLaterError{msg: fmt.Sprintf("kid %q is not in the JWKS downloaded %s ago; it may be newly published: try again in %s",
				capString(kid, 64), now.Sub(v.st.lastTry).Round(time.Second), wait.Round(time.Second))}
		}
		f = &flight{done: make(chan struct{})}
		v.st.inflight, v.st.lastTry = f, now
		v.wg.Add(1)
		go v.refresh(f)
	}
	v.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrJWKSUnavailable,
			&TransportError{Vendor: vendor, Method: http.MethodGet, Path: v.jwksURLPath, Err: ctx.Err()})
	case <-f.done:
	}
	if f.err != nil {
		if errors.Is(f.err, ErrClosed) {
			return nil, f.err
		}
		return nil, fmt.Errorf("%w: %w", ErrJWKSUnavailable, f.err)
	}
	v.mu.Lock()
	k, ok := v.st.keys[kid]
	bad := v.st.unusable[kid]
	v.mu.Unlock()
	switch {
	case bad:
		return nil, unusableKey(kid)
	case !ok:
		return nil, wrapf(ErrUnknownKey, "kid %q not in the JWKS", capString(kid, 64))
	}
	return k, nil
}

func unusableKey(kid string) error {
	return wrapf(ErrUnknownKey, "kid %q names a key that is not an RSA signing key of %d bits or more", capString(kid, 64), minRSABits)
}

// refresh downloads the JWKS for flight f and publishes the outcome: on
// success the new keys replace the old ones (retired keys are dropped); on
// failure the old keys are kept and the next attempt is delayed.
func (v *Verifier) refresh(f *flight) {
	defer v.wg.Done()
	var keys map[string]*rsa.PublicKey
	var unusable map[string]bool
	ttl := v.every
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = errors.New("uqudo: JWKS download panicked")
			}
		}()
		ctx, cancel := context.WithTimeout(v.life, jwksFetchTimeout)
		defer cancel()
		var raw []byte
		resp, err := v.hc.Do(ctx, &httpx.Request{BaseURL: v.baseURL, Path: v.jwksPath, Accept: "application/json"}, &raw)
		if err != nil {
			return err
		}
		if keys, unusable, err = parseJWKS(raw); err != nil {
			var de *DecodeError
			if errors.As(err, &de) { // name the call, as the httpx client does
				d := *de
				d.Vendor, d.Method, d.Path, d.StatusCode = vendor, http.MethodGet, v.jwksURLPath, resp.StatusCode
				return &d
			}
			return err
		}
		if maxAge, ok := cacheMaxAge(resp.Header); ok {
			ttl = min(ttl, max(maxAge, v.minRefresh))
		}
		return nil
	}()
	if err != nil && v.life.Err() != nil {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	v.mu.Lock()
	v.st.inflight = nil
	if err == nil {
		v.st.keys, v.st.unusable, v.st.keysAt, v.st.ttl = keys, unusable, v.st.lastTry, ttl
		v.st.failures, v.st.lastErr, v.st.retryAt = 0, nil, time.Time{}
	} else {
		v.st.failures = min(v.st.failures+1, 30)
		v.st.lastErr = err
		v.st.retryAt = v.clock().Add(min(jwksBackoffMin<<(v.st.failures-1), v.minRefresh))
	}
	f.err = err
	v.mu.Unlock()
	close(f.done)
}

// cacheMaxAge returns the max-age of a Cache-Control header; no-store and
// no-cache count as 0.
func cacheMaxAge(h http.Header) (time.Duration, bool) {
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
				if err != nil || n < 0 {
					continue
				}
				return time.Duration(min(n, int64(365*24*3600))) * time.Second, true
			}
		}
	}
	return 0, false
}

// parseJWKS keeps the usable signing keys of a JWKS: RSA public keys of at
// least 2048 bits with a kid, for signatures ("use" absent or "sig", "alg"
// absent or RS256). Keys of other types (an "oct" HMAC secret, EC, ...) are
// dropped, so no other algorithm can be smuggled in; their kids are
// returned as unusable. Keys that do not parse are skipped, not fatal.
func parseJWKS(raw []byte) (keys map[string]*rsa.PublicKey, unusable map[string]bool, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := httpx.DecodeJSON(raw, &set); err != nil {
		return nil, nil, err
	}
	if set.Keys == nil {
		return nil, nil, httpx.MissingField("keys")
	}
	keys = make(map[string]*rsa.PublicKey, len(set.Keys))
	unusable = make(map[string]bool)
	for _, kr := range set.Keys {
		var id struct {
			Kid string `json:"kid"`
		}
		if json.Unmarshal(kr, &id) != nil || id.Kid == "" {
			continue
		}
		var k jose.JSONWebKey
		pub, ok := (*rsa.PublicKey)(nil), false
		if json.Unmarshal(kr, &k) == nil {
			pub, ok = k.Key.(*rsa.PublicKey)
		}
		if !ok || pub.N.BitLen() < minRSABits || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != string(jose.RS256)) {
			unusable[id.Kid] = true
			continue
		}
		keys[id.Kid] = pub
	}
	for kid := range keys { // a kid listed twice, once unusable, stays usable
		delete(unusable, kid)
	}
	return keys, unusable, nil
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
