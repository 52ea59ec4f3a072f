package entrupy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

func TestClient_GetAuthentication(t *testing.T) {
	tests := []struct {
		name string
		body string
		want entrupy.Authentication
	}{
		{
			"flat strings",
			`{"entrupy_id":"ent_1","customer_item_id":"sku-1","status":"completed","result":"authentic",
			  "certificate_url":"https://cert.test/c/1","brand":"Louis Vuitton","created_at":1772366400,"completed_at":"2026-03-01T13:00:00Z","extra":{"a":1}}`,
			entrupy.Authentication{EntrupyID: "ent_1", CustomerItemID: "sku-1", Status: entrupy.StatusCompleted, Result: entrupy.ResultAuthentic,
				CertificateURL: "https://cert.test/c/1", Brand: "Louis Vuitton", CreatedAt: fixedNow, CompletedAt: fixedNow.Add(time.Hour)},
		},
		{
			"status and result as objects with id",
			`{"entrupy_id":"ent_2","status":{"id":"needs_review","label":"Needs review"},"result":{"id":"unidentified"}}`,
			entrupy.Authentication{EntrupyID: "ent_2", Status: entrupy.StatusNeedsReview, Result: entrupy.ResultUnidentified},
		},
		{
			"unknown values kept, nulls empty",
			`{"entrupy_id":"ent_3","status":"on_hold","result":null,"certificate_url":null}`,
			entrupy.Authentication{EntrupyID: "ent_3", Status: "on_hold"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mt := newMock(t)
			mt.RegisterResponder(http.MethodGet, testBase+"v2/authentications/ent_1", jsonResponder(200, tt.body))
			a, err := c.GetAuthentication(context.Background(), "ent_1")
			require.NoError(t, err)
			assert.JSONEq(t, tt.body, string(a.Raw))
			a.Raw = nil
			assert.Equal(t, tt.want, *a)
		})
	}
}

// TestClient_GetAuthentication_BadShapes also checks that DecodeError.Field
// is the wire name of the bad field, never an internal one ("plain.x").
func TestClient_GetAuthentication_BadShapes(t *testing.T) {
	for name, tc := range map[string]struct{ body, field string }{
		"status a number":           {`{"entrupy_id":"e","status":5}`, "status"},
		"result object no id":       {`{"entrupy_id":"e","result":{"label":"x"}}`, "result"},
		"created_at malformed":      {`{"entrupy_id":"e","created_at":"yesterday"}`, "created_at"},
		"entrupy_id a number":       {`{"entrupy_id":5}`, "entrupy_id"},
		"customer_item_id an array": {`{"entrupy_id":"e","customer_item_id":[1]}`, "customer_item_id"},
		"brand an object":           {`{"entrupy_id":"e","brand":{}}`, "brand"},
	} {
		t.Run(name, func(t *testing.T) {
			c, mt := newMock(t)
			mt.RegisterResponder(http.MethodGet, testBase+"v2/authentications/e", jsonResponder(200, tc.body))
			_, err := c.GetAuthentication(context.Background(), "e")
			assert.ErrorIs(t, err, entrupy.ErrMalformedResponse)
			var de *entrupy.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.field, de.Field)
			assert.NotContains(t, err.Error(), "plain")
		})
	}
}

// TestDecodeError_WireFieldNames: nested and list decoding name wire
// fields too (support messages, escalations, webhook payloads).
func TestDecodeError_WireFieldNames(t *testing.T) {
	c, mt := newMock(t)
	mt.RegisterResponder(http.MethodGet, testBase+"v2/authentications/e/support/messages",
		jsonResponder(200, `{"messages":[{"id":7}],"structured_responses":[]}`))
	_, err := c.ListSupportMessages(context.Background(), "e", nil)
	var de *entrupy.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "messages.id", de.Field)

	mt.RegisterResponder(http.MethodPost, testBase+"v2/support/escalations", jsonResponder(201, `{"id":"x","status":3}`))
	_, err = c.Escalate(context.Background(), entrupy.EscalationParams{EntrupyID: "e", CustomerItemID: "c", Reason: "r"})
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "status", de.Field)

	_, err = entrupy.ParseEvent([]byte(`{"event":"session.completed","data":{"entrupy_id":"e","status":{"x":1},"brand":7}}`))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "plain")
}

func TestClient_LookupAuthentication(t *testing.T) {
	c, mt := newMock(t)
	var rawPath string
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		rawPath = r.URL.EscapedPath()
		return jsonResponder(200, `{"entrupy_id":"ent_9","customer_item_id":"SKU 9/a"}`)(r)
	})
	a, err := c.LookupAuthentication(context.Background(), "SKU 9/a")
	require.NoError(t, err)
	assert.Equal(t, "/api/v2/lookup/authentications/SKU%209%2Fa", rawPath)
	assert.Equal(t, "ent_9", a.EntrupyID)
	assert.Equal(t, "SKU 9/a", a.CustomerItemID)

	_, err = c.LookupAuthentication(context.Background(), "")
	var ve *entrupy.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "customer_item_id", ve.Field)
	_, err = c.GetAuthentication(context.Background(), "")
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "entrupy_id", ve.Field)
}

func TestAuthentication_JSONRoundTrip(t *testing.T) {
	in := entrupy.Authentication{EntrupyID: "e", Status: entrupy.StatusCompleted, Result: entrupy.ResultNotSupported, CreatedAt: fixedNow}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "completed_at", "zero times are omitted")
	var out entrupy.Authentication
	require.NoError(t, json.Unmarshal(b, &out))
	out.Raw = nil
	assert.Equal(t, in, out)
}
