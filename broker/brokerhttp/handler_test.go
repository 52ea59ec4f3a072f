package brokerhttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokerhttp"
)

func TestHandler_Start_EachVendor(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			path := "/" + string(v) + "/start"
			first := grantOf(t, post(t, e.h, path, testUser, bodyFor(v)))
			require.Equal(t, v, first.Vendor)
			require.Equal(t, testUser, first.UserID)
			require.False(t, first.Reused)
			require.True(t, first.ExpiresAt.After(time.Now()))
			require.False(t, first.RefreshAfter.After(first.ExpiresAt))
			switch v {
			case broker.Entrupy:
				require.NotEmpty(t, first.Token)
			case broker.Sentiance:
				require.NotEmpty(t, first.Token)
				require.NotEmpty(t, first.PlatformURL)
			case broker.IDV:
				require.NotEmpty(t, first.Token)
				require.NotEmpty(t, first.SessionID)
				require.True(t, strings.HasPrefix(first.HandoffURL, e.idv.URL+"/capture?url="), first.HandoffURL)
			case broker.Uqudo:
				require.Empty(t, first.Token)
				require.NotEmpty(t, first.SessionID)
				require.NotEmpty(t, first.QRCodeText)
				require.NotEmpty(t, first.QRCodeTextWithDynamicLink)
			}

			// A double tap gets the same grant, without a vendor call.
			second := grantOf(t, post(t, e.h, path, testUser, bodyFor(v)))
			require.True(t, second.Reused)
			require.Equal(t, first.Token, second.Token)
			require.Equal(t, first.SessionID, second.SessionID)
			require.Equal(t, 1, e.calls(v))
		})
	}
}

// The broker gets the params decoded from the body, with the user from
// WithUser.
func TestHandler_Start_ParamsReachTheVendor(t *testing.T) {
	e := newEnv(t, envOpts{})

	g := grantOf(t, post(t, e.h, "/entrupy/start", testUser,
		`{"sdk_authorization_request":"`+sdkRequest+`","email":"ann@example.com","first_name":"Ann","last_name":"Lee"}`))
	require.NotEmpty(t, g.Token)
	u, ok := e.ent.User(testUser)
	require.True(t, ok)
	require.Equal(t, "ann@example.com", u.Email)
	require.Equal(t, "Ann", u.FirstName)
	require.Equal(t, "Lee", u.LastName)

	g = grantOf(t, post(t, e.h, "/idv/start", testUser, `{"workflow_id":"kyc-full","metadata":{"plan":"gold"},"ttl":600}`))
	s, ok := e.idv.Session(g.SessionID)
	require.True(t, ok)
	require.Equal(t, "kyc-full", s.WorkflowID)
	require.Equal(t, "gold", s.Metadata["plan"])
	require.Equal(t, testUser, s.Metadata["externalUserId"])
	require.WithinDuration(t, time.Now().Add(10*time.Minute), g.ExpiresAt, time.Minute)

	g = grantOf(t, post(t, e.h, "/uqudo/start", testUser,
		`{"data":{"documents":[{"documentType":"GENERIC_ID"}],"facialRecognition":{"enabled":true}}}`))
	d, _, ok := e.uq.SessionData(g.SessionID)
	require.True(t, ok)
	require.Len(t, d.Documents, 1)
	require.EqualValues(t, "GENERIC_ID", d.Documents[0].DocumentType)
	require.NotNil(t, d.FacialRecognition)
	require.True(t, d.FacialRecognition.Enabled)
	require.NotNil(t, d.GeneralConfig)
	require.Equal(t, testUser, d.GeneralConfig.UserIdentifier)

	// The body cannot set the user IDV records either: the broker's
	// externalUserId wins.
	g = grantOf(t, post(t, e.h, "/idv/start", "customer-0003", `{"metadata":{"externalUserId":"someone-else"}}`))
	s, ok = e.idv.Session(g.SessionID)
	require.True(t, ok)
	require.Equal(t, "customer-0003", s.Metadata["externalUserId"])

	// Empty bodies take the broker's defaults.
	g = grantOf(t, post(t, e.h, "/idv/start", "customer-0002", ``))
	s, ok = e.idv.Session(g.SessionID)
	require.True(t, ok)
	require.Equal(t, "kyc-basic", s.WorkflowID)
	g = grantOf(t, post(t, e.h, "/uqudo/start", "customer-0002", `{}`))
	d, _, ok = e.uq.SessionData(g.SessionID)
	require.True(t, ok)
	require.EqualValues(t, "PASSPORT", d.Documents[0].DocumentType)
	grantOf(t, post(t, e.h, "/sentiance/start", "customer-0002", ``))
}

func TestHandler_Invalidate(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			first := grantOf(t, post(t, e.h, "/"+string(v)+"/start", testUser, bodyFor(v)))

			w := post(t, e.h, "/"+string(v)+"/invalidate", testUser, ``)
			require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
			require.Empty(t, w.Body.String())
			require.Equal(t, "no-store", w.Header().Get("Cache-Control"))

			// The next start asks the vendor again.
			next := grantOf(t, post(t, e.h, "/"+string(v)+"/start", testUser, bodyFor(v)))
			require.False(t, next.Reused)
			require.Equal(t, 2, e.calls(v))
			if v == broker.IDV || v == broker.Uqudo {
				require.NotEqual(t, first.SessionID, next.SessionID)
			} else {
				require.NotEqual(t, first.Token, next.Token)
			}

			// {} is accepted too; a field is not.
			w = post(t, e.h, "/"+string(v)+"/invalidate", testUser, `{}`)
			require.Equal(t, http.StatusNoContent, w.Code)
			errorOf(t, post(t, e.h, "/"+string(v)+"/invalidate", testUser, `{"all":true}`), http.StatusBadRequest, brokerhttp.CodeInvalidRequest)
		})
	}
}

func TestHandler_BadRequests(t *testing.T) {
	e := newEnv(t, envOpts{})
	cases := []struct {
		name, path, body, inMessage string
	}{
		{"not JSON", "/entrupy/start", `{"email":`, "not valid JSON"},
		{"not an object", "/sentiance/start", `[1,2]`, "must be a JSON object"},
		{"null", "/sentiance/start", `null`, "must be a JSON object"},
		{"trailing data", "/sentiance/start", `{} {}`, "data after"},
		{"trailing garbage", "/idv/start", `{"ttl":60}x`, ""},
		{"duplicate key", "/entrupy/start", `{"email":"a@example.com","email":"b@example.com","sdk_authorization_request":"x"}`, `duplicate key: "email"`},
		{"duplicate key in other case", "/entrupy/start", `{"email":"a@example.com","EMAIL":"b@example.com"}`, "duplicate key"},
		{"duplicate key with the Kelvin sign", "/idv/start", `{"workflow_id":"a","wor\u212aflow_id":"b"}`, "duplicate key"},
		{"duplicate key with the long s", "/entrupy/start", `{"first_name":"a","fir\u017ft_name":"b"}`, "duplicate key"},
		{"duplicate nested key", "/uqudo/start", `{"data":{"documents":[{"documentType":"PASSPORT","documentType":"GENERIC_ID"}]}}`, "duplicate key"},
		{"unknown field", "/entrupy/start", `{"sdk_authorization_request":"x","email":"a@example.com","nickname":"x"}`, `does not take: "nickname"`},
		{"unknown nested field", "/uqudo/start", `{"data":{"documents":[{"documentType":"PASSPORT"}],"extra":1}}`, `"extra"`},
		{"user in the body", "/entrupy/start", `{"user_id":"someone-else","sdk_authorization_request":"x","email":"a@example.com"}`, "must not name a user"},
		{"userId in the body", "/sentiance/start", `{"userId":"someone-else"}`, "must not name a user"},
		{"external_id in the body", "/sentiance/start", `{"external_id":"someone-else"}`, "must not name a user"},
		{"uqudo userIdentifier", "/uqudo/start", `{"data":{"documents":[{"documentType":"PASSPORT"}],"generalConfig":{"userIdentifier":"someone-else"}}}`, "userIdentifier"},
		{"wrong type", "/idv/start", `{"ttl":"an hour"}`, `"ttl" has the wrong type`},
		{"fractional ttl", "/idv/start", `{"ttl":1.5}`, "wrong type"},
		{"negative ttl", "/idv/start", `{"ttl":-1}`, "invalid ttl"},
		{"huge ttl", "/idv/start", `{"ttl":9223372036854775807}`, "invalid ttl"},
		{"ttl over the IDV limit", "/idv/start", `{"ttl":86401}`, "ttl"},
		{"invalid UTF-8", "/entrupy/start", "{\"email\":\"\xff\"}", "UTF-8"},
		{"too deep", "/idv/start", `{"metadata":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`, "nested too deeply"},
		{"missing SDK request", "/entrupy/start", `{"email":"a@example.com"}`, "sdk_authorization_request"},
		{"empty Entrupy body", "/entrupy/start", ``, "sdk_authorization_request"},
		{"bad e-mail", "/entrupy/start", `{"sdk_authorization_request":"x","email":"not-an-address"}`, "email"},
		{"no uqudo documents", "/uqudo/start", `{"data":{"documents":[]}}`, "documents"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.calls(broker.Entrupy) + e.calls(broker.IDV) + e.calls(broker.Uqudo) + e.calls(broker.Sentiance)
			a := errorOf(t, post(t, e.h, c.path, testUser, c.body), http.StatusBadRequest, brokerhttp.CodeInvalidRequest)
			require.Contains(t, a.Error.Message, c.inMessage)
			require.Equal(t, strings.Split(c.path, "/")[1], a.Error.Vendor)
			require.NotContains(t, a.Error.Message, "someone-else")
			after := e.calls(broker.Entrupy) + e.calls(broker.IDV) + e.calls(broker.Uqudo) + e.calls(broker.Sentiance)
			require.Equal(t, before, after, "no vendor call for a bad request")
		})
	}
}

func TestHandler_Unauthenticated(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Sentiance}})
	a := errorOf(t, post(t, e.h, "/sentiance/start", "", `{}`), http.StatusUnauthorized, brokerhttp.CodeUnauthenticated)
	require.Equal(t, "sentiance", a.Error.Vendor)
	errorOf(t, post(t, e.h, "/sentiance/invalidate", "", ``), http.StatusUnauthorized, brokerhttp.CodeUnauthenticated)
	require.Zero(t, e.calls(broker.Sentiance))

	// An error of the app's function: 401 with the fixed message.
	h, err := brokerhttp.New(e.b, brokerhttp.WithUser(func(*http.Request) (string, error) {
		return "", errors.New("session cookie sess-secret-123 expired")
	}))
	require.NoError(t, err)
	w := post(t, h, "/sentiance/start", testUser, `{}`)
	a = errorOf(t, w, http.StatusUnauthorized, brokerhttp.CodeUnauthenticated)
	require.NotContains(t, w.Body.String(), "sess-secret-123")

	// An *Error chooses the answer.
	h, err = brokerhttp.New(e.b, brokerhttp.WithUser(func(*http.Request) (string, error) {
		return "", &brokerhttp.Error{Status: http.StatusForbidden, Code: "account_locked", Message: "your account is locked"}
	}))
	require.NoError(t, err)
	a = errorOf(t, post(t, h, "/sentiance/start", testUser, `{}`), http.StatusForbidden, "account_locked")
	require.Equal(t, "your account is locked", a.Error.Message)
	require.Equal(t, "sentiance", a.Error.Vendor)
}

func TestHandler_NotFound(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Sentiance}})
	for _, p := range []string{"/", "/sentiance", "/sentiance/", "/sentiance/stop", "/sentiance/start/", "/sentiance/start/x",
		"sentiance/start", "/sentiance%2Fstart", "/sentiance/%73tart"} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
		r.URL.Path, r.URL.RawPath = p, ""
		if strings.Contains(p, "%") {
			r = httptest.NewRequest(http.MethodPost, p, strings.NewReader(`{}`))
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(userHeader, testUser)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		a := errorOf(t, w, http.StatusNotFound, brokerhttp.CodeNotFound)
		require.Empty(t, a.Error.Vendor, p)
	}
	for _, p := range []string{"/acme/start", "/Sentiance/start", "//start", "/acme/invalidate"} {
		a := errorOf(t, post(t, e.h, p, testUser, `{}`), http.StatusNotFound, brokerhttp.CodeUnknownVendor)
		require.Empty(t, a.Error.Vendor, p)
	}
	// A supported vendor this broker was not configured with.
	a := errorOf(t, post(t, e.h, "/uqudo/start", testUser, `{}`), http.StatusNotFound, brokerhttp.CodeUnknownVendor)
	require.Equal(t, "uqudo", a.Error.Vendor)
	errorOf(t, post(t, e.h, "/entrupy/invalidate", testUser, ``), http.StatusNotFound, brokerhttp.CodeUnknownVendor)
}

func TestHandler_MethodNotAllowed(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Sentiance}})
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch} {
		r := httptest.NewRequest(m, "/sentiance/start", nil)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(userHeader, testUser)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		errorOf(t, w, http.StatusMethodNotAllowed, brokerhttp.CodeMethodNotAllowed)
		require.Equal(t, "POST", w.Header().Get("Allow"))
	}
	require.Zero(t, e.calls(broker.Sentiance))
}

func TestHandler_UnsupportedMediaType(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Sentiance}})
	for _, ct := range [][]string{nil, {"text/plain"}, {"application/x-www-form-urlencoded"}, {"multipart/form-data; boundary=x"},
		{"application/json; charset=latin1"}, {"application/jsonx"}, {"application/json", "application/json"}, {"application/json;;"}} {
		r := httptest.NewRequest(http.MethodPost, "/sentiance/start", strings.NewReader(`{}`))
		for _, v := range ct {
			r.Header.Add("Content-Type", v)
		}
		r.Header.Set(userHeader, testUser)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		errorOf(t, w, http.StatusUnsupportedMediaType, brokerhttp.CodeUnsupportedMediaType)
	}
	// These are JSON.
	for _, ct := range []string{"application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8"} {
		r := httptest.NewRequest(http.MethodPost, "/sentiance/start", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", ct)
		r.Header.Set(userHeader, testUser)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		grantOf(t, w)
	}
}

func TestHandler_BodyTooLarge(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.IDV}})
	big := `{"metadata":{"pad":"` + strings.Repeat("x", int(brokerhttp.DefaultMaxBodyBytes)) + `"}}`
	errorOf(t, post(t, e.h, "/idv/start", testUser, big), http.StatusRequestEntityTooLarge, brokerhttp.CodeBodyTooLarge)

	// Without a Content-Length (chunked), the limit holds while reading.
	r := httptest.NewRequest(http.MethodPost, "/idv/start", struct{ *strings.Reader }{strings.NewReader(big)})
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(userHeader, testUser)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	errorOf(t, w, http.StatusRequestEntityTooLarge, brokerhttp.CodeBodyTooLarge)

	// A declared Content-Length over the limit is refused without reading the body.
	read := false
	r = httptest.NewRequest(http.MethodPost, "/idv/start", readFunc(func([]byte) (int, error) { read = true; return 0, io.EOF }))
	r.ContentLength = brokerhttp.DefaultMaxBodyBytes + 1
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(userHeader, testUser)
	w = httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	errorOf(t, w, http.StatusRequestEntityTooLarge, brokerhttp.CodeBodyTooLarge)
	require.False(t, read)

	// WithMaxBodyBytes lowers it.
	h, err := brokerhttp.New(e.b, brokerhttp.WithUser(userFromHeader), brokerhttp.WithMaxBodyBytes(16))
	require.NoError(t, err)
	errorOf(t, post(t, h, "/idv/start", testUser, `{"workflow_id":"kyc-basic"}`), http.StatusRequestEntityTooLarge, brokerhttp.CodeBodyTooLarge)
	grantOf(t, post(t, h, "/idv/start", testUser, `{"ttl":600}`))
	require.Equal(t, 1, e.calls(broker.IDV))
}

// A vendor's rate limit is a 503 with the vendor's Retry-After, rounded up
// to whole seconds.
func TestHandler_RateLimited(t *testing.T) {
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			e := newEnv(t, envOpts{vendors: []broker.Vendor{v}})
			// The clients retry a 429 twice; three failures reach the handler.
			e.failNext(v, 3, failure{status: http.StatusTooManyRequests, retryAfter: 7 * time.Second})
			w := post(t, e.h, "/"+string(v)+"/start", testUser, bodyFor(v))
			a := errorOf(t, w, http.StatusServiceUnavailable, brokerhttp.CodeVendorRateLimited)
			require.Equal(t, string(v), a.Error.Vendor)
			require.Equal(t, "7", w.Header().Get("Retry-After"))
			require.Equal(t, 3, e.calls(v))

			e.failNext(v, 3, failure{status: http.StatusTooManyRequests, retryAfter: 1500 * time.Millisecond})
			w = post(t, e.h, "/"+string(v)+"/start", testUser, bodyFor(v))
			errorOf(t, w, http.StatusServiceUnavailable, brokerhttp.CodeVendorRateLimited)
			require.Equal(t, "2", w.Header().Get("Retry-After"))

			// Once the vendor answers again, so does the handler.
			grantOf(t, post(t, e.h, "/"+string(v)+"/start", testUser, bodyFor(v)))
		})
	}
}

func TestHandler_VendorFailures(t *testing.T) {
	cases := []struct {
		name string
		f    failure
		code string
	}{
		{"500", failure{status: http.StatusInternalServerError}, brokerhttp.CodeVendorError},
		{"401 (the server's credentials)", failure{status: http.StatusUnauthorized}, brokerhttp.CodeVendorError},
		{"400", failure{status: http.StatusBadRequest}, brokerhttp.CodeVendorError},
		{"connection reset", failure{reset: true}, brokerhttp.CodeVendorUnavailable},
	}
	for _, v := range broker.Vendors() {
		for _, c := range cases {
			t.Run(string(v)+"/"+c.name, func(t *testing.T) {
				e := newEnv(t, envOpts{vendors: []broker.Vendor{v}})
				e.failNext(v, 3, c.f)
				w := post(t, e.h, "/"+string(v)+"/start", testUser, bodyFor(v))
				a := errorOf(t, w, http.StatusBadGateway, c.code)
				require.Equal(t, string(v), a.Error.Vendor)
				require.Empty(t, w.Header().Get("Retry-After"))
				body := w.Body.String()
				require.NotContains(t, body, "INJECTED", "no vendor error code or message in the answer")
				require.NotContains(t, strings.ToLower(body), "injected")
				require.NotContains(t, body, "127.0.0.1", "no vendor URL in the answer")
				for _, s := range e.secrets() {
					require.NotContains(t, body, s)
				}
			})
		}
	}
}

// A vendor answer the client cannot use is a 502 vendor_bad_response; a
// vendor timeout is a 502 vendor_unavailable (the stub returns the errors
// the vendor clients return).
func TestHandler_VendorDecodeAndTimeout(t *testing.T) {
	cases := []struct {
		err  error
		code string
	}{
		{&broker.OpError{Vendor: broker.IDV, Op: "start", Err: &broker.DecodeError{Vendor: "idv", StatusCode: 200}}, brokerhttp.CodeVendorBadResponse},
		{&broker.OpError{Vendor: broker.IDV, Op: "start", Err: &broker.TransportError{Vendor: "idv", Err: context.DeadlineExceeded}}, brokerhttp.CodeVendorUnavailable},
	}
	for _, c := range cases {
		h, err := brokerhttp.New(&stubBroker{start: func(context.Context, broker.Request) (*broker.Grant, error) { return nil, c.err }},
			brokerhttp.WithUser(userFromHeader))
		require.NoError(t, err)
		errorOf(t, post(t, h, "/idv/start", testUser, `{}`), http.StatusBadGateway, c.code)
	}
}

// Retry-After is the vendor's wait rounded up to whole seconds (a vendor
// may send an HTTP date), and 1 when the vendor named none.
func TestHandler_RetryAfterRounding(t *testing.T) {
	for wait, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", time.Minute: "60"} {
		err := &broker.OpError{Vendor: broker.Uqudo, Op: "start",
			Err: &broker.APIError{Vendor: "uqudo", StatusCode: http.StatusTooManyRequests, RetryAfter: wait}}
		h, herr := brokerhttp.New(&stubBroker{start: func(context.Context, broker.Request) (*broker.Grant, error) { return nil, err }},
			brokerhttp.WithUser(userFromHeader))
		require.NoError(t, herr)
		w := post(t, h, "/uqudo/start", testUser, `{}`)
		errorOf(t, w, http.StatusServiceUnavailable, brokerhttp.CodeVendorRateLimited)
		require.Equal(t, want, w.Header().Get("Retry-After"), wait)
	}
}

// Your user id must fit the vendor: when it does not, the client cannot fix
// it, so the answer is 500 (and the log says why).
func TestHandler_UserIDRejectedByVendor(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Entrupy}})
	w := post(t, e.h, "/entrupy/start", "al", bodyFor(broker.Entrupy)) // Entrupy wants 8 to 40 characters
	a := errorOf(t, w, http.StatusInternalServerError, brokerhttp.CodeInternal)
	require.Equal(t, "entrupy", a.Error.Vendor)
	require.Zero(t, e.calls(broker.Entrupy))
	require.Contains(t, e.log.String(), `"field":"user_id"`)
	require.Contains(t, e.log.String(), `"level":"ERROR"`)
}

// A request whose client went away gets nothing written: no status, no
// header, no body, whatever the outcome would have been.
func TestHandler_ClientGone(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Sentiance}})
	var hooked atomic.Int32
	h, err := brokerhttp.New(e.b, brokerhttp.WithUser(userFromHeader),
		brokerhttp.WithErrorHook(func(*http.Request, *brokerhttp.Error) { hooked.Add(1) }))
	require.NoError(t, err)
	canceled := func(method, path, body string) *http.Request {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := httptest.NewRequest(method, path, strings.NewReader(body)).WithContext(ctx)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(userHeader, testUser)
		return r
	}
	for _, r := range []*http.Request{
		canceled(http.MethodPost, "/sentiance/start", `{}`),      // the broker's call ends with the context
		canceled(http.MethodPost, "/sentiance/invalidate", `{}`), // would be 204
		canceled(http.MethodPost, "/sentiance/start", `{"x":1}`), // would be 400
		canceled(http.MethodGet, "/sentiance/start", ``),         // would be 405
		canceled(http.MethodPost, "/nowhere", ``),                // would be 404
		canceled(http.MethodPost, "/uqudo/start", `{}`),          // would be 404 (unconfigured)
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		require.Empty(t, w.Header(), r.URL.Path)
		require.Zero(t, w.Body.Len(), r.URL.Path)
		require.False(t, w.Flushed)
		require.Equal(t, http.StatusOK, w.Code, "WriteHeader was not called") // the recorder's default
	}
	require.Zero(t, hooked.Load())

	// A grant that arrives after the client went away is not written either.
	ctx, cancel := context.WithCancel(context.Background())
	stub := &stubBroker{start: func(_ context.Context, req broker.Request) (*broker.Grant, error) {
		cancel()
		return &broker.Grant{Vendor: req.Vendor, UserID: req.UserID, Token: "t"}, nil
	}}
	h, err = brokerhttp.New(stub, brokerhttp.WithUser(userFromHeader))
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/sentiance/start", strings.NewReader(`{}`)).WithContext(ctx)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(userHeader, testUser)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Empty(t, w.Header())
	require.Zero(t, w.Body.Len())
}

// No error answer and no log line holds a credential, a grant token, the
// SDK request or the user id.
func TestHandler_NoSecretsInErrorsOrLogs(t *testing.T) {
	e := newEnv(t, envOpts{})
	var tokens []string
	for _, v := range broker.Vendors() {
		g := grantOf(t, post(t, e.h, "/"+string(v)+"/start", testUser, bodyFor(v)))
		for _, s := range []string{g.Token, g.HandoffURL, g.QRCodeText, g.QRCodeTextWithDynamicLink} {
			if s != "" {
				tokens = append(tokens, s)
			}
		}
	}
	var answers []string
	for _, v := range broker.Vendors() {
		path := "/" + string(v) + "/start"
		// Another user, so that the held grants are not simply reused.
		for _, f := range []failure{{status: 429, retryAfter: time.Second}, {status: 401}, {status: 500}, {reset: true}} {
			e.failNext(v, 3, f)
			answers = append(answers, post(t, e.h, path, "customer-0002", bodyFor(v)).Body.String())
		}
		answers = append(answers,
			post(t, e.h, path, testUser, bodyFor(v)+" trailing").Body.String(),
			post(t, e.h, path, testUser, strings.Replace(bodyFor(v), "{", `{"bad":"`+sdkRequest+`",`, 1)).Body.String(),
		)
	}
	answers = append(answers,
		// (a user without a grant: a held grant answers the same SDK request whatever the e-mail)
		post(t, e.h, "/entrupy/start", "customer-0003", `{"sdk_authorization_request":"`+sdkRequest+`","email":"bad"}`).Body.String(),
		post(t, e.h, "/entrupy/start", testUser, `{"sdk_authorization_request":"`+sdkRequest+`","email":"a@example.com","x":1}`).Body.String(),
	)
	secrets := append(e.secrets(), tokens...)
	for _, a := range answers {
		require.Contains(t, a, `"error"`)
		for _, s := range secrets {
			require.NotContains(t, a, s)
		}
		require.NotContains(t, a, "customer-000")
	}
	logs := e.log.String()
	require.Contains(t, logs, `"code":"vendor_rate_limited"`)
	for _, s := range append(secrets, testUser, "customer-0002", "ann@example.com") {
		require.NotContains(t, logs, s)
	}
}

func TestHandler_Misconfigured(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Sentiance}})
	for name, h := range map[string]http.Handler{
		"no WithUser":   brokerhttp.Handler(e.b),
		"nil broker":    brokerhttp.Handler(nil, brokerhttp.WithUser(userFromHeader)),
		"nil option":    brokerhttp.Handler(e.b, brokerhttp.WithUser(userFromHeader), nil),
		"failed option": brokerhttp.Handler(e.b, brokerhttp.WithUser(userFromHeader), brokerhttp.WithMaxBodyBytes(0)),
	} {
		t.Run(name, func(t *testing.T) {
			errorOf(t, post(t, h, "/sentiance/start", testUser, `{}`), http.StatusInternalServerError, brokerhttp.CodeInternal)
			errorOf(t, post(t, h, "/anything", testUser, `{}`), http.StatusInternalServerError, brokerhttp.CodeInternal)
		})
	}
	require.Zero(t, e.calls(broker.Sentiance))

	for name, opts := range map[string][]brokerhttp.Option{
		"no WithUser":     nil,
		"nil WithUser":    {brokerhttp.WithUser(nil)},
		"nil option":      {brokerhttp.WithUser(userFromHeader), nil},
		"zero body limit": {brokerhttp.WithUser(userFromHeader), brokerhttp.WithMaxBodyBytes(0)},
		"nil error hook":  {brokerhttp.WithUser(userFromHeader), brokerhttp.WithErrorHook(nil)},
		"nil start hook":  {brokerhttp.WithUser(userFromHeader), brokerhttp.WithStartHook(nil)},
		"negative limit":  {brokerhttp.WithUser(userFromHeader), brokerhttp.WithMaxBodyBytes(-1)},
	} {
		h, err := brokerhttp.New(e.b, opts...)
		require.Error(t, err, name)
		require.Nil(t, h, name)
	}
	_, err := brokerhttp.New(nil, brokerhttp.WithUser(userFromHeader))
	require.Error(t, err)
}

func TestHandler_StartHook(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Entrupy, broker.IDV}})
	h, err := brokerhttp.New(e.b, brokerhttp.WithUser(userFromHeader),
		brokerhttp.WithStartHook(func(r *http.Request, req *broker.Request) error {
			switch req.Vendor {
			case broker.Entrupy:
				// The server's records, not the app, give the e-mail.
				req.Entrupy.Email = "records@example.com"
			case broker.IDV:
				if req.IDV != nil && req.IDV.WorkflowID != "" {
					return &brokerhttp.Error{Status: http.StatusForbidden, Code: "workflow_fixed", Message: "the workflow is chosen by the server"}
				}
				if req.IDV != nil && req.IDV.TTL != 0 {
					return errors.New("secret-reason-xyz")
				}
			}
			req.UserID = "someone-else" // ignored
			return nil
		}))
	require.NoError(t, err)

	g := grantOf(t, post(t, h, "/entrupy/start", testUser, `{"sdk_authorization_request":"x","email":"app@example.com"}`))
	require.Equal(t, testUser, g.UserID)
	u, ok := e.ent.User(testUser)
	require.True(t, ok)
	require.Equal(t, "records@example.com", u.Email)
	_, ok = e.ent.User("someone-else")
	require.False(t, ok)

	a := errorOf(t, post(t, h, "/idv/start", testUser, `{"workflow_id":"other"}`), http.StatusForbidden, "workflow_fixed")
	require.Equal(t, "the workflow is chosen by the server", a.Error.Message)
	w := post(t, h, "/idv/start", testUser, `{"ttl":60}`)
	errorOf(t, w, http.StatusBadRequest, brokerhttp.CodeInvalidRequest)
	require.NotContains(t, w.Body.String(), "secret-reason-xyz")
	require.Zero(t, e.calls(broker.IDV))
	grantOf(t, post(t, h, "/idv/start", testUser, ``))
}

func TestHandler_ErrorHook(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Sentiance}})
	var got []*brokerhttp.Error
	h, err := brokerhttp.New(e.b, brokerhttp.WithUser(userFromHeader),
		brokerhttp.WithErrorHook(func(r *http.Request, he *brokerhttp.Error) { got = append(got, he) }))
	require.NoError(t, err)

	e.failNext(broker.Sentiance, 3, failure{status: http.StatusTooManyRequests, retryAfter: 3 * time.Second})
	errorOf(t, post(t, h, "/sentiance/start", testUser, `{}`), http.StatusServiceUnavailable, brokerhttp.CodeVendorRateLimited)
	errorOf(t, post(t, h, "/sentiance/start", "", `{}`), http.StatusUnauthorized, brokerhttp.CodeUnauthenticated)
	grantOf(t, post(t, h, "/sentiance/start", testUser, `{}`))

	require.Len(t, got, 2)
	require.Equal(t, http.StatusServiceUnavailable, got[0].Status)
	require.Equal(t, broker.Sentiance, got[0].Vendor)
	require.Equal(t, 3*time.Second, got[0].RetryAfter)
	var op *broker.OpError
	require.ErrorAs(t, got[0], &op)
	require.ErrorIs(t, got[0], broker.ErrRateLimited)
	require.Equal(t, "brokerhttp: 503 vendor_rate_limited: "+got[0].Message, got[0].Error())
	require.Equal(t, http.StatusUnauthorized, got[1].Status)
}

// Mounted under a prefix with http.StripPrefix, on a real server.
func TestHandler_StripPrefix(t *testing.T) {
	e := newEnv(t, envOpts{vendors: []broker.Vendor{broker.Sentiance}})
	mux := http.NewServeMux()
	mux.Handle("/v1/", http.StripPrefix("/v1", e.h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/sentiance/start", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(userHeader, testUser)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer drain(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	require.Equal(t, strconv.Itoa(1), strconv.Itoa(e.calls(broker.Sentiance)))
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
