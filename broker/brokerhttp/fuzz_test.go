package brokerhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokerhttp"
)

// FuzzHandler_Start feeds arbitrary bodies to POST /{vendor}/start over a
// stub broker: the handler never panics, answers 200 (a grant for the
// authenticated user only) or a 400/413 JSON error with a bounded, valid
// UTF-8 message, always with Cache-Control: no-store.
func FuzzHandler_Start(f *testing.F) {
	seeds := []struct {
		vendor uint8
		body   string
	}{
		{0, bodyFor(broker.Entrupy)},
		{1, ``},
		{1, `{}`},
		{2, `{"workflow_id":"kyc","metadata":{"a":[1,{"b":null}]},"ttl":3600}`},
		{3, bodyFor(broker.Uqudo)},
		{3, `{"data":{"documents":[{"documentType":"PASSPORT","reading":{"enabled":true}}],"generalConfig":{"secureWindowsEnabled":false}}}`},
		{0, `{"email":"a","EMAIL":"b"}`},
		{0, `{"user_id":"x"}`},
		{2, `{"ttl":-5}`},
		{2, `{"metadata":{"a":{"b":{"c":{}}}}} {}`},
		{1, "{\"\xff\":1}"},
		{3, `{"data":null}`},
	}
	for _, s := range seeds {
		f.Add(s.vendor, s.body)
	}
	stub := &stubBroker{start: func(_ context.Context, req broker.Request) (*broker.Grant, error) {
		if req.UserID != testUser {
			panic("the user is not the authenticated one: " + req.UserID)
		}
		if req.IDV != nil && req.IDV.TTL < 0 {
			panic("negative ttl reached the broker")
		}
		return &broker.Grant{Vendor: req.Vendor, UserID: req.UserID, Token: "stub-token"}, nil
	}}
	h, err := brokerhttp.New(stub, brokerhttp.WithUser(userFromHeader))
	if err != nil {
		f.Fatal(err)
	}
	vendors := broker.Vendors()
	f.Fuzz(func(t *testing.T, vendor uint8, body string) {
		v := vendors[int(vendor)%len(vendors)]
		w := post(t, h, "/"+string(v)+"/start", testUser, body)
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Fatalf("Cache-Control %q", got)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body.String())
		}
		switch w.Code {
		case http.StatusOK:
			var g broker.Grant
			if err := json.Unmarshal(w.Body.Bytes(), &g); err != nil || g.UserID != testUser || g.Vendor != v {
				t.Fatalf("bad grant %q (%v)", w.Body.String(), err)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			var a errorAnswer
			dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&a); err != nil {
				t.Fatalf("bad error answer %q: %v", w.Body.String(), err)
			}
			if a.Error.Code == "" || a.Error.Vendor != string(v) || len(a.Error.Message) > 512 || !utf8.ValidString(a.Error.Message) {
				t.Fatalf("bad error answer %q", w.Body.String())
			}
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body.String())
		}
	})
}
