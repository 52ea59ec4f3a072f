package broker_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

// Issue 11 item 12: the debug log never carries the error's message, which
// can echo the user id.
func TestBroker_LogNeverCarriesVendorText(t *testing.T) {
	const user = "alice.secret-user-4711"
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodPost, "https://sentiance.test/users/auth-code", func(r *http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(http.StatusConflict,
			`{"message":"external_id `+user+` is already linked to another user","errorCode":"INSTALL_LINKED_TO_OTHER_USER","ref":"ref-0001"}`)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	})
	mt.RegisterNoResponder(httpmock.NewStringResponder(http.StatusNotImplemented, ""))
	c, err := sentiance.NewClient(sentiance.Credentials{APIKey: sentiancetest.DefaultAPIKey}, sentiance.WithBaseURL("https://sentiance.test"),
		sentiance.WithHTTPClient(&http.Client{Transport: mt}), sentiance.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	var mu sync.Mutex
	var text, js strings.Builder
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	logger := slog.New(multiHandler{slog.NewTextHandler(lockedWriter{&mu, &text}, opts), slog.NewJSONHandler(lockedWriter{&mu, &js}, opts)})
	b, err := broker.New(broker.WithSentiance(c), broker.WithLogger(logger))
	require.NoError(t, err)
	defer b.Close()

	_, err = b.Start(context.Background(), broker.Request{Vendor: broker.Sentiance, UserID: user})
	require.Error(t, err)
	require.Contains(t, err.Error(), user, "the premise: the vendor's message echoes the user id")
	// Bad input is logged by kind and field too.
	_, err = b.Start(context.Background(), broker.Request{Vendor: broker.Sentiance, UserID: user + "\n"})
	require.ErrorIs(t, err, broker.ErrInvalidInput)

	mu.Lock()
	defer mu.Unlock()
	for name, out := range map[string]string{"text": text.String(), "json": js.String()} {
		assert.NotContains(t, out, "alice", name)
		assert.NotContains(t, out, "already linked", name)
		assert.NotContains(t, out, sentiancetest.DefaultAPIKey, name)
	}
	assert.Contains(t, text.String(), "error.kind=api")
	assert.Contains(t, text.String(), "error.status=409")
	assert.Contains(t, text.String(), "error.code=INSTALL_LINKED_TO_OTHER_USER")
	assert.Contains(t, text.String(), "error.kind=invalid_input error.field=user_id")
	assert.Contains(t, js.String(), `"error":{"kind":"api","status":409,"code":"INSTALL_LINKED_TO_OTHER_USER"`)
}

type multiHandler []slog.Handler

func (m multiHandler) Enabled(ctx context.Context, l slog.Level) bool { return m[0].Enabled(ctx, l) }

func (m multiHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range m {
		if err := h.Handle(ctx, r.Clone()); err != nil {
			return err
		}
	}
	return nil
}

func (m multiHandler) WithAttrs(a []slog.Attr) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithAttrs(a)
	}
	return out
}

func (m multiHandler) WithGroup(g string) slog.Handler {
	out := make(multiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithGroup(g)
	}
	return out
}
