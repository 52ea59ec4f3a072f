package idv_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
)

// huge is a 100 KiB input; the marker shows whether any of it reaches an error.
var huge = "HUGE" + strings.Repeat("x", 100<<10)

// checkBounded asserts err is a *ValidationError for field whose text holds
// no part of the input (not even a short prefix) and stays short.
func checkBounded(t *testing.T, err error, field string) {
	t.Helper()
	var ve *idv.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, field, ve.Field)
	assert.ErrorIs(t, err, idv.ErrInvalidInput)
	assert.NotContains(t, err.Error(), "HUGE")
	assert.Less(t, len(err.Error()), 160, "the error stays short")
}

// TestBounds_IDs: every id and string input is bounded before anything is
// sent, and the error never carries the input.
func TestBounds_IDs(t *testing.T) {
	mt := newMock(t) // any request fails the test
	c := newClient(t, mt)
	ctx := context.Background()
	dev := &idv.EphemeralDevice{Token: testToken, ExpiresAt: fixedNow.Add(time.Hour)}
	atBound := strings.Repeat("i", idv.MaxIDLength)
	overBound := atBound + "i"

	_, err := c.GetSession(ctx, huge)
	checkBounded(t, err, "session_id")
	_, err = c.GetSession(ctx, overBound)
	checkBounded(t, err, "session_id")

	_, err = c.StartSession(ctx, dev, huge, nil)
	checkBounded(t, err, "workflow_id")
	_, err = c.StartSession(ctx, &idv.EphemeralDevice{Token: huge}, "wf", nil)
	checkBounded(t, err, "device.token")

	_, err = c.Initiate(ctx, idv.InitiateParams{WorkflowID: huge})
	checkBounded(t, err, "workflow_id")
	_, err = c.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf", ExternalUserID: huge})
	checkBounded(t, err, "external_user_id")
	_, err = c.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf", ExternalUserID: overBound})
	checkBounded(t, err, "external_user_id")

	_, err = c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf", huge}})
	checkBounded(t, err, "workflow_ids[1]")
	_, err = c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf"}, Locale: huge})
	checkBounded(t, err, "locale")
	_, err = c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: make([]string, idv.MaxWorkflowIDs+1)})
	checkBounded(t, err, "workflow_ids")

	_, err = c.HandoffURL(dev, &idv.Session{ID: huge})
	checkBounded(t, err, "session_id")
	_, err = idv.BuildHandoffURL(testBase, huge, "s1")
	checkBounded(t, err, "token")
	_, err = idv.BuildHandoffURL(testBase, testToken, huge)
	checkBounded(t, err, "session_id")

	_, err = idv.NewClient(testBase, idv.Credentials{APIKey: huge})
	checkBounded(t, err, "api_key")
	_, err = idv.NewClient(testBase, idv.Credentials{APIKey: testKey}, idv.WithAuthScheme(huge))
	checkBounded(t, err, "auth_scheme")

	// An id at the bound is fine.
	u, err := c.HandoffURL(dev, &idv.Session{ID: atBound})
	require.NoError(t, err)
	assert.Contains(t, u, atBound)
	assert.Zero(t, totalCalls(mt))
}

// TestBounds_Metadata: metadata keys, string values (at any depth) and the
// whole document are bounded; errors name at most a short key, never a value.
func TestBounds_Metadata(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	ctx := context.Background()
	dev := &idv.EphemeralDevice{Token: testToken, ExpiresAt: fixedNow.Add(time.Hour)}
	tests := map[string]struct {
		md    map[string]any
		field string
	}{
		"long string value":        {map[string]any{"plan": huge}, "metadata.plan"},
		"value one byte over":      {map[string]any{"plan": strings.Repeat("v", idv.MaxMetadataValueLength+1)}, "metadata.plan"},
		"nested long value":        {map[string]any{"a": map[string]any{"b": []any{"ok", huge}}}, "metadata.a"},
		"nested string map":        {map[string]any{"a": map[string]string{"b": huge}}, "metadata.a"},
		"string slice":             {map[string]any{"tags": []string{"ok", huge}}, "metadata.tags"},
		"long key":                 {map[string]any{huge: 1}, "metadata"},
		"long nested key":          {map[string]any{"a": map[string]any{huge: 1}}, "metadata.a"},
		"invalid UTF-8 value":      {map[string]any{"plan": "a\xffb"}, "metadata.plan"},
		"odd key not echoed":       {map[string]any{"HUGE key\n": huge}, "metadata"},
		"too large in total":       {manyKeys(40, 600), "metadata"},
		"not JSON":                 {map[string]any{"f": func() {}}, "metadata"},
		"external id via metadata": {idv.WithExternalUserID(nil, huge), "metadata." + idv.MetadataExternalUserID},
		"deeply nested is refused": {deep(40), "metadata.d"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.StartSession(ctx, dev, "wf", tt.md)
			checkBounded(t, err, tt.field)
			_, err = c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf"}, Metadata: tt.md})
			checkBounded(t, err, tt.field)
			_, err = c.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf", Metadata: tt.md})
			checkBounded(t, err, tt.field)
		})
	}
	assert.Zero(t, totalCalls(mt))

	// Within the bounds, metadata is sent.
	rec := register(mt, "POST", `=~^https://idv\.test/tenant/api/sessions\?`, respond(200, `{"id":"s1"}`))
	ok := map[string]any{"plan": strings.Repeat("v", idv.MaxMetadataValueLength), strings.Repeat("k", idv.MaxMetadataKeyLength): 1}
	_, err := c.StartSession(ctx, dev, "wf", ok)
	require.NoError(t, err)
	assert.Len(t, rec.requests(), 1)
}

// manyKeys builds n keys each holding a value of size bytes.
func manyKeys(n, size int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[strings.Repeat("k", i+1)] = strings.Repeat("v", size)
	}
	return m
}

// deep builds a map nested n levels under "d".
func deep(n int) map[string]any {
	m := map[string]any{"leaf": 1}
	for range n {
		m = map[string]any{"d": m}
	}
	return m
}

// An id made only of spaces names nothing: it is
// refused before any call (a blank workflow or session id would otherwise
// be sent as a query value or path segment).
func TestBounds_BlankIDs(t *testing.T) {
	mt := newMock(t) // any request fails the test
	c := newClient(t, mt)
	ctx := context.Background()
	dev := &idv.EphemeralDevice{Token: testToken, ExpiresAt: fixedNow.Add(time.Hour)}
	for _, id := range []string{" ", "   ", "\u00a0", "\t "} {
		_, err := c.GetSession(ctx, id)
		requireInvalidField(t, err, "session_id")
		_, err = c.StartSession(ctx, dev, id, nil)
		requireInvalidField(t, err, "workflow_id")
		_, err = c.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf", ExternalUserID: id})
		requireInvalidField(t, err, "external_user_id")
		_, err = c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{id}})
		requireInvalidField(t, err, "workflow_ids[0]")
	}
}

func requireInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *idv.ValidationError
	if !errors.As(err, &ve) || ve.Field != field {
		t.Fatalf("got %v, want a ValidationError for %s", err, field)
	}
}
