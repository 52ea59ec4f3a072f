package idv

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// The vendor does not document the type of its timestamps and ids, so they
// are decoded leniently here and callers see clean types.

var jsonNull = []byte("null")

// wireTime decodes an RFC 3339 string, a Unix time in seconds (or in
// milliseconds, when the number is too large to be seconds), or null.
type wireTime struct{ time.Time }

// unixMillisAbove is where a Unix timestamp is taken to be in milliseconds:
// 1e11 seconds is the year 5138.
const unixMillisAbove = 1e11

func (t *wireTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, jsonNull) {
		t.Time = time.Time{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			t.Time = time.Time{}
			return nil
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return errors.New("timestamp is not RFC 3339")
		}
		t.Time = v
		return nil
	}
	n, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return errors.New("timestamp is neither a string nor a number")
	}
	if n > unixMillisAbove || n < -unixMillisAbove {
		t.Time = time.UnixMilli(int64(n)).UTC()
	} else {
		t.Time = time.Unix(int64(n), 0).UTC()
	}
	return nil
}

// wireString decodes a JSON string or a number (kept as written), or null.
type wireString string

func (s *wireString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, jsonNull):
		*s = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = wireString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("value is neither a string nor a number")
	}
	*s = wireString(n.String())
	return nil
}

// badField is the error for a response field present but unusable (a token
// with control characters, say); the value is not repeated.
func badField(field string) error {
	return &httpx.DecodeError{Kind: httpx.ErrMalformedResponse, Field: field, Err: errors.New("field has an unusable value")}
}

// cloneRaw copies b, so a RawMessage does not alias a decoder buffer.
func cloneRaw(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}
