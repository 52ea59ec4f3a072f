package broker

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// UserIDMapper turns your user id into the id sent to a vendor (Entrupy's
// unique_user_id, Sentiance's external_id, IDV's externalUserId metadata,
// uqudo's userIdentifier). The broker calls it when it needs a vendor call
// (not for a grant it already holds), so it may be slow; it must be safe
// for concurrent use, give the same answer for the same inputs on every
// replica, and never give two of your users the same id for one vendor
// (the ledger attributes vendor-side ids with [Broker.Owner]).
//
// The id it returns must fit the vendor's rule (Entrupy: 8 to 40 characters
// of A-Z, a-z, 0-9 and "@.+_-"); Start checks it before any vendor call and
// fails with [ErrInvalidInput] otherwise. [PseudonymousIDs] fits every
// vendor; the default, [IdentityUserIDs], sends your id as is.
type UserIDMapper interface {
	// VendorUserID returns the id to send to vendor for your user userID.
	VendorUserID(ctx context.Context, vendor Vendor, userID string) (string, error)
}

// UserIDMapperFunc adapts a function to [UserIDMapper].
type UserIDMapperFunc func(ctx context.Context, vendor Vendor, userID string) (string, error)

// VendorUserID calls f.
func (f UserIDMapperFunc) VendorUserID(ctx context.Context, vendor Vendor, userID string) (string, error) {
	return f(ctx, vendor, userID)
}

// IdentityUserIDs returns the default mapper: every vendor gets your user id
// as is. Your ids must then fit every vendor you use; Entrupy's rule (8 to
// 40 characters of A-Z, a-z, 0-9 and "@.+_-") refuses "alice", an e-mail
// address with other symbols or an id longer than 40 characters, and Start
// fails with [ErrInvalidInput] naming the rule. The vendors also learn your
// internal ids; [PseudonymousIDs] avoids both.
func IdentityUserIDs() UserIDMapper { return identityMapper{} }

type identityMapper struct{}

func (identityMapper) VendorUserID(_ context.Context, _ Vendor, userID string) (string, error) {
	return userID, nil
}

// MinPseudonymKeyLen is the shortest key [PseudonymousIDs] accepts, in bytes.
const MinPseudonymKeyLen = 32

// PseudonymLen is the length of the ids [PseudonymousIDs] makes: 32
// lower-case hex digits (128 bits), which fit every vendor's rule (Entrupy:
// 8 to 40 characters of A-Z, a-z, 0-9 and "@.+_-"; Sentiance and IDV: any
// short text; uqudo: any text).
const PseudonymLen = 32

// pseudonymDomain separates this use of the key from any other and names
// the scheme, so a future scheme can coexist.
const pseudonymDomain = "sdkbroker/user-id/v1"

// PseudonymousIDs returns a mapper that sends each vendor a keyed hash of
// your user id instead of the id: the first 128 bits of
// HMAC-SHA256(key, "sdkbroker/user-id/v1" NUL vendor NUL userID), as
// [PseudonymLen] lower-case hex digits. The same key gives the same id on
// every replica and after restarts; each vendor gets a different id for one
// user, and another key gives other ids.
//
// The privacy gain: a vendor never learns your internal ids, and two
// vendors (or a leak of their data) cannot join their records on the user
// id. Your backend maps back with [Broker.Owner] (or by hashing a known
// user id again). The key must be kept like a secret (whoever has it can
// test guesses of your user ids) and kept stable: a new key gives every
// user new vendor-side ids, so vendors see new users (Entrupy and Sentiance
// users are keyed on these ids).
//
// key must be at least [MinPseudonymKeyLen] (32) random bytes; a shorter
// key is an [ErrInvalidInput] error. The key is copied; the mapper prints
// and logs as [REDACTED].
func PseudonymousIDs(key []byte) (UserIDMapper, error) {
	if len(key) < MinPseudonymKeyLen {
		return nil, httpx.Invalid("pseudonym_key", "must be at least "+strconv.Itoa(MinPseudonymKeyLen)+" bytes (use 32 random bytes)")
	}
	return &pseudonymous{key: append([]byte(nil), key...)}, nil
}

type pseudonymous struct{ key []byte }

func (p *pseudonymous) VendorUserID(_ context.Context, vendor Vendor, userID string) (string, error) {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(pseudonymDomain))
	m.Write([]byte{0})
	m.Write([]byte(vendor))
	m.Write([]byte{0})
	m.Write([]byte(userID))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:PseudonymLen/2]), nil
}

// String names the mapper without its key.
func (p *pseudonymous) String() string { return "broker.PseudonymousIDs(key: [REDACTED])" }

// GoString is String.
func (p *pseudonymous) GoString() string { return p.String() }

// Format prints String for every verb.
func (p *pseudonymous) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, p.String()) }

// LogValue logs the mapper without its key.
func (p *pseudonymous) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalJSON encodes the mapper without its key.
func (p *pseudonymous) MarshalJSON() ([]byte, error) { return []byte(`"[REDACTED]"`), nil }

// WithUserIDs sets how your user ids become the ids each vendor sees (see
// [UserIDMapper]); the default is [IdentityUserIDs]. Grant.UserID, the grant
// cache, GrantEvent and [Broker.Owner]'s answer stay your ids.
func WithUserIDs(m UserIDMapper) Option {
	return func(cfg *config) error {
		if m == nil {
			return httpx.Invalid("user_ids", "mapper is nil")
		}
		cfg.userIDs = m
		return nil
	}
}

// userIDRule describes, per vendor, the field a user id is sent in and the
// rule it must fit, for the error of an id that does not.
type userIDRule struct {
	field string // the vendor's name for it, as its ValidationError names it
	rule  string
	check func(id string) error
}

// vendorUserID maps and checks userID for vs's vendor.
func (b *Broker) vendorUserID(ctx context.Context, vs *vendorState, userID string) (string, error) {
	id, err := b.userIDs.VendorUserID(ctx, vs.vendor, userID)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return "", err
		}
		return "", fmt.Errorf("user id mapper: %w", err)
	}
	if err := vs.idRule.check(id); err != nil {
		return "", b.userIDError(vs, err)
	}
	return id, nil
}

// userIDError rewrites the vendor's verdict on a user id (err, a
// *ValidationError for the vendor's field) into one naming the rule and
// pointing at WithUserIDs.
func (b *Broker) userIDError(vs *vendorState, err error) error {
	reason := err.Error()
	var ve *ValidationError
	if errors.As(err, &ve) {
		reason = ve.Reason
	}
	whose := "your user id"
	if _, ok := b.userIDs.(identityMapper); !ok {
		whose = "the mapped user id"
	}
	return &ValidationError{Field: "user_id", Reason: fmt.Sprintf(
		"%s does not fit %s's %s, which must be %s (%s); map your ids with broker.WithUserIDs, e.g. broker.PseudonymousIDs",
		whose, vs.vendor, vs.idRule.field, vs.idRule.rule, reason)}
}

// isUserIDRejection reports whether err is the vendor client's validation
// error for the field that carries the user id.
func (vs *vendorState) isUserIDRejection(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve) && ve.Field == vs.idRule.field
}
