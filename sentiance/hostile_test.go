package sentiance_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/hostile"
	"github.com/sdkbroker/sdkbroker/sentiance"
)

func isInvalid(err error) bool { return errors.Is(err, sentiance.ErrInvalidInput) }

// TestClient_HostileIDs: ids that become path segments are refused before
// sending or sent as one escaped segment; external ids sent in a body are
// refused or sent as JSON strings; no error repeats an id (issue 16 item 5).
func TestClient_HostileIDs(t *testing.T) {
	rec := hostile.NewRecorder(t, http.StatusNotFound, `{"message":"not found","errorCode":"USER_NOT_FOUND"}`)
	c, err := sentiance.NewClient(sentiance.Credentials{APIKey: "sk_hostile_1234567890"},
		sentiance.WithBaseURL(rec.URL), sentiance.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx := context.Background()
	for _, id := range hostile.IDs() {
		t.Run(id.Name, func(t *testing.T) {
			err := c.DeleteUser(ctx, id.Value)
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "DELETE", "/users/", "")
			_, err = c.LinkInstall(ctx, id.Value, "customer-1")
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "POST", "/v2/users/", "/link")

			_, err = c.CreateAuthCode(ctx, id.Value)
			hostile.CheckRefusedOrSent(t, id.Value, err)
			_, err = c.LinkInstall(ctx, "install-1", id.Value)
			hostile.CheckRefusedOrSent(t, id.Value, err)
			targets, bodies := rec.Take()
			for i, b := range bodies {
				assert.NotContains(t, string(b), "\x00", targets[i])
				assert.NotContains(t, string(b), "\r\n", targets[i])
			}
		})
	}
}

// TestFirehoseHandler_HostileBodies: 100 MiB bodies (streamed, never held
// whole), deep nesting, invalid UTF-8, NUL, CR LF, ../, unknown fields and
// duplicate keys (the gzip bomb has its own tests).
func TestFirehoseHandler_HostileBodies(t *testing.T) {
	var calls atomic.Int32
	var last atomic.Pointer[[]sentiance.Message]
	h := newFirehose(t, firehoseConfig(), func(_ context.Context, msgs []sentiance.Message) error {
		calls.Add(1)
		last.Store(&msgs)
		return nil
	}, sentiance.WithDedup(memoryDeduper(t, time.Hour)))
	deliver := func(r *http.Request) *httptest.ResponseRecorder {
		r.SetBasicAuth(fhUser, fhPass)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	t.Run("100 MiB streamed", func(t *testing.T) {
		body, src := hostile.JSONPrefixed(100 * hostile.MiB)
		w := deliver(httptest.NewRequest(http.MethodPost, "/firehose", body))
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		assert.LessOrEqual(t, src.Consumed(), int64(sentiance.DefaultFirehoseMaxBody+64<<10), "read past the limit")
	})
	t.Run("100 MiB declared", func(t *testing.T) {
		body, src := hostile.JSONPrefixed(100 * hostile.MiB)
		r := httptest.NewRequest(http.MethodPost, "/firehose", body)
		r.ContentLength = 100 * hostile.MiB
		assert.Equal(t, http.StatusRequestEntityTooLarge, deliver(r).Code)
		assert.Zero(t, src.Consumed(), "a declared oversize body is refused unread")
	})
	t.Run("100 MiB gzip bomb", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/firehose", bytes.NewReader(hostile.GzipBomb(t, 100*hostile.MiB)))
		r.Header.Set("Content-Encoding", "gzip")
		assert.Equal(t, http.StatusRequestEntityTooLarge, deliver(r).Code)
	})

	post := func(body string) *httptest.ResponseRecorder {
		return deliver(httptest.NewRequest(http.MethodPost, "/firehose", strings.NewReader(body)))
	}
	before := calls.Load()
	for name, body := range map[string]string{
		"nested arrays":         string(hostile.NestedJSON(100_000)),
		"nested message data":   `{"data":[{"meta":{"message_type":"A"},"data":` + string(hostile.NestedObject("user_id", 50_000)) + `}]}`,
		"raw NUL":               "{\"data\":[{\"meta\":{\"message_type\":\"A\x00\"}}]}",
		"data not an array":     `{"data":{"meta":{}}}`,
		"trailing garbage":      `{"data":[]} {"data":[]}`,
		"invalid UTF-8 outside": "{\"data\":[]}\xff",
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, http.StatusBadRequest, post(body).Code)
		})
	}
	assert.Equal(t, before, calls.Load(), "no refused body reached the callback")

	accepted := []struct {
		name, body, wantUser, wantType string
	}{
		{"escaped NUL in user id", `{"data":[{"meta":{"message_type":"A"},"data":{"user_id":"u\u0000x"}}]}`, "u\x00x", "A"},
		{"CR LF in user id and type", `{"data":[{"meta":{"message_type":"A\r\nB"},"data":{"user_id":"u\r\nX-Injected: yes"}}]}`, "u\r\nX-Injected: yes", "A\r\nB"},
		{"invalid UTF-8 in user id", "{\"data\":[{\"meta\":{\"message_type\":\"A\"},\"data\":{\"user_id\":\"u\xff\"}}]}", "u\uFFFD", "A"},
		{"../ in user id", `{"data":[{"meta":{"message_type":"A"},"data":{"user_id":"../../u"}}]}`, "../../u", "A"},
		{"unknown fields", `{"extra":1,"data":[{"meta":{"message_type":"A","new":[1]},"data":{"user_id":"u-unknown","more":{}},"other":null}]}`, "u-unknown", "A"},
		{"duplicate keys: the last wins", `{"data":[{"meta":{"message_type":"X","message_type":"A"},"data":{"user_id":"a","user_id":"u-dup"}}]}`, "u-dup", "A"},
		{"1 MB user id", `{"data":[{"meta":{"message_type":"A"},"data":{"user_id":"` + strings.Repeat("u", 1_000_000) + `"}}]}`, strings.Repeat("u", 1_000_000), "A"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			n := calls.Load()
			require.Equal(t, http.StatusOK, post(tc.body).Code)
			require.Equal(t, n+1, calls.Load())
			msgs := *last.Load()
			require.Len(t, msgs, 1)
			assert.Equal(t, tc.wantUser, msgs[0].UserID)
			assert.Equal(t, tc.wantType, msgs[0].Type)
			assert.Equal(t, http.StatusOK, post(tc.body).Code)
			assert.Equal(t, n+1, calls.Load(), "replay called back")
		})
	}
}

// TestClient_HostileAnswers: a gzip bomb, a 100 MiB body, JSON nested 100k
// deep or invalid UTF-8 with NUL from the API is a DecodeError, read no
// further than the response size limit (issue 16 item 5).
func TestClient_HostileAnswers(t *testing.T) {
	for name, answer := range hostile.Answers(t) {
		t.Run(name, func(t *testing.T) {
			srv := hostile.ServeAnswer(t, answer, nil)
			c, err := sentiance.NewClient(sentiance.Credentials{APIKey: "sk_hostile_1234567890"},
				sentiance.WithBaseURL(srv.URL), sentiance.WithRetry(0, time.Millisecond, time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(c.Close)
			_, err = c.CreateAuthCode(context.Background(), "customer-1")
			require.ErrorIs(t, err, sentiance.ErrMalformedResponse)
			if strings.Contains(name, "MiB") {
				assert.ErrorIs(t, err, sentiance.ErrBodyTooLarge)
			}
		})
	}
}
