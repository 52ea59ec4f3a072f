package sentiancetest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

func TestBuildFirehoseDelivery_RoundTrip(t *testing.T) {
	ts := time.Date(2021, 2, 3, 14, 32, 3, 76_000_000, time.UTC)
	in := []sentiance.Message{
		{Type: "TimelineEvent", Timestamp: ts, UserID: "u-1", Raw: json.RawMessage(`{"type":"TRANSPORT"}`)},
		{Type: "UserContextUpdate", UserID: "u-2"},
		{Type: "Keep", UserID: "u-3", Raw: json.RawMessage(`{"userId":"camel"}`)},
		{Type: "List", UserID: "u-4", Raw: json.RawMessage(`[1,2]`)},
	}
	gz, err := sentiancetest.BuildFirehoseDelivery(in...)
	require.NoError(t, err)
	plain := gunzip(t, gz)

	var env map[string]any
	require.NoError(t, json.Unmarshal(plain, &env))
	first := env["data"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"message_type": "TimelineEvent", "message_timestamp": "2021-02-03T14:32:03.076Z"}, first["meta"])

	out, err := sentiance.ParseFirehoseDelivery(plain)
	require.NoError(t, err)
	require.Len(t, out, 4)
	assert.Equal(t, "TimelineEvent", out[0].Type)
	assert.True(t, out[0].Timestamp.Equal(ts))
	assert.Equal(t, "u-1", out[0].UserID)
	assert.JSONEq(t, `{"type":"TRANSPORT","user_id":"u-1"}`, string(out[0].Raw))
	assert.Equal(t, "u-2", out[1].UserID)
	assert.True(t, out[1].Timestamp.IsZero(), "a zero timestamp is left out")
	assert.Equal(t, "camel", out[2].UserID, "an existing userId is kept")
	assert.JSONEq(t, `[1,2]`, string(out[3].Raw))
	assert.Empty(t, out[3].UserID)

	same, err := sentiancetest.EncodeFirehoseDelivery(in...)
	require.NoError(t, err)
	assert.Equal(t, plain, same)
}

func TestBuildFirehoseDelivery_Invalid(t *testing.T) {
	_, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{Raw: json.RawMessage(`{"a":`)})
	assert.Error(t, err)
	empty, err := sentiancetest.EncodeFirehoseDelivery()
	require.NoError(t, err)
	assert.JSONEq(t, `{"data":[]}`, string(empty))
}

func TestNewFirehoseRequest(t *testing.T) {
	cfg := sentiance.FirehoseConfig{AppID: "a", Username: "user", Password: "pass-123456"}
	gz, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{Type: "A"})
	require.NoError(t, err)
	req, err := sentiancetest.NewFirehoseRequest(context.Background(), "http://receiver.test/hook", cfg, gz)
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, "gzip", req.Header.Get("Content-Encoding"))
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
	u, p, ok := req.BasicAuth()
	require.True(t, ok)
	assert.Equal(t, "user", u)
	assert.Equal(t, "pass-123456", p)
	assert.Equal(t, int64(len(gz)), req.ContentLength)

	plain, err := sentiancetest.NewFirehoseRequest(context.Background(), "http://receiver.test/hook", cfg, []byte(`{"data":[]}`))
	require.NoError(t, err)
	assert.Empty(t, plain.Header.Get("Content-Encoding"))

	_, err = sentiancetest.NewFirehoseRequest(context.Background(), "://bad", cfg, nil)
	assert.Error(t, err)
}

// TestFirehose_EndToEnd delivers a built gzip delivery over a real socket to
// the package's handler.
func TestFirehose_EndToEnd(t *testing.T) {
	cfg := sentiance.FirehoseConfig{AppID: "app-1", Username: "sentiance", Password: "pw-0123456789"}
	got := make(chan []sentiance.Message, 1)
	h, err := sentiance.NewFirehoseHandler(cfg, func(ctx context.Context, msgs []sentiance.Message) error {
		got <- msgs
		return nil
	})
	require.NoError(t, err)
	srv := newHTTPServer(t, h)
	body, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{Type: "TimelineEvent", UserID: "u-9"})
	require.NoError(t, err)
	req, err := sentiancetest.NewFirehoseRequest(context.Background(), srv.URL, cfg, body)
	require.NoError(t, err)
	req.Header.Set(sentiance.PayloadTypeHeader, "test")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	msgs := <-got
	require.Len(t, msgs, 1)
	assert.Equal(t, "u-9", msgs[0].UserID)
	assert.True(t, msgs[0].Test)
}
