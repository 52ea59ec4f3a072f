package uqudotest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is one RSA key of the process-wide pool.
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
}

// keyPool memoizes generated keys by index (see the package doc): key i is
// generated on first use and then shared.
var keyPool struct {
	mu   sync.Mutex
	keys []*signingKey
}

func poolKey(i int) *signingKey {
	keyPool.mu.Lock()
	defer keyPool.mu.Unlock()
	for len(keyPool.keys) <= i {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("uqudotest: cannot generate an RSA key: " + err.Error())
		}
		keyPool.keys = append(keyPool.keys, &signingKey{priv: priv, kid: kidOf(&priv.PublicKey)})
	}
	return keyPool.keys[i]
}

// KeyID returns the kid of the current signing key.
func (f *Fake) KeyID() string {
	f.mu.Lock()
	i := f.keyIdx
	f.mu.Unlock()
	return poolKey(i).kid
}

// RotateKey switches to a new signing key and returns its kid. Earlier keys
// stay in the JWKS (as in a real rotation) until RetireOldKeys.
func (f *Fake) RotateKey() string {
	f.mu.Lock()
	next := f.keyIdx + 1
	for _, i := range f.oldKeys {
		next = max(next, i+1)
	}
	f.oldKeys = append([]int{f.keyIdx}, f.oldKeys...)
	f.keyIdx = next
	f.mu.Unlock()
	return poolKey(next).kid
}

// RetireOldKeys removes every key but the current one from the JWKS.
func (f *Fake) RetireOldKeys() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oldKeys = nil
}

// ResultClaims describe a result to sign. Zero fields take defaults.
type ResultClaims struct {
	// SessionID is the jti.
	SessionID string
	// Audience is the aud (default: the fake's client id; "-" omits it).
	Audience string
	// IssuedAt is the iat (default: now by the fake's clock).
	IssuedAt time.Time
	// ExpiresAt is the exp (default: IssuedAt + the result TTL).
	ExpiresAt time.Time
	// NotBefore is the nbf (default: omitted).
	NotBefore time.Time
	// Nonce is put into data.nonce when set.
	Nonce string
	// Data is the "data" claim (default: ResultData(uqudo's PASSPORT)). A
	// map[string]any is copied before Nonce is added.
	Data any
}

// SignResult signs claims with the fake's current key (RS256, kid in the
// header) and returns the compact JWS, as the info API and webhooks carry it.
func (f *Fake) SignResult(c ResultClaims) (string, error) {
	f.mu.Lock()
	idx, clientID, now, ttl := f.keyIdx, f.clientID, f.now(), f.resultTTL
	f.mu.Unlock()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(ttl)
	}
	payload := map[string]any{
		"jti": c.SessionID,
		"iat": c.IssuedAt.Unix(),
		"exp": c.ExpiresAt.Unix(),
		"iss": "https://id.uqudo.io",
	}
	switch c.Audience {
	case "":
		payload["aud"] = clientID
	case "-":
	default:
		payload["aud"] = c.Audience
	}
	if !c.NotBefore.IsZero() {
		payload["nbf"] = c.NotBefore.Unix()
	}
	data := c.Data
	if data == nil {
		data = ResultData("PASSPORT")
	}
	if c.Nonce != "" {
		m, ok := data.(map[string]any)
		if !ok {
			return "", fmt.Errorf("uqudotest: Nonce needs Data to be a map[string]any")
		}
		cp := make(map[string]any, len(m)+1)
		for k, v := range m {
			cp[k] = v
		}
		cp["nonce"] = c.Nonce
		data = cp
	}
	payload["data"] = data
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("uqudotest: cannot encode the claims: %w", err)
	}
	return SignPayload(poolKey(idx).priv, poolKey(idx).kid, raw)
}

// SignPayload signs raw with key as an RS256 compact JWS with kid in its
// header; for tests that forge results with a key of their own.
func SignPayload(key *rsa.PrivateKey, kid string, raw []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		return "", fmt.Errorf("uqudotest: cannot build a signer: %w", err)
	}
	obj, err := signer.Sign(raw)
	if err != nil {
		return "", fmt.Errorf("uqudotest: cannot sign: %w", err)
	}
	return obj.CompactSerialize()
}

// CompleteSession finishes a session as the phone would: it signs a result
// for it (jti = the session id, aud = the client id; data as given, or
// ResultData for the session's first document type when nil) and stores it
// for the info API. It returns the JWS, e.g. to post to a webhook.
func (f *Fake) CompleteSession(sessionID string, data any) (string, error) {
	f.mu.Lock()
	s, ok := f.sessions[sessionID]
	docType := "PASSPORT"
	if ok && s.Decoded != nil && len(s.Decoded.Documents) > 0 {
		docType = string(s.Decoded.Documents[0].DocumentType)
	}
	f.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%w %q", errUnknownSession, sessionID)
	}
	if data == nil {
		data = ResultData(docType)
	}
	jws, err := f.SignResult(ResultClaims{SessionID: sessionID, Data: data})
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sessions[sessionID]; ok {
		s.Result = jws
		return jws, nil
	}
	return "", fmt.Errorf("%w %q", errUnknownSession, sessionID)
}

// ResultData returns a plausible "data" claim for one document of docType:
// a scan with front fields and image ids, an NFC reading and a face match,
// shaped like uqudo's documented enrollment payload (with made-up values).
func ResultData(docType string) map[string]any {
	return map[string]any{
		"documents": []any{map[string]any{
			"documentType": docType,
			"scan": map[string]any{
				"faceImageId":  "5e9960242d35cc7ca0328729",
				"frontImageId": "5e9960232d35cc7ca0328725",
				"backImageId":  nil,
				"front": map[string]any{
					"documentNumber": "YA0000000", "primaryId": "DOE", "secondaryId": "JANE",
					"nationality": "ITA", "dateOfBirth": "800825", "dateOfExpiry": "300315", "mrzVerified": true,
				},
				"back": map[string]any{},
			},
			"reading": map[string]any{"data": map[string]any{"mrz": map[string]any{"documentNumber": "YA0000000"}}},
			"face":    map[string]any{"auditTrailImageId": "5f290764076cff0e3f7b3a2f", "matchLevel": 4, "match": true},
		}},
	}
}
