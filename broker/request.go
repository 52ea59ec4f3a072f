package broker

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// MaxUserIDLen is the longest user id Start accepts, in bytes.
const MaxUserIDLen = 256

// Request asks for a grant for one of your users with one vendor. Exactly
// the params of Vendor are read; the others are ignored.
type Request struct {
	// Vendor is the vendor to start; it must have been configured with its With... option.
	Vendor Vendor
	// UserID is your id for the user: grants are reused per vendor and user,
	// and Grant.UserID and Owner answer with it. What the vendor receives
	// (as Entrupy's unique_user_id, Sentiance's external_id, IDV's
	// externalUserId metadata, uqudo's generalConfig.userIdentifier) is this
	// id mapped by [WithUserIDs]: the id itself by default. At most
	// [MaxUserIDLen] bytes of UTF-8 without control characters.
	UserID string
	// Entrupy holds Entrupy's inputs; required for Entrupy.
	Entrupy *EntrupyParams
	// IDV holds IDV's inputs; nil uses the defaults given to WithIDV.
	IDV *IDVParams
	// Uqudo holds uqudo's inputs; nil uses the defaults given to WithUqudo.
	Uqudo *UqudoParams
}

// EntrupyParams are the inputs of Entrupy's authorize-user call. They are
// request input, so JSON decodes into them as usual (field names as below,
// matched case-insensitively); String, GoString, every fmt verb, slog and
// MarshalJSON print [REDACTED] for SDKAuthorizationRequest, which the
// library scrubs from errors too.
type EntrupyParams struct {
	// SDKAuthorizationRequest is the opaque string the Entrupy SDK produced.
	// A grant answers this string only, so a grant is reused only for the
	// same user and the same string. Never printed.
	SDKAuthorizationRequest string
	// Email is the user's e-mail address; required by Entrupy.
	Email string
	// FirstName is optional; Entrupy fixes it on the user's first call.
	FirstName string
	// LastName is optional; Entrupy fixes it on the user's first call.
	LastName string
}

// String describes the params without the SDK authorization request.
func (p EntrupyParams) String() string {
	return fmt.Sprintf("broker.EntrupyParams{SDKAuthorizationRequest:%s Email:%q FirstName:%q LastName:%q}",
		redactNonEmpty(p.SDKAuthorizationRequest), p.Email, p.FirstName, p.LastName)
}

// GoString is String, so %#v does not print the SDK request either.
func (p EntrupyParams) GoString() string { return p.String() }

// Format prints String for every verb, so %v, %+v, %#v, %s, %q and %x are safe.
func (p EntrupyParams) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, p.String()) }

// LogValue logs the params without the SDK authorization request.
func (p EntrupyParams) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("sdk_authorization_request", redactNonEmpty(p.SDKAuthorizationRequest)),
		slog.String("email", p.Email),
		slog.String("first_name", p.FirstName),
		slog.String("last_name", p.LastName),
	)
}

// MarshalJSON encodes the params with SDKAuthorizationRequest as
// [REDACTED] (when set), so a log line or a JSON dump of a Request cannot
// carry it; decoding is the default and reads the field as sent.
func (p EntrupyParams) MarshalJSON() ([]byte, error) {
	type plain EntrupyParams
	q := plain(p)
	if q.SDKAuthorizationRequest != "" {
		q.SDKAuthorizationRequest = redacted
	}
	return json.Marshal(q)
}

// IDVParams are the inputs of an IDV handoff. Zero fields take the
// defaults given to WithIDV.
type IDVParams struct {
	// WorkflowID names the IDV workflow to run; required here or in the defaults.
	WorkflowID string
	// Metadata is attached to the session; the user id is added as externalUserId.
	Metadata map[string]any
	// TTL is the ephemeral device's lifetime (whole seconds; 0 = the idv default).
	TTL time.Duration
}

// UqudoParams are the inputs of a uqudo QR session.
type UqudoParams struct {
	// Data is the session configuration: a uqudo.SessionData (or a pointer
	// to one) or a uqudo.RawSessionData. In a SessionData the broker sets
	// generalConfig.userIdentifier, on a copy, to the user's vendor-side id
	// (see [WithUserIDs]; uqudo echoes it in the result), so leave it empty:
	// a SessionData that sets it is refused with ErrInvalidInput. Data
	// without a GeneralConfig gets one, whose other fields then go with the
	// uqudo package's values for unset fields (secureWindowsEnabled true,
	// returnDataForIncompleteSession false). A RawSessionData is opaque and
	// sent as is, without a user id.
	Data uqudo.SessionInput
}

// validate checks what the broker itself needs; the vendor clients check
// their own inputs before any network call.
func validateUserID(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return httpx.Invalid("user_id", "is empty")
	case len(id) > MaxUserIDLen:
		return httpx.Invalid("user_id", "is longer than "+strconv.Itoa(MaxUserIDLen)+" bytes")
	case !utf8.ValidString(id):
		return httpx.Invalid("user_id", "is not valid UTF-8")
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return httpx.Invalid("user_id", "contains control characters")
	}
	return nil
}

// variant is a stable 64-bit FNV-1a hash of the inputs that decide whether
// a held grant answers a request (Entrupy's SDK request string, IDV's
// workflow and ttl, uqudo's session data). It is the same in every process,
// so replicas sharing a Store agree, and no input is kept as a key.
type variant uint64

func hashStrings(parts ...string) variant {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= prime
		}
		h ^= 0xff // separator: ("ab","c") and ("a","bc") differ
		h *= prime
	}
	return variant(h)
}
