package uqudo

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// SessionLifetime is how long a QR session stays usable after it was
// created (**assumed** from uqudo's documentation: 30 minutes). It sets
// Session.ExpiresAt.
const SessionLifetime = 30 * time.Minute

// SessionInput is the data of a QR session: either a [SessionData] (or
// *SessionData), validated and encoded with [SessionData.Encode], or a
// [RawSessionData] string sent as it is. The interface is closed: only the
// types of this package implement it.
type SessionInput interface {
	sessionData() (string, error)
}

// RawSessionData is session data sent verbatim: for a QR reader app of your
// own that expects something other than uqudo's JSON, or a configuration you
// encoded yourself. It must be non-empty and at most [MaxSessionDataSize] bytes.
type RawSessionData string

func (r RawSessionData) sessionData() (string, error) {
	switch {
	case r == "":
		return "", invalid("data", "is empty")
	case len(r) > MaxSessionDataSize:
		return "", invalid("data", "is larger than MaxSessionDataSize")
	}
	return string(r), nil
}

func (d SessionData) sessionData() (string, error) { return d.Encode() }

// Session is a QR-code session created by [Client.CreateSession].
type Session struct {
	// ID is uqudo's sessionId. Keep it: the result's jti must equal it, and
	// [Client.Info] fetches the result by it.
	ID string
	// QRCodeText is the text to render as a QR code for uqudo's QR reader app.
	QRCodeText string
	// QRCodeTextWithDynamicLink is the same as a link that opens (or installs)
	// the app on a phone.
	QRCodeTextWithDynamicLink string
	// ExpiresAt is creation time plus [SessionLifetime], by the client's clock.
	ExpiresAt time.Time
}

type sessionRequest struct {
	Data string `json:"data"`
}

type sessionResponse struct {
	SessionID                 string `json:"sessionId"`
	QRCodeText                string `json:"qrCodeText"`
	QRCodeTextWithDynamicLink string `json:"qrCodeTextWithDynamicLink"`
}

func (r *sessionResponse) ValidateResponse() error {
	switch {
	case r.SessionID == "":
		return httpx.MissingField("sessionId")
	case r.QRCodeText == "":
		return httpx.MissingField("qrCodeText")
	}
	return nil
}

// CreateSession creates a QR-code session (POST {session URL}/api/v1/session)
// carrying data, a [SessionData] or a [RawSessionData]. Invalid data gives a
// [*ValidationError] before any network call. The POST is not retried after
// it may have reached uqudo (a second call would create a second session);
// a 401 is retried once with a fresh access token.
//
// Docs: https://docs.uqudo.com/docs/kyc/qr-code-app/create-a-session
func (c *Client) CreateSession(ctx context.Context, data SessionInput) (*Session, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if p, ok := data.(*SessionData); data == nil || (ok && p == nil) {
		return nil, invalid("data", "is nil")
	}
	encoded, err := data.sessionData()
	if err != nil {
		return nil, err
	}
	var out sessionResponse
	err = c.do(ctx, &httpx.Request{
		Method:  http.MethodPost,
		BaseURL: c.sessionURL,
		Path:    httpx.Path("api", "v1", "session"),
		JSON:    sessionRequest{Data: encoded},
	}, &out)
	if err != nil {
		return nil, err
	}
	return &Session{
		ID:                        out.SessionID,
		QRCodeText:                out.QRCodeText,
		QRCodeTextWithDynamicLink: out.QRCodeTextWithDynamicLink,
		ExpiresAt:                 c.clock().Round(0).Add(SessionLifetime),
	}, nil
}

// DeleteSession ends a QR session before it expires (DELETE {session
// URL}/api/v1/session/{qrCodeText}). uqudo answers 204; an unknown session is
// [ErrNotFound].
func (c *Client) DeleteSession(ctx context.Context, qrCodeText string) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := checkID("qr_code_text", qrCodeText); err != nil {
		return err
	}
	return c.do(ctx, &httpx.Request{
		Method:  http.MethodDelete,
		BaseURL: c.sessionURL,
		Path:    httpx.Path("api", "v1", "session", qrCodeText),
	}, nil)
}

// maxIDLen bounds session ids and QR texts given to the client.
const maxIDLen = 2048

// checkID rejects an empty, oversized or control-character identifier.
func checkID(field, v string) error {
	switch {
	case v == "":
		return invalid(field, "is empty")
	case len(v) > maxIDLen:
		return invalid(field, "is too long")
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return invalid(field, "contains control characters")
	}
	return nil
}
