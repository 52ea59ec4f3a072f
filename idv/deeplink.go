package idv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// DeepLinkParams are the inputs of [Client.CreateDeepLink].
type DeepLinkParams struct {
	// WorkflowIDs are the workflows the link may start; at least one, each
	// sent as a repeated workflowId query parameter.
	WorkflowIDs []string
	// Metadata is free-form session metadata (nil is sent as {}); put your
	// user id in it with [WithExternalUserID].
	Metadata map[string]any
	// Locale is the language of the capture pages, such as "en"; empty sends
	// null, leaving the platform's default.
	Locale string
	// TTL is the link's lifetime: whole seconds between [MinTTL] and
	// [MaxTTL]; zero means [DefaultTTL].
	TTL time.Duration
}

// DeepLink is a link that starts a session on the person's device, created by
// [Client.CreateDeepLink]. The URL may carry a credential, so String, Format
// and LogValue print it without its query string.
type DeepLink struct {
	// URL is the link to hand to the person.
	URL string `json:"url"`
	// CreatedAt and ExpiresAt are the platform's timestamps; when absent,
	// CreatedAt is the client's clock when the request was sent and ExpiresAt
	// that time plus the TTL.
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// WorkflowIDs are the workflows the link may start, as the platform
	// echoed them (the requested ones when it did not).
	WorkflowIDs []string `json:"workflowIds"`
}

// String returns the link with the URL's query redacted.
func (d DeepLink) String() string {
	return fmt.Sprintf("idv.DeepLink{URL: %s, CreatedAt: %s, ExpiresAt: %s, WorkflowIDs: %q}",
		redactQuery(d.URL), d.CreatedAt.Format(time.RFC3339), d.ExpiresAt.Format(time.RFC3339), d.WorkflowIDs)
}

// GoString is String.
func (d DeepLink) GoString() string { return d.String() }

// Format prints String for every verb.
func (d DeepLink) Format(f fmt.State, verb rune) { formatSafe(f, verb, d.String(), d.GoString()) }

// LogValue returns the link with the URL's query redacted for log/slog.
func (d DeepLink) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", redactQuery(d.URL)), slog.Time("expires_at", d.ExpiresAt),
		slog.Any("workflow_ids", d.WorkflowIDs))
}

type deepLinkQuery struct {
	WorkflowIDs []string `url:"workflowId"`
}

type deepLinkRequest struct {
	Metadata map[string]any `json:"metadata"`
	Locale   *string        `json:"locale"`
	TTL      int64          `json:"ttl"`
}

type deepLinkResponse struct {
	URL         string       `json:"url"`
	CreatedAt   wireTime     `json:"createdAt"`
	ExpiresAt   wireTime     `json:"expiresAt"`
	WorkflowIDs []wireString `json:"workflowIds"`
}

func (r *deepLinkResponse) ValidateResponse() error {
	if r.URL == "" {
		return httpx.MissingField("url")
	}
	return nil
}

// CreateDeepLink creates a link that starts a session of one of
// p.WorkflowIDs on the person's device, in one call:
// POST /api/v1/deeplink?workflowId=a&workflowId=b
// {"metadata": {...}, "locale": null, "ttl": 3600}, authorised with the API
// key. Missing or empty workflow ids, a bad TTL, or metadata that cannot be
// encoded as JSON is a [*ValidationError] and nothing is sent. The call
// creates something, so it is retried only on 429 or when it never reached
// the server.
func (c *Client) CreateDeepLink(ctx context.Context, p DeepLinkParams) (*DeepLink, error) {
	if len(p.WorkflowIDs) == 0 {
		return nil, httpx.Invalid("workflow_ids", "is empty")
	}
	if len(p.WorkflowIDs) > MaxWorkflowIDs {
		return nil, httpx.Invalid("workflow_ids", fmt.Sprintf("has more than %d ids", MaxWorkflowIDs))
	}
	for i, id := range p.WorkflowIDs {
		if err := checkID("workflow_ids["+strconv.Itoa(i)+"]", id); err != nil {
			return nil, err
		}
	}
	secs, err := ttlSeconds("ttl", p.TTL)
	if err != nil {
		return nil, err
	}
	if err := checkMetadata(p.Metadata); err != nil {
		return nil, err
	}
	body := deepLinkRequest{Metadata: p.Metadata, TTL: secs}
	if body.Metadata == nil {
		body.Metadata = map[string]any{}
	}
	if p.Locale != "" {
		if err := checkText("locale", p.Locale, MaxLocaleLength); err != nil {
			return nil, err
		}
		locale := p.Locale
		body.Locale = &locale
	}
	sent := c.now()
	var out deepLinkResponse
	_, err = c.do(ctx, &httpx.Request{
		Method: http.MethodPost,
		Path:   httpx.Path("api", "v1", "deeplink"),
		Query:  deepLinkQuery{WorkflowIDs: p.WorkflowIDs},
		JSON:   body,
	}, &out)
	if err != nil {
		return nil, err
	}
	d := &DeepLink{URL: out.URL, CreatedAt: out.CreatedAt.Time, ExpiresAt: out.ExpiresAt.Time}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = sent
	}
	if d.ExpiresAt.IsZero() {
		d.ExpiresAt = sent.Add(time.Duration(secs) * time.Second)
	}
	for _, id := range out.WorkflowIDs {
		d.WorkflowIDs = append(d.WorkflowIDs, string(id))
	}
	if len(d.WorkflowIDs) == 0 {
		d.WorkflowIDs = append([]string(nil), p.WorkflowIDs...)
	}
	return d, nil
}
