package entrupy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

const messagesURL = testBase + "v2/authentications/ent_1/support/messages"

func TestClient_ListSupportMessages(t *testing.T) {
	c, mt := newMock(t)
	var query string
	mt.RegisterResponder(http.MethodGet, messagesURL, func(r *http.Request) (*http.Response, error) {
		query = r.URL.RawQuery
		return jsonResponder(200, `{
			"messages": [
				{"id":"m1","sender":"entrupy","text":"Please photograph the serial tag.","created_at":1772366400},
				{"id":"m2","sender":"user","text":"Done","response_id":"r1","created_at":"2026-03-01T12:30:00Z"},
				{"id":"m3","sender":"agent","text":"Thanks"}
			],
			"structured_responses": [{"id":"r1","text":"Done"},{"id":"r2","text":"I cannot"}],
			"next_cursor": "abc",
			"unknown_field": true
		}`)(r)
	})
	page, err := c.ListSupportMessages(context.Background(), "ent_1", &entrupy.ListSupportMessagesOptions{Cursor: "c/1 2", Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, "cursor=c%2F1+2&limit=2", query)
	assert.Equal(t, []entrupy.Message{
		{ID: "m1", Sender: entrupy.SenderEntrupy, Text: "Please photograph the serial tag.", CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{ID: "m2", Sender: entrupy.SenderUser, Text: "Done", ResponseID: "r1", CreatedAt: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)},
		{ID: "m3", Sender: "agent", Text: "Thanks"},
	}, page.Messages)
	assert.Equal(t, []entrupy.StructuredResponse{{ID: "r1", Text: "Done"}, {ID: "r2", Text: "I cannot"}}, page.StructuredResponses)
	assert.Equal(t, "abc", page.NextCursor)
}

func TestClient_ListSupportMessages_NoOptionsNoQuery(t *testing.T) {
	for _, opts := range []*entrupy.ListSupportMessagesOptions{nil, {}} {
		c, mt := newMock(t)
		query := "unset"
		mt.RegisterResponder(http.MethodGet, messagesURL, func(r *http.Request) (*http.Response, error) {
			query = r.URL.RawQuery
			return jsonResponder(200, `{"messages":[]}`)(r)
		})
		page, err := c.ListSupportMessages(context.Background(), "ent_1", opts)
		require.NoError(t, err)
		assert.Equal(t, "", query)
		assert.Empty(t, page.Messages)
		assert.Equal(t, "", page.NextCursor)
	}
}

func TestClient_ListSupportMessages_EscapesID(t *testing.T) {
	c, mt := newMock(t)
	var rawPath string
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		rawPath = r.URL.EscapedPath()
		return jsonResponder(200, `{"messages":[]}`)(r)
	})
	for id, want := range map[string]string{
		"a/b": "/api/v2/authentications/a%2Fb/support/messages",
		"..":  "/api/v2/authentications/%2E%2E/support/messages",
		"a?b": "/api/v2/authentications/a%3Fb/support/messages",
	} {
		_, err := c.ListSupportMessages(context.Background(), id, nil)
		require.NoError(t, err)
		assert.Equal(t, want, rawPath, id)
	}
}

func TestClient_ListSupportMessages_Invalid(t *testing.T) {
	c, _ := newMock(t)
	tests := []struct {
		id    string
		opts  *entrupy.ListSupportMessagesOptions
		field string
	}{
		{"", nil, "entrupy_id"},
		{"  ", nil, "entrupy_id"},
		{" ent_1", nil, "entrupy_id"},
		{"ent\n1", nil, "entrupy_id"},
		{string(make([]byte, 300)), nil, "entrupy_id"},
		{strings.Repeat("e", 100<<10), nil, "entrupy_id"},
		{"ent\xff1", nil, "entrupy_id"},
		{"ent_1", &entrupy.ListSupportMessagesOptions{Limit: -1}, "limit"},
		{"ent_1", &entrupy.ListSupportMessagesOptions{Cursor: strings.Repeat("c", 100<<10)}, "cursor"},
	}
	for _, tt := range tests {
		_, err := c.ListSupportMessages(context.Background(), tt.id, tt.opts)
		var ve *entrupy.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tt.field, ve.Field)
	}
}

func TestClient_PostSupportMessage(t *testing.T) {
	tests := []struct {
		name   string
		params entrupy.SupportReplyParams
		body   map[string]any
	}{
		{"free text", entrupy.SupportReplyParams{Text: "It was a gift."}, map[string]any{"text": "It was a gift."}},
		{"structured response", entrupy.SupportReplyParams{ResponseID: "r2"}, map[string]any{"response_id": "r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mt := newMock(t)
			var body map[string]any
			mt.RegisterResponder(http.MethodPost, messagesURL, func(r *http.Request) (*http.Response, error) {
				body = readJSONBody(t, r)
				return jsonResponder(201, `{"id":"m9","sender":"user","text":"stored","response_id":"r2","created_at":1772366400}`)(r)
			})
			m, err := c.PostSupportMessage(context.Background(), "ent_1", tt.params)
			require.NoError(t, err)
			assert.Equal(t, tt.body, body)
			assert.Equal(t, &entrupy.Message{ID: "m9", Sender: entrupy.SenderUser, Text: "stored", ResponseID: "r2",
				CreatedAt: time.Unix(1772366400, 0).UTC()}, m)
		})
	}
}

func TestClient_PostSupportMessage_NoContent(t *testing.T) {
	c, mt := newMock(t)
	mt.RegisterResponder(http.MethodPost, messagesURL, httpmock.NewStringResponder(http.StatusNoContent, ""))
	m, err := c.PostSupportMessage(context.Background(), "ent_1", entrupy.SupportReplyParams{ResponseID: "r1"})
	require.NoError(t, err)
	assert.Equal(t, &entrupy.Message{Sender: entrupy.SenderUser, ResponseID: "r1"}, m)
}

func TestClient_PostSupportMessage_Invalid(t *testing.T) {
	c, _ := newMock(t)
	tests := []struct {
		id     string
		params entrupy.SupportReplyParams
		field  string
	}{
		{"ent_1", entrupy.SupportReplyParams{}, "text"},
		{"ent_1", entrupy.SupportReplyParams{Text: "   "}, "text"},
		{"ent_1", entrupy.SupportReplyParams{Text: "hi", ResponseID: "r1"}, "text"},
		{"", entrupy.SupportReplyParams{Text: "hi"}, "entrupy_id"},
		{"ent_1", entrupy.SupportReplyParams{Text: strings.Repeat("t", 100<<10)}, "text"},
		{"ent_1", entrupy.SupportReplyParams{Text: "bad \xff utf8"}, "text"},
		{"ent_1", entrupy.SupportReplyParams{ResponseID: strings.Repeat("r", 100<<10)}, "response_id"},
	}
	for _, tt := range tests {
		_, err := c.PostSupportMessage(context.Background(), tt.id, tt.params)
		var ve *entrupy.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tt.field, ve.Field)
		assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
		assert.Less(t, len(err.Error()), 200, "an error never carries an input")
	}
	// Multi-line text at the bound is fine.
	assert.NoError(t, entrupy.SupportReplyParams{Text: "line 1\nline 2\t" + strings.Repeat("x", entrupy.MaxTextLength-15)}.Validate())
}

func TestClient_Escalate(t *testing.T) {
	c, mt := newMock(t)
	var body map[string]any
	mt.RegisterResponder(http.MethodPost, testBase+"v2/support/escalations", func(r *http.Request) (*http.Response, error) {
		body = readJSONBody(t, r)
		return jsonResponder(201, `{"id":"esc_7","entrupy_id":"ent_1","customer_item_id":"sku-1","reason":"disputed",
			"status":"open","created_at":"2026-03-01T12:00:00Z"}`)(r)
	})
	e, err := c.Escalate(context.Background(), entrupy.EscalationParams{EntrupyID: "ent_1", CustomerItemID: "sku-1", Reason: "disputed"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"entrupy_id": "ent_1", "customer_item_id": "sku-1", "reason": "disputed"}, body)
	assert.Equal(t, &entrupy.Escalation{ID: "esc_7", EntrupyID: "ent_1", CustomerItemID: "sku-1", Reason: "disputed",
		Status: entrupy.EscalationOpen, CreatedAt: fixedNow}, e)
}

func TestClient_Escalate_Invalid(t *testing.T) {
	c, _ := newMock(t)
	ok := entrupy.EscalationParams{EntrupyID: "ent_1", CustomerItemID: "sku-1", Reason: "disputed"}
	tests := []struct {
		edit  func(*entrupy.EscalationParams)
		field string
	}{
		{func(p *entrupy.EscalationParams) { p.EntrupyID = "" }, "entrupy_id"},
		{func(p *entrupy.EscalationParams) { p.CustomerItemID = "" }, "customer_item_id"},
		{func(p *entrupy.EscalationParams) { p.Reason = " " }, "reason"},
		{func(p *entrupy.EscalationParams) { p.Reason = strings.Repeat("r", 100<<10) }, "reason"},
		{func(p *entrupy.EscalationParams) { p.CustomerItemID = strings.Repeat("c", 100<<10) }, "customer_item_id"},
	}
	for _, tt := range tests {
		p := ok
		tt.edit(&p)
		_, err := c.Escalate(context.Background(), p)
		var ve *entrupy.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tt.field, ve.Field)
	}
}
