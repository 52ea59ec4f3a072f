package idv

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// DeviceTokenScheme is put before a device token that has no scheme of its
// own when it authorises [Client.StartSession]: "Authorization: Token <token>".
// A token that already contains a space ("Bearer abc") is sent as given.
//
// Assumed: the vendor's example sends the token as issued; its authorization
// page names the "Token" scheme for short-lived device tokens.
const DeviceTokenScheme = "Token"

// MetadataExternalUserID is the session metadata key that links a session to
// your own user id.
const MetadataExternalUserID = "externalUserId"

// WithExternalUserID returns a copy of metadata with [MetadataExternalUserID]
// set to id, for [Client.StartSession]. The caller's map is never modified;
// a nil map gives a new one.
func WithExternalUserID(metadata map[string]any, id string) map[string]any {
	out := make(map[string]any, len(metadata)+1)
	maps.Copy(out, metadata)
	out[MetadataExternalUserID] = id
	return out
}

// Session is a started verification session.
type Session struct {
	// ID is the platform's session id (the "id" field; assumed name).
	ID string `json:"id"`
	// WorkflowID is the workflow the session runs: the answer's workflowId
	// when present, else the one requested.
	WorkflowID string `json:"workflowId"`
	// CreatedAt is the answer's createdAt when present, else the client's
	// clock when the request was sent.
	CreatedAt time.Time `json:"createdAt"`
	// Raw is the session object exactly as the platform sent it.
	Raw json.RawMessage `json:"-"`
}

type sessionRequest struct {
	Metadata map[string]any `json:"metadata"`
}

type sessionQuery struct {
	WorkflowID string `url:"workflowId"`
}

// sessionResponse is the session object; id is required.
type sessionResponse struct {
	ID         wireString `json:"id"`
	WorkflowID wireString `json:"workflowId"`
	CreatedAt  wireTime   `json:"createdAt"`
	raw        json.RawMessage
}

func (s *sessionResponse) UnmarshalJSON(b []byte) error {
	type plain sessionResponse
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = sessionResponse(p)
	s.raw = cloneRaw(b)
	return nil
}

func (s *sessionResponse) ValidateResponse() error {
	if s.ID == "" {
		return httpx.MissingField("id")
	}
	if checkID("id", string(s.ID)) != nil {
		return badField("id")
	}
	return nil
}

// deviceAuth returns the Authorization value for a device token.
func deviceAuth(token string) string {
	if strings.Contains(token, " ") {
		return token
	}
	return DeviceTokenScheme + " " + token
}

// StartSession starts a session of workflowID for the person holding device:
// POST /api/sessions?workflowId=<id> {"metadata": {...}}, authorised with the
// device token, not the API key. metadata is free-form; put your user id in
// it with [WithExternalUserID]. nil metadata is sent as {}.
//
// A nil device, an empty token, a device whose ExpiresAt has passed on the
// client's clock, an empty workflowID or metadata that cannot be encoded as
// JSON is a [*ValidationError] and nothing is sent. A token the platform
// no longer accepts gives an [*APIError] matching [ErrUnauthorized]. The
// token never appears in an error.
//
// The call creates a session, so it is retried only on 429 or when it never
// reached the server.
//
// https://docs.regulaforensics.com/develop/idv/integration/server-side-session-initiation
func (c *Client) StartSession(ctx context.Context, device *EphemeralDevice, workflowID string, metadata map[string]any) (*Session, error) {
	if err := c.checkDevice(device); err != nil {
		return nil, err
	}
	if err := checkID("workflow_id", workflowID); err != nil {
		return nil, err
	}
	if err := checkMetadata(metadata); err != nil {
		return nil, err
	}
	if metadata == nil {
		metadata = map[string]any{}
	}
	sent := c.now()
	auth := deviceAuth(device.Token)
	var out sessionResponse
	_, err := c.do(ctx, &httpx.Request{
		Method:  http.MethodPost,
		Path:    httpx.Path("api", "sessions"),
		Query:   sessionQuery{WorkflowID: workflowID},
		JSON:    sessionRequest{Metadata: metadata},
		Auth:    func(h http.Header) { h.Set("Authorization", auth) },
		Secrets: []string{device.Token},
	}, &out)
	if err != nil {
		return nil, err
	}
	s := &Session{ID: string(out.ID), WorkflowID: string(out.WorkflowID), CreatedAt: out.CreatedAt.Time, Raw: out.raw}
	if s.WorkflowID == "" {
		s.WorkflowID = workflowID
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = sent
	}
	return s, nil
}

// checkDevice refuses a device that cannot authorise a call.
func (c *Client) checkDevice(d *EphemeralDevice) error {
	if d == nil {
		return httpx.Invalid("device", "is nil")
	}
	if err := checkHeaderValue("device.token", d.Token); err != nil {
		return err
	}
	if !d.ExpiresAt.IsZero() && !c.now().Before(d.ExpiresAt) {
		return httpx.Invalid("device.expires_at", "the device token has expired; create a new device")
	}
	return nil
}
