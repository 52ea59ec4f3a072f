package idv_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
)

func TestBuildHandoffURL_Exact(t *testing.T) {
	got, err := idv.BuildHandoffURL("https://idv.example.com", "tok", "s1")
	require.NoError(t, err)
	assert.Equal(t, "https://idv.example.com/capture?url=https%3A%2F%2Fidv.example.com%2Fmobile%3Fauthorization%3Dtok%26sessionId%3Ds1", got)

	got, err = idv.BuildHandoffURL("https://idv.example.com:8443/tenant/a", "t+k", "s 1")
	require.NoError(t, err)
	assert.Equal(t, "https://idv.example.com:8443/tenant/a/capture?url="+
		"https%3A%2F%2Fidv.example.com%3A8443%2Ftenant%2Fa%2Fmobile%3Fauthorization%3Dt%252Bk%26sessionId%3Ds%2B1", got,
		"a base path prefix is kept; inner values are escaped, then the inner URL is escaped again")
}

// parseHandoff takes a handoff URL apart the way a browser would and returns
// the outer URL, the inner URL, and the inner token and session id.
func parseHandoff(t testing.TB, s string) (outer, inner *url.URL, token, id string) {
	t.Helper()
	outer, err := url.Parse(s)
	require.NoError(t, err)
	oq, err := url.ParseQuery(outer.RawQuery)
	require.NoError(t, err)
	require.Len(t, oq, 1, "the outer URL has only the url parameter")
	require.Len(t, oq["url"], 1)
	inner, err = url.Parse(oq.Get("url"))
	require.NoError(t, err)
	iq, err := url.ParseQuery(inner.RawQuery)
	require.NoError(t, err)
	require.Len(t, iq, 2)
	require.Len(t, iq["authorization"], 1)
	require.Len(t, iq["sessionId"], 1)
	return outer, inner, iq.Get("authorization"), iq.Get("sessionId")
}

func TestBuildHandoffURL_RoundTrip(t *testing.T) {
	values := []string{
		"plain", "a&b=c", "x+y", "100%", "50%25", "with space", " lead", "trail ", "ünïcödé", "日本語", "emoji 🎉",
		"a?b#c", "/slash/", "=", "&", "+", "%", "%zz", "a;b", "quote\"'", "<tag>", "\u00a0nbsp", "\u200bzero-width",
		"Token abc", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_", "a\u2028b",
	}
	for _, base := range []string{"https://idv.example.com/", "https://idv.example.com/tenant/x/", "http://127.0.0.1:9999"} {
		for _, tok := range values {
			for _, id := range []string{"s1", tok} {
				got, err := idv.BuildHandoffURL(base, tok, id)
				require.NoError(t, err, "%q %q", tok, id)
				outer, inner, gotTok, gotID := parseHandoff(t, got)
				assert.Equal(t, tok, gotTok)
				assert.Equal(t, id, gotID)
				b, _ := url.Parse(base)
				prefix := strings.TrimSuffix(b.Path, "/")
				assert.Equal(t, b.Scheme, outer.Scheme)
				assert.Equal(t, b.Host, outer.Host)
				assert.Equal(t, prefix+"/capture", outer.Path)
				assert.Equal(t, b.Scheme, inner.Scheme)
				assert.Equal(t, b.Host, inner.Host)
				assert.Equal(t, prefix+"/mobile", inner.Path)
			}
		}
	}
}

func TestBuildHandoffURL_Validation(t *testing.T) {
	tests := []struct {
		name, base, token, id, field string
	}{
		{"empty token", "https://idv.test", "", "s", "token"},
		{"empty id", "https://idv.test", "t", "", "session_id"},
		{"invalid UTF-8 token", "https://idv.test", "t\xffx", "s", "token"},
		{"invalid UTF-8 id", "https://idv.test", "t", "\xc3", "session_id"},
		{"control character", "https://idv.test", "t\x00", "s", "token"},
		{"newline id", "https://idv.test", "t", "s\n", "session_id"},
		{"C1 control", "https://idv.test", "t\u0085", "s", "token"},
		{"empty base", "", "t", "s", "base_url"},
		{"relative base", "idv.test", "t", "s", "base_url"},
		{"base with query", "https://idv.test/?a=1", "t", "s", "base_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := idv.BuildHandoffURL(tt.base, tt.token, tt.id)
			assert.Empty(t, got)
			require.ErrorIs(t, err, idv.ErrInvalidInput)
			var ve *idv.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
		})
	}
}

// validText mirrors the documented input rule independently of the code
// under test.
func validText(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// FuzzBuildHandoffURL checks the builder's property: for any token and
// session id it either refuses them with a ValidationError (exactly when the
// documented rule says so) or builds a URL whose decoding gives them back
// exactly, on the base URL's host and paths; and the redacted form keeps the
// session id but never the token.
func FuzzBuildHandoffURL(f *testing.F) {
	for _, s := range [][2]string{
		{"tok", "s1"}, {"a&b=c", "x+y"}, {"100%", "%zz"}, {"with space", "日本語"}, {"\xff", "s"}, {"t", ""},
		{"eph+AAAA/BBB==", "session-1"}, {"Token abc", "a#b?c"}, {"\x00", "\u2028"}, {"REDACTED", "REDACTED"},
	} {
		f.Add(s[0], s[1])
	}
	const base = "https://idv.example.com/tenant/"
	f.Fuzz(func(t *testing.T, token, id string) {
		got, err := idv.BuildHandoffURL(base, token, id)
		valid := validText(token) && len(token) <= idv.MaxTokenLength && validText(id) && len(id) <= idv.MaxIDLength &&
			strings.TrimSpace(id) != "" // a blank session id names nothing
		if !valid {
			if err == nil {
				t.Fatalf("accepted invalid input %q %q", token, id)
			}
			var ve *idv.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, idv.ErrInvalidInput) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("refused valid input %q %q: %v", token, id, err)
		}
		outer, inner, gotTok, gotID := parseHandoff(t, got)
		if gotTok != token || gotID != id {
			t.Fatalf("round trip: got %q %q, want %q %q", gotTok, gotID, token, id)
		}
		if outer.Host != "idv.example.com" || inner.Host != "idv.example.com" ||
			outer.Path != "/tenant/capture" || inner.Path != "/tenant/mobile" || outer.Scheme != "https" || inner.Scheme != "https" {
			t.Fatalf("wrong place: %s", got)
		}
		red := idv.RedactHandoffURL(got)
		_, _, redTok, redID := parseHandoff(t, red)
		if redTok != idv.RedactedValue || redID != id {
			t.Fatalf("redacted form: got %q %q", redTok, redID)
		}
	})
}

func TestClient_HandoffURL(t *testing.T) {
	c, err := idv.NewClient("https://idv.test/tenant", idv.Credentials{APIKey: testKey})
	require.NoError(t, err)
	got, err := c.HandoffURL(&idv.EphemeralDevice{Token: "a&b"}, &idv.Session{ID: "s=1"})
	require.NoError(t, err)
	outer, inner, tok, id := parseHandoff(t, got)
	assert.Equal(t, "https://idv.test/tenant/capture", outer.Scheme+"://"+outer.Host+outer.Path)
	assert.Equal(t, "https://idv.test/tenant/mobile", inner.Scheme+"://"+inner.Host+inner.Path)
	assert.Equal(t, "a&b", tok)
	assert.Equal(t, "s=1", id)

	for _, tt := range []struct {
		d     *idv.EphemeralDevice
		s     *idv.Session
		field string
	}{
		{nil, &idv.Session{ID: "s"}, "device"},
		{&idv.EphemeralDevice{Token: "t"}, nil, "session"},
		{&idv.EphemeralDevice{}, &idv.Session{ID: "s"}, "token"},
		{&idv.EphemeralDevice{Token: "t"}, &idv.Session{}, "session_id"},
	} {
		_, err := c.HandoffURL(tt.d, tt.s)
		var ve *idv.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tt.field, ve.Field)
	}
}

func TestRedactHandoffURL(t *testing.T) {
	full, err := idv.BuildHandoffURL("https://idv.test/t/", testToken, "s-1")
	require.NoError(t, err)
	tests := []struct{ name, in, want string }{
		{"handoff", full, "https://idv.test/t/capture?url=https%3A%2F%2Fidv.test%2Ft%2Fmobile%3Fauthorization%3DREDACTED%26sessionId%3Ds-1"},
		{"extra inner params dropped", "https://h/capture?url=" + url.QueryEscape("https://h/mobile?authorization=x&sessionId=s&secret=y#frag"),
			"https://h/capture?url=https%3A%2F%2Fh%2Fmobile%3Fauthorization%3DREDACTED%26sessionId%3Ds"},
		{"inner user info dropped", "https://h/capture?url=" + url.QueryEscape("https://u:"+testToken+"@h/mobile?sessionId=s"),
			"https://h/capture?url=https%3A%2F%2Fh%2Fmobile%3FsessionId%3Ds"},
		{"other query", "https://h/x?token=" + testToken + "&a=b", "https://h/x?REDACTED"},
		{"two url params", "https://h/capture?url=a&url=b", "https://h/capture?REDACTED"},
		{"bad inner", "https://h/capture?url=" + url.QueryEscape("http://[::1"), "https://h/capture?REDACTED"},
		{"no query", "https://h/capture", "https://h/capture"},
		{"user info", "https://u:" + testToken + "@h/capture", "https://h/capture"},
		{"not a URL", "http://[::1" + testToken, "[REDACTED]"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := idv.RedactHandoffURL(tt.in)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, testToken)
		})
	}
}

func TestHandoff_Redacted(t *testing.T) {
	u, err := idv.BuildHandoffURL("https://idv.test/", testToken, "s-1")
	require.NoError(t, err)
	h := idv.Handoff{
		Device:  &idv.EphemeralDevice{Token: testToken, ExpiresAt: fixedNow},
		Session: &idv.Session{ID: "s-1", WorkflowID: "wf"},
		URL:     u,
	}
	escaped := url.QueryEscape(url.QueryEscape(testToken))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		for _, v := range []any{h, &h} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, testToken, verb)
			assert.NotContains(t, out, escaped, verb)
			assert.Contains(t, out, "s-1", verb)
		}
	}
	assert.Equal(t, u, h.URL, "the field itself is the real URL")

	logger, buf := logBuffer()
	logger.Info("handoff", "h", h)
	assert.NotContains(t, buf.String(), testToken)
	assert.Contains(t, buf.String(), "h.session_id=s-1")

	assert.NotPanics(t, func() { _ = fmt.Sprint(idv.Handoff{}) })
}

func TestClient_Initiate(t *testing.T) {
	mt := newMock(t)
	devRec := register(mt, http.MethodPost, deviceURL, respond(200, `{"authorization":"`+testToken+`"}`))
	sesRec := register(mt, http.MethodPost, sessionsPattern, respond(201, `{"id":"ses 9"}`))
	c := newClient(t, mt)

	md := map[string]any{"plan": "gold", "externalUserId": "stale"}
	h, err := c.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "kyc", ExternalUserID: "user-1", Metadata: md, TTL: 120e9})
	require.NoError(t, err)
	assert.Equal(t, testToken, h.Device.Token)
	assert.Equal(t, fixedNow.Add(120e9), h.Device.ExpiresAt)
	assert.Equal(t, "ses 9", h.Session.ID)
	assert.Equal(t, "kyc", h.Session.WorkflowID)
	assert.Equal(t, "stale", md["externalUserId"], "caller's metadata untouched")

	_, _, tok, id := parseHandoff(t, h.URL)
	assert.Equal(t, testToken, tok)
	assert.Equal(t, "ses 9", id)
	assert.True(t, strings.HasPrefix(h.URL, "https://idv.test/tenant/capture?url="), h.URL)

	jsonEq(t, `{"ttl":120}`, devRec.requests()[0].Body)
	sr := sesRec.requests()[0]
	assert.Equal(t, "workflowId=kyc", sr.Query)
	assert.Equal(t, "Token "+testToken, sr.Header.Get("Authorization"))
	jsonEq(t, `{"metadata":{"plan":"gold","externalUserId":"user-1"}}`, sr.Body)
}

func TestClient_Initiate_Validation(t *testing.T) {
	mt := newMock(t)
	c := newClient(t, mt)
	for _, tt := range []struct {
		name  string
		p     idv.InitiateParams
		field string
	}{
		{"no workflow", idv.InitiateParams{}, "workflow_id"},
		{"bad ttl", idv.InitiateParams{WorkflowID: "wf", TTL: -1}, "ttl"},
		{"ttl too long", idv.InitiateParams{WorkflowID: "wf", TTL: idv.MaxTTL * 2}, "ttl"},
		{"bad user id", idv.InitiateParams{WorkflowID: "wf", ExternalUserID: "u\x00"}, "external_user_id"},
		{"bad metadata", idv.InitiateParams{WorkflowID: "wf", Metadata: map[string]any{"c": make(chan int)}}, "metadata"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Initiate(context.Background(), tt.p)
			var ve *idv.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field)
		})
	}
	assert.Zero(t, totalCalls(mt), "nothing is created for bad input")
}

func TestClient_Initiate_SessionFails(t *testing.T) {
	mt := newMock(t)
	register(mt, http.MethodPost, deviceURL, respond(200, `{"authorization":"`+testToken+`"}`))
	register(mt, http.MethodPost, sessionsPattern, respond(404, `{"message":"workflow not found"}`))
	c := newClient(t, mt)
	h, err := c.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "missing"})
	assert.Nil(t, h)
	require.ErrorIs(t, err, idv.ErrNotFound)
	assert.Contains(t, err.Error(), "/tenant/api/sessions", "the error names the failing step")
	assert.NotContains(t, err.Error(), testToken)
	assert.Equal(t, 1, calls(mt, "POST "+deviceURL))
}
