package entrupy

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Customer support routes, written as net/http ServeMux patterns. Entrupy
// does not publish them: all three are **assumed**, kept here and nowhere
// else, together with the field names of the types below.
const (
	// RouteListSupportMessages lists an item's support messages:
	// GET /v2/authentications/{entrupy_id}/support/messages?cursor=&limit=.
	RouteListSupportMessages = "GET /v2/authentications/{entrupy_id}/support/messages"
	// RoutePostSupportMessage posts the user's reply:
	// POST /v2/authentications/{entrupy_id}/support/messages {"text" | "response_id"}.
	RoutePostSupportMessage = "POST /v2/authentications/{entrupy_id}/support/messages"
	// RouteEscalate escalates an item to Entrupy's support team:
	// POST /v2/support/escalations {"entrupy_id", "customer_item_id", "reason"}.
	RouteEscalate = "POST /v2/support/escalations"
)

// MessageSender tells who wrote a support message. Values other than the
// constants are kept verbatim.
type MessageSender string

// Senders of support messages (**assumed** wire values of "sender").
const (
	// SenderEntrupy marks a message from Entrupy's support team.
	SenderEntrupy MessageSender = "entrupy"
	// SenderUser marks a message from your user (a reply).
	SenderUser MessageSender = "user"
)

// Message is one support message about an item. Field names are **assumed**:
// "id", "sender", "text", "response_id", "created_at" (Unix seconds or RFC 3339).
type Message struct {
	// ID is Entrupy's id for the message.
	ID string `json:"id"`
	// Sender says who wrote it.
	Sender MessageSender `json:"sender,omitempty"`
	// Text is the message text (for a structured reply, the chosen
	// response's text when Entrupy echoes it).
	Text string `json:"text,omitempty"`
	// ResponseID is the structured response the user chose, for a reply
	// made with one.
	ResponseID string `json:"response_id,omitempty"`
	// CreatedAt is when the message was written; zero if Entrupy sent none.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// UnmarshalJSON decodes a message, accepting created_at as Unix seconds or
// an RFC 3339 string.
func (m *Message) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	type plain Message
	var aux struct {
		plain
		CreatedAt timestamp `json:"created_at"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return wireField(err)
	}
	*m = Message(aux.plain)
	m.CreatedAt = time.Time(aux.CreatedAt)
	return nil
}

// StructuredResponse is a canned answer Entrupy offers the user for the
// current support question; reply with its ID in SupportReplyParams.ResponseID.
// Field names "id" and "text" are **assumed**.
type StructuredResponse struct {
	// ID identifies the response.
	ID string `json:"id"`
	// Text is what to show the user.
	Text string `json:"text"`
}

// SupportMessagePage is one page of an item's support conversation.
type SupportMessagePage struct {
	// Messages are the messages on this page, oldest first.
	Messages []Message `json:"messages"`
	// StructuredResponses are the canned answers currently offered; empty
	// when the user should answer in free text.
	StructuredResponses []StructuredResponse `json:"structured_responses"`
	// NextCursor, when not empty, fetches the next page
	// (ListSupportMessagesOptions.Cursor); empty on the last page.
	NextCursor string `json:"next_cursor"`
}

// ValidateResponse requires the "messages" array (it may be empty).
func (p *SupportMessagePage) ValidateResponse() error {
	if p.Messages == nil {
		return httpx.MissingField("messages")
	}
	return nil
}

// ListSupportMessagesOptions are the optional query parameters of
// [Client.ListSupportMessages]; nil means the first page with Entrupy's
// default size.
type ListSupportMessagesOptions struct {
	// Cursor is SupportMessagePage.NextCursor from the previous page.
	Cursor string `url:"cursor,omitempty"`
	// Limit is the page size; 0 means Entrupy's default. It must not be negative.
	Limit int `url:"limit,omitempty"`
}

// ListSupportMessages returns one page of the support conversation about
// the item entrupyID, with the structured responses currently offered
// (GET on [RouteListSupportMessages], **assumed**). Follow NextCursor for
// more pages.
func (c *Client) ListSupportMessages(ctx context.Context, entrupyID string, opts *ListSupportMessagesOptions) (*SupportMessagePage, error) {
	if err := validateID("entrupy_id", entrupyID); err != nil {
		return nil, err
	}
	req := &httpx.Request{}
	if opts != nil {
		if opts.Limit < 0 {
			return nil, httpx.Invalid("limit", "must not be negative")
		}
		if err := checkText("cursor", opts.Cursor, MaxCursorLength); err != nil {
			return nil, err
		}
		req.Query = opts
	}
	req.Method, req.Path = route(RouteListSupportMessages, entrupyID)
	var out SupportMessagePage
	if _, err := c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SupportReplyParams is the user's reply: exactly one of Text (free text)
// and ResponseID (a StructuredResponse.ID) must be set.
type SupportReplyParams struct {
	// Text is a free-text reply.
	Text string `json:"text,omitempty"`
	// ResponseID picks one of the offered structured responses.
	ResponseID string `json:"response_id,omitempty"`
}

// Validate checks that exactly one of Text and ResponseID is set (text
// made only of spaces counts as unset), that Text is at most
// [MaxTextLength] bytes of valid UTF-8, and that ResponseID is an id of at
// most [MaxIDLength] bytes.
func (p SupportReplyParams) Validate() error {
	hasText, hasID := strings.TrimSpace(p.Text) != "", strings.TrimSpace(p.ResponseID) != ""
	switch {
	case hasText && hasID:
		return httpx.Invalid("text", "give either text or response_id, not both")
	case !hasText && !hasID:
		return httpx.Invalid("text", "give text or response_id")
	case hasText:
		return checkText("text", p.Text, MaxTextLength)
	}
	return validateID("response_id", p.ResponseID)
}

// PostSupportMessage posts the user's reply to the support conversation
// about entrupyID (POST on [RoutePostSupportMessage], **assumed**) and
// returns the stored message. If Entrupy answers 2xx with no body, the
// returned Message holds only what was sent (no ID).
//
// It is not retried after it may have reached Entrupy, so a reply is never
// posted twice by the client.
func (c *Client) PostSupportMessage(ctx context.Context, entrupyID string, p SupportReplyParams) (*Message, error) {
	if err := validateID("entrupy_id", entrupyID); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	method, path := route(RoutePostSupportMessage, entrupyID)
	var raw []byte
	resp, err := c.do(ctx, &httpx.Request{Method: method, Path: path, JSON: p}, &raw)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return &Message{Sender: SenderUser, Text: p.Text, ResponseID: p.ResponseID}, nil
	}
	var m Message
	if err := httpx.DecodeJSON(raw, &m); err != nil {
		return nil, c.decodeFailure(method, path, resp.StatusCode, err)
	}
	if m.ID == "" {
		return nil, c.decodeFailure(method, path, resp.StatusCode, httpx.MissingField("id"))
	}
	return &m, nil
}

// EscalationParams is the body of [Client.Escalate]; all fields are required.
type EscalationParams struct {
	// EntrupyID is Entrupy's id of the item.
	EntrupyID string `json:"entrupy_id"`
	// CustomerItemID is your id of the item.
	CustomerItemID string `json:"customer_item_id"`
	// Reason says why the user asks for a human.
	Reason string `json:"reason"`
}

// Validate checks that every field is set, the ids as ids of at most
// [MaxIDLength] bytes and Reason as at most [MaxTextLength] bytes of text.
func (p EscalationParams) Validate() error {
	if err := validateID("entrupy_id", p.EntrupyID); err != nil {
		return err
	}
	if err := validateID("customer_item_id", p.CustomerItemID); err != nil {
		return err
	}
	if strings.TrimSpace(p.Reason) == "" {
		return httpx.Invalid("reason", "is empty")
	}
	return checkText("reason", p.Reason, MaxTextLength)
}

// EscalationStatus is the state of an escalation; values are kept verbatim.
type EscalationStatus string

// EscalationOpen is the status of a new escalation (**assumed** wire value).
const EscalationOpen EscalationStatus = "open"

// Escalation is an item handed to Entrupy's support team. Field names are
// **assumed**: "id", "entrupy_id", "customer_item_id", "reason", "status",
// "created_at".
type Escalation struct {
	// ID is Entrupy's id for the escalation.
	ID string `json:"id"`
	// EntrupyID is Entrupy's id of the item.
	EntrupyID string `json:"entrupy_id"`
	// CustomerItemID is your id of the item.
	CustomerItemID string `json:"customer_item_id"`
	// Reason is the reason given.
	Reason string `json:"reason,omitempty"`
	// Status is the escalation's state, such as [EscalationOpen].
	Status EscalationStatus `json:"status,omitempty"`
	// CreatedAt is when it was opened; zero if Entrupy sent none.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// UnmarshalJSON decodes an escalation, accepting created_at as Unix
// seconds or an RFC 3339 string.
func (e *Escalation) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	type plain Escalation
	var aux struct {
		plain
		CreatedAt timestamp `json:"created_at"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return wireField(err)
	}
	*e = Escalation(aux.plain)
	e.CreatedAt = time.Time(aux.CreatedAt)
	return nil
}

// ValidateResponse requires the escalation's "id".
func (e *Escalation) ValidateResponse() error {
	if e.ID == "" {
		return httpx.MissingField("id")
	}
	return nil
}

// Escalate hands the item to Entrupy's support team (POST on
// [RouteEscalate], **assumed**). It is not retried after it may have reached
// Entrupy, so an item is never escalated twice by the client.
func (c *Client) Escalate(ctx context.Context, p EscalationParams) (*Escalation, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	method, path := route(RouteEscalate)
	var out Escalation
	if _, err := c.do(ctx, &httpx.Request{Method: method, Path: path, JSON: p}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
