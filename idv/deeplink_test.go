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

const deepLinkPattern = `=~^https://idv\.test/tenant/api/v1/deeplink\?`

func TestClient_CreateDeepLink(t *testing.T) {
	mt := newMock(t)
	body := `{"url":"https://idv.test/dl/abc?authorization=` + testToken + `","createdAt":"2025-03-04T05:06:00Z",` +
		`"expiresAt":"2025-03-04T06:00:00Z","workflowIds":["a","b c"]}`
	rec := register(mt, http.MethodPost, deepLinkPattern, respond(200, body))
	c := newClient(t, mt)

	dl, err := c.CreateDeepLink(context.Background(), idv.DeepLinkParams{
		WorkflowIDs: []string{"a", "b c"},
		Metadata:    idv.WithExternalUserID(nil, "u-1"),
		Locale:      "de",
		TTL:         2 * time.Hour,
	})
	require.NoError(t, err)
	assert.Equal(t, "https://idv.test/dl/abc?authorization="+testToken, dl.URL)
	assert.Equal(t, time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC), dl.CreatedAt, "the platform's times win")
	assert.Equal(t, time.Date(2025, 3, 4, 6, 0, 0, 0, time.UTC), dl.ExpiresAt)
	assert.Equal(t, []string{"a", "b c"}, dl.WorkflowIDs)

	r := rec.requests()[0]
	assert.Equal(t, "https://idv.test/tenant/api/v1/deeplink", r.URL)
	assert.Equal(t, "workflowId=a&workflowId=b+c", r.Query, "workflowId repeats")
	assert.Equal(t, "ApiKey "+testKey, r.Header.Get("Authorization"))
	jsonEq(t, `{"metadata":{"externalUserId":"u-1"},"locale":"de","ttl":7200}`, r.Body)
}

func TestClient_CreateDeepLink_Defaults(t *testing.T) {
	mt := newMock(t)
	rec := register(mt, http.MethodPost, deepLinkPattern, respond(200, `{"url":"https://idv.test/dl/1"}`))
	c := newClient(t, mt)
	dl, err := c.CreateDeepLink(context.Background(), idv.DeepLinkParams{WorkflowIDs: []string{"wf"}})
	require.NoError(t, err)
	jsonEq(t, `{"metadata":{},"locale":null,"ttl":3600}`, rec.requests()[0].Body)
	assert.Equal(t, "workflowId=wf", rec.requests()[0].Query)
	assert.Equal(t, fixedNow, dl.CreatedAt)
	assert.Equal(t, fixedNow.Add(time.Hour), dl.ExpiresAt)
	assert.Equal(t, []string{"wf"}, dl.WorkflowIDs, "the requested ids when the answer has none")
}

func TestClient_CreateDeepLink_Validation(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	for _, tt := range []struct {
		name  string
		p     idv.DeepLinkParams
		field string
	}{
		{"no workflows", idv.DeepLinkParams{}, "workflow_ids"},
		{"empty workflow", idv.DeepLinkParams{WorkflowIDs: []string{"a", ""}}, "workflow_ids[1]"},
		{"bad ttl", idv.DeepLinkParams{WorkflowIDs: []string{"a"}, TTL: time.Millisecond}, "ttl"},
		{"bad locale", idv.DeepLinkParams{WorkflowIDs: []string{"a"}, Locale: "e\nn"}, "locale"},
		{"bad metadata", idv.DeepLinkParams{WorkflowIDs: []string{"a"}, Metadata: map[string]any{"f": func() {}}}, "metadata"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateDeepLink(context.Background(), tt.p)
			var ve *idv.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
		})
	}
	assert.Zero(t, totalCalls(mt))
}

func TestClient_CreateDeepLink_MissingURL(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodPost, deepLinkPattern, respond(200, `{"createdAt":"2025-03-04T05:06:07Z"}`))
	c := newClient(t, mt)
	_, err := c.CreateDeepLink(context.Background(), idv.DeepLinkParams{WorkflowIDs: []string{"wf"}})
	require.ErrorIs(t, err, idv.ErrMissingField)
	var de *idv.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "url", de.Field)
}

func TestDeepLink_Redacted(t *testing.T) {
	dl := idv.DeepLink{URL: "https://idv.test/dl/abc?authorization=" + testToken + "#" + testToken, WorkflowIDs: []string{"wf"}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{dl, &dl} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, testToken, verb)
			assert.Contains(t, out, "https://idv.test/dl/abc?REDACTED", verb)
		}
	}
	logger, buf := logBuffer()
	logger.Info("link", "dl", dl)
	assert.NotContains(t, buf.String(), testToken)
}
