package broker

import (
	"fmt"
	"log/slog"
	"time"
)

// Vendor names one of the supported vendors.
type Vendor string

// The supported vendors.
const (
	// Entrupy signs the Entrupy SDK's authorization request (an SDK session token).
	Entrupy Vendor = "entrupy"
	// Sentiance issues a user-creation (or restore) authentication code.
	Sentiance Vendor = "sentiance"
	// IDV creates an ephemeral device and a workflow session and builds the handoff URL.
	IDV Vendor = "idv"
	// Uqudo creates a QR session for uqudo's SDK or QR reader app.
	Uqudo Vendor = "uqudo"
)

// Vendors lists the supported vendors.
func Vendors() []Vendor { return []Vendor{Entrupy, Sentiance, IDV, Uqudo} }

// Valid reports whether v is a supported vendor.
func (v Vendor) Valid() bool {
	switch v {
	case Entrupy, Sentiance, IDV, Uqudo:
		return true
	}
	return false
}

// Grant is what the app needs to open a vendor's SDK for one user. Its JSON
// is meant to be returned to the app, and is the one place the token
// appears: String, GoString, fmt's verbs and slog print [REDACTED] for Token
// and HandoffURL (which carries the token).
type Grant struct {
	// Vendor is the vendor the grant is for.
	Vendor Vendor `json:"vendor"`
	// UserID is your user's id, as given in the Request.
	UserID string `json:"user_id"`
	// Token is the credential the SDK needs: Entrupy's signed authorization
	// request, Sentiance's authentication code, or IDV's ephemeral device
	// token. Empty for uqudo (the QR texts carry the session).
	Token string `json:"token,omitempty"`
	// SessionID is the vendor session (IDV session id, uqudo session id).
	SessionID string `json:"session_id,omitempty"`
	// HandoffURL is IDV's capture URL (it embeds the device token).
	HandoffURL string `json:"handoff_url,omitempty"`
	// QRCodeText is uqudo's QR code text.
	QRCodeText string `json:"qr_code_text,omitempty"`
	// QRCodeTextWithDynamicLink is uqudo's QR code text as a dynamic link.
	QRCodeTextWithDynamicLink string `json:"qr_code_text_with_dynamic_link,omitempty"`
	// PlatformURL is, for Sentiance, the platform URL of the client's region
	// (sentiance.Client.PlatformURL), which the app passes to the Sentiance
	// SDK's user creation together with the authentication code. Empty for
	// the other vendors.
	PlatformURL string `json:"platform_url,omitempty"`
	// ExpiresAt is when the grant stops working.
	ExpiresAt time.Time `json:"expires_at"`
	// RefreshAfter is when the broker starts fetching a new grant; until
	// then Start hands this one out again.
	RefreshAfter time.Time `json:"refresh_after"`
	// Reused reports whether Start returned a grant it already had.
	Reused bool `json:"reused"`
}

const redacted = "[REDACTED]"

// String describes the grant without its token or handoff URL.
func (g Grant) String() string {
	return fmt.Sprintf("broker.Grant{Vendor:%s UserID:%q Token:%s SessionID:%q HandoffURL:%s QRCodeText:%q PlatformURL:%q ExpiresAt:%s RefreshAfter:%s Reused:%t}",
		g.Vendor, g.UserID, redactNonEmpty(g.Token), g.SessionID, redactNonEmpty(g.HandoffURL), g.QRCodeText, g.PlatformURL,
		g.ExpiresAt.Format(time.RFC3339), g.RefreshAfter.Format(time.RFC3339), g.Reused)
}

// GoString is String, so %#v does not print the token either.
func (g Grant) GoString() string { return g.String() }

// Format prints String for every verb, so %v, %+v and %#v are safe.
func (g Grant) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, g.String()) }

// LogValue logs the grant without its token or handoff URL.
func (g Grant) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("vendor", string(g.Vendor)),
		slog.String("user_id", g.UserID),
		slog.String("session_id", g.SessionID),
		slog.String("platform_url", g.PlatformURL),
		slog.Time("expires_at", g.ExpiresAt),
		slog.Time("refresh_after", g.RefreshAfter),
		slog.Bool("reused", g.Reused),
	)
}

func redactNonEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}
