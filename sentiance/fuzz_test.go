package sentiance_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sdkbroker/sdkbroker/sentiance"
)

func firehoseSeeds(f *testing.F) {
	f.Add(loadFixture(f))
	for _, s := range []string{
		`{}`, `{"data":[]}`, `{"data":null}`, `{"data":[{}]}`, `{"data":[null]}`, `{"data":[{"meta":null,"data":null}]}`,
		`{"data":[{"meta":{"message_type":"A","message_timestamp":"2021-02-03T14:32:03.076Z"},"data":{"user_id":"u"}}]}`,
		`{"data":[{"meta":{"message_timestamp":1612362723076},"data":{"userId":"u"}}]}`,
		`{"data":[{"meta":{"message_timestamp":"2021-02-03T14:32:03+0000"},"data":[1,2]}]}`,
		`{"data":[{"meta":{"message_type":null},"data":"str"}]}`,
		`{"data":[1]}`, `[]`, `null`, ``, `{"data":`, "\x1f\x8b", `{"data":[{"meta":{"message_timestamp":1e3}}]}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzParseFirehoseDelivery checks that the decoder never panics, that an
// accepted delivery yields one message per data[] element with Raw being
// valid JSON, and that a refusal is a ValidationError.
func FuzzParseFirehoseDelivery(f *testing.F) {
	firehoseSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := sentiance.ParseFirehoseDelivery(body)
		if err != nil {
			if _, ok := err.(*sentiance.ValidationError); !ok {
				t.Fatalf("error %T is not a *ValidationError: %v", err, err)
			}
			if msgs != nil {
				t.Fatal("messages returned with an error")
			}
			return
		}
		var env struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		if len(msgs) != len(env.Data) {
			t.Fatalf("%d messages for %d elements", len(msgs), len(env.Data))
		}
		for i, m := range msgs {
			if m.Raw != nil && !json.Valid(m.Raw) {
				t.Fatalf("message %d: Raw is not valid JSON", i)
			}
			if m.Test {
				t.Fatalf("message %d: Test set without a header", i)
			}
		}
	})
}

// FuzzFirehoseHandler posts arbitrary bodies, plain and gzip, through the
// handler: it must answer one of its documented statuses, and when it
// answers 200 the callback must have seen exactly what ParseFirehoseDelivery
// makes of the decompressed body.
func FuzzFirehoseHandler(f *testing.F) {
	firehoseSeeds(f)
	const maxBody = 4096
	cfg := sentiance.FirehoseConfig{AppID: fhApp, Username: fhUser, Password: fhPass}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, compress := range []bool{false, true} {
			var got []sentiance.Message
			called := false
			h := newFirehose(t, cfg, func(_ context.Context, msgs []sentiance.Message) error {
				called, got = true, msgs
				return nil
			}, sentiance.WithWebhookMaxBodySize(maxBody))
			payload := body
			if compress {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				_, _ = zw.Write(body)
				_ = zw.Close()
				payload = buf.Bytes()
			}
			req := httptest.NewRequest(http.MethodPost, "/firehose", bytes.NewReader(payload))
			req.SetBasicAuth(fhUser, fhPass)
			if compress {
				req.Header.Set("Content-Encoding", "gzip")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK:
				if !called {
					t.Fatal("200 without calling back")
				}
				plain := body
				if !compress && len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatalf("accepted a bad gzip body: %v", err)
					}
					plain, _ = io.ReadAll(zr)
				}
				want, err := sentiance.ParseFirehoseDelivery(plain)
				if err != nil {
					t.Fatalf("accepted a delivery the parser refuses: %v", err)
				}
				if len(want) != len(got) {
					t.Fatalf("callback got %d messages, parser %d", len(got), len(want))
				}
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
				if called {
					t.Fatalf("callback called for a refused delivery (%d)", rec.Code)
				}
				if int64(len(body)) > maxBody && compress && rec.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("a body over the limit after decompression got %d", rec.Code)
				}
			default:
				t.Fatalf("unexpected status %d", rec.Code)
			}
		}
	})
}
