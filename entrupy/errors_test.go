package entrupy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

// method is one client call under test, with the URL it hits.
type method struct {
	name        string
	httpMethod  string
	url         string
	creates     bool   // a POST that creates something: not retried on 5xx
	ok          string // a good answer
	missing     string // an answer lacking a required field
	field       string // ... and that field
	emptyBodyOK bool   // a 2xx with no body is accepted
	call        func(context.Context, *entrupy.Client) error
}

var methods = []method{
	{
		name: "AuthorizeUser", httpMethod: http.MethodPost, url: testBase + "v2/integrations/authorize-user", creates: true,
		ok: `{"signed_authorization_request":"sr-123456789"}`, missing: `{"username":"x"}`, field: "signed_authorization_request",
		call: func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: "req", UniqueUserID: "user-0001", Email: "a@b.co"})
			return err
		},
	},
	{
		name: "ListSupportMessages", httpMethod: http.MethodGet, url: testBase + "v2/authentications/ent_1/support/messages",
		ok: `{"messages":[]}`, missing: `{"next_cursor":""}`, field: "messages",
		call: func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.ListSupportMessages(ctx, "ent_1", nil)
			return err
		},
	},
	{
		name: "PostSupportMessage", httpMethod: http.MethodPost, url: testBase + "v2/authentications/ent_1/support/messages", creates: true,
		ok: `{"id":"msg_1","text":"hi"}`, missing: `{"text":"hi"}`, field: "id", emptyBodyOK: true,
		call: func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.PostSupportMessage(ctx, "ent_1", entrupy.SupportReplyParams{Text: "hi"})
			return err
		},
	},
	{
		name: "Escalate", httpMethod: http.MethodPost, url: testBase + "v2/support/escalations", creates: true,
		ok: `{"id":"esc_1"}`, missing: `{"status":"open"}`, field: "id",
		call: func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.Escalate(ctx, entrupy.EscalationParams{EntrupyID: "ent_1", CustomerItemID: "sku-1", Reason: "why"})
			return err
		},
	},
	{
		name: "GetAuthentication", httpMethod: http.MethodGet, url: testBase + "v2/authentications/ent_1",
		ok: `{"entrupy_id":"ent_1"}`, missing: `{"status":"completed"}`, field: "entrupy_id",
		call: func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.GetAuthentication(ctx, "ent_1")
			return err
		},
	},
	{
		name: "LookupAuthentication", httpMethod: http.MethodGet, url: testBase + "v2/lookup/authentications/sku-1",
		ok: `{"entrupy_id":"ent_1"}`, missing: `{}`, field: "entrupy_id",
		call: func(ctx context.Context, c *entrupy.Client) error {
			_, err := c.LookupAuthentication(ctx, "sku-1")
			return err
		},
	},
}

func TestClient_ErrorMapping(t *testing.T) {
	type errCase struct {
		name     string
		status   int
		body     string
		header   []string
		sentinel error
		kind     error // DecodeError kind, when a 2xx
		// attempts for a read and for a create
		readCalls, createCalls int
		retryable              bool
	}
	cases := []errCase{
		{"400", 400, `{"code":"invalid","detail":"unique_user_id: bad"}`, nil, entrupy.ErrInvalidInput, nil, 1, 1, false},
		{"401", 401, `{"code":"authentication_failed","detail":"Invalid token."}`, nil, entrupy.ErrUnauthorized, nil, 1, 1, false},
		{"403", 403, `{"detail":"forbidden"}`, nil, entrupy.ErrForbidden, nil, 1, 1, false},
		{"404", 404, `{"detail":"Not found."}`, nil, entrupy.ErrNotFound, nil, 1, 1, false},
		{"409", 409, `{"detail":"conflict"}`, nil, entrupy.ErrConflict, nil, 1, 1, false},
		{"429 with Retry-After", 429, `{"detail":"slow down"}`, []string{"Retry-After", "7"}, entrupy.ErrRateLimited, nil, 3, 3, true},
		{"500", 500, `{"detail":"boom"}`, nil, entrupy.ErrServer, nil, 1, 1, false},
		{"500 HTML", 500, `<html><body>Internal Server Error</body></html>`, nil, entrupy.ErrServer, nil, 1, 1, false},
		{"503", 503, ``, nil, entrupy.ErrServer, nil, 3, 1, true},
		{"malformed JSON", 200, `{"entrupy_id" "x"}`, nil, nil, entrupy.ErrNotJSON, 1, 1, false},
		{"HTML page", 200, `<!DOCTYPE html><html><body>Login</body></html>`, nil, nil, entrupy.ErrNotJSON, 1, 1, false},
		{"empty body", 200, ``, nil, nil, entrupy.ErrEmptyBody, 1, 1, false},
		{"truncated JSON", 200, `{"messages":[{"id":"m`, nil, nil, entrupy.ErrTruncatedJSON, 1, 1, false},
		{"wrong type", 200, `[1,2]`, nil, nil, entrupy.ErrMalformedResponse, 1, 1, false},
	}
	for _, m := range methods {
		for _, tc := range cases {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				c, mt := newMock(t)
				mt.RegisterResponder(m.httpMethod, m.url, jsonResponder(tc.status, tc.body, tc.header...))
				err := m.call(context.Background(), c)
				wantCalls := tc.readCalls
				if m.creates {
					wantCalls = tc.createCalls
				}
				assert.Equal(t, wantCalls, calls(mt, m.httpMethod, m.url), "attempts")
				if tc.kind == entrupy.ErrEmptyBody && m.emptyBodyOK {
					assert.NoError(t, err)
					return
				}
				require.Error(t, err)
				noSecret(t, "error", err.Error(), testToken)
				assert.False(t, strings.Contains(err.Error(), "<html"), "error quotes the body")
				if tc.sentinel != nil {
					assert.ErrorIs(t, err, tc.sentinel)
					var apiErr *entrupy.APIError
					require.ErrorAs(t, err, &apiErr)
					assert.Equal(t, tc.status, apiErr.StatusCode)
					assert.Equal(t, wantCalls, apiErr.Attempts)
					assert.Equal(t, tc.retryable, entrupy.IsRetryable(err))
					assert.True(t, strings.HasPrefix(err.Error(), "entrupy: "+m.httpMethod+" /api/v2/"), err.Error())
					if tc.status == 429 {
						assert.Equal(t, 7*time.Second, apiErr.RetryAfter)
					}
					if tc.status == 400 {
						assert.Equal(t, "invalid", apiErr.Code)
						assert.Equal(t, "unique_user_id: bad", apiErr.Message)
					}
					return
				}
				assert.ErrorIs(t, err, tc.kind)
				assert.ErrorIs(t, err, entrupy.ErrMalformedResponse)
				var de *entrupy.DecodeError
				require.ErrorAs(t, err, &de)
				assert.Equal(t, "entrupy", de.Vendor)
				assert.Equal(t, m.httpMethod, de.Method)
				assert.True(t, strings.HasPrefix(de.Path, "/api/v2/"), de.Path)
				assert.False(t, entrupy.IsRetryable(err))
			})
		}
	}
}

func TestClient_MissingRequiredField(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			c, mt := newMock(t)
			mt.RegisterResponder(m.httpMethod, m.url, jsonResponder(200, m.missing))
			err := m.call(context.Background(), c)
			require.Error(t, err)
			assert.ErrorIs(t, err, entrupy.ErrMissingField)
			assert.ErrorIs(t, err, entrupy.ErrMalformedResponse)
			var de *entrupy.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, m.field, de.Field)
			assert.Equal(t, "entrupy", de.Vendor)
			assert.Equal(t, 200, de.StatusCode)
			assert.True(t, strings.HasPrefix(de.Path, "/api/v2/"), de.Path)
		})
	}
}

func TestClient_Success(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			c, mt := newMock(t)
			mt.RegisterResponder(m.httpMethod, m.url, jsonResponder(200, m.ok))
			require.NoError(t, m.call(context.Background(), c))
			assert.Equal(t, 1, calls(mt, m.httpMethod, m.url))
		})
	}
}

func TestClient_BodyTooLarge(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			c, mt := newMock(t, entrupy.WithMaxBodySize(64))
			mt.RegisterResponder(m.httpMethod, m.url, jsonResponder(200, `{"entrupy_id":"`+strings.Repeat("x", 100)+`"}`))
			err := m.call(context.Background(), c)
			assert.ErrorIs(t, err, entrupy.ErrBodyTooLarge)
			assert.ErrorIs(t, err, entrupy.ErrMalformedResponse)
		})
	}
}

func TestClient_RateLimitedThenOK(t *testing.T) {
	// Every call, creating ones included, is retried after a 429.
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			c, mt := newMock(t)
			n := 0
			mt.RegisterResponder(m.httpMethod, m.url, func(r *http.Request) (*http.Response, error) {
				n++
				if n == 1 {
					return jsonResponder(429, `{}`, "Retry-After", "1")(r)
				}
				return jsonResponder(200, m.ok)(r)
			})
			start := time.Now()
			require.NoError(t, m.call(context.Background(), c))
			assert.Equal(t, 2, calls(mt, m.httpMethod, m.url))
			// Retry-After: 1 is capped by the 5 ms maximum wait.
			assert.Less(t, time.Since(start), 900*time.Millisecond)
		})
	}
}

func TestClient_ConnectionErrorRetriedOnlyForReads(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			c, mt := newMock(t)
			mt.RegisterResponder(m.httpMethod, m.url, func(*http.Request) (*http.Response, error) {
				return nil, errors.New("connection reset by peer")
			})
			err := m.call(context.Background(), c)
			require.Error(t, err)
			var te *entrupy.TransportError
			require.ErrorAs(t, err, &te)
			want := 3
			if m.creates {
				want = 1 // may have reached Entrupy: not repeated
			}
			assert.Equal(t, want, calls(mt, m.httpMethod, m.url))
			assert.True(t, entrupy.IsRetryable(err))
			noSecret(t, "error", err.Error(), testToken)
		})
	}
}
