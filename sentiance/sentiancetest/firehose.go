package sentiancetest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sdkbroker/sdkbroker/sentiance"
)

// timestampLayout is how the deliveries built here write message_timestamp.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

type deliveryItem struct {
	Meta deliveryMeta    `json:"meta"`
	Data json.RawMessage `json:"data,omitempty"`
}

type deliveryMeta struct {
	MessageType      string `json:"message_type"`
	MessageTimestamp string `json:"message_timestamp,omitempty"`
}

// EncodeFirehoseDelivery returns the plain JSON body of a Firehose delivery
// carrying msgs: {"data": [{"meta": {"message_type", "message_timestamp"},
// "data": ...}]}. Each message's data is its Raw value (which must be valid
// JSON), or {} when Raw is nil; when UserID is set and the data object has no
// user_id or userId, user_id is added. Test is ignored: a test delivery is
// marked by the sentiance-payload-type header (see [NewFirehoseRequest]).
func EncodeFirehoseDelivery(msgs ...sentiance.Message) ([]byte, error) {
	items := make([]deliveryItem, 0, len(msgs))
	for _, m := range msgs {
		data, err := messageData(m)
		if err != nil {
			return nil, err
		}
		item := deliveryItem{Meta: deliveryMeta{MessageType: m.Type}, Data: data}
		if !m.Timestamp.IsZero() {
			item.Meta.MessageTimestamp = m.Timestamp.UTC().Format(timestampLayout)
		}
		items = append(items, item)
	}
	return json.Marshal(map[string][]deliveryItem{"data": items})
}

func messageData(m sentiance.Message) (json.RawMessage, error) {
	raw := m.Raw
	if raw == nil {
		raw = json.RawMessage("{}")
	}
	if !json.Valid(raw) {
		return nil, errors.New("sentiancetest: message Raw is not valid JSON")
	}
	if m.UserID == "" {
		return raw, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return raw, nil // not an object: nowhere to put user_id
	}
	if _, ok := obj["user_id"]; ok {
		return raw, nil
	}
	if _, ok := obj["userId"]; ok {
		return raw, nil
	}
	obj["user_id"], _ = json.Marshal(m.UserID)
	return json.Marshal(obj)
}

// BuildFirehoseDelivery returns the gzip-compressed body of a Firehose
// delivery carrying msgs, as Sentiance sends it (see [EncodeFirehoseDelivery]
// for the JSON).
func BuildFirehoseDelivery(msgs ...sentiance.Message) ([]byte, error) {
	plain, err := EncodeFirehoseDelivery(msgs...)
	if err != nil {
		return nil, err
	}
	return Gzip(plain)
}

// Gzip compresses b, for hand-made deliveries.
func Gzip(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NewFirehoseRequest builds the POST Sentiance makes to a Firehose endpoint
// at target: body (gzip, from [BuildFirehoseDelivery], gets
// Content-Encoding: gzip; anything else is sent as plain JSON), with Basic
// auth from cfg's Username and Password. Set the header
// sentiance.PayloadTypeHeader to "test" on the result for a test delivery.
func NewFirehoseRequest(ctx context.Context, target string, cfg sentiance.FirehoseConfig, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.SetBasicAuth(cfg.Username, cfg.Password)
	return req, nil
}
