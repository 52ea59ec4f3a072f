package broker_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// Issue 11 item 17: the SDK authorization request never prints.
func TestEntrupyParams_NeverPrintsTheSDKRequest(t *testing.T) {
	const secret = "sdk-authz-request-SECRET-4f9a1c"
	p := broker.EntrupyParams{SDKAuthorizationRequest: secret, Email: "ann@example.com", FirstName: "Ann", LastName: "Lee"}
	req := broker.Request{Vendor: broker.Entrupy, UserID: "user-000001", Entrupy: &p}
	type wrapper struct {
		Params broker.EntrupyParams
		Req    broker.Request
		Ptr    *broker.EntrupyParams
	}
	values := map[string]any{"value": p, "pointer": &p, "request": req, "request pointer": &req, "nested": wrapper{p, req, &p}}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, secret, "%s %s", name, verb)
			assert.NotContains(t, strings.ToLower(out), fmt.Sprintf("%x", secret), "%s %s", name, verb)
		}
		for _, h := range []func(*strings.Builder) slog.Handler{
			func(b *strings.Builder) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *strings.Builder) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf strings.Builder
			slog.New(h(&buf)).Info("start", "params", v, slog.Group("g", "inner", v))
			assert.NotContains(t, buf.String(), secret, name)
		}
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), secret, name)
	}
	assert.Contains(t, p.String(), "[REDACTED]")
	assert.Contains(t, p.String(), "ann@example.com")
	assert.Equal(t, p.String(), p.GoString())

	// JSON decoding (request input from the app) still reads the field.
	var back broker.EntrupyParams
	require.NoError(t, json.Unmarshal([]byte(`{"SDKAuthorizationRequest":"`+secret+`","Email":"ann@example.com"}`), &back))
	assert.Equal(t, secret, back.SDKAuthorizationRequest)
	assert.Equal(t, "ann@example.com", back.Email)
	var r broker.Request
	require.NoError(t, json.Unmarshal([]byte(`{"Vendor":"entrupy","UserID":"u","Entrupy":{"SDKAuthorizationRequest":"`+secret+`"}}`), &r))
	require.NotNil(t, r.Entrupy)
	assert.Equal(t, secret, r.Entrupy.SDKAuthorizationRequest)

	// An empty request prints as empty, not as [REDACTED].
	assert.Contains(t, broker.EntrupyParams{}.String(), `SDKAuthorizationRequest:""`)
}
