package brokerhttp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokerhttp"
	"github.com/sdkbroker/sdkbroker/internal/hostile"
)

// TestHandler_Hostile100MiBBody: a 100 MiB body without a Content-Length
// is refused with 413 after reading no more than the limit, for every
// route (issue 16 item 5).
func TestHandler_Hostile100MiBBody(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, v := range broker.Vendors() {
		for _, op := range []string{"start", "invalidate"} {
			body, src := hostile.JSONPrefixed(100 * hostile.MiB)
			r := httptest.NewRequest(http.MethodPost, "/"+string(v)+"/"+op, body)
			r.ContentLength = -1
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(userHeader, testUser)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			errorOf(t, w, http.StatusRequestEntityTooLarge, brokerhttp.CodeBodyTooLarge)
			assert.LessOrEqual(t, src.Consumed(), brokerhttp.DefaultMaxBodyBytes+64<<10, "%s %s read past the limit", v, op)
		}
	}
	require.Zero(t, e.calls(broker.Entrupy)+e.calls(broker.Sentiance)+e.calls(broker.IDV)+e.calls(broker.Uqudo))
}

// TestHandler_HostileUsers: the user id comes from the app's WithUser, so
// a hostile one is the app's bug: a user id the broker or the vendor
// refuses is a 500 with the fixed message, sent to no vendor, never echoed;
// one they accept gets that user's grant.
func TestHandler_HostileUsers(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, id := range hostile.IDs() {
		t.Run(id.Name, func(t *testing.T) {
			for _, v := range broker.Vendors() {
				before := e.calls(v)
				w := post(t, e.h, "/"+string(v)+"/start", id.Value, bodyFor(v))
				switch w.Code {
				case http.StatusOK:
					g := grantOf(t, w)
					assert.Equal(t, id.Value, g.UserID)
				case http.StatusUnauthorized: // blank: no user
					errorOf(t, w, http.StatusUnauthorized, brokerhttp.CodeUnauthenticated)
					assert.Equal(t, before, e.calls(v))
				default:
					errorOf(t, w, http.StatusInternalServerError, brokerhttp.CodeInternal)
					assert.Equal(t, before, e.calls(v), "%s: a refused user id reached the vendor", v)
					if len(id.Value) > 3 {
						assert.NotContains(t, w.Body.String(), id.Value)
					}
					assert.NotContains(t, w.Body.String(), "X-Injected")
				}
			}
		})
	}
}

// TestHandler_HostileFields: hostile values in the body's fields (NUL,
// CR LF, ../, a value near the size limit, invalid UTF-8 escapes) are
// refused with 400 before any vendor call, or reach the vendor as JSON
// strings; an error answer never repeats the value.
func TestHandler_HostileFields(t *testing.T) {
	e := newEnv(t, envOpts{})
	big := strings.Repeat("x", 60<<10)
	cases := []struct {
		name, path, body, value string
	}{
		{"NUL in the SDK request", "/entrupy/start", `{"sdk_authorization_request":"req\u0000uest","email":"a@example.com"}`, "req\x00uest"},
		{"CR LF in the e-mail", "/entrupy/start", `{"sdk_authorization_request":"request-1","email":"a@example.com\r\nBcc: x@example.com"}`, "Bcc: x@example.com"},
		{"CR LF in a name", "/entrupy/start", `{"sdk_authorization_request":"request-2","email":"a@example.com","first_name":"Ann\r\nX-Injected: yes"}`, "X-Injected: yes"},
		{"lone surrogate escape", "/entrupy/start", `{"sdk_authorization_request":"req\ud800","email":"a@example.com"}`, "req\ufffd"},
		{"60 KiB SDK request", "/entrupy/start", `{"sdk_authorization_request":"` + big + `","email":"a@example.com"}`, big},
		{"../ as the workflow", "/idv/start", `{"workflow_id":"../../admin"}`, "../../admin"},
		{"CR LF as the workflow", "/idv/start", `{"workflow_id":"kyc\r\nX-Injected: yes"}`, "X-Injected: yes"},
		{"CR LF, NUL and ../ in metadata", "/idv/start", `{"metadata":{"k\r\n":"v\u0000","../../k":"../../v"}}`, "../../v"},
		{"60 KiB of metadata", "/idv/start", `{"metadata":{"pad":"` + big + `"}}`, big},
		{"NUL in a uqudo document type", "/uqudo/start", `{"data":{"documents":[{"documentType":"PASS\u0000PORT"}]}}`, "PASS\x00PORT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := broker.Vendor(strings.Split(c.path, "/")[1])
			before := e.calls(v)
			w := post(t, e.h, c.path, testUser, c.body)
			switch w.Code {
			case http.StatusOK:
				assert.Equal(t, testUser, grantOf(t, w).UserID)
			default:
				a := errorOf(t, w, w.Code, codeOf(t, w))
				assert.Contains(t, []int{http.StatusBadRequest, http.StatusInternalServerError}, w.Code, w.Body.String())
				assert.Equal(t, before, e.calls(v), "a refused body reached the vendor")
				assert.NotContains(t, a.Error.Message, c.value)
				assert.NotContains(t, w.Body.String(), "X-Injected")
			}
		})
	}
}

// codeOf returns the error code of an error answer.
func codeOf(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var a errorAnswer
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &a))
	return a.Error.Code
}
