package entrupy

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// maxUnixSeconds is 9999-12-31T23:59:59Z: a larger "Unix seconds" value is
// not a timestamp (perhaps milliseconds) and is refused rather than guessed.
const maxUnixSeconds = 253402300799

var timeType = reflect.TypeFor[time.Time]()

// timestamp decodes the timestamp shapes Entrupy's answers may use: Unix
// seconds as a JSON number (fractions allowed) or a numeric string, or an
// RFC 3339 string. null, "" and 0 decode to the zero time (absent).
type timestamp time.Time

func (t *timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*t = timestamp{}
		return nil
	}
	raw := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		raw = strings.TrimSpace(raw)
		if raw == "" {
			*t = timestamp{}
			return nil
		}
		if v, err := time.Parse(time.RFC3339Nano, raw); err == nil {
			*t = timestamp(v)
			return nil
		}
	}
	v, err := parseUnix(raw)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "timestamp " + capValue(raw), Type: timeType}
	}
	*t = timestamp(v)
	return nil
}

// parseUnix reads Unix seconds; 0 is the zero time.
func parseUnix(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > maxUnixSeconds {
			return time.Time{}, errors.New("out of range")
		}
		if n == 0 {
			return time.Time{}, nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > maxUnixSeconds {
		return time.Time{}, errors.New("not Unix seconds")
	}
	if f == 0 {
		return time.Time{}, nil
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// capValue keeps error text short.
func capValue(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// wireField makes a decoding error from an UnmarshalJSON method that decodes
// into an aux struct embedding "plain" name the wire field: encoding/json
// reports a field of the embedded struct as "plain.entrupy_id", and
// DecodeError.Field should read "entrupy_id".
func wireField(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		f := strings.ReplaceAll("."+te.Field+".", ".plain.", ".")
		te.Field = strings.Trim(f, ".")
	}
	return err
}

// flexID decodes a string, or an object whose "id" is a string (Entrupy
// nests some enumerations as {"id": "...", ...}); null decodes to "".
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = ""
		return nil
	case len(b) > 0 && b[0] == '{':
		var obj struct {
			ID *string `json:"id"`
		}
		if err := json.Unmarshal(b, &obj); err != nil || obj.ID == nil {
			return &json.UnmarshalTypeError{Value: "object without a string id", Type: reflect.TypeFor[string]()}
		}
		*f = flexID(*obj.ID)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[string]()}
	}
	*f = flexID(s)
	return nil
}

// decodeFailure dresses an error from decoding a 2xx body by hand (where
// httpx.Client.Do could not) as the *DecodeError Do would have returned.
func (c *Client) decodeFailure(method, relPath string, status int, err error) error {
	var de *httpx.DecodeError
	if !errors.As(err, &de) {
		de = &httpx.DecodeError{Kind: httpx.ErrMalformedResponse, Err: err}
	}
	out := *de
	out.Vendor, out.Method, out.StatusCode = "entrupy", method, status
	out.Path = c.hc.BaseURL().EscapedPath() + relPath
	return &out
}
