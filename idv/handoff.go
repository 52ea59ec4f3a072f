package idv

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Handoff URL query parameter names.
const (
	// HandoffURLParam is the /capture page's parameter holding the inner URL.
	HandoffURLParam = "url"
	// HandoffTokenParam is the inner /mobile URL's parameter holding the
	// device token.
	HandoffTokenParam = "authorization"
	// HandoffSessionParam is the inner /mobile URL's parameter holding the
	// session id.
	HandoffSessionParam = "sessionId"
)

// RedactedValue replaces a device token in a URL printed by
// [RedactHandoffURL] (no brackets, so it stays readable once URL-encoded).
const RedactedValue = "REDACTED"

// BuildHandoffURL returns the URL that hands a started session over to the
// person's phone or browser:
//
//	https://HOST/capture?url=<URL-encoded https://HOST/mobile?authorization=TOKEN&sessionId=ID>
//
// The capture and mobile pages are resolved against baseURL like the API
// routes, so a base URL with a path prefix keeps it
// (https://HOST/idv/capture?...), and the base URL's scheme is kept (http
// only for a local fake). The URL is built with net/url: the inner values are
// query-escaped and the whole inner URL is escaped again as the outer value,
// so a token or id holding &, =, +, %, spaces or any Unicode decodes back
// exactly.
//
// token and sessionID must be non-empty valid UTF-8 without control
// characters, at most [MaxTokenLength] and [MaxIDLength] bytes, and baseURL
// an absolute http(s) URL; anything else is a [*ValidationError] (invalid UTF-8 is refused rather than passed through as
// bytes, since a browser would not hand it back intact).
//
// The result contains the device token: hand it only to the person the
// session is for. Use [RedactHandoffURL] to print or log it.
//
// https://docs.regulaforensics.com/develop/idv/integration/server-side-session-initiation
func BuildHandoffURL(baseURL, token, sessionID string) (string, error) {
	base, err := httpx.ParseBaseURL(baseURL, false)
	if err != nil {
		return "", err
	}
	return buildHandoffURL(base, token, sessionID)
}

func buildHandoffURL(base *url.URL, token, sessionID string) (string, error) {
	if err := checkText("token", token, MaxTokenLength); err != nil {
		return "", err
	}
	if err := checkID("session_id", sessionID); err != nil {
		return "", err
	}
	inner := base.ResolveReference(&url.URL{Path: "mobile"})
	inner.RawQuery = url.Values{HandoffTokenParam: {token}, HandoffSessionParam: {sessionID}}.Encode()
	outer := base.ResolveReference(&url.URL{Path: "capture"})
	outer.RawQuery = url.Values{HandoffURLParam: {inner.String()}}.Encode()
	return outer.String(), nil
}

// HandoffURL builds the handoff URL for session on the client's own host (see
// [BuildHandoffURL]). A nil device or session, an empty token or session id
// is a [*ValidationError]. It makes no network call.
func (c *Client) HandoffURL(device *EphemeralDevice, session *Session) (string, error) {
	if err := c.usable(); err != nil {
		return "", err
	}
	if device == nil {
		return "", httpx.Invalid("device", "is nil")
	}
	if session == nil {
		return "", httpx.Invalid("session", "is nil")
	}
	return buildHandoffURL(c.base, device.Token, session.ID)
}

// RedactHandoffURL returns a handoff URL fit for printing and logs: still a
// valid URL of the same shape, with the inner authorization value replaced by
// [RedactedValue] and every inner parameter other than sessionId dropped.
// Text that is not a handoff URL loses its whole query (and any user info or
// fragment); text that is not a URL at all becomes [REDACTED].
func RedactHandoffURL(handoffURL string) string {
	if handoffURL == "" {
		return ""
	}
	outer, err := url.Parse(handoffURL)
	if err != nil {
		return redacted
	}
	outer.User = nil
	outer.Fragment, outer.RawFragment = "", ""
	q, qerr := url.ParseQuery(outer.RawQuery)
	rawInner := q[HandoffURLParam]
	if qerr != nil || len(q) != 1 || len(rawInner) != 1 {
		return redactQuery(outer.String())
	}
	inner, err := url.Parse(rawInner[0])
	if err != nil {
		return redactQuery(outer.String())
	}
	inner.User = nil
	inner.Fragment, inner.RawFragment = "", ""
	iq, _ := url.ParseQuery(inner.RawQuery)
	safe := url.Values{}
	if _, ok := iq[HandoffTokenParam]; ok {
		safe.Set(HandoffTokenParam, RedactedValue)
	}
	if ids, ok := iq[HandoffSessionParam]; ok && len(ids) == 1 {
		safe.Set(HandoffSessionParam, ids[0])
	}
	inner.RawQuery = safe.Encode()
	outer.RawQuery = url.Values{HandoffURLParam: {inner.String()}}.Encode()
	return outer.String()
}

// InitiateParams are the inputs of [Client.Initiate].
type InitiateParams struct {
	// WorkflowID is the workflow to run; required.
	WorkflowID string
	// ExternalUserID is your user id, put in the session metadata under
	// [MetadataExternalUserID] (overriding a value in Metadata). Optional.
	ExternalUserID string
	// Metadata is free-form session metadata; it is copied, never modified.
	Metadata map[string]any
	// TTL is the device token's lifetime: whole seconds between [MinTTL] and
	// [MaxTTL]; zero means [DefaultTTL].
	TTL time.Duration
}

// Handoff is what [Client.Initiate] returns: the device, the session, and
// the URL to hand to the person's phone or browser.
//
// URL holds the device token, so String, GoString, Format and LogValue print
// it through [RedactHandoffURL] and the device with its token redacted; the
// fields themselves are plain.
type Handoff struct {
	// Device is the ephemeral device whose token authorises the session.
	Device *EphemeralDevice `json:"device"`
	// Session is the started session.
	Session *Session `json:"session"`
	// URL is the handoff URL (see [BuildHandoffURL]); it contains the token.
	URL string `json:"url"`
}

// String returns the handoff with the token redacted everywhere.
func (h Handoff) String() string {
	id, wf := "", ""
	if h.Session != nil {
		id, wf = h.Session.ID, h.Session.WorkflowID
	}
	dev := "<nil>"
	if h.Device != nil {
		dev = h.Device.String()
	}
	return fmt.Sprintf("idv.Handoff{SessionID: %q, WorkflowID: %q, Device: %s, URL: %s}", id, wf, dev, RedactHandoffURL(h.URL))
}

// GoString is String.
func (h Handoff) GoString() string { return h.String() }

// Format prints String for every verb.
func (h Handoff) Format(f fmt.State, verb rune) { formatSafe(f, verb, h.String(), h.GoString()) }

// LogValue returns the handoff with the token redacted for log/slog.
func (h Handoff) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("url", RedactHandoffURL(h.URL))}
	if h.Session != nil {
		attrs = append(attrs, slog.String("session_id", h.Session.ID))
	}
	if h.Device != nil {
		attrs = append(attrs, slog.Any("device", h.Device.LogValue()))
	}
	return slog.GroupValue(attrs...)
}

// Initiate does the whole server-side dance in one call: it creates an
// ephemeral device (API key), starts a session of p.WorkflowID with the
// device token and the metadata (plus externalUserId), and builds the
// handoff URL. Every input is checked before the first call.
//
// If the session cannot be started, the error is returned and the device is
// left to expire on its own (it can see nothing but its own data).
func (c *Client) Initiate(ctx context.Context, p InitiateParams) (*Handoff, error) {
	if err := checkID("workflow_id", p.WorkflowID); err != nil {
		return nil, err
	}
	if _, err := ttlSeconds("ttl", p.TTL); err != nil {
		return nil, err
	}
	metadata := p.Metadata
	if p.ExternalUserID != "" {
		if err := checkID("external_user_id", p.ExternalUserID); err != nil {
			return nil, err
		}
		metadata = WithExternalUserID(metadata, p.ExternalUserID)
	}
	if err := checkMetadata(metadata); err != nil {
		return nil, err
	}
	device, err := c.CreateEphemeralDevice(ctx, p.TTL)
	if err != nil {
		return nil, err
	}
	session, err := c.StartSession(ctx, device, p.WorkflowID, metadata)
	if err != nil {
		return nil, err
	}
	u, err := c.HandoffURL(device, session)
	if err != nil {
		return nil, err
	}
	return &Handoff{Device: device, Session: session, URL: u}, nil
}
