package entrupytest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

func params(uid string) entrupy.AuthorizeUserParams {
	return entrupy.AuthorizeUserParams{SDKAuthorizationRequest: "sdk-request-" + uid, UniqueUserID: uid, Email: uid + "@example.com",
		FirstName: "Ann", LastName: "Lee"}
}

func newClient(t *testing.T, s *entrupytest.Server, opts ...entrupy.Option) *entrupy.Client {
	t.Helper()
	c, err := s.NewClient(opts...)
	require.NoError(t, err)
	return c
}

// raw sends a request to the fake over its socket and decodes the JSON answer.
func raw(t *testing.T, s *entrupytest.Server, method, path, auth, contentType, body string) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestFake_AuthorizeUser(t *testing.T) {
	s := entrupytest.NewServer(t, entrupytest.WithClock(clock))
	c := newClient(t, s)
	tok, err := c.AuthorizeUser(context.Background(), params("user-0001"))
	require.NoError(t, err)
	assert.Greater(t, len(tok.SignedRequest), 32)
	uid, ok := s.SignedRequestUser(tok.SignedRequest)
	assert.True(t, ok)
	assert.Equal(t, "user-0001", uid)
	assert.Equal(t, now.Add(24*time.Hour), tok.ExpiresAt)
	assert.Equal(t, now.Add(24*time.Hour-30*time.Minute), tok.SoftExpiresAt)
	assert.Equal(t, "entrupy_user-0001", tok.Username)
	assert.Equal(t, 1, s.Calls(entrupy.RouteAuthorizeUser))

	// A second grant is a different opaque string.
	tok2, err := c.AuthorizeUser(context.Background(), params("user-0001"))
	require.NoError(t, err)
	assert.NotEqual(t, tok.SignedRequest, tok2.SignedRequest)
	_, ok = s.SignedRequestUser("not-issued")
	assert.False(t, ok)
}

func TestFake_NamesFixedOnFirstCall(t *testing.T) {
	s := entrupytest.NewServer(t)
	c := newClient(t, s)
	p := params("user-0002")
	p.FirstName, p.LastName = "", ""
	_, err := c.AuthorizeUser(context.Background(), p)
	require.NoError(t, err)
	p.FirstName, p.LastName, p.Email = "Bob", "Ray", "other@example.com"
	_, err = c.AuthorizeUser(context.Background(), p)
	require.NoError(t, err)
	u, ok := s.User("user-0002")
	require.True(t, ok)
	assert.Equal(t, entrupytest.User{UniqueUserID: "user-0002", Email: "user-0002@example.com", Username: "entrupy_user-0002", Authorizations: 2}, u)
	_, ok = s.User("nobody-000")
	assert.False(t, ok)
}

func TestFake_ExpiryOptions(t *testing.T) {
	s := entrupytest.NewServer(t, entrupytest.WithClock(clock), entrupytest.WithTokenLifetime(2*time.Hour), entrupytest.WithSoftWindow(10*time.Minute))
	tok, err := newClient(t, s).AuthorizeUser(context.Background(), params("user-0003"))
	require.NoError(t, err)
	assert.Equal(t, now.Add(2*time.Hour), tok.ExpiresAt)
	assert.Equal(t, now.Add(110*time.Minute), tok.SoftExpiresAt)

	// Without exp / soft_exp the client derives them from its own clock.
	s = entrupytest.NewServer(t, entrupytest.WithoutExpiry())
	later := now.Add(time.Hour)
	tok, err = newClient(t, s, entrupy.WithClock(func() time.Time { return later })).AuthorizeUser(context.Background(), params("user-0003"))
	require.NoError(t, err)
	assert.Equal(t, later.Add(24*time.Hour), tok.ExpiresAt)
	assert.Equal(t, later.Add(24*time.Hour-30*time.Minute), tok.SoftExpiresAt)
}

func TestFake_ChecksAuthorization(t *testing.T) {
	s := entrupytest.NewServer(t)
	body := `{"sdk_authorization_request":"r","unique_user_id":"user-0001","email":"a@b.co"}`
	for name, auth := range map[string]string{
		"none":        "",
		"bearer":      "Bearer " + s.Credentials().APIToken,
		"lower token": "token " + s.Credentials().APIToken,
		"wrong token": "Token nope",
		"extra space": "Token  " + s.Credentials().APIToken,
	} {
		status, m := raw(t, s, http.MethodPost, "/v2/integrations/authorize-user", auth, "application/json", body)
		assert.Equal(t, http.StatusUnauthorized, status, name)
		assert.Equal(t, entrupytest.CodeAuthenticationFailed, m["code"], name)
	}
	status, _ := raw(t, s, http.MethodPost, "/v2/integrations/authorize-user", "Token "+s.Credentials().APIToken, "application/json", body)
	assert.Equal(t, http.StatusOK, status)

	// Through the client: a wrong token is ErrUnauthorized, and never printed.
	c, err := entrupy.NewClient(entrupy.Credentials{APIToken: "wrong-token-123456"}, entrupy.WithBaseURL(s.URL))
	require.NoError(t, err)
	_, err = c.GetAuthentication(context.Background(), "ent_1")
	assert.ErrorIs(t, err, entrupy.ErrUnauthorized)
	assert.NotContains(t, err.Error(), "wrong-token-123456")

	// Two Authorization headers are refused, even if one is right.
	req, _ := http.NewRequest(http.MethodGet, "https://x.test/v2/authentications/a", nil)
	req.Header.Add("Authorization", "Token "+s.Credentials().APIToken)
	req.Header.Add("Authorization", "Token "+s.Credentials().APIToken)
	resp, err := s.Responder()(req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// An empty token given to WithAPIToken keeps the default; "Token " alone
	// is still refused.
	empty := entrupytest.New(entrupytest.WithAPIToken(""))
	req.Header.Set("Authorization", "Token ")
	resp, err = empty.Responder()(req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	req.Header.Set("Authorization", "Token "+entrupytest.DefaultAPIToken)
	resp, err = empty.Responder()(req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "authorized, unknown item")
}

func TestFake_WithAPIToken(t *testing.T) {
	ctx := context.Background()

	// By default New and NewServer accept DefaultAPIToken.
	s := entrupytest.NewServer(t)
	assert.Equal(t, entrupytest.DefaultAPIToken, s.Credentials().APIToken)
	_, err := newClient(t, s).AuthorizeUser(ctx, params("user-0001"))
	require.NoError(t, err)

	// WithAPIToken replaces it: the new token works, the default does not.
	const custom = "tok_custom_0a1b2c3d4e5f"
	s = entrupytest.NewServer(t, entrupytest.WithAPIToken(custom))
	assert.Equal(t, custom, s.Credentials().APIToken)
	_, err = newClient(t, s).AuthorizeUser(ctx, params("user-0001"))
	require.NoError(t, err)
	status, _ := raw(t, s, http.MethodGet, "/v2/authentications/ent_1", "Token "+custom, "", "")
	assert.Equal(t, http.StatusNotFound, status)
	status, m := raw(t, s, http.MethodGet, "/v2/authentications/ent_1", "Token "+entrupytest.DefaultAPIToken, "", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, entrupytest.CodeAuthenticationFailed, m["code"])
	c, err := entrupy.NewClient(entrupy.Credentials{APIToken: entrupytest.DefaultAPIToken}, entrupy.WithBaseURL(s.URL))
	require.NoError(t, err)
	_, err = c.AuthorizeUser(ctx, params("user-0003"))
	assert.ErrorIs(t, err, entrupy.ErrUnauthorized)
}

func TestServer_NewClient(t *testing.T) {
	ctx := context.Background()

	// The client gets the server's URL, the fake's token and the fake's clock:
	// without exp / soft_exp from the fake, the client derives them from the
	// fake's clock.
	s := entrupytest.NewServer(t, entrupytest.WithClock(clock), entrupytest.WithoutExpiry())
	c, err := s.NewClient()
	require.NoError(t, err)
	tok, err := c.AuthorizeUser(ctx, params("user-0001"))
	require.NoError(t, err)
	assert.Equal(t, now.Add(24*time.Hour), tok.ExpiresAt)
	assert.Equal(t, 1, s.Calls(entrupy.RouteAuthorizeUser))

	// It retries fast by default: two 503s and a success.
	s.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_1"})
	s.FailNext(2, entrupytest.Failure{Status: http.StatusServiceUnavailable, RetryAfter: 3 * time.Second})
	start := time.Now()
	_, err = c.GetAuthentication(ctx, "ent_1")
	require.NoError(t, err)
	assert.Less(t, time.Since(start), time.Second) // Retry-After is capped at 10 ms
	assert.Equal(t, 3, s.Calls(entrupy.RouteGetAuthentication))

	// The caller's options come last and win.
	noRetry, err := s.NewClient(entrupy.WithRetry(0, 0, 0))
	require.NoError(t, err)
	s.FailNext(1, entrupytest.Failure{Status: http.StatusServiceUnavailable})
	_, err = noRetry.GetAuthentication(ctx, "ent_1")
	assert.ErrorIs(t, err, entrupy.ErrServer)
	assert.Equal(t, 4, s.Calls(entrupy.RouteGetAuthentication))

	later := now.Add(time.Hour)
	own, err := s.NewClient(entrupy.WithClock(func() time.Time { return later }))
	require.NoError(t, err)
	tok, err = own.AuthorizeUser(ctx, params("user-0001"))
	require.NoError(t, err)
	assert.Equal(t, later.Add(24*time.Hour), tok.ExpiresAt)

	// A bad option is reported.
	_, err = s.NewClient(entrupy.WithBaseURL("::not a url"))
	assert.Error(t, err)
}

func TestFake_ValidatesAuthorizeUserBody(t *testing.T) {
	s := entrupytest.NewServer(t)
	auth := "Token " + s.Credentials().APIToken
	tests := []struct {
		name, contentType, body string
		status                  int
		code, field             string
	}{
		{"no SDK request", "application/json", `{"unique_user_id":"user-0001","email":"a@b.co"}`, 400, entrupytest.CodeInvalid, "sdk_authorization_request"},
		{"no user id", "application/json", `{"sdk_authorization_request":"r","email":"a@b.co"}`, 400, entrupytest.CodeInvalid, "unique_user_id"},
		{"short user id", "application/json", `{"sdk_authorization_request":"r","unique_user_id":"short","email":"a@b.co"}`, 400, entrupytest.CodeInvalid, "unique_user_id"},
		{"long user id", "application/json", `{"sdk_authorization_request":"r","unique_user_id":"` + strings.Repeat("a", 41) + `","email":"a@b.co"}`, 400, entrupytest.CodeInvalid, "unique_user_id"},
		{"bad char in user id", "application/json", `{"sdk_authorization_request":"r","unique_user_id":"user#0001","email":"a@b.co"}`, 400, entrupytest.CodeInvalid, "unique_user_id"},
		{"no email", "application/json", `{"sdk_authorization_request":"r","unique_user_id":"user-0001"}`, 400, entrupytest.CodeInvalid, "email"},
		{"bad email", "application/json", `{"sdk_authorization_request":"r","unique_user_id":"user-0001","email":"nope"}`, 400, entrupytest.CodeInvalid, "email"},
		{"not JSON", "application/json", `{`, 400, entrupytest.CodeParseError, ""},
		{"form body", "application/x-www-form-urlencoded", `a=b`, 415, entrupytest.CodeUnsupportedMedia, ""},
		{"too large", "application/json", `{"sdk_authorization_request":"` + strings.Repeat("a", 1<<20) + `"}`, 413, entrupytest.CodeTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := raw(t, s, http.MethodPost, "/v2/integrations/authorize-user", auth, tt.contentType, tt.body)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.code, m["code"])
			assert.True(t, strings.HasPrefix(m["detail"], tt.field), m["detail"])
		})
	}
	status, _ := raw(t, s, http.MethodGet, "/v2/integrations/authorize-user", auth, "", "")
	assert.Equal(t, http.StatusMethodNotAllowed, status)
}

func TestFake_Support(t *testing.T) {
	s := entrupytest.NewServer(t, entrupytest.WithClock(clock))
	c := newClient(t, s)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		s.AddSupportMessage("ent_1", entrupy.Message{Text: fmt.Sprintf("question %d", i)})
	}
	s.SetStructuredResponses("ent_1", entrupy.StructuredResponse{ID: "r1", Text: "Yes"}, entrupy.StructuredResponse{ID: "r2", Text: "No"})

	// Pages of 2: 2 + 2 + 1.
	var texts []string
	opts := &entrupy.ListSupportMessagesOptions{Limit: 2}
	pages := 0
	for {
		page, err := c.ListSupportMessages(ctx, "ent_1", opts)
		require.NoError(t, err)
		pages++
		assert.Len(t, page.StructuredResponses, 2)
		for _, m := range page.Messages {
			texts = append(texts, m.Text)
			assert.Equal(t, entrupy.SenderEntrupy, m.Sender)
			assert.Equal(t, now, m.CreatedAt)
			assert.NotEmpty(t, m.ID)
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, []string{"question 1", "question 2", "question 3", "question 4", "question 5"}, texts)
	assert.Equal(t, 3, s.Calls(entrupy.RouteListSupportMessages))

	// Replies.
	m, err := c.PostSupportMessage(ctx, "ent_1", entrupy.SupportReplyParams{ResponseID: "r2"})
	require.NoError(t, err)
	assert.Equal(t, "No", m.Text)
	assert.Equal(t, "r2", m.ResponseID)
	_, err = c.PostSupportMessage(ctx, "ent_1", entrupy.SupportReplyParams{ResponseID: "r1"})
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput, "responses are cleared once one is chosen")
	m2, err := c.PostSupportMessage(ctx, "ent_1", entrupy.SupportReplyParams{Text: "It is from 2019."})
	require.NoError(t, err)
	assert.Equal(t, []entrupy.Message{*m, *m2}, s.Replies("ent_1"))
	page, err := c.ListSupportMessages(ctx, "ent_1", &entrupy.ListSupportMessagesOptions{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, page.Messages, 7)
	assert.Empty(t, page.StructuredResponses)

	// Unknown items and bad cursors.
	_, err = c.ListSupportMessages(ctx, "ent_404", nil)
	assert.ErrorIs(t, err, entrupy.ErrNotFound)
	_, err = c.PostSupportMessage(ctx, "ent_404", entrupy.SupportReplyParams{Text: "hi"})
	assert.ErrorIs(t, err, entrupy.ErrNotFound)
	_, err = c.ListSupportMessages(ctx, "ent_1", &entrupy.ListSupportMessagesOptions{Cursor: "garbage!"})
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
	_, err = c.ListSupportMessages(ctx, "ent_1", &entrupy.ListSupportMessagesOptions{Limit: 101})
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput)
	assert.Nil(t, s.Replies("ent_404"))
}

func TestFake_Escalate(t *testing.T) {
	s := entrupytest.NewServer(t, entrupytest.WithClock(clock))
	c := newClient(t, s)
	ctx := context.Background()
	s.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_1", CustomerItemID: "sku-1", Status: entrupy.StatusNeedsReview})

	_, err := c.Escalate(ctx, entrupy.EscalationParams{EntrupyID: "ent_1", CustomerItemID: "sku-2", Reason: "r"})
	assert.ErrorIs(t, err, entrupy.ErrInvalidInput, "customer item id must match")
	_, err = c.Escalate(ctx, entrupy.EscalationParams{EntrupyID: "ent_9", CustomerItemID: "sku-9", Reason: "r"})
	assert.ErrorIs(t, err, entrupy.ErrNotFound)

	e, err := c.Escalate(ctx, entrupy.EscalationParams{EntrupyID: "ent_1", CustomerItemID: "sku-1", Reason: "Customer disputes the result"})
	require.NoError(t, err)
	assert.Equal(t, entrupy.EscalationOpen, e.Status)
	assert.Equal(t, now, e.CreatedAt)
	assert.NotEmpty(t, e.ID)
	assert.Equal(t, []entrupy.Escalation{*e}, s.Escalations())

	_, err = c.Escalate(ctx, entrupy.EscalationParams{EntrupyID: "ent_1", CustomerItemID: "sku-1", Reason: "again"})
	assert.ErrorIs(t, err, entrupy.ErrConflict)
	assert.Equal(t, 4, s.Calls(entrupy.RouteEscalate))

	status, m := raw(t, s, http.MethodPost, "/v2/support/escalations", "Token "+s.Credentials().APIToken, "application/json", `{"entrupy_id":"ent_1","customer_item_id":"sku-1"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.True(t, strings.HasPrefix(m["detail"], "reason"))
}

func TestFake_Authentications(t *testing.T) {
	s := entrupytest.NewServer(t)
	c := newClient(t, s)
	ctx := context.Background()
	want := entrupy.Authentication{EntrupyID: "ent_1", CustomerItemID: "sku/1", Status: entrupy.StatusCompleted,
		Result: entrupy.ResultAuthentic, CertificateURL: "https://cert.test/1", CreatedAt: now}
	s.AddAuthentication(want)

	a, err := c.GetAuthentication(ctx, "ent_1")
	require.NoError(t, err)
	a.Raw = nil
	assert.Equal(t, want, *a)
	a, err = c.LookupAuthentication(ctx, "sku/1")
	require.NoError(t, err)
	assert.Equal(t, "ent_1", a.EntrupyID)

	_, err = c.GetAuthentication(ctx, "ent_2")
	assert.ErrorIs(t, err, entrupy.ErrNotFound)
	_, err = c.LookupAuthentication(ctx, "sku-2")
	assert.ErrorIs(t, err, entrupy.ErrNotFound)
	assert.Equal(t, 2, s.Calls(entrupy.RouteGetAuthentication))
	assert.Equal(t, 2, s.Calls(entrupy.RouteLookupAuthentication))
}

func TestFake_FailNext(t *testing.T) {
	ctx := context.Background()
	t.Run("429 then success", func(t *testing.T) {
		s := entrupytest.NewServer(t)
		s.FailNext(1, entrupytest.Failure{Status: http.StatusTooManyRequests})
		_, err := newClient(t, s).AuthorizeUser(ctx, params("user-0001"))
		require.NoError(t, err)
		assert.Equal(t, 2, s.Calls(entrupy.RouteAuthorizeUser))
	})
	t.Run("429 exhausts retries", func(t *testing.T) {
		s := entrupytest.NewServer(t)
		s.FailNext(5, entrupytest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 2500 * time.Millisecond})
		_, err := newClient(t, s).AuthorizeUser(ctx, params("user-0001"))
		assert.ErrorIs(t, err, entrupy.ErrRateLimited)
		var apiErr *entrupy.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 3*time.Second, apiErr.RetryAfter)
		assert.Equal(t, entrupytest.CodeInjected, apiErr.Code)
		assert.Equal(t, 3, s.Calls(entrupy.RouteAuthorizeUser))
		// Two injected failures are left; cancel them.
		s.FailNext(0, entrupytest.Failure{})
		_, err = newClient(t, s).AuthorizeUser(ctx, params("user-0001"))
		assert.NoError(t, err)
	})
	t.Run("500 not retried for a create", func(t *testing.T) {
		s := entrupytest.NewServer(t)
		s.FailNext(1, entrupytest.Failure{})
		_, err := newClient(t, s).AuthorizeUser(ctx, params("user-0001"))
		assert.ErrorIs(t, err, entrupy.ErrServer)
		assert.Equal(t, 1, s.Calls(entrupy.RouteAuthorizeUser))
		_, ok := s.User("user-0001")
		assert.False(t, ok)
	})
	t.Run("503 retried for a read", func(t *testing.T) {
		s := entrupytest.NewServer(t)
		s.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_1"})
		s.FailNext(2, entrupytest.Failure{Route: entrupytest.RouteGetAuthentication, Status: http.StatusServiceUnavailable})
		_, err := newClient(t, s).GetAuthentication(ctx, "ent_1")
		require.NoError(t, err)
		assert.Equal(t, 3, s.Calls(entrupy.RouteGetAuthentication))
	})
}

func TestFake_Responder(t *testing.T) {
	f := entrupytest.New(entrupytest.WithAPIToken("tok_responder_123456"), entrupytest.WithClock(clock))
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(f.Responder())
	c, err := entrupy.NewClient(entrupy.Credentials{APIToken: "tok_responder_123456"}, entrupy.WithClock(clock),
		entrupy.WithBaseURL("https://entrupy.test"), entrupy.WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	tok, err := c.AuthorizeUser(context.Background(), params("user-0009"))
	require.NoError(t, err)
	assert.Equal(t, now.Add(24*time.Hour), tok.ExpiresAt)
	uid, ok := f.SignedRequestUser(tok.SignedRequest)
	assert.True(t, ok)
	assert.Equal(t, "user-0009", uid)
	assert.Equal(t, 1, f.Calls(entrupy.RouteAuthorizeUser))
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

func TestFake_Concurrent(t *testing.T) {
	s := entrupytest.NewServer(t)
	c := newClient(t, s)
	s.AddSupportMessage("ent_1", entrupy.Message{Text: "q"})
	const n = 16
	var wg sync.WaitGroup
	signed := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.AuthorizeUser(context.Background(), params(fmt.Sprintf("user-%04d", i%4)))
			if err == nil {
				signed[i] = tok.SignedRequest
			}
			errs[i] = err
			_, _ = c.PostSupportMessage(context.Background(), "ent_1", entrupy.SupportReplyParams{Text: "r"})
			_ = s.Calls(entrupy.RouteAuthorizeUser)
			_ = s.Replies("ent_1")
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		assert.False(t, seen[signed[i]], "signed requests are unique")
		seen[signed[i]] = true
	}
	u, _ := s.User("user-0000")
	assert.Equal(t, n/4, u.Authorizations)
	assert.Len(t, s.Replies("ent_1"), n)
	assert.Equal(t, n, s.Calls(entrupy.RouteAuthorizeUser))
}

func TestSignWebhook(t *testing.T) {
	body := []byte(`{"event":"session.completed","data":{"entrupy_id":"e"}}`)
	sig := entrupytest.SignWebhook("whsec_abcdef", body)
	assert.Len(t, sig, 64)
	assert.Equal(t, strings.ToLower(sig), sig)
	assert.NoError(t, entrupy.VerifySignature("whsec_abcdef", body, sig))
	assert.ErrorIs(t, entrupy.VerifySignature("whsec_other", body, sig), entrupy.ErrSignatureMismatch)
	// Known answer (HMAC-SHA256 of "" with key "key").
	assert.Equal(t, "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0", entrupytest.SignWebhook("key", nil))
}

func TestFake_PageSizeAndUnknownRoute(t *testing.T) {
	s := entrupytest.NewServer(t, entrupytest.WithPageSize(2))
	for range 3 {
		s.AddSupportMessage("ent_1", entrupy.Message{Text: "q"})
	}
	page, err := newClient(t, s).ListSupportMessages(context.Background(), "ent_1", nil)
	require.NoError(t, err)
	assert.Len(t, page.Messages, 2)
	assert.NotEmpty(t, page.NextCursor)

	status, _ := raw(t, s, http.MethodGet, "/v3/unknown", "Token "+s.Credentials().APIToken, "", "")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = raw(t, s, http.MethodDelete, "/v2/authentications/ent_1", "Token "+s.Credentials().APIToken, "", "")
	assert.Equal(t, http.StatusMethodNotAllowed, status)
}
