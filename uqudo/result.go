package uqudo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Result is a verified uqudo result: the claims of the JWS, the typed parts
// of its "data" and the whole payload as Raw. It holds personal data (names,
// document numbers): handle it accordingly.
//
// Docs: https://docs.uqudo.com/docs/kyc/uqudo-sdk/sdk-result/data-structure
type Result struct {
	// SessionID is the jti claim: the session the result belongs to.
	SessionID string
	// Audience is the aud claim: your client id.
	Audience []string
	// Issuer and Subject are the iss and sub claims, when present.
	Issuer, Subject string
	// IssuedAt, NotBefore and ExpiresAt are the iat, nbf and exp claims;
	// zero when absent.
	IssuedAt, NotBefore, ExpiresAt time.Time
	// KeyID is the kid of the key that signed the result.
	KeyID string
	// Nonce is data.nonce, the nonce given when the SDK was started.
	Nonce string
	// Documents are data.documents, one per scanned document.
	Documents []ResultDocument
	// BackgroundCheck is data.backgroundCheck, raw; nil when absent.
	BackgroundCheck json.RawMessage
	// Verifications is data.verifications, raw; nil when absent.
	Verifications json.RawMessage
	// Data is the whole "data" claim, raw.
	Data json.RawMessage
	// Raw is the whole verified payload.
	Raw json.RawMessage

	aud jwt.Audience
}

// ResultDocument is one document of a result.
type ResultDocument struct {
	// DocumentType is the type scanned, e.g. [DocumentTypePassport].
	DocumentType DocumentType `json:"documentType"`
	// Scan is the optical scan; nil when absent.
	Scan *ScanResult `json:"scan,omitempty"`
	// Reading is the NFC chip reading; nil when absent.
	Reading *ReadingResult `json:"reading,omitempty"`
	// Face is the face match; nil when absent.
	Face *FaceResult `json:"face,omitempty"`
	// Lookup is the government database lookup, raw; nil when absent.
	Lookup json.RawMessage `json:"lookup,omitempty"`
}

// ScanResult is the optical scan of a document. Front and Back differ by
// document type and are kept raw.
type ScanResult struct {
	// FaceImageID, FrontImageID and BackImageID name images you can download
	// with the info image API.
	FaceImageID  string `json:"faceImageId,omitempty"`
	FrontImageID string `json:"frontImageId,omitempty"`
	BackImageID  string `json:"backImageId,omitempty"`
	// Front and Back are the fields read from each side, raw.
	Front json.RawMessage `json:"front,omitempty"`
	Back  json.RawMessage `json:"back,omitempty"`
}

// ReadingResult is the NFC chip reading of a document.
type ReadingResult struct {
	// Data is what the chip holds (mrz, certificates, ...), raw.
	Data json.RawMessage `json:"data,omitempty"`
}

// FaceResult is the face match of the selfie against the document.
type FaceResult struct {
	// Match reports whether the required match level was reached.
	Match bool `json:"match"`
	// MatchLevel is the level reached, 1..5.
	MatchLevel int `json:"matchLevel"`
	// AuditTrailImageID names the selfie image.
	AuditTrailImageID string `json:"auditTrailImageId,omitempty"`
}

type resultClaims struct {
	ID        string           `json:"jti"`
	Audience  jwt.Audience     `json:"aud"`
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	Expiry    *jwt.NumericDate `json:"exp"`
	Data      json.RawMessage  `json:"data"`
}

type resultData struct {
	Nonce           string           `json:"nonce"`
	Documents       []ResultDocument `json:"documents"`
	BackgroundCheck json.RawMessage  `json:"backgroundCheck"`
	Verifications   json.RawMessage  `json:"verifications"`
}

// parseResult decodes a verified payload.
func parseResult(payload []byte) (*Result, error) {
	var c resultClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, wrapf(ErrMalformedResult, "payload is not a JSON object of claims")
	}
	r := &Result{
		SessionID: c.ID, Audience: []string(c.Audience), aud: c.Audience,
		Issuer: c.Issuer, Subject: c.Subject,
		IssuedAt: numericTime(c.IssuedAt), NotBefore: numericTime(c.NotBefore), ExpiresAt: numericTime(c.Expiry),
		Raw: json.RawMessage(payload),
	}
	if len(c.Data) > 0 && string(c.Data) != "null" {
		var d resultData
		if err := json.Unmarshal(c.Data, &d); err != nil {
			return nil, wrapf(ErrMalformedResult, "data is not an object of the documented shape")
		}
		r.Data, r.Nonce, r.Documents = c.Data, d.Nonce, d.Documents
		r.BackgroundCheck, r.Verifications = nullToNil(d.BackgroundCheck), nullToNil(d.Verifications)
	}
	return r, nil
}

func numericTime(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time()
}

func nullToNil(m json.RawMessage) json.RawMessage {
	if string(m) == "null" {
		return nil
	}
	return m
}

// Info fetches the result of a QR session (GET {API URL}/api/v1/info/{sessionID},
// answered as application/jwt), verifies it with the client's [Verifier]
// (signature, jti == sessionID, aud == the client id, exp/nbf/iat) and
// returns it. A session without a result yet, or purged, is [ErrNotFound].
// A 200 whose body is not a whole compact JWS (empty, an HTML page, cut
// short) is a [*DecodeError] matching [ErrMalformedResponse], its kind
// ([ErrEmptyBody], [ErrNotJSON] for a body that is not a JWS at all,
// [ErrTruncatedJSON] for a JWS cut short) and [ErrMalformedResult]. A whole
// JWS that fails verification matches [ErrInvalidResult] and its specific
// error, as with [Verifier.Verify]. To check a nonce, compare Result.Nonce or
// verify a webhook with [VerifyOptions.Nonce].
//
// Docs: https://docs.uqudo.com/docs/kyc/uqudo-api/info
func (c *Client) Info(ctx context.Context, sessionID string) (*Result, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if err := checkID("session_id", sessionID); err != nil {
		return nil, err
	}
	route := httpx.Path("api", "v1", "info", sessionID)
	var jws string
	err := c.do(ctx, &httpx.Request{
		Method: http.MethodGet,
		Path:   route,
		Accept: "application/jwt",
	}, &jws)
	if err != nil {
		return nil, err
	}
	res, err := c.verifier.Verify(ctx, jws, VerifyOptions{SessionID: sessionID})
	if err != nil && errors.Is(err, ErrMalformedResult) {
		path := route
		if u, perr := url.Parse(c.apiURL); perr == nil {
			path = u.EscapedPath() + route
		}
		return nil, &DecodeError{Vendor: vendor, Method: http.MethodGet, Path: path, StatusCode: http.StatusOK,
			Kind: infoDecodeKind(jws, err), Err: err}
	}
	return res, err
}

// infoDecodeKind names what is wrong with an Info body that is not a usable
// compact JWS (verr is the verification error).
func infoDecodeKind(body string, verr error) error {
	t := strings.TrimSpace(body)
	switch {
	case t == "":
		return ErrEmptyBody
	case strings.ContainsFunc(t, func(r rune) bool {
		return r != '.' && r != '-' && r != '_' && (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z')
	}):
		return ErrNotJSON // an HTML page, JSON, text: not a compact JWS at all
	case errors.Is(verr, errSignatureLength):
		return ErrTruncatedJSON
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return ErrTruncatedJSON
	}
	for _, p := range parts {
		if _, err := base64.RawURLEncoding.DecodeString(p); p == "" || err != nil {
			return ErrTruncatedJSON
		}
	}
	return ErrMalformedResponse
}

// DeleteInfo purges the cached result of a session without waiting for its
// automatic deletion (DELETE {API URL}/api/v1/info/{sessionID}; 204).
func (c *Client) DeleteInfo(ctx context.Context, sessionID string) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := checkID("session_id", sessionID); err != nil {
		return err
	}
	return c.do(ctx, &httpx.Request{
		Method: http.MethodDelete,
		Path:   httpx.Path("api", "v1", "info", sessionID),
	}, nil)
}
