package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// TestE2E_DemoFlows starts the server in demo mode on a random port and
// walks each vendor's flow over HTTP as an app and its user would: log in,
// start, double tap (reused), the QR code for uqudo and IDV, the simulated
// phone whose delivery goes through the real webhook handler, the event
// attributed to the user on the live stream, invalidate, start again.
func TestE2E_DemoFlows(t *testing.T) {
	ts := startServer(t, demoEnv)
	require.Contains(t, firstLine(ts.Logs.String()), "demo mode")

	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			user := "e2e-" + string(v)
			auth := ts.login(t, user)
			events := ts.stream(t, auth)
			body := map[string]any{}
			if v == broker.Entrupy {
				body["sdk_authorization_request"] = "sdk-request-from-the-phone"
			}

			a := ts.do(t, "POST", "/v1/"+string(v)+"/start", body, auth...)
			require.Equal(t, http.StatusOK, a.Status, "%s", a.Body)
			assert.Equal(t, "no-store", a.Header.Get("Cache-Control"))
			g := a.json(t)
			assert.Equal(t, string(v), g["vendor"])
			assert.Equal(t, user, g["user_id"])
			assert.Equal(t, false, g["reused"])
			assert.NotEmpty(t, g["expires_at"])
			assert.NotEmpty(t, g["refresh_after"])
			switch v {
			case broker.Entrupy, broker.Sentiance:
				assert.NotEmpty(t, g["token"])
			case broker.IDV:
				assert.NotEmpty(t, g["session_id"])
				assert.NotEmpty(t, g["handoff_url"])
			case broker.Uqudo:
				assert.NotEmpty(t, g["session_id"])
				assert.NotEmpty(t, g["qr_code_text"])
			}
			if v == broker.Sentiance {
				assert.NotEmpty(t, g["platform_url"])
			}

			again := ts.do(t, "POST", "/v1/"+string(v)+"/start", body, auth...).json(t)
			assert.Equal(t, true, again["reused"], "a double tap reuses the grant")
			assert.Equal(t, g["token"], again["token"])
			assert.Equal(t, g["session_id"], again["session_id"])

			switch v {
			case broker.Uqudo, broker.IDV:
				qr := ts.do(t, "GET", "/v1/qr.png?vendor="+string(v), nil, auth...)
				require.Equal(t, http.StatusOK, qr.Status, "%s", qr.Body)
				assert.Equal(t, "image/png", qr.Header.Get("Content-Type"))
				assert.Equal(t, "no-store", qr.Header.Get("Cache-Control"))
				want := g["handoff_url"]
				if v == broker.Uqudo {
					want = g["qr_code_text_with_dynamic_link"]
				}
				assert.Equal(t, want, decodeQR(t, qr.Body), "the QR code holds the session's text")
			}

			sim := ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": string(v)}, auth...)
			require.Equal(t, http.StatusOK, sim.Status, "%s", sim.Body)
			wantKind := "webhook"
			switch v {
			case broker.IDV:
				res := ts.do(t, "POST", "/v1/idv/result", map[string]any{"session_id": g["session_id"]}, auth...)
				require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
				assert.Equal(t, "verified", res.json(t)["status"])
				wantKind = "result"
			case broker.Sentiance:
				wantKind = "firehose"
			default:
				assert.EqualValues(t, 200, sim.json(t)["webhook_status"])
			}
			ev := waitEvent(t, events, func(e event) bool { return e.Vendor == v })
			assert.Equal(t, user, ev.User, "attributed to the user")
			assert.Equal(t, wantKind, ev.Kind)
			assert.NotEmpty(t, ev.Verified)
			if sid, _ := g["session_id"].(string); sid != "" {
				assert.Equal(t, sid, ev.Ref)
			}

			inv := ts.do(t, "POST", "/v1/"+string(v)+"/invalidate", map[string]any{}, auth...)
			require.Equal(t, http.StatusNoContent, inv.Status, "%s", inv.Body)
			fresh := ts.do(t, "POST", "/v1/"+string(v)+"/start", body, auth...).json(t)
			assert.Equal(t, false, fresh["reused"], "after invalidate a new grant is minted")
			if v == broker.IDV || v == broker.Uqudo {
				assert.NotEqual(t, g["session_id"], fresh["session_id"])
			} else {
				assert.NotEqual(t, g["token"], fresh["token"])
			}
		})
	}

	// Nothing secret reached the log.
	logs := ts.Logs.String()
	for _, s := range []string{"sdk-request-from-the-phone", "Bearer", "jwsResult"} {
		assert.NotContains(t, logs, s)
	}
}

// TestE2E_EventsAreTheUsersOwn: a user's stream never carries another
// user's events, and a late stream replays the recent ones.
func TestE2E_EventsAreTheUsersOwn(t *testing.T) {
	ts := startServer(t, demoEnv)
	alice, bob := ts.login(t, "alice"), ts.login(t, "bob")
	bobEvents := ts.stream(t, bob)
	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/v1/uqudo/start", map[string]any{}, alice...).Status)
	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "uqudo"}, alice...).Status)

	late := ts.stream(t, alice) // opened after the delivery: replayed
	ev := waitEvent(t, late, func(e event) bool { return e.Vendor == broker.Uqudo })
	assert.Equal(t, "alice", ev.User)

	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/v1/sentiance/start", map[string]any{}, bob...).Status)
	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "sentiance"}, bob...).Status)
	ev = waitEvent(t, bobEvents, func(event) bool { return true })
	assert.Equal(t, "bob", ev.User, "bob's first event is his own, not alice's uqudo result")
	assert.Equal(t, broker.Sentiance, ev.Vendor)
}

// TestE2E_Webhooks_Refused: deliveries that fail verification are refused
// by the vendor packages' handlers and reach no stream.
func TestE2E_Webhooks_Refused(t *testing.T) {
	ts := startServer(t, demoEnv)
	cases := []struct {
		name, path, body string
		hdr              []string
		want             int
	}{
		{"entrupy without signature", "/webhooks/entrupy", `{"event":"session.completed","data":{"entrupy_id":"x"}}`, nil, http.StatusUnauthorized},
		{"entrupy with a wrong signature", "/webhooks/entrupy", `{"event":"session.completed","data":{"entrupy_id":"x"}}`, []string{"Entrupy-Signature", strings.Repeat("ab", 32)}, http.StatusUnauthorized},
		{"sentiance without Basic auth", "/webhooks/sentiance", `{"data":[]}`, nil, http.StatusUnauthorized},
		{"sentiance with a wrong password", "/webhooks/sentiance", `{"data":[]}`, []string{"Authorization", "Basic c2VudGlhbmNlLWRlbW86d3Jvbmc="}, http.StatusUnauthorized},
		{"uqudo without the header", "/webhooks/uqudo", `{"jwsResult":"a.b.c"}`, nil, http.StatusUnauthorized},
		{"entrupy GET", "/webhooks/entrupy", ``, nil, http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "POST"
			if c.want == http.StatusMethodNotAllowed {
				method = "GET"
			}
			req, err := http.NewRequest(method, ts.URL+c.path, strings.NewReader(c.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(c.hdr); i += 2 {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, c.want, resp.StatusCode)
		})
	}
}

// TestE2E_IDVResult_Ownership: the result endpoint answers only the
// session's owner; anyone else, and unknown sessions, get 403.
func TestE2E_IDVResult_Ownership(t *testing.T) {
	ts := startServer(t, demoEnv)
	alice, bob := ts.login(t, "alice"), ts.login(t, "bob")
	g := ts.do(t, "POST", "/v1/idv/start", map[string]any{}, alice...).json(t)
	sid := g["session_id"]

	a := ts.do(t, "POST", "/v1/idv/result", map[string]any{"session_id": sid}, bob...)
	assert.Equal(t, http.StatusForbidden, a.Status, "someone else's session")
	assert.Equal(t, "forbidden", a.errorCode(t))
	a = ts.do(t, "POST", "/v1/idv/result", map[string]any{"session_id": "no-such-session"}, alice...)
	assert.Equal(t, http.StatusForbidden, a.Status, "an unknown session looks the same")
	a = ts.do(t, "POST", "/v1/idv/result", map[string]any{"session_id": sid})
	assert.Equal(t, http.StatusUnauthorized, a.Status, "not logged in")
	a = ts.do(t, "POST", "/v1/idv/result", map[string]any{}, alice...)
	assert.Equal(t, http.StatusBadRequest, a.Status, "no session id")
	a = ts.do(t, "POST", "/v1/idv/result", map[string]any{"session_id": sid, "user": "bob"}, alice...)
	assert.Equal(t, http.StatusBadRequest, a.Status, "unknown fields are refused")

	a = ts.do(t, "POST", "/v1/idv/result", map[string]any{"session_id": sid}, alice...)
	require.Equal(t, http.StatusOK, a.Status, "%s", a.Body)
	assert.Equal(t, "not_completed", a.json(t)["status"], "before the phone finished")
}

// TestE2E_Login: the demo login's cookie and bearer, and what is refused.
func TestE2E_Login(t *testing.T) {
	ts := startServer(t, demoEnv)

	a := ts.do(t, "POST", "/auth/login", map[string]string{"user": "carol"})
	require.Equal(t, http.StatusOK, a.Status, "%s", a.Body)
	cookies := (&http.Response{Header: a.Header}).Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.Equal(t, sessionCookie, c.Name)
	assert.True(t, c.HttpOnly, "HttpOnly")
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.NotContains(t, string(a.Body), c.Value, "the cookie's token is not in the body")
	cookie := []string{"Cookie", sessionCookie + "=" + c.Value}

	me := ts.do(t, "GET", "/auth/me", nil, cookie...).json(t)
	assert.Equal(t, "carol", me["user"])
	assert.Equal(t, true, me["demo"])
	assert.Len(t, me["fake_vendors"], 4)

	a = ts.do(t, "POST", "/v1/sentiance/start", map[string]any{}, cookie...)
	require.Equal(t, http.StatusOK, a.Status, "the cookie authenticates the API")
	assert.Equal(t, "carol", a.json(t)["user_id"])

	a = ts.do(t, "POST", "/auth/logout", map[string]any{}, cookie...)
	assert.Equal(t, http.StatusNoContent, a.Status)
	a = ts.do(t, "POST", "/v1/sentiance/start", map[string]any{}, cookie...)
	assert.Equal(t, http.StatusUnauthorized, a.Status, "logged out")
	assert.Nil(t, ts.do(t, "GET", "/auth/me", nil, cookie...).json(t)["user"])

	for _, bad := range []string{"", "-x", "a b", "a.b", strings.Repeat("x", 65), "é"} {
		a = ts.do(t, "POST", "/auth/token", map[string]string{"user": bad})
		assert.Equal(t, http.StatusBadRequest, a.Status, "user %q", bad)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/auth/login", strings.NewReader("user=mallory"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "a cross-site form cannot log anyone in")

	a = ts.do(t, "POST", "/v1/uqudo/start", map[string]any{}, "Authorization", "Bearer not-a-session")
	assert.Equal(t, http.StatusUnauthorized, a.Status)
	a = ts.do(t, "POST", "/v1/uqudo/start", map[string]any{})
	assert.Equal(t, http.StatusUnauthorized, a.Status)
	a = ts.do(t, "GET", "/v1/events", nil)
	assert.Equal(t, http.StatusUnauthorized, a.Status)
}

// TestE2E_QR_OnlyTheUsersGrant: the QR endpoint draws only the logged-in
// user's current grant, never text from the query.
func TestE2E_QR_OnlyTheUsersGrant(t *testing.T) {
	ts := startServer(t, demoEnv)
	alice, bob := ts.login(t, "alice"), ts.login(t, "bob")

	assert.Equal(t, http.StatusUnauthorized, ts.do(t, "GET", "/v1/qr.png?vendor=uqudo", nil).Status)
	assert.Equal(t, http.StatusBadRequest, ts.do(t, "GET", "/v1/qr.png?vendor=entrupy", nil, alice...).Status)
	assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/v1/qr.png?vendor=uqudo", nil, alice...).Status, "no grant yet")

	g := ts.do(t, "POST", "/v1/uqudo/start", map[string]any{}, alice...).json(t)
	a := ts.do(t, "GET", "/v1/qr.png?vendor=uqudo&text=https://evil.example/", nil, alice...)
	require.Equal(t, http.StatusOK, a.Status)
	assert.Equal(t, g["qr_code_text_with_dynamic_link"], decodeQR(t, a.Body))
	assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/v1/qr.png?vendor=uqudo", nil, bob...).Status, "bob has no grant of his own")

	require.Equal(t, http.StatusNoContent, ts.do(t, "POST", "/v1/uqudo/invalidate", map[string]any{}, alice...).Status)
	assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/v1/qr.png?vendor=uqudo", nil, alice...).Status, "an invalidated grant is not drawn")
}

// TestE2E_Simulate_Refused: the demo phone needs a login, a known vendor and
// a current grant.
func TestE2E_Simulate_Refused(t *testing.T) {
	ts := startServer(t, demoEnv)
	alice := ts.login(t, "alice")
	assert.Equal(t, http.StatusUnauthorized, ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "uqudo"}).Status)
	a := ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "uqudo"}, alice...)
	assert.Equal(t, http.StatusNotFound, a.Status)
	assert.Equal(t, "no_grant", a.errorCode(t))
	a = ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "acme"}, alice...)
	assert.Equal(t, "unknown_vendor", a.errorCode(t))
}

// TestE2E_Page: the page, its files and its headers.
func TestE2E_Page(t *testing.T) {
	ts := startServer(t, demoEnv)
	a := ts.do(t, "GET", "/", nil)
	require.Equal(t, http.StatusOK, a.Status)
	assert.Equal(t, contentSecurityPolicy, a.Header.Get("Content-Security-Policy"))
	assert.Contains(t, a.Header.Get("Content-Type"), "text/html")
	assert.Equal(t, "nosniff", a.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", a.Header.Get("X-Frame-Options"))
	assert.Contains(t, string(a.Body), `id="simulate"`)
	for _, f := range []string{"/static/app.js", "/static/style.css"} {
		a := ts.do(t, "GET", f, nil)
		assert.Equal(t, http.StatusOK, a.Status, f)
		assert.NotEmpty(t, a.Header.Get("Content-Security-Policy"), f)
	}
	assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/static/", nil).Status, "no listing")
	assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/nope", nil).Status)
	h := ts.do(t, "GET", "/healthz", nil)
	assert.Equal(t, http.StatusOK, h.Status)
	assert.Equal(t, "ok", h.json(t)["status"])
}

// TestPage_NoExternalURL: the embedded page loads nothing from another
// origin and has no inline script or style (the CSP would block them).
func TestPage_NoExternalURL(t *testing.T) {
	for _, name := range []string{"static/index.html", "static/app.js", "static/style.css"} {
		b, err := static.ReadFile(name)
		require.NoError(t, err)
		s := string(b)
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "<style", "style=\"", "onclick=", "javascript:"} {
			assert.NotContains(t, s, bad, name)
		}
		if strings.HasSuffix(name, ".html") {
			assert.Equal(t, 1, strings.Count(s, "<script"), "one script, by src")
			assert.Contains(t, s, `<script src="/static/app.js"`)
		}
	}
}

// TestRun_GracefulShutdown: cancelling run's context (SIGINT, SIGTERM)
// ends open event streams and returns nil promptly.
func TestRun_GracefulShutdown(t *testing.T) {
	ts := startServer(t, demoEnv)
	alice := ts.login(t, "alice")
	events := ts.stream(t, alice)
	start := time.Now()
	require.NoError(t, ts.stop())
	assert.Less(t, time.Since(start), shutdownTimeout, "the stream did not hold the shutdown up")
	select {
	case _, ok := <-events:
		assert.False(t, ok, "the stream ended")
	case <-time.After(10 * time.Second):
		t.Fatal("the stream is still open")
	}
	assert.Contains(t, ts.Logs.String(), "stopped")
}

// TestRun_JSONLogs: -log-format json logs JSON whose first line names demo
// mode.
func TestRun_JSONLogs(t *testing.T) {
	ts := startServer(t, demoEnv, "-log-format", "json")
	line := firstLine(ts.Logs.String())
	assert.True(t, strings.HasPrefix(line, "{"), line)
	assert.Contains(t, line, `"mode":"demo"`)
}

// TestRun_MixedMode: a vendor with credentials uses its real API (no call
// is made at startup), the others stay fakes, and the demo phone refuses
// the real one.
func TestRun_MixedMode(t *testing.T) {
	ts := startServer(t, map[string]string{
		"ENTRUPY_API_TOKEN":       "not-a-real-token-for-tests",
		"SDKSERVER_PSEUDONYM_KEY": strings.Repeat("ab", 32),
	})
	line := firstLine(ts.Logs.String())
	assert.Contains(t, line, "mixed mode")
	assert.Contains(t, line, "real_vendors=entrupy")
	assert.NotContains(t, ts.Logs.String(), "not-a-real-token-for-tests")
	assert.Contains(t, ts.Logs.String(), "entrupy webhook not served")
	alice := ts.login(t, "alice")
	me := ts.do(t, "GET", "/auth/me", nil, alice...).json(t)
	assert.Equal(t, false, me["demo"])
	assert.ElementsMatch(t, []any{"sentiance", "idv", "uqudo"}, me["fake_vendors"])
	a := ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "entrupy"}, alice...)
	assert.Equal(t, http.StatusNotFound, a.Status)
	assert.Equal(t, "not_demo", a.errorCode(t))
	assert.Equal(t, http.StatusNotFound, ts.do(t, "POST", "/webhooks/entrupy", map[string]any{}).Status)
}

// TestRun_Help: -help lists every flag and environment variable and exits
// cleanly.
func TestRun_Help(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-help"}, envOf(nil), &out, nil))
	for _, v := range envVars {
		assert.Contains(t, out.String(), v.name)
	}
	for _, f := range []string{"-addr", "-log-format"} {
		assert.Contains(t, out.String(), f)
	}
}

// firstLine returns the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
