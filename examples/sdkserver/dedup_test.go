package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// TestE2E_WebhookReplayDropped: the webhook handlers drop a replay. A
// second simulation of one uqudo session posts a result with the same jti:
// it is answered 200 and reaches no stream (the next event the user sees
// is the Entrupy delivery that followed it). Each handler publishes before
// answering, so the order on the stream is the order of the answers.
func TestE2E_WebhookReplayDropped(t *testing.T) {
	ts := startServer(t, demoEnv)
	alice := ts.login(t, "alice")
	events := ts.stream(t, alice)
	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/v1/uqudo/start", map[string]any{}, alice...).Status)
	first := ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "uqudo"}, alice...)
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	ev := waitEvent(t, events, func(event) bool { return true })
	require.Equal(t, broker.Uqudo, ev.Vendor)

	replay := ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "uqudo"}, alice...)
	require.Equal(t, http.StatusOK, replay.Status, "%s", replay.Body)
	assert.EqualValues(t, http.StatusOK, replay.json(t)["webhook_status"], "a replay is answered 200")

	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/v1/entrupy/start",
		map[string]any{"sdk_authorization_request": "from-the-sdk"}, alice...).Status)
	next := ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "entrupy"}, alice...)
	require.Equal(t, http.StatusOK, next.Status, "%s", next.Body)
	ev = waitEvent(t, events, func(event) bool { return true })
	assert.Equal(t, broker.Entrupy, ev.Vendor, "the replayed uqudo result published nothing")
}
