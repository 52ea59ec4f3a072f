package uqudo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// DocumentType names a document the uqudo SDK can scan, such as
// [DocumentTypePassport]. Values this package does not list decode verbatim;
// [SessionData.Validate] accepts only those of [KnownDocumentTypes].
type DocumentType string

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

// KnownDocumentTypes returns the document types [SessionData.Validate]
// accepts: the DocumentType constants of this package. It is an **assumed**
// list (uqudo publishes its coverage as documentation pages, not as a list);
// to send a type it lacks, pass a [RawSessionData] you encoded yourself.
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

// MaxSessionDataSize bounds the encoded session data this package encodes
// or decodes (**assumed**: uqudo documents no limit; a QR payload of this
// size is already far beyond what a QR code can carry comfortably).
const MaxSessionDataSize = 64 << 10

// SessionData is the QR-code session configuration read by uqudo's QR
// reader app, sent base64-encoded as the session's "data". It mirrors the
// documented JSON: a field left at its zero value is omitted, so the app
// applies its default; pointers are used where absent and false (or 0)
// mean different things.
//
// Docs: https://docs.uqudo.com/docs/kyc/qr-code-app/create-a-session
type SessionData struct {
	// Documents lists the documents to scan, in order; at least one.
	Documents []Document `json:"documents"`
	// GeneralConfig holds flow-wide settings.
	GeneralConfig *GeneralConfig `json:"generalConfig,omitempty"`
	// BackgroundCheck enables a background (AML / PEP) check.
	BackgroundCheck *BackgroundCheck `json:"backgroundCheck,omitempty"`
	// FacialRecognition enables the selfie and face match.
	FacialRecognition *FacialRecognition `json:"facialRecognition,omitempty"`
}

// Document configures the scan of one document.
type Document struct {
	// DocumentType is the document to scan, e.g. [DocumentTypePassport].
	DocumentType DocumentType `json:"documentType"`
	// Reading enables reading the document's NFC chip.
	Reading *Reading `json:"reading,omitempty"`
	// IsExpiredDocumentAllowed accepts an expired document.
	IsExpiredDocumentAllowed bool `json:"isExpiredDocumentAllowed,omitempty"`
	// IsFrontSideReviewEnabled shows the front-side scan for review.
	IsFrontSideReviewEnabled bool `json:"isFrontSideReviewEnabled,omitempty"`
	// IsBackSideReviewEnabled shows the back-side scan for review.
	IsBackSideReviewEnabled bool `json:"isBackSideReviewEnabled,omitempty"`
	// IsUploadEnabled lets the user upload a picture instead of scanning.
	IsUploadEnabled bool `json:"isUploadEnabled,omitempty"`
	// IsHelpPageDisabled skips the scanning help page.
	IsHelpPageDisabled bool `json:"isHelpPageDisabled,omitempty"`
	// FaceScanMinimumMatchLevel is the face match level required against the
	// scanned photo, 1..5; 0 leaves the default.
	FaceScanMinimumMatchLevel int `json:"faceScanMinimumMatchLevel,omitempty"`
	// FaceReadMinimumMatchLevel is the face match level required against the
	// chip photo, 1..5; 0 leaves the default.
	FaceReadMinimumMatchLevel int `json:"faceReadMinimumMatchLevel,omitempty"`
}

// Reading configures the NFC chip reading of a document.
type Reading struct {
	// Enabled turns reading on; it is always sent.
	Enabled bool `json:"enabled"`
	// IsForceReading makes reading mandatory.
	IsForceReading bool `json:"isForceReading,omitempty"`
	// IsForceReadingIfSupported makes reading mandatory on phones with NFC.
	IsForceReadingIfSupported bool `json:"isForceReadingIfSupported,omitempty"`
	// TimeoutInSeconds lets the user skip reading after this many seconds;
	// [NoTimeout] (-1) never. Nil leaves the default.
	TimeoutInSeconds *int `json:"timeoutInSeconds,omitempty"`
}

// GeneralConfig holds flow-wide settings.
type GeneralConfig struct {
	// SecureWindowsEnabled blocks screenshots and screen recording. Nil
	// leaves the app's default.
	SecureWindowsEnabled *bool `json:"secureWindowsEnabled,omitempty"`
	// UserIdentifier is your identifier for the user, echoed in the result.
	UserIdentifier string `json:"userIdentifier,omitempty"`
	// ReturnDataForIncompleteSession returns partial data when the user
	// drops out after scanning.
	ReturnDataForIncompleteSession bool `json:"returnDataForIncompleteSession,omitempty"`
}

// BackgroundCheck configures the background check.
type BackgroundCheck struct {
	// Enabled turns the check on; it is always sent.
	Enabled bool `json:"enabled"`
	// CheckType is the provider; [BackgroundCheckRDC].
	CheckType BackgroundCheckType `json:"checkType,omitempty"`
	// DisableConsent skips the consent screen.
	DisableConsent bool `json:"disableConsent,omitempty"`
	// EnableMonitoring enrols the user in ongoing monitoring.
	EnableMonitoring bool `json:"enableMonitoring,omitempty"`
	// SkipView hides the background check screen.
	SkipView bool `json:"skipView,omitempty"`
}

// FacialRecognition configures the selfie and face match.
type FacialRecognition struct {
	// Enabled turns facial recognition on; it is always sent.
	Enabled bool `json:"enabled"`
	// IsEnrollFace enrols the face for later face sessions.
	IsEnrollFace bool `json:"isEnrollFace,omitempty"`
	// ScanMinimumMatchLevel is the level required against the scanned
	// photo, 1..5; 0 leaves the default.
	ScanMinimumMatchLevel int `json:"scanMinimumMatchLevel,omitempty"`
	// ReadMinimumMatchLevel is the level required against the chip photo,
	// 1..5; 0 leaves the default.
	ReadMinimumMatchLevel int `json:"readMinimumMatchLevel,omitempty"`
	// MaxAttempts bounds the selfie attempts; 0 leaves the default.
	MaxAttempts int `json:"maxAttempts,omitempty"`
}

// Int returns a pointer to v, for fields such as Reading.TimeoutInSeconds.
func Int(v int) *int { return &v }

// Bool returns a pointer to v, for fields such as GeneralConfig.SecureWindowsEnabled.
func Bool(v bool) *bool { return &v }

// Validate checks d before any network call: at least one document, every
// document type in [KnownDocumentTypes], match levels 0 or 1..5, reading
// timeouts >= -1 and MaxAttempts >= 0. It returns a [*ValidationError]
// naming the JSON field, e.g. "documents[0].documentType".
func (d *SessionData) Validate() error {
	if d == nil {
		return invalid("session_data", "is nil")
	}
	if len(d.Documents) == 0 {
		return invalid("documents", "needs at least one document")
	}
	known := KnownDocumentTypes()
	for i, doc := range d.Documents {
		field := "documents[" + strconv.Itoa(i) + "]."
		switch {
		case doc.DocumentType == "":
			return invalid(field+"documentType", "is empty")
		case !slices.Contains(known, doc.DocumentType):
			return invalid(field+"documentType", fmt.Sprintf("%q is not a known document type", string(doc.DocumentType)))
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
