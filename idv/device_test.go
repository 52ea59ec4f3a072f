package idv_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
)

const deviceURL = "https://idv.test/tenant/api/device/ephemeral"

func TestClient_CreateEphemeralDevice(t *testing.T) {
	mt := newMock(t)
	rec := register(mt, http.MethodPost, deviceURL, respond(200, `{"authorization":"`+testToken+`","unknown":1}`))
	c := newClient(t, mt)

	d, err := c.CreateEphemeralDevice(context.Background(), 10*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, testToken, d.Token)
	assert.Equal(t, fixedNow.Add(10*time.Minute), d.ExpiresAt, "expiry from the client clock when none is sent")

	reqs := rec.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, deviceURL, r.URL)
	assert.Empty(t, r.Query)
	assert.Equal(t, "ApiKey "+testKey, r.Header.Get("Authorization"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	jsonEq(t, `{"ttl":600}`, r.Body)
}

func TestClient_CreateEphemeralDevice_DefaultTTL(t *testing.T) {
	mt := newMock(t)
	rec := register(mt, http.MethodPost, deviceURL, respond(200, `{"authorization":"`+testToken+`"}`))
	c := newClient(t, mt)
	d, err := c.CreateEphemeralDevice(context.Background(), 0)
	require.NoError(t, err)
	jsonEq(t, `{"ttl":3600}`, rec.requests()[0].Body)
	assert.Equal(t, fixedNow.Add(idv.DefaultTTL), d.ExpiresAt)
}

func TestClient_CreateEphemeralDevice_Bounds(t *testing.T) {
	mt := newMock(t)
	rec := register(mt, http.MethodPost, deviceURL, respond(200, `{"authorization":"`+testToken+`"}`))
	c := newClient(t, mt)
	for _, ttl := range []time.Duration{idv.MinTTL, idv.MaxTTL} {
		_, err := c.CreateEphemeralDevice(context.Background(), ttl)
		require.NoError(t, err, ttl)
	}
	reqs := rec.requests()
	jsonEq(t, `{"ttl":1}`, reqs[0].Body)
	jsonEq(t, `{"ttl":86400}`, reqs[1].Body)
}

func TestClient_CreateEphemeralDevice_ServerExpiry(t *testing.T) {
	tests := []struct {
		name, field string
		want        time.Time
	}{
		{"rfc3339", `"2025-03-04T05:30:00Z"`, time.Date(2025, 3, 4, 5, 30, 0, 0, time.UTC)},
		{"rfc3339 offset", `"2025-03-04T07:30:00+02:00"`, time.Date(2025, 3, 4, 5, 30, 0, 0, time.UTC)},
		{"unix seconds", `1741066200`, time.Unix(1741066200, 0)},
		{"unix millis", `1741066200000`, time.Unix(1741066200, 0)},
		{"null", `null`, fixedNow.Add(time.Hour)},
		{"empty string", `""`, fixedNow.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := newMock(t)
			register(mt, http.MethodPost, deviceURL, respond(200, `{"authorization":"`+testToken+`","expiresAt":`+tt.field+`}`))
			c := newClient(t, mt)
			d, err := c.CreateEphemeralDevice(context.Background(), time.Hour)
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(d.ExpiresAt), "want %s got %s", tt.want, d.ExpiresAt)
		})
	}
}

func TestClient_CreateEphemeralDevice_InvalidTTL(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	for _, ttl := range []time.Duration{-time.Second, 1500 * time.Millisecond, 500 * time.Millisecond,
		time.Nanosecond, idv.MaxTTL + time.Second, 48 * time.Hour} {
		t.Run(ttl.String(), func(t *testing.T) {
			d, err := c.CreateEphemeralDevice(context.Background(), ttl)
			assert.Nil(t, d)
			require.ErrorIs(t, err, idv.ErrInvalidInput)
			var ve *idv.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "ttl", ve.Field)
		})
	}
	assert.Zero(t, totalCalls(mt), "no request for bad input")
}

func TestClient_CreateEphemeralDevice_BadToken(t *testing.T) {
	tests := []struct{ name, body, kind string }{
		{"missing", `{}`, "missing"},
		{"empty", `{"authorization":""}`, "missing"},
		{"control character", `{"authorization":"abc\r\nX: y"}`, "bad"},
		{"wrong type", `{"authorization":42}`, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := newMock(t)
			register(mt, http.MethodPost, deviceURL, respond(200, tt.body))
			c := newClient(t, mt)
			_, err := c.CreateEphemeralDevice(context.Background(), time.Minute)
			require.ErrorIs(t, err, idv.ErrMalformedResponse)
			var de *idv.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "authorization", de.Field)
			if tt.kind == "missing" {
				assert.ErrorIs(t, err, idv.ErrMissingField)
			} else {
				assert.NotErrorIs(t, err, idv.ErrMissingField)
			}
		})
	}
}

func TestClient_CreateEphemeralDevice_NoRetryOn5xx(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodPost, deviceURL, respond(503, `{"message":"busy"}`), respond(200, `{"authorization":"x1234567"}`))
	c := newClient(t, mt)
	_, err := c.CreateEphemeralDevice(context.Background(), time.Minute)
	require.ErrorIs(t, err, idv.ErrServer)
	assert.True(t, idv.IsRetryable(err), "the caller may retry")
	assert.Equal(t, 1, calls(mt, "POST "+deviceURL), "a create call is not retried after a 5xx")
}

func TestClient_CreateEphemeralDevice_RetryOn429(t *testing.T) {
	mt := newMock(t)
	rl := cannedResp{status: 429, body: `{"message":"slow down"}`, header: http.Header{"Retry-After": {"1"}}}
	register(mt, http.MethodPost, deviceURL, rl, respond(200, `{"authorization":"`+testToken+`"}`))
	c := newClient(t, mt)
	start := time.Now()
	d, err := c.CreateEphemeralDevice(context.Background(), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, testToken, d.Token)
	assert.Equal(t, 2, calls(mt, "POST "+deviceURL))
	assert.Less(t, time.Since(start), 900*time.Millisecond, "Retry-After is capped by WithRetry's max wait")
}

func TestEphemeralDevice_Redacted(t *testing.T) {
	d := idv.EphemeralDevice{Token: testToken, ExpiresAt: fixedNow}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%20s"} {
		for _, v := range []any{d, &d, []*idv.EphemeralDevice{&d}, map[string]idv.EphemeralDevice{"d": d}} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, testToken, "%s %T", verb, v)
		}
	}
	assert.Contains(t, d.String(), "[REDACTED]")
	assert.Contains(t, d.String(), "2025-03-04T05:06:07Z")

	logger, buf := logBuffer()
	logger.Info("device", "device", d, "ptr", &d)
	assert.NotContains(t, buf.String(), testToken)
	assert.Contains(t, buf.String(), "device.token=[REDACTED]")

	js := mustJSON(t, d)
	assert.NotContains(t, js, testToken)
	assert.Contains(t, js, "expiresAt")
}
