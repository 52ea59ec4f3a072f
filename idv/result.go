package idv

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// SessionStatus is a session's status. The platform sends an integer code;
// the documented codes decode to the named constants below, and any other
// value is kept verbatim (an unknown code 7 is "7", a string is kept as
// sent), never rejected. A session without a status has the empty status.
//
// The meaning of each status is set by the workflow's author; the names are
// the vendor's suggested usage.
// https://docs.regulaforensics.com/develop/idv/integration/checking-results/session-statuses
type SessionStatus string

// The documented session statuses, with their wire codes.
const (
	// SessionStatusNotCompleted (code 0) is set when the session starts and
	// kept until the workflow sets another.
	SessionStatusNotCompleted SessionStatus = "not_completed"
	// SessionStatusNotVerified (code 1): the data failed the workflow's checks.
	SessionStatusNotVerified SessionStatus = "not_verified"
	// SessionStatusVerified (code 2): the data passed the workflow's checks.
	SessionStatusVerified SessionStatus = "verified"
	// SessionStatusApproved (code 3): a human operator approved the session.
	SessionStatusApproved SessionStatus = "approved"
	// SessionStatusPending (code 4): more input or a manual review is needed.
	SessionStatusPending SessionStatus = "pending"
	// SessionStatusRejected (code 1000): a human operator rejected the session.
	SessionStatusRejected SessionStatus = "rejected"
)

var statusByCode = map[int]SessionStatus{
	0:    SessionStatusNotCompleted,
	1:    SessionStatusNotVerified,
	2:    SessionStatusVerified,
	3:    SessionStatusApproved,
	4:    SessionStatusPending,
	1000: SessionStatusRejected,
}

// Known reports whether s is one of the documented statuses.
func (s SessionStatus) Known() bool {
	for _, st := range statusByCode {
		if st == s {
			return true
		}
	}
	return false
}

// Code returns the wire code of s: the documented code of a named status, or
// the number of a status kept verbatim from an unknown code. ok is false for
// any other status.
func (s SessionStatus) Code() (code int, ok bool) {
	for c, st := range statusByCode {
		if st == s {
			return c, true
		}
	}
	if isDigits(string(s)) {
		n, err := strconv.Atoi(string(s))
		if err != nil {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// UnmarshalJSON decodes an integer code into its named status, and keeps an
// unknown code or a string verbatim.
func (s *SessionStatus) UnmarshalJSON(b []byte) error {
	var w wireString
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '"' {
		if n, err := strconv.Atoi(string(w)); err == nil {
			if named, ok := statusByCode[n]; ok {
				*s = named
				return nil
			}
		}
	}
	*s = SessionStatus(w)
	return nil
}

// SessionResult is a session read back with [Client.GetSession]: the typed
// status plus the raw data the workflow collected.
type SessionResult struct {
	// ID is the session id.
	ID string `json:"id"`
	// WorkflowID is the session's workflow (workflowId; assumed name), if sent.
	WorkflowID string `json:"workflowId,omitempty"`
	// Status is the session's status.
	Status SessionStatus `json:"status"`
	// Properties is the structured data collected during the session (the
	// "properties" object), raw, or nil when absent.
	Properties json.RawMessage `json:"properties,omitempty"`
	// Metadata is the metadata the session was started with (assumed field
	// "metadata"), such as [MetadataExternalUserID].
	Metadata map[string]any `json:"metadata,omitempty"`
	// CreatedAt and UpdatedAt are the createdAt and updatedAt fields
	// (assumed names), zero when absent.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Raw is the whole session object as sent, with files and anything else
	// the workflow stored.
	Raw json.RawMessage `json:"-"`
}

type resultResponse struct {
	ID         wireString      `json:"id"`
	WorkflowID wireString      `json:"workflowId"`
	Status     SessionStatus   `json:"status"`
	Properties json.RawMessage `json:"properties"`
	Metadata   map[string]any  `json:"metadata"`
	CreatedAt  wireTime        `json:"createdAt"`
	UpdatedAt  wireTime        `json:"updatedAt"`
	raw        json.RawMessage
}

func (r *resultResponse) UnmarshalJSON(b []byte) error {
	type plain resultResponse
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = resultResponse(p)
	r.raw = cloneRaw(b)
	return nil
}

func (r *resultResponse) ValidateResponse() error {
	if r.ID == "" {
		return httpx.MissingField("id")
	}
	return nil
}

// GetSession reads session id with its status and collected data:
// GET /api/sessions/{id}, authorised with the API key (permission "All
// Sessions: Read"). The id is escaped as one path segment. An unknown id
// gives an [*APIError] matching [ErrNotFound]. GET is retried on 429, 502,
// 503, 504 and connection errors.
//
// https://docs.regulaforensics.com/develop/idv/integration/checking-results/session-data-via-api
func (c *Client) GetSession(ctx context.Context, id string) (*SessionResult, error) {
	if err := checkID("session_id", id); err != nil {
		return nil, err
	}
	var out resultResponse
	_, err := c.do(ctx, &httpx.Request{Path: httpx.Path("api", "sessions", id)}, &out)
	if err != nil {
		return nil, err
	}
	props := out.Properties
	if bytes.Equal(bytes.TrimSpace(props), jsonNull) {
		props = nil
	}
	return &SessionResult{
		ID:         string(out.ID),
		WorkflowID: string(out.WorkflowID),
		Status:     out.Status,
		Properties: cloneRaw(props),
		Metadata:   out.Metadata,
		CreatedAt:  out.CreatedAt.Time,
		UpdatedAt:  out.UpdatedAt.Time,
		Raw:        out.raw,
	}, nil
}
