package uqudo_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/uqudo"
)

func TestSessionData_Validate(t *testing.T) {
	doc := func(mod func(*uqudo.Document)) uqudo.SessionData {
		d := uqudo.Document{DocumentType: uqudo.DocumentTypePassport}
		mod(&d)
		return uqudo.SessionData{Documents: []uqudo.Document{d}}
	}
	cases := []struct {
		name  string
		data  uqudo.SessionData
		field string // "" = valid
	}{
		{"minimal", passportData(), ""},
		{"no documents", uqudo.SessionData{}, "documents"},
		{"empty type", doc(func(d *uqudo.Document) { d.DocumentType = "" }), "documents[0].documentType"},
		{"unknown type", doc(func(d *uqudo.Document) { d.DocumentType = "PASSPORT2" }), "documents[0].documentType"},
		{"every known type", uqudo.SessionData{Documents: allKnown()}, ""},
		{"FRA_ID", doc(func(d *uqudo.Document) { d.DocumentType = "FRA_ID" }), ""},
		{"NGA_VOTER_ID", doc(func(d *uqudo.Document) { d.DocumentType = "NGA_VOTER_ID" }), ""},
		{"OMN_ID_NATIONAL", doc(func(d *uqudo.Document) { d.DocumentType = "OMN_ID_NATIONAL" }), ""},
		{"lower case", doc(func(d *uqudo.Document) { d.DocumentType = "fra_id" }), "documents[0].documentType"},
		{"two-letter country", doc(func(d *uqudo.Document) { d.DocumentType = "FR_ID" }), "documents[0].documentType"},
		{"four-letter country", doc(func(d *uqudo.Document) { d.DocumentType = "FRAN_ID" }), "documents[0].documentType"},
		{"no kind", doc(func(d *uqudo.Document) { d.DocumentType = "FRA_" }), "documents[0].documentType"},
		{"digits", doc(func(d *uqudo.Document) { d.DocumentType = "FRA_ID2" }), "documents[0].documentType"},
		{"spaces", doc(func(d *uqudo.Document) { d.DocumentType = " FRA_ID" }), "documents[0].documentType"},
		{"too long", doc(func(d *uqudo.Document) { d.DocumentType = uqudo.DocumentType("FRA_" + strings.Repeat("X", 61)) }), "documents[0].documentType"},
		{"level 1", doc(func(d *uqudo.Document) { d.FaceScanMinimumMatchLevel = 1 }), ""},
		{"level 5", doc(func(d *uqudo.Document) { d.FaceReadMinimumMatchLevel = 5 }), ""},
		{"scan level 6", doc(func(d *uqudo.Document) { d.FaceScanMinimumMatchLevel = 6 }), "documents[0].faceScanMinimumMatchLevel"},
		{"read level -1", doc(func(d *uqudo.Document) { d.FaceReadMinimumMatchLevel = -1 }), "documents[0].faceReadMinimumMatchLevel"},
		{"timeout -1", doc(func(d *uqudo.Document) { d.Reading = &uqudo.Reading{Enabled: true, TimeoutInSeconds: uqudo.Int(-1)} }), ""},
		{"timeout 0", doc(func(d *uqudo.Document) { d.Reading = &uqudo.Reading{Enabled: true, TimeoutInSeconds: uqudo.Int(0)} }), ""},
		{"timeout -2", doc(func(d *uqudo.Document) { d.Reading = &uqudo.Reading{TimeoutInSeconds: uqudo.Int(-2)} }), "documents[0].reading.timeoutInSeconds"},
		{"fr scan level 0", uqudo.SessionData{Documents: passportData().Documents, FacialRecognition: &uqudo.FacialRecognition{Enabled: true}}, ""},
		{"fr scan level 9", uqudo.SessionData{Documents: passportData().Documents, FacialRecognition: &uqudo.FacialRecognition{ScanMinimumMatchLevel: 9}}, "facialRecognition.scanMinimumMatchLevel"},
		{"fr read level 9", uqudo.SessionData{Documents: passportData().Documents, FacialRecognition: &uqudo.FacialRecognition{ReadMinimumMatchLevel: 9}}, "facialRecognition.readMinimumMatchLevel"},
		{"identifier not UTF-8", uqudo.SessionData{Documents: passportData().Documents, GeneralConfig: &uqudo.GeneralConfig{UserIdentifier: "a\xffb"}}, "generalConfig.userIdentifier"},
		{"identifier too long", uqudo.SessionData{Documents: passportData().Documents, GeneralConfig: &uqudo.GeneralConfig{UserIdentifier: strings.Repeat("u", 2049)}}, "generalConfig.userIdentifier"},
		{"check type lower case", uqudo.SessionData{Documents: passportData().Documents, BackgroundCheck: &uqudo.BackgroundCheck{CheckType: "rdc"}}, "backgroundCheck.checkType"},
		{"check type not UTF-8", uqudo.SessionData{Documents: passportData().Documents, BackgroundCheck: &uqudo.BackgroundCheck{CheckType: "R\xff"}}, "backgroundCheck.checkType"},
		{"fr attempts", uqudo.SessionData{Documents: passportData().Documents, FacialRecognition: &uqudo.FacialRecognition{MaxAttempts: -1}}, "facialRecognition.maxAttempts"},
		{"second doc bad", uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}, {DocumentType: "x"}}}, "documents[1].documentType"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.data.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ve *uqudo.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
			_, encErr := tc.data.Encode()
			require.ErrorIs(t, encErr, uqudo.ErrInvalidInput, "Encode validates")
		})
	}
	var nilData *uqudo.SessionData
	require.ErrorIs(t, nilData.Validate(), uqudo.ErrInvalidInput)
}

func allKnown() []uqudo.Document {
	var docs []uqudo.Document
	for _, dt := range uqudo.KnownDocumentTypes() {
		docs = append(docs, uqudo.Document{DocumentType: dt})
	}
	return docs
}

func TestKnownDocumentTypes_FreshCopy(t *testing.T) {
	a := uqudo.KnownDocumentTypes()
	a[0] = "CHANGED"
	assert.Equal(t, uqudo.DocumentTypePassport, uqudo.KnownDocumentTypes()[0])
	seen := map[uqudo.DocumentType]bool{}
	for _, dt := range uqudo.KnownDocumentTypes() {
		assert.False(t, seen[dt], "duplicate %s", dt)
		seen[dt] = true
	}
	assert.True(t, seen[uqudo.DocumentTypeGenericID])
}

// Encode is standard base64 of compact JSON; every field of a present
// section is sent, a false as false and an empty user identifier as null
// (issue 11 item 11).
func TestSessionData_Encode_Wire(t *testing.T) {
	data := uqudo.SessionData{
		Documents:     []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport, Reading: &uqudo.Reading{}}},
		GeneralConfig: &uqudo.GeneralConfig{SecureWindowsEnabled: uqudo.Bool(false), UserIdentifier: "u<1>&"},
	}
	assert.Equal(t, `{"documents":[{"documentType":"PASSPORT","reading":{"enabled":false,"isForceReading":false,"isForceReadingIfSupported":false},`+
		`"isExpiredDocumentAllowed":false,"isFrontSideReviewEnabled":false,"isBackSideReviewEnabled":false,"isUploadEnabled":false,"isHelpPageDisabled":false}],`+
		`"generalConfig":{"secureWindowsEnabled":false,"userIdentifier":"u\u003c1\u003e\u0026","returnDataForIncompleteSession":false}}`,
		encodedJSON(t, data))

	// Unset user identifier: null; unset secure windows: true.
	data.GeneralConfig = &uqudo.GeneralConfig{}
	data.BackgroundCheck = &uqudo.BackgroundCheck{}
	data.FacialRecognition = &uqudo.FacialRecognition{}
	assert.Contains(t, encodedJSON(t, data), `"generalConfig":{"secureWindowsEnabled":true,"userIdentifier":null,"returnDataForIncompleteSession":false}`)
	assert.Contains(t, encodedJSON(t, data), `"backgroundCheck":{"enabled":false,"disableConsent":false,"enableMonitoring":false,"skipView":false}`)
	assert.Contains(t, encodedJSON(t, data), `"facialRecognition":{"enabled":false,"isEnrollFace":false}`)
}

// encodedJSON returns the JSON inside d.Encode().
func encodedJSON(t *testing.T, d uqudo.SessionData) string {
	t.Helper()
	enc, err := d.Encode()
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(enc)
	require.NoError(t, err)
	return string(raw)
}

// uqudo's documented example decodes into the typed fields, and encoding it
// again gives JSON semantically equal to the example.
func TestDecodeSessionData_DocsFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/session_data_docs.json")
	require.NoError(t, err)
	d, err := uqudo.DecodeSessionData(base64.StdEncoding.EncodeToString(raw))
	require.NoError(t, err)
	require.NoError(t, d.Validate())
	want := &uqudo.SessionData{
		Documents: []uqudo.Document{{
			DocumentType:              uqudo.DocumentTypePassport,
			Reading:                   &uqudo.Reading{TimeoutInSeconds: uqudo.Int(-1)},
			FaceScanMinimumMatchLevel: 2,
			FaceReadMinimumMatchLevel: 3,
		}},
		GeneralConfig:     &uqudo.GeneralConfig{SecureWindowsEnabled: uqudo.Bool(true)},
		BackgroundCheck:   &uqudo.BackgroundCheck{CheckType: uqudo.BackgroundCheckRDC},
		FacialRecognition: &uqudo.FacialRecognition{ScanMinimumMatchLevel: 2, ReadMinimumMatchLevel: 3, MaxAttempts: 3},
	}
	assert.Equal(t, want, d)
	assert.JSONEq(t, string(raw), encodedJSON(t, *d), "decode then encode: semantically equal to the example")

	// NewSessionData gives exactly the documented example.
	assert.Equal(t, *want, uqudo.NewSessionData(uqudo.DocumentTypePassport))
	assert.JSONEq(t, string(raw), encodedJSON(t, uqudo.NewSessionData(uqudo.DocumentTypePassport)))
}

// SessionData -> JSON -> DecodeSessionData -> JSON is byte-identical.
func TestSessionData_RoundTrip_ByteIdentical(t *testing.T) {
	all := uqudo.NewSessionData(uqudo.DocumentTypePassport, "FRA_ID")
	all.Documents[0] = uqudo.Document{
		DocumentType: uqudo.DocumentTypeUAEID, Reading: &uqudo.Reading{Enabled: true, IsForceReading: true, IsForceReadingIfSupported: true, TimeoutInSeconds: uqudo.Int(0)},
		IsExpiredDocumentAllowed: true, IsFrontSideReviewEnabled: true, IsBackSideReviewEnabled: true, IsUploadEnabled: true, IsHelpPageDisabled: true,
		FaceScanMinimumMatchLevel: 5, FaceReadMinimumMatchLevel: 1,
	}
	all.GeneralConfig = &uqudo.GeneralConfig{SecureWindowsEnabled: uqudo.Bool(false), UserIdentifier: "user <42> & \u00e9", ReturnDataForIncompleteSession: true}
	all.BackgroundCheck = &uqudo.BackgroundCheck{Enabled: true, CheckType: "RDC", DisableConsent: true, EnableMonitoring: true, SkipView: true}
	all.FacialRecognition = &uqudo.FacialRecognition{Enabled: true, IsEnrollFace: true, ScanMinimumMatchLevel: 4, ReadMinimumMatchLevel: 4, MaxAttempts: 9}
	for name, d := range map[string]uqudo.SessionData{
		"minimal":             passportData(),
		"documented defaults": uqudo.NewSessionData(uqudo.DocumentTypePassport),
		"everything set":      all,
		"empty sections": {Documents: []uqudo.Document{{DocumentType: "FRA_ID", Reading: &uqudo.Reading{}}},
			GeneralConfig: &uqudo.GeneralConfig{}, BackgroundCheck: &uqudo.BackgroundCheck{}, FacialRecognition: &uqudo.FacialRecognition{}},
	} {
		t.Run(name, func(t *testing.T) {
			first, err := json.Marshal(d)
			require.NoError(t, err)
			enc, err := d.Encode()
			require.NoError(t, err)
			decoded, err := uqudo.DecodeSessionData(enc)
			require.NoError(t, err)
			second, err := json.Marshal(decoded)
			require.NoError(t, err)
			assert.Equal(t, string(first), string(second))
			again, err := decoded.Encode()
			require.NoError(t, err)
			assert.Equal(t, enc, again)
		})
	}
}

func TestDecodeSessionData_Errors(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := map[string]string{
		"empty":            "",
		"not base64":       "%%%",
		"url alphabet":     base64.URLEncoding.EncodeToString([]byte(`{"documents":[{"documentType":"PASSPORT"}],"x":"??>>"}`)),
		"unpadded":         base64.RawStdEncoding.EncodeToString([]byte(`{"documents":[]}`)),
		"not JSON":         b64("hello"),
		"JSON array":       b64(`[1,2]`),
		"JSON null":        b64(`null`),
		"no documents":     b64(`{"generalConfig":{}}`),
		"wrong type":       b64(`{"documents":[{"documentType":3}]}`),
		"trailing garbage": b64(`{"documents":[]} x`),
		"too large":        string(bytes.Repeat([]byte("A"), uqudo.MaxSessionDataSize+4)),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := uqudo.DecodeSessionData(in)
			require.Nil(t, d)
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
		})
	}
	// Non-canonical padding bits are rejected (Strict), so two strings never
	// decode to the same data.
	require.Equal(t, "eyJkb2N1bWVudHMiOltdfQ==", base64.StdEncoding.EncodeToString([]byte(`{"documents":[]}`)))
	_, err := uqudo.DecodeSessionData("eyJkb2N1bWVudHMiOltdfR==")
	require.ErrorIs(t, err, uqudo.ErrInvalidInput)
}

// FuzzDecodeSessionData: no input panics; whatever decodes and validates
// encodes to a string that round-trips exactly.
func FuzzDecodeSessionData(f *testing.F) {
	raw, err := os.ReadFile("testdata/session_data_docs.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(base64.StdEncoding.EncodeToString(raw))
	for _, d := range []uqudo.SessionData{passportData(), {Documents: allKnown()}} {
		enc, _ := d.Encode()
		f.Add(enc)
	}
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"documents":[{"documentType":"PASSPORT","reading":null}],"generalConfig":{"userIdentifier":"\u00e9\ud800"}}`)))
	f.Add("")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := uqudo.DecodeSessionData(s)
		if err != nil {
			require.Nil(t, d)
			require.ErrorIs(t, err, uqudo.ErrInvalidInput)
			return
		}
		if d.Validate() != nil {
			return
		}
		enc, err := d.Encode()
		require.NoError(t, err)
		d2, err := uqudo.DecodeSessionData(enc)
		require.NoError(t, err)
		enc2, err := d2.Encode()
		require.NoError(t, err)
		require.Equal(t, enc, enc2, "the JSON is byte-identical")
		d3, err := uqudo.DecodeSessionData(enc2)
		require.NoError(t, err)
		require.Equal(t, d2, d3, "after one round the values are stable too")
	})
}
