package sentiance_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

const (
	fhUser = "sentiance-firehose"
	fhPass = "fh-pass-8e2d4c6a0b1f"
	fhApp  = "app-5f1e2d3c"
)

func firehoseConfig() sentiance.FirehoseConfig {
	return sentiance.FirehoseConfig{AppID: fhApp, Username: fhUser, Password: fhPass}
}

// newFirehose builds a Firehose handler that must be valid.
func newFirehose(t testing.TB, cfg sentiance.FirehoseConfig, fn func(context.Context, []sentiance.Message) error, opts ...sentiance.WebhookOption) http.Handler {
	t.Helper()
	h, err := sentiance.NewFirehoseHandler(cfg, fn, opts...)
	require.NoError(t, err)
	require.NotNil(t, h)
	return h
}

// recorder collects callback invocations.
type recorder struct {
	mu    sync.Mutex
	calls [][]sentiance.Message
	tests []bool
	err   error
}

func (r *recorder) fn(ctx context.Context, msgs []sentiance.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, msgs)
	r.tests = append(r.tests, sentiance.IsTestDelivery(ctx))
	return r.err
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	out, err := sentiancetest.Gzip(b)
	require.NoError(t, err)
	return out
}

// post sends body to h as Sentiance would, with the given extra headers.
func post(t *testing.T, h http.Handler, body []byte, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req, err := sentiancetest.NewFirehoseRequest(context.Background(), "http://receiver.test/firehose", firehoseConfig(), body)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFirehoseHandler_GetAppID(t *testing.T) {
	var r recorder
	h := newFirehose(t, firehoseConfig(), r.fn)
	req := httptest.NewRequest(http.MethodGet, "/firehose", nil)
	req.SetBasicAuth(fhUser, fhPass)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"app_id":"`+fhApp+`"}`, rec.Body.String())
	assert.Zero(t, r.count())
}

func TestFirehoseHandler_Unauthorized(t *testing.T) {
	body := gz(t, []byte(`{"data":[]}`))
	creds := []struct {
		name       string
		set        bool
		user, pass string
		header     string
	}{
		{name: "no credentials"},
		{name: "wrong user", set: true, user: "someone", pass: fhPass},
		{name: "wrong password", set: true, user: fhUser, pass: "guess"},
		{name: "password prefix", set: true, user: fhUser, pass: fhPass[:len(fhPass)-1]},
		{name: "password longer", set: true, user: fhUser, pass: fhPass + "x"},
		{name: "empty password", set: true, user: fhUser},
		{name: "swapped", set: true, user: fhPass, pass: fhUser},
		{name: "bearer instead of basic", header: "Bearer " + fhPass},
		{name: "malformed basic", header: "Basic !!!not-base64"},
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		for _, c := range creds {
			t.Run(method+" "+c.name, func(t *testing.T) {
				var r recorder
				h := newFirehose(t, firehoseConfig(), r.fn)
				req := httptest.NewRequest(method, "/firehose", bytes.NewReader(body))
				req.Header.Set("Content-Encoding", "gzip")
				if c.set {
					req.SetBasicAuth(c.user, c.pass)
				}
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				assert.Equal(t, http.StatusUnauthorized, rec.Code)
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), "Basic")
				assert.NotContains(t, rec.Body.String(), fhApp, "the app id is only for authenticated callers")
				assert.NotContains(t, rec.Body.String(), fhPass)
				assert.Zero(t, r.count())
			})
		}
	}
}

func TestFirehoseHandler_MethodNotAllowed(t *testing.T) {
	var r recorder
	h := newFirehose(t, firehoseConfig(), r.fn)
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions} {
		req := httptest.NewRequest(m, "/firehose", nil)
		req.SetBasicAuth(fhUser, fhPass)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, m)
		assert.Equal(t, "GET, POST", rec.Header().Get("Allow"))
	}
	assert.Zero(t, r.count())
}

func TestFirehoseHandler_GzipDelivery(t *testing.T) {
	ts := time.Date(2021, 2, 3, 14, 32, 3, 76_000_000, time.UTC)
	body, err := sentiancetest.BuildFirehoseDelivery(
		sentiance.Message{Type: "TimelineEvent", Timestamp: ts, UserID: "user-a", Raw: json.RawMessage(`{"type":"TRANSPORT"}`)},
		sentiance.Message{Type: "DrivingInsights", Timestamp: ts.Add(time.Second), UserID: "user-b"},
	)
	require.NoError(t, err)
	require.Equal(t, []byte{0x1f, 0x8b}, body[:2], "BuildFirehoseDelivery compresses")

	var r recorder
	rec := post(t, newFirehose(t, firehoseConfig(), r.fn), body, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, 1, r.count())
	msgs := r.calls[0]
	require.Len(t, msgs, 2)
	assert.Equal(t, "TimelineEvent", msgs[0].Type)
	assert.True(t, msgs[0].Timestamp.Equal(ts))
	assert.Equal(t, "user-a", msgs[0].UserID)
	assert.JSONEq(t, `{"type":"TRANSPORT","user_id":"user-a"}`, string(msgs[0].Raw))
	assert.Equal(t, "DrivingInsights", msgs[1].Type)
	assert.Equal(t, "user-b", msgs[1].UserID)
	assert.False(t, msgs[0].Test)
	assert.False(t, r.tests[0])
}

func loadFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/firehose_delivery.json")
	require.NoError(t, err)
	return b
}

func checkFixtureMessages(t *testing.T, msgs []sentiance.Message) {
	t.Helper()
	require.Len(t, msgs, 4)
	assert.Equal(t, "TimelineEvent", msgs[0].Type)
	assert.Equal(t, time.Date(2021, 2, 3, 14, 32, 3, 76_000_000, time.UTC), msgs[0].Timestamp.UTC())
	assert.Equal(t, "5f1e2d3c4b5a69788796a5b4", msgs[0].UserID)
	assert.Contains(t, string(msgs[0].Raw), `"transport_mode": "CAR"`, "Raw is the inner data, verbatim")

	assert.Equal(t, "UserContextUpdate", msgs[1].Type)
	assert.Equal(t, time.UnixMilli(1612362723076).UTC(), msgs[1].Timestamp)
	assert.Equal(t, "0a1b2c3d4e5f60718293a4b5", msgs[1].UserID, "userId is read when user_id is absent")

	assert.Equal(t, "DrivingInsights", msgs[2].Type)
	assert.Equal(t, time.Date(2021, 2, 3, 14, 32, 3, 500_000_000, time.UTC), msgs[2].Timestamp.UTC())

	assert.Equal(t, "SomethingNew", msgs[3].Type, "unknown types are kept")
	assert.Nil(t, msgs[3].Raw)
	assert.Empty(t, msgs[3].UserID)
	assert.True(t, msgs[3].Timestamp.IsZero())
}

func TestFirehoseHandler_Encodings(t *testing.T) {
	plain := loadFixture(t)
	tests := []struct {
		name     string
		body     []byte
		encoding string
	}{
		{"plain JSON", plain, ""},
		{"identity", plain, "identity"},
		{"gzip", gz(t, plain), "gzip"},
		{"x-gzip", gz(t, plain), "x-gzip"},
		{"GZIP upper case", gz(t, plain), "GZIP"},
		{"gzip without Content-Encoding", gz(t, plain), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			h := newFirehose(t, firehoseConfig(), r.fn)
			req := httptest.NewRequest(http.MethodPost, "/firehose", bytes.NewReader(tt.body))
			req.SetBasicAuth(fhUser, fhPass)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Equal(t, 1, r.count())
			checkFixtureMessages(t, r.calls[0])
		})
	}
}

func TestFirehoseHandler_RefusedBodies(t *testing.T) {
	valid := gz(t, []byte(`{"data":[]}`))
	truncated := valid[:len(valid)-6]
	corrupt := append([]byte{}, valid...)
	corrupt[len(corrupt)-5] ^= 0xff // breaks the CRC
	tests := []struct {
		name     string
		body     []byte
		encoding string
		status   int
	}{
		{"unsupported encoding", []byte(`{"data":[]}`), "br", http.StatusUnsupportedMediaType},
		{"gzip header on plain JSON", []byte(`{"data":[]}`), "gzip", http.StatusBadRequest},
		{"truncated gzip", truncated, "gzip", http.StatusBadRequest},
		{"gzip with bad checksum", corrupt, "gzip", http.StatusBadRequest},
		{"gzip with trailing garbage", append(append([]byte{}, valid...), "garbage"...), "gzip", http.StatusBadRequest},
		{"empty body", nil, "", http.StatusBadRequest},
		{"not JSON", []byte("hello"), "", http.StatusBadRequest},
		{"JSON array", []byte(`[{"meta":{}}]`), "", http.StatusBadRequest},
		{"JSON null", []byte(`null`), "", http.StatusBadRequest},
		{"data not an array", []byte(`{"data":{"meta":{}}}`), "", http.StatusBadRequest},
		{"element not an object", []byte(`{"data":[1]}`), "", http.StatusBadRequest},
		{"meta not an object", []byte(`{"data":[{"meta":"x"}]}`), "", http.StatusBadRequest},
		{"type not a string", []byte(`{"data":[{"meta":{"message_type":7}}]}`), "", http.StatusBadRequest},
		{"bad timestamp", []byte(`{"data":[{"meta":{"message_type":"A","message_timestamp":"yesterday"}}]}`), "", http.StatusBadRequest},
		{"truncated JSON", []byte(`{"data":[{"meta":`), "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			h := newFirehose(t, firehoseConfig(), r.fn)
			req := httptest.NewRequest(http.MethodPost, "/firehose", bytes.NewReader(tt.body))
			req.SetBasicAuth(fhUser, fhPass)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tt.status, rec.Code, rec.Body.String())
			assert.Zero(t, r.count(), "the callback never sees a refused delivery")
		})
	}
}

// zeros returns a gzip stream of n zero bytes: tiny compressed, huge inflated.
func zeros(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	require.NoError(t, err)
	chunk := make([]byte, 64<<10)
	for n > 0 {
		k := min(n, len(chunk))
		_, err := zw.Write(chunk[:k])
		require.NoError(t, err)
		n -= k
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestFirehoseHandler_GzipBomb(t *testing.T) {
	t.Run("small limit", func(t *testing.T) {
		const limit = 64 << 10
		bomb := zeros(t, 4<<20) // 4 MiB of zeros in a few KiB
		require.Less(t, len(bomb), limit, "the compressed body is within the limit")
		var r recorder
		h := newFirehose(t, firehoseConfig(), r.fn, sentiance.WithWebhookMaxBodySize(limit))
		req := httptest.NewRequest(http.MethodPost, "/firehose", bytes.NewReader(bomb))
		req.SetBasicAuth(fhUser, fhPass)
		req.Header.Set("Content-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Zero(t, r.count())
	})
	t.Run("default limit", func(t *testing.T) {
		bomb := zeros(t, sentiance.DefaultFirehoseMaxBody+1)
		var r recorder
		rec := post(t, newFirehose(t, firehoseConfig(), r.fn), bomb, nil)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Zero(t, r.count())
	})
	t.Run("exactly at the limit is read", func(t *testing.T) {
		plain := []byte(`{"data":[]}` + strings.Repeat(" ", 1000))
		var r recorder
		h := newFirehose(t, firehoseConfig(), r.fn, sentiance.WithWebhookMaxBodySize(int64(len(plain))))
		rec := post(t, h, gz(t, plain), nil)
		assert.Equal(t, http.StatusOK, rec.Code, "a body of exactly MaxBody bytes is accepted")
		rec = post(t, h, gz(t, append(plain, ' ')), nil)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, "one byte more is refused")
	})
}

func TestFirehoseHandler_CompressedTooLarge(t *testing.T) {
	big := []byte(`{"data":[],"pad":"` + strings.Repeat("x", 2048) + `"}`)
	var r recorder
	h := newFirehose(t, firehoseConfig(), r.fn, sentiance.WithWebhookMaxBodySize(1024))

	// Content-Length announces too much.
	rec := post(t, h, big, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)

	// No Content-Length: the read limit stops it.
	req := httptest.NewRequest(http.MethodPost, "/firehose", struct{ *bytes.Reader }{bytes.NewReader(big)})
	req.ContentLength = -1
	req.SetBasicAuth(fhUser, fhPass)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Zero(t, r.count())
}

func TestFirehoseHandler_TestDelivery(t *testing.T) {
	body, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{Type: "TestMessage", UserID: "u"})
	require.NoError(t, err)
	for _, value := range []string{"test", "TEST", " test "} {
		var r recorder
		rec := post(t, newFirehose(t, firehoseConfig(), r.fn), body, http.Header{"Sentiance-Payload-Type": {value}})
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, 1, r.count())
		assert.True(t, r.tests[0], "IsTestDelivery for %q", value)
		assert.True(t, r.calls[0][0].Test, "Message.Test for %q", value)
	}
	var r recorder
	rec := post(t, newFirehose(t, firehoseConfig(), r.fn), body, http.Header{"Sentiance-Payload-Type": {"live"}})
	require.Equal(t, http.StatusOK, rec.Code)
	assert.False(t, r.tests[0])
	assert.False(t, r.calls[0][0].Test)
	assert.False(t, sentiance.IsTestDelivery(context.Background()))
}

func TestFirehoseHandler_EmptyDeliveryStillCallsBack(t *testing.T) {
	for _, body := range []string{`{}`, `{"data":[]}`, `{"data":null}`} {
		var r recorder
		rec := post(t, newFirehose(t, firehoseConfig(), r.fn), gz(t, []byte(body)), http.Header{"Sentiance-Payload-Type": {"test"}})
		require.Equal(t, http.StatusOK, rec.Code, body)
		require.Equal(t, 1, r.count(), body)
		assert.Empty(t, r.calls[0])
		assert.True(t, r.tests[0])
	}
}

func TestFirehoseHandler_CallbackError(t *testing.T) {
	var logs bytes.Buffer
	r := recorder{err: errors.New("queue full; password " + fhPass)}
	body, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{Type: "A"})
	require.NoError(t, err)
	rec := post(t, newFirehose(t, firehoseConfig(), r.fn, sentiance.WithWebhookLogger(debugLogger(&logs))), body, nil)
	assert.Equal(t, http.StatusInternalServerError, rec.Code, "Sentiance must deliver again")
	assert.NotContains(t, rec.Body.String(), "queue full", "the callback's error stays on the server")
	assert.Equal(t, 1, r.count())
	assert.Contains(t, logs.String(), "queue full")
	assert.NotContains(t, logs.String(), fhPass)
}

// headerSpy records whether a status was written before the callback ran.
type headerSpy struct {
	http.ResponseWriter
	mu      sync.Mutex
	written bool
}

func (s *headerSpy) WriteHeader(code int) {
	s.mu.Lock()
	s.written = true
	s.mu.Unlock()
	s.ResponseWriter.WriteHeader(code)
}

func (s *headerSpy) Write(b []byte) (int, error) {
	s.mu.Lock()
	s.written = true
	s.mu.Unlock()
	return s.ResponseWriter.Write(b)
}

func TestFirehoseHandler_AnswersAfterCallback(t *testing.T) {
	rec := httptest.NewRecorder()
	spy := &headerSpy{ResponseWriter: rec}
	var writtenDuringCallback, called bool
	h := newFirehose(t, firehoseConfig(), func(context.Context, []sentiance.Message) error {
		spy.mu.Lock()
		writtenDuringCallback = spy.written
		spy.mu.Unlock()
		called = true
		return nil
	})
	body, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{Type: "A"})
	require.NoError(t, err)
	req, err := sentiancetest.NewFirehoseRequest(context.Background(), "http://receiver.test/", firehoseConfig(), body)
	require.NoError(t, err)
	h.ServeHTTP(spy, req)
	require.True(t, called)
	assert.False(t, writtenDuringCallback, "nothing is answered before the callback returns")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.True(t, spy.written)
}

func TestFirehoseHandler_OverRealSocket(t *testing.T) {
	var r recorder
	srv := httptest.NewServer(newFirehose(t, firehoseConfig(), r.fn))
	t.Cleanup(srv.Close)
	body, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{Type: "TimelineEvent", UserID: "u-1"})
	require.NoError(t, err)
	req, err := sentiancetest.NewFirehoseRequest(context.Background(), srv.URL+"/firehose", firehoseConfig(), body)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 1, r.count())
	assert.Equal(t, "u-1", r.calls[0][0].UserID)
}

func TestFirehoseConfig_Validate(t *testing.T) {
	ok := firehoseConfig()
	require.NoError(t, ok.Validate())
	tests := map[string]struct {
		mutate func(*sentiance.FirehoseConfig)
		field  string
	}{
		"no app id":     {func(c *sentiance.FirehoseConfig) { c.AppID = "" }, "app_id"},
		"no username":   {func(c *sentiance.FirehoseConfig) { c.Username = "" }, "username"},
		"colon in user": {func(c *sentiance.FirehoseConfig) { c.Username = "a:b" }, "username"},
		"no password":   {func(c *sentiance.FirehoseConfig) { c.Password = "" }, "password"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := firehoseConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			var ve *sentiance.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			assert.NotContains(t, err.Error(), fhPass)

			// The constructor refuses it: no handler can fail open.
			var r recorder
			h, err := sentiance.NewFirehoseHandler(cfg, r.fn)
			assert.Nil(t, h)
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
			assert.NotContains(t, err.Error(), fhPass)
		})
	}
}

func TestNewFirehoseHandler_InvalidArguments(t *testing.T) {
	var r recorder
	tests := map[string]struct {
		fn    func(context.Context, []sentiance.Message) error
		opts  []sentiance.WebhookOption
		field string
	}{
		"nil callback":      {nil, nil, "callback"},
		"nil option":        {r.fn, []sentiance.WebhookOption{nil}, "option"},
		"zero max body":     {r.fn, []sentiance.WebhookOption{sentiance.WithWebhookMaxBodySize(0)}, "webhook_max_body_size"},
		"negative max body": {r.fn, []sentiance.WebhookOption{sentiance.WithWebhookMaxBodySize(-1)}, "webhook_max_body_size"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h, err := sentiance.NewFirehoseHandler(firehoseConfig(), tt.fn, tt.opts...)
			assert.Nil(t, h)
			var ve *sentiance.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
			assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
		})
	}
	// A nil logger is allowed and silent.
	newFirehose(t, firehoseConfig(), r.fn, sentiance.WithWebhookLogger(nil))
}

// TestFirehoseHandler_CallbackPanic: a panicking callback is recovered, the
// delivery is answered 500 (so Sentiance delivers again), the server keeps
// serving, and the log names the panic without the payload.
func TestFirehoseHandler_CallbackPanic(t *testing.T) {
	const marker = "payload-marker-7d1c"
	for name, value := range map[string]any{
		"string":        "boom " + marker,
		"error":         errors.New("bad " + marker),
		"runtime error": nil, // index out of range, below
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			calls := 0
			h := newFirehose(t, firehoseConfig(), func(_ context.Context, msgs []sentiance.Message) error {
				calls++
				if value == nil {
					var empty []int
					_ = empty[len(msgs)+5] // a runtime panic
				}
				panic(value)
			}, sentiance.WithWebhookLogger(debugLogger(&logs)))
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			body, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{Type: marker, UserID: marker})
			require.NoError(t, err)
			for range 2 { // the server survives the first panic
				req, err := sentiancetest.NewFirehoseRequest(context.Background(), srv.URL+"/firehose", firehoseConfig(), body)
				require.NoError(t, err)
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				text := string(readAll(t, resp.Body))
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
				assert.NotContains(t, text, marker)
			}
			assert.Equal(t, 2, calls)
			out := logs.String()
			assert.Contains(t, out, "firehose callback panicked")
			assert.NotContains(t, out, marker, "the log never holds the payload or the panic value")
			assert.NotContains(t, out, fhPass)
			if value == nil {
				assert.Contains(t, out, "index out of range")
			}
		})
	}
}

// TestFirehoseHandler_CallbackPanicWithoutLogger: no logger, still 500.
func TestFirehoseHandler_CallbackPanicWithoutLogger(t *testing.T) {
	h := newFirehose(t, firehoseConfig(), func(context.Context, []sentiance.Message) error { panic("boom") })
	rec := post(t, h, gz(t, []byte(`{"data":[]}`)), nil)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
}

func TestFirehoseHandler_LogsNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	var r recorder
	h := newFirehose(t, firehoseConfig(), r.fn, sentiance.WithWebhookLogger(debugLogger(&logs)))
	// bad auth, bad body, good delivery
	req := httptest.NewRequest(http.MethodPost, "/firehose", strings.NewReader("x"))
	req.SetBasicAuth(fhUser, fhPass+"wrong")
	h.ServeHTTP(httptest.NewRecorder(), req)
	post(t, h, []byte(`{"data":[{"meta":"`+fhPass+`"}]}`), nil)
	post(t, h, gz(t, []byte(`{"data":[]}`)), nil)
	out := logs.String()
	assert.Contains(t, out, "bad credentials")
	assert.Contains(t, out, "data[0].meta")
	assert.NotContains(t, out, fhPass)
}

func TestParseFirehoseDelivery(t *testing.T) {
	msgs, err := sentiance.ParseFirehoseDelivery(loadFixture(t))
	require.NoError(t, err)
	checkFixtureMessages(t, msgs)

	tests := map[string]string{
		`{"data":[{"meta":{}},{"meta":{"message_timestamp":"bad"}}]}`: "data[1].meta.message_timestamp",
		`{"data":[{"meta":{"message_timestamp":-5}}]}`:                "data[0].meta.message_timestamp",
		`{"data":[{"meta":{"message_timestamp":1.5}}]}`:               "data[0].meta.message_timestamp",
		`{"data":[{"meta":{"message_timestamp":99999999999999999}}]}`: "data[0].meta.message_timestamp",
		`{"data":[{"meta":{"message_timestamp":true}}]}`:              "data[0].meta.message_timestamp",
		`{"data":[{"meta":{"message_type":["x"]}}]}`:                  "data[0].meta.message_type",
		`{"data":[{},[]]}`: "data[1]",
		`{"data":"x"}`:     "data",
		`"text"`:           "body",
		`{"data":[{"meta":{},"data":{"user_id":1}}],"data2":{"user":1}}`: "",
	}
	for body, field := range tests {
		msgs, err := sentiance.ParseFirehoseDelivery([]byte(body))
		if field == "" {
			require.NoError(t, err, body)
			assert.Empty(t, msgs[0].UserID, "a non-string user_id is ignored")
			continue
		}
		var ve *sentiance.ValidationError
		require.ErrorAs(t, err, &ve, body)
		assert.Equal(t, field, ve.Field, body)
		assert.ErrorIs(t, err, sentiance.ErrInvalidInput)
	}

	msgs, err = sentiance.ParseFirehoseDelivery([]byte(`{"data":[{"meta":{"message_type":"A","message_timestamp":null},"data":{"user_id":"","userId":"camel"}}]}`))
	require.NoError(t, err)
	assert.Equal(t, "camel", msgs[0].UserID, "an empty user_id falls back to userId")
	assert.True(t, msgs[0].Timestamp.IsZero())
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestFirehoseHandler_GzipBombStopsEarly sends an endless gzip stream of
// zeros: the handler must stop decompressing at the limit, having read only
// a little of the compressed stream, rather than inflate it all.
func TestFirehoseHandler_GzipBombStopsEarly(t *testing.T) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		zw := gzip.NewWriter(pw)
		chunk := make([]byte, 64<<10)
		for {
			if _, err := zw.Write(chunk); err != nil {
				return // the reader side was closed
			}
		}
	}()
	body := &countingReader{r: pr}

	var r recorder
	h := newFirehose(t, firehoseConfig(), r.fn, sentiance.WithWebhookMaxBodySize(256<<10))
	req := httptest.NewRequest(http.MethodPost, "/firehose", body)
	req.ContentLength = -1
	req.SetBasicAuth(fhUser, fhPass)
	req.Header.Set("Content-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.NoError(t, pr.Close())
	<-done

	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Zero(t, r.count())
	// Zeros deflate about 1000:1, so 256 KiB inflated is well under 64 KiB of
	// gzip even with read buffers; reading up to the compressed limit
	// (256 KiB) would mean the inflated size was not bounded.
	assert.Less(t, body.n.Load(), int64(64<<10), "compressed bytes read")
}
