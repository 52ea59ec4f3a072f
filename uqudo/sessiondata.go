package uqudo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"
)

// DocumentType names a document the uqudo SDK can scan, such as
// [DocumentTypePassport] or "FRA_ID". uqudo spells them as a country code,
// an underscore and a kind ("UAE_ID", "NGA_VOTER_ID"), or with a generic
// name ("PASSPORT", "GENERIC_ID"); see [DocumentType.Valid]. Values this
// package does not list as constants are accepted and decode verbatim.
type DocumentType string

// maxDocumentTypeLen bounds a document type name.
const maxDocumentTypeLen = 64

// genericDocumentTypes are the document types without a country prefix.
var genericDocumentTypes = []DocumentType{DocumentTypePassport, DocumentTypeGenericID}

// documentTypePattern is uqudo's country-prefixed spelling: three capital
// letters (an ISO 3166 alpha-3 code), "_", then capitals and underscores.
var documentTypePattern = regexp.MustCompile(`^[A-Z]{3}_[A-Z_]+$`)

// Valid reports whether t is shaped like a uqudo document type: a generic
// name ("PASSPORT", "GENERIC_ID") or [A-Z]{3}_[A-Z_]+ ("UAE_ID", "FRA_ID",
// "NGA_VOTER_ID"), at most 64 bytes. It does not know which types uqudo
// supports today: a well-formed type uqudo lacks is refused by uqudo's app.
func (t DocumentType) Valid() bool {
	return len(t) <= maxDocumentTypeLen && (slices.Contains(genericDocumentTypes, t) || documentTypePattern.MatchString(string(t)))
}

// Document types as spelled by uqudo (country code, underscore, kind). The
// list is not exhaustive: uqudo adds countries regularly.
const (
	DocumentTypePassport  DocumentType = "PASSPORT"   // any ICAO passport
	DocumentTypeGenericID DocumentType = "GENERIC_ID" // any ID card with an MRZ
	DocumentTypeUAEID     DocumentType = "UAE_ID"     // UAE Emirates ID
	DocumentTypeUAEDL     DocumentType = "UAE_DL"     // UAE driving licence
	DocumentTypeUAEVisa   DocumentType = "UAE_VISA"   // UAE residence visa
	DocumentTypeSAUID     DocumentType = "SAU_ID"     // Saudi Arabia ID
	DocumentTypeQATID     DocumentType = "QAT_ID"     // Qatar ID
	DocumentTypeKWTID     DocumentType = "KWT_ID"     // Kuwait civil ID
	DocumentTypeOMNID     DocumentType = "OMN_ID"     // Oman ID
	DocumentTypeBHRID     DocumentType = "BHR_ID"     // Bahrain ID
	DocumentTypeJORID     DocumentType = "JOR_ID"     // Jordan ID
	DocumentTypeEGYID     DocumentType = "EGY_ID"     // Egypt ID
	DocumentTypeIRQID     DocumentType = "IRQ_ID"     // Iraq ID
	DocumentTypeDZAID     DocumentType = "DZA_ID"     // Algeria ID
	DocumentTypeTURID     DocumentType = "TUR_ID"     // Turkey ID
	DocumentTypeSENID     DocumentType = "SEN_ID"     // Senegal ID
	DocumentTypeUGAID     DocumentType = "UGA_ID"     // Uganda ID
)

// KnownDocumentTypes returns the DocumentType constants of this package, a
// fresh slice each time. It is not a limit: [SessionData.Validate] accepts
// any type for which [DocumentType.Valid] is true.
func KnownDocumentTypes() []DocumentType {
	return []DocumentType{
		DocumentTypePassport, DocumentTypeGenericID,
		DocumentTypeUAEID, DocumentTypeUAEDL, DocumentTypeUAEVisa,
		DocumentTypeSAUID, DocumentTypeQATID, DocumentTypeKWTID, DocumentTypeOMNID, DocumentTypeBHRID,
		DocumentTypeJORID, DocumentTypeEGYID, DocumentTypeIRQID, DocumentTypeDZAID, DocumentTypeTURID,
		DocumentTypeSENID, DocumentTypeUGAID,
	}
}

// BackgroundCheckType selects the background-check provider.
type BackgroundCheckType string

// checkTypePattern bounds a background check type.
var checkTypePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,31}$`)

// BackgroundCheckRDC is the RDC (Regulatory Data Corp) check, the only type
// uqudo documents.
const BackgroundCheckRDC BackgroundCheckType = "RDC"

// Face match levels are 1 (lowest) to 5 (strictest); 0 leaves the SDK's
// default. The range is **assumed**.
const (
	MinMatchLevel = 1
	MaxMatchLevel = 5
)

// NoTimeout is the reading timeout meaning "no timeout".
const NoTimeout = -1

// Values of uqudo's documented session-data example, used by
// [NewSessionData] and [NewDocument]. uqudo does not document its app's
// defaults; these are the values its example shows (**assumed** sensible).
const (
	// DefaultFaceScanMatchLevel is the face match level against the scanned
	// photo: faceScanMinimumMatchLevel and facialRecognition.scanMinimumMatchLevel.
	DefaultFaceScanMatchLevel = 2
	// DefaultFaceReadMatchLevel is the face match level against the chip
	// photo: faceReadMinimumMatchLevel and facialRecognition.readMinimumMatchLevel.
	DefaultFaceReadMatchLevel = 3
	// DefaultFaceMaxAttempts is facialRecognition.maxAttempts.
	DefaultFaceMaxAttempts = 3
)

// MaxSessionDataSize bounds the encoded session data this package encodes
// or decodes (**assumed**: uqudo documents no limit; a QR payload of this
// size is already far beyond what a QR code can carry comfortably).
const MaxSessionDataSize = 64 << 10

// SessionData is the QR-code session configuration read by uqudo's QR
// reader app, sent base64-encoded as the session's "data". It mirrors the
// documented JSON, and every field of a section that is present is sent
// explicitly: a false as false, an empty GeneralConfig.UserIdentifier as
// null, a nil GeneralConfig.SecureWindowsEnabled as true. Only values that
// are not valid uqudo values are left out, so the app applies its own
// default: a nil section (GeneralConfig, BackgroundCheck,
// FacialRecognition, Document.Reading), a match level or MaxAttempts of 0,
// an empty CheckType and a nil TimeoutInSeconds. [NewSessionData] fills
// every section with the values of uqudo's documented example.
//
// Encoding is exact: for any SessionData d that passes Validate, the JSON
// of d and the JSON of DecodeSessionData(d.Encode()) are byte-identical.
//
// Docs: https://docs.uqudo.com/docs/kyc/qr-code-app/create-a-session
type SessionData struct {
	// Documents lists the documents to scan, in order; at least one.
	Documents []Document `json:"documents"`
	// GeneralConfig holds flow-wide settings; nil leaves the section out.
	GeneralConfig *GeneralConfig `json:"generalConfig,omitempty"`
	// BackgroundCheck configures the background (AML / PEP) check; nil
	// leaves the section out.
	BackgroundCheck *BackgroundCheck `json:"backgroundCheck,omitempty"`
	// FacialRecognition configures the selfie and face match; nil leaves
	// the section out.
	FacialRecognition *FacialRecognition `json:"facialRecognition,omitempty"`
}

// NewSessionData returns a SessionData that scans documents of the given
// types (see [NewDocument]) with every section present and set to the
// values of uqudo's documented example: general config with secure windows
// on, no user identifier and no partial data; background check off (type
// RDC, consent shown, no monitoring, view shown); facial recognition off
// (scan level [DefaultFaceScanMatchLevel], read level
// [DefaultFaceReadMatchLevel], [DefaultFaceMaxAttempts] attempts). Change
// the fields you need, e.g. FacialRecognition.Enabled = true.
func NewSessionData(types ...DocumentType) SessionData {
	docs := make([]Document, 0, len(types))
	for _, t := range types {
		docs = append(docs, NewDocument(t))
	}
	return SessionData{
		Documents:       docs,
		GeneralConfig:   &GeneralConfig{SecureWindowsEnabled: Bool(true)},
		BackgroundCheck: &BackgroundCheck{CheckType: BackgroundCheckRDC},
		FacialRecognition: &FacialRecognition{
			ScanMinimumMatchLevel: DefaultFaceScanMatchLevel,
			ReadMinimumMatchLevel: DefaultFaceReadMatchLevel,
			MaxAttempts:           DefaultFaceMaxAttempts,
		},
	}
}

// NewDocument returns the configuration of one document of type t with the
// values of uqudo's documented example: chip reading present but off (not
// forced, no timeout), expired documents refused, no scan review, no
// upload, help page shown, face match levels [DefaultFaceScanMatchLevel]
// and [DefaultFaceReadMatchLevel].
func NewDocument(t DocumentType) Document {
	return Document{
		DocumentType:              t,
		Reading:                   &Reading{TimeoutInSeconds: Int(NoTimeout)},
		FaceScanMinimumMatchLevel: DefaultFaceScanMatchLevel,
		FaceReadMinimumMatchLevel: DefaultFaceReadMatchLevel,
	}
}

// Document configures the scan of one document.
type Document struct {
	// DocumentType is the document to scan, e.g. [DocumentTypePassport].
	DocumentType DocumentType `json:"documentType"`
	// Reading configures reading the document's NFC chip; nil leaves the
	// section out.
	Reading *Reading `json:"reading,omitempty"`
	// IsExpiredDocumentAllowed accepts an expired document. Always sent.
	IsExpiredDocumentAllowed bool `json:"isExpiredDocumentAllowed"`
	// IsFrontSideReviewEnabled shows the front-side scan for review. Always sent.
	IsFrontSideReviewEnabled bool `json:"isFrontSideReviewEnabled"`
	// IsBackSideReviewEnabled shows the back-side scan for review. Always sent.
	IsBackSideReviewEnabled bool `json:"isBackSideReviewEnabled"`
	// IsUploadEnabled lets the user upload a picture instead of scanning.
	// Always sent.
	IsUploadEnabled bool `json:"isUploadEnabled"`
	// IsHelpPageDisabled skips the scanning help page. Always sent.
	IsHelpPageDisabled bool `json:"isHelpPageDisabled"`
	// FaceScanMinimumMatchLevel is the face match level required against the
	// scanned photo, 1..5; 0 is not a level: it is left out (the app's default).
	FaceScanMinimumMatchLevel int `json:"faceScanMinimumMatchLevel,omitempty"`
	// FaceReadMinimumMatchLevel is the face match level required against the
	// chip photo, 1..5; 0 is not a level: it is left out (the app's default).
	FaceReadMinimumMatchLevel int `json:"faceReadMinimumMatchLevel,omitempty"`
}

// Reading configures the NFC chip reading of a document.
type Reading struct {
	// Enabled turns reading on. Always sent.
	Enabled bool `json:"enabled"`
	// IsForceReading makes reading mandatory. Always sent.
	IsForceReading bool `json:"isForceReading"`
	// IsForceReadingIfSupported makes reading mandatory on phones with NFC.
	// Always sent.
	IsForceReadingIfSupported bool `json:"isForceReadingIfSupported"`
	// TimeoutInSeconds lets the user skip reading after this many seconds;
	// [NoTimeout] (-1) never. Nil is left out (the app's default).
	TimeoutInSeconds *int `json:"timeoutInSeconds,omitempty"`
}

// GeneralConfig holds flow-wide settings. All three fields are always sent.
type GeneralConfig struct {
	// SecureWindowsEnabled blocks screenshots and screen recording. Nil is
	// sent as true, the secure choice; Bool(false) turns it off.
	SecureWindowsEnabled *bool `json:"secureWindowsEnabled"`
	// UserIdentifier is your identifier for the user, echoed in the result;
	// empty is sent as null.
	UserIdentifier string `json:"userIdentifier"`
	// ReturnDataForIncompleteSession returns partial data when the user
	// drops out after scanning.
	ReturnDataForIncompleteSession bool `json:"returnDataForIncompleteSession"`
}

// generalConfigWire is GeneralConfig as sent.
type generalConfigWire struct {
	SecureWindowsEnabled           bool    `json:"secureWindowsEnabled"`
	UserIdentifier                 *string `json:"userIdentifier"`
	ReturnDataForIncompleteSession bool    `json:"returnDataForIncompleteSession"`
}

// MarshalJSON sends every field: a nil SecureWindowsEnabled as true and an
// empty UserIdentifier as null.
func (g GeneralConfig) MarshalJSON() ([]byte, error) {
	w := generalConfigWire{
		SecureWindowsEnabled:           g.SecureWindowsEnabled == nil || *g.SecureWindowsEnabled,
		ReturnDataForIncompleteSession: g.ReturnDataForIncompleteSession,
	}
	if g.UserIdentifier != "" {
		w.UserIdentifier = &g.UserIdentifier
	}
	return json.Marshal(w)
}

// BackgroundCheck configures the background check.
type BackgroundCheck struct {
	// Enabled turns the check on. Always sent.
	Enabled bool `json:"enabled"`
	// CheckType is the provider, [BackgroundCheckRDC]; empty is left out.
	CheckType BackgroundCheckType `json:"checkType,omitempty"`
	// DisableConsent skips the consent screen. Always sent.
	DisableConsent bool `json:"disableConsent"`
	// EnableMonitoring enrols the user in ongoing monitoring. Always sent.
	EnableMonitoring bool `json:"enableMonitoring"`
	// SkipView hides the background check screen. Always sent.
	SkipView bool `json:"skipView"`
}

// FacialRecognition configures the selfie and face match.
type FacialRecognition struct {
	// Enabled turns facial recognition on. Always sent.
	Enabled bool `json:"enabled"`
	// IsEnrollFace enrols the face for later face sessions. Always sent.
	IsEnrollFace bool `json:"isEnrollFace"`
	// ScanMinimumMatchLevel is the level required against the scanned
	// photo, 1..5; 0 is left out (the app's default).
	ScanMinimumMatchLevel int `json:"scanMinimumMatchLevel,omitempty"`
	// ReadMinimumMatchLevel is the level required against the chip photo,
	// 1..5; 0 is left out (the app's default).
	ReadMinimumMatchLevel int `json:"readMinimumMatchLevel,omitempty"`
	// MaxAttempts bounds the selfie attempts; 0 is left out (the app's default).
	MaxAttempts int `json:"maxAttempts,omitempty"`
}

// Int returns a pointer to v, for fields such as Reading.TimeoutInSeconds.
func Int(v int) *int { return &v }

// Bool returns a pointer to v, for GeneralConfig.SecureWindowsEnabled.
func Bool(v bool) *bool { return &v }

// Validate checks d before any network call: at least one document, every
// document type well formed ([DocumentType.Valid]), match levels 0 (not
// set) or 1..5, reading timeouts >= -1, MaxAttempts >= 0, a UserIdentifier
// of valid UTF-8 and at most 2048 bytes, and a CheckType of capitals,
// digits and underscores (at most 32). It returns a [*ValidationError]
// naming the JSON field, e.g. "documents[0].documentType".
func (d *SessionData) Validate() error {
	if d == nil {
		return invalid("session_data", "is nil")
	}
	if len(d.Documents) == 0 {
		return invalid("documents", "needs at least one document")
	}
	for i, doc := range d.Documents {
		field := "documents[" + strconv.Itoa(i) + "]."
		switch {
		case doc.DocumentType == "":
			return invalid(field+"documentType", "is empty")
		case !doc.DocumentType.Valid():
			return invalid(field+"documentType", fmt.Sprintf("%q is not a document type (want PASSPORT, GENERIC_ID or a form like UAE_ID)",
				capString(string(doc.DocumentType), maxDocumentTypeLen)))
		}
		if err := checkLevel(field+"faceScanMinimumMatchLevel", doc.FaceScanMinimumMatchLevel); err != nil {
			return err
		}
		if err := checkLevel(field+"faceReadMinimumMatchLevel", doc.FaceReadMinimumMatchLevel); err != nil {
			return err
		}
		if r := doc.Reading; r != nil && r.TimeoutInSeconds != nil && *r.TimeoutInSeconds < NoTimeout {
			return invalid(field+"reading.timeoutInSeconds", "must be -1 (no timeout) or more")
		}
	}
	if g := d.GeneralConfig; g != nil {
		switch {
		case !utf8.ValidString(g.UserIdentifier):
			return invalid("generalConfig.userIdentifier", "is not valid UTF-8")
		case len(g.UserIdentifier) > maxIDLen:
			return invalid("generalConfig.userIdentifier", fmt.Sprintf("is longer than %d bytes", maxIDLen))
		}
	}
	if bc := d.BackgroundCheck; bc != nil && bc.CheckType != "" && !checkTypePattern.MatchString(string(bc.CheckType)) {
		return invalid("backgroundCheck.checkType", "must be capital letters, digits and underscores, such as RDC")
	}
	if fr := d.FacialRecognition; fr != nil {
		if err := checkLevel("facialRecognition.scanMinimumMatchLevel", fr.ScanMinimumMatchLevel); err != nil {
			return err
		}
		if err := checkLevel("facialRecognition.readMinimumMatchLevel", fr.ReadMinimumMatchLevel); err != nil {
			return err
		}
		if fr.MaxAttempts < 0 {
			return invalid("facialRecognition.maxAttempts", "must not be negative")
		}
	}
	return nil
}

func checkLevel(field string, level int) error {
	if level != 0 && (level < MinMatchLevel || level > MaxMatchLevel) {
		return invalid(field, fmt.Sprintf("must be between %d and %d", MinMatchLevel, MaxMatchLevel))
	}
	return nil
}

// Encode validates d and returns the standard base64 (with padding) of its
// compact JSON, the form uqudo's QR reader app expects as the session data.
// For any string s produced by Encode, DecodeSessionData(s) gives back a
// SessionData whose Encode returns s again.
func (d *SessionData) Encode() (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return "", invalid("session_data", "cannot be encoded as JSON")
	}
	s := base64.StdEncoding.EncodeToString(raw)
	if len(s) > MaxSessionDataSize {
		return "", invalid("session_data", "is larger than MaxSessionDataSize when encoded")
	}
	return s, nil
}

// DecodeSessionData parses the standard base64 of a SessionData's JSON, as
// produced by [SessionData.Encode]. It rejects bad base64, non-canonical
// padding, input over [MaxSessionDataSize] and JSON that is not an object
// of the documented shape; unknown JSON fields are ignored. It does not call
// Validate.
func DecodeSessionData(s string) (*SessionData, error) {
	if s == "" {
		return nil, invalid("session_data", "is empty")
	}
	if len(s) > MaxSessionDataSize {
		return nil, invalid("session_data", "is larger than MaxSessionDataSize")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, invalid("session_data", "is not standard base64")
	}
	var d SessionData
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, invalid("session_data", "is not the JSON of a session configuration")
	}
	if d.Documents == nil {
		return nil, invalid("session_data", "has no documents field")
	}
	return &d, nil
}
