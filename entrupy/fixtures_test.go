package entrupy_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestFixture_AuthorizeUser(t *testing.T) {
	c, mt := newMock(t)
	mt.RegisterResponder(http.MethodPost, authorizeURL, jsonResponder(200, string(fixture(t, "authorize_user.json"))))
	tok, err := c.AuthorizeUser(context.Background(), validParams())
	require.NoError(t, err)
	assert.Equal(t, "c2lnbmVkLXJlcXVlc3QtZml4dHVyZS0wMDAx.fixture", tok.SignedRequest)
	assert.Equal(t, "entrupy_customer-1001", tok.Username)
	assert.Equal(t, fixedNow.Add(24*time.Hour), tok.ExpiresAt)
	assert.Equal(t, fixedNow.Add(23*time.Hour+30*time.Minute), tok.SoftExpiresAt)
}

func TestFixture_Events(t *testing.T) {
	tests := []struct {
		file      string
		typ       entrupy.EventType
		entrupyID string
		check     func(*testing.T, *entrupy.Event)
	}{
		{"event_session_completed.json", entrupy.EventSessionCompleted, "ent_1001", func(t *testing.T, ev *entrupy.Event) {
			require.NotNil(t, ev.SessionCompleted)
			assert.Equal(t, entrupy.ResultAuthentic, ev.SessionCompleted.Result)
			assert.Equal(t, "Chanel", ev.SessionCompleted.Brand)
			assert.Equal(t, fixedNow, ev.SessionCompleted.CompletedAt)
		}},
		{"event_support_message.json", entrupy.EventSupportMessage, "ent_1002", func(t *testing.T, ev *entrupy.Event) {
			require.NotNil(t, ev.SupportMessage)
			assert.Equal(t, "msg_77", ev.SupportMessage.Message.ID)
			assert.Len(t, ev.SupportMessage.StructuredResponses, 2)
		}},
		{"event_certificate_transfer.json", entrupy.EventCertificateTransfer, "ent_1003", func(t *testing.T, ev *entrupy.Event) {
			require.NotNil(t, ev.CertificateTransfer)
			assert.Equal(t, "buyer-0002", ev.CertificateTransfer.ToUser)
		}},
		{"event_unknown.json", "item.archived", "ent_1004", func(t *testing.T, ev *entrupy.Event) {
			assert.Nil(t, ev.SessionCompleted)
			assert.Contains(t, string(ev.Data), "archived_by")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := fixture(t, tt.file)
			ev, err := entrupy.ParseEvent(body)
			require.NoError(t, err)
			assert.Equal(t, tt.typ, ev.Type)
			assert.Equal(t, tt.entrupyID, ev.EntrupyID)
			assert.Equal(t, fixedNow, ev.CreatedAt)
			assert.NotEmpty(t, ev.ID)
			tt.check(t, ev)

			// And through the handler, signed.
			var got *entrupy.Event
			h := newWebhook(t, func(_ context.Context, ev *entrupy.Event) error { got = ev; return nil })
			w := deliver(h, webhookSecret, string(body))
			assert.Equal(t, http.StatusOK, w.Code)
			require.NotNil(t, got)
			assert.Equal(t, ev.ID, got.ID)
		})
	}
}
