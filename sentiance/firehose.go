package sentiance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// DefaultFirehoseMaxBody is the default limit of a Firehose delivery, in
// bytes, applied both to the body as sent and to the body after gzip
// decompression; change it with [WithWebhookMaxBodySize]. **Assumed**:
// Sentiance documents no size; 10 MiB holds thousands of messages while
// refusing a gzip bomb long before it hurts.
const DefaultFirehoseMaxBody = 10 << 20

// PayloadTypeHeader is the header with which Sentiance marks a test delivery
// ("sentiance-payload-type: test"), sent from the dashboard's test button.
const PayloadTypeHeader = "Sentiance-Payload-Type"

// Message is one message of a Firehose delivery: an element of the
// delivery's data[] array, {"meta": {"message_type", "message_timestamp"},
// "data": {...}}.
type Message struct {
	// Type is meta.message_type, verbatim (unknown types are kept).
	Type string `json:"type"`
	// Timestamp is meta.message_timestamp; zero when absent. It is read as an
	// RFC 3339 string (fraction and offset optional in form, as in
	// "2021-02-03T14:32:03.076Z" or "...+0000") or, **assumed**, as a number of
	// Unix milliseconds.
	Timestamp time.Time `json:"timestamp"`
	// UserID is the Sentiance user id the message is about: the string field
	// user_id of the inner data object, or else userId (**assumed**: the
	// Firehose payload schemas vary per message type). Empty when neither is
	// present.
	UserID string `json:"user_id,omitempty"`
	// Raw is the inner data value, verbatim, for decoding per Type. It is nil
	// when the message has no data.
	Raw json.RawMessage `json:"data,omitempty"`
	// Test reports a test delivery (header sentiance-payload-type: test). It
	// is false from ParseFirehoseDelivery, which sees no headers.
	Test bool `json:"test,omitempty"`
}

type firehoseEnvelope struct {
	Data []json.RawMessage `json:"data"`
}

type firehoseItem struct {
	Meta json.RawMessage `json:"meta"`
	Data json.RawMessage `json:"data"`
}

type firehoseMeta struct {
	MessageType      *string         `json:"message_type"`
	MessageTimestamp json.RawMessage `json:"message_timestamp"`
}

type firehoseUser struct {
	UserID      json.RawMessage `json:"user_id"`
	UserIDCamel json.RawMessage `json:"userId"`
}

// timestampLayouts are the accepted string forms of message_timestamp.
var timestampLayouts = [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

// ParseFirehoseDelivery decodes the JSON body of a Firehose delivery (already
// decompressed) into messages, in order. The body must be a JSON object; its
// data member, when present, an array of objects, each with an optional meta
// object. A delivery without data gives no messages and no error. A body
// that breaks these rules gives a [*ValidationError] (matching
// [ErrInvalidInput]) naming the offending element, such as
// data[3].meta.message_timestamp; it never quotes the body.
func ParseFirehoseDelivery(body []byte) ([]Message, error) {
	if !isJSONObject(body) {
		return nil, httpx.Invalid("body", "is not a JSON object")
	}
	var env firehoseEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, httpx.Invalid("data", "is not an array of messages")
	}
	msgs := make([]Message, 0, len(env.Data))
	for i, raw := range env.Data {
		m, field, reason := parseFirehoseItem(raw)
		if reason != "" {
			return nil, httpx.Invalid(fmt.Sprintf("data[%d]%s", i, field), reason)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// parseFirehoseItem decodes one data[] element. On failure it returns the
// offending field relative to the element (".meta") and a reason.
func parseFirehoseItem(raw json.RawMessage) (m Message, field, reason string) {
	if !isJSONObject(raw) {
		return m, "", "is not an object"
	}
	var item firehoseItem
	if json.Unmarshal(raw, &item) != nil {
		return m, "", "is not a message object"
	}
	if !isNull(item.Meta) {
		if !isJSONObject(item.Meta) {
			return m, ".meta", "is not an object"
		}
		var meta firehoseMeta
		if json.Unmarshal(item.Meta, &meta) != nil {
			return m, ".meta.message_type", "is not a string"
		}
		if meta.MessageType != nil {
			m.Type = *meta.MessageType
		}
		ts, ok := parseTimestamp(meta.MessageTimestamp)
		if !ok {
			return m, ".meta.message_timestamp", "is neither an RFC 3339 string nor Unix milliseconds"
		}
		m.Timestamp = ts
	}
	if !isNull(item.Data) {
		m.Raw = item.Data
		m.UserID = userIDOf(item.Data)
	}
	return m, "", ""
}

// userIDOf reads user_id, else userId, from an inner data object.
func userIDOf(data json.RawMessage) string {
	if !isJSONObject(data) {
		return ""
	}
	var u firehoseUser
	if json.Unmarshal(data, &u) != nil {
		return ""
	}
	for _, raw := range []json.RawMessage{u.UserID, u.UserIDCamel} {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

// parseTimestamp reads message_timestamp: absent, null or "" is the zero
// time; a string is RFC 3339; a number is Unix milliseconds.
func parseTimestamp(raw json.RawMessage) (time.Time, bool) {
	if isNull(raw) {
		return time.Time{}, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return time.Time{}, true
		}
		for _, layout := range timestampLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil || ms < 0 || ms > maxUnixMilli {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// maxUnixMilli bounds a numeric timestamp to the year 9999.
const maxUnixMilli = 253402300799999

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func isJSONObject(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// FirehoseConfig configures [NewFirehoseHandler]. Username and Password are
// the Basic auth credentials you entered for the Firehose in the Sentiance
// dashboard; Password never prints (String, GoString, Format and LogValue
// redact it).
type FirehoseConfig struct {
	// AppID is your Sentiance app id, returned to Sentiance's GET check as
	// {"app_id": AppID}. Required.
	AppID string
	// Username is the Basic auth user name Sentiance sends. Required; it must
	// not contain ':'.
	Username string
	// Password is the Basic auth password Sentiance sends. Required. It is
	// left out of JSON encoding.
	Password string `json:"-"`
}

// Validate reports a configuration [NewFirehoseHandler] refuses: a missing
// AppID, Username or Password, or a Username with ':'. The error is a
// [*ValidationError] that never repeats a value.
func (c FirehoseConfig) Validate() error {
	switch {
	case c.AppID == "":
		return httpx.Invalid("app_id", "is empty")
	case c.Username == "":
		return httpx.Invalid("username", "is empty")
	case strings.ContainsRune(c.Username, ':'):
		return httpx.Invalid("username", "must not contain ':'")
	case c.Password == "":
		return httpx.Invalid("password", "is empty")
	}
	return nil
}

// String describes the configuration with Password redacted.
func (c FirehoseConfig) String() string {
	return fmt.Sprintf("sentiance.FirehoseConfig{AppID: %q, Username: %q, Password: %s}",
		c.AppID, c.Username, redactedOrEmpty(c.Password))
}

// GoString is String, for %#v.
func (c FirehoseConfig) GoString() string { return c.String() }

// Format prints String for every verb.
func (c FirehoseConfig) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the configuration with Password redacted.
func (c FirehoseConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", c.AppID),
		slog.String("username", c.Username),
		slog.String("password", redactedOrEmpty(c.Password)),
	)
}
