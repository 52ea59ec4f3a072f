package idv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// EphemeralDevice is a short-lived device token: it can start sessions
// ([Client.StartSession]) and see only the data submitted with it, until
// ExpiresAt. String, GoString, Format and LogValue print the token as
// [REDACTED], and json.Marshal leaves it out; read the Token field itself
// only where it is sent on.
type EphemeralDevice struct {
	// Token is the device's authorization token, as the platform issued it.
	Token string `json:"-"`
	// ExpiresAt is when the token stops working: the platform's expiresAt
	// when it sends one (assumed optional field), else the client's clock
	// when the request was sent plus the TTL, so it never overestimates.
	ExpiresAt time.Time `json:"expiresAt"`
}

// String returns the device with its token redacted.
func (d EphemeralDevice) String() string {
	return "idv.EphemeralDevice{Token: " + redactedOrEmpty(d.Token) + ", ExpiresAt: " + d.ExpiresAt.Format(time.RFC3339) + "}"
}

// GoString is String.
func (d EphemeralDevice) GoString() string { return d.String() }

// Format prints String for every verb.
func (d EphemeralDevice) Format(f fmt.State, verb rune) {
	formatSafe(f, verb, d.String(), d.GoString())
}

// LogValue returns the device with its token redacted for log/slog.
func (d EphemeralDevice) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", redactedOrEmpty(d.Token)), slog.Time("expires_at", d.ExpiresAt))
}

type deviceRequest struct {
	TTL int64 `json:"ttl"`
}

type deviceResponse struct {
	Authorization string   `json:"authorization"`
	ExpiresAt     wireTime `json:"expiresAt"`
}

func (r *deviceResponse) ValidateResponse() error {
	if r.Authorization == "" {
		return httpx.MissingField("authorization")
	}
	if checkHeaderValue("authorization", r.Authorization) != nil {
		return badField("authorization")
	}
	return nil
}

// CreateEphemeralDevice creates a device token that lives for ttl:
// POST /api/device/ephemeral {"ttl": seconds}, authorised with the API key
// (permission "Ephemeral Devices: Write"). ttl must be whole seconds between
// [MinTTL] and [MaxTTL]; zero means [DefaultTTL]. A bad ttl is a
// [*ValidationError] and nothing is sent.
//
// The call creates something, so it is retried only on 429 or when it never
// reached the server.
//
// https://docs.regulaforensics.com/develop/idv/integration/server-side-session-initiation
func (c *Client) CreateEphemeralDevice(ctx context.Context, ttl time.Duration) (*EphemeralDevice, error) {
	secs, err := ttlSeconds("ttl", ttl)
	if err != nil {
		return nil, err
	}
	sent := c.now()
	var out deviceResponse
	_, err = c.do(ctx, &httpx.Request{
		Method: http.MethodPost,
		Path:   httpx.Path("api", "device", "ephemeral"),
		JSON:   deviceRequest{TTL: secs},
	}, &out)
	if err != nil {
		return nil, err
	}
	d := &EphemeralDevice{Token: out.Authorization, ExpiresAt: out.ExpiresAt.Time}
	if d.ExpiresAt.IsZero() {
		d.ExpiresAt = sent.Add(time.Duration(secs) * time.Second)
	}
	return d, nil
}
