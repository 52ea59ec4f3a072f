package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
)

// Demo only: "simulate the phone". For a vendor running on its fake, it
// does what the app's SDK and the vendor would do with the user's current
// grant, and the vendor's delivery reaches this server over HTTP, through
// the same webhook handler a real delivery goes through.

// simulateTimeout bounds one simulation (the fake's work and the delivery).
const simulateTimeout = 10 * time.Second

// simulateBody is the body of POST /v1/demo/simulate.
type simulateBody struct {
	Vendor broker.Vendor `json:"vendor"`
}

// errSimulate is a simulation refused for a reason the caller can fix.
type errSimulate struct {
	status     int
	code, text string
}

func (e *errSimulate) Error() string { return e.text }

// simulate serves POST /v1/demo/simulate.
func (s *server) simulate(w http.ResponseWriter, r *http.Request) {
	user := s.sessions.user(r)
	if user == "" {
		writeJSONError(w, http.StatusUnauthorized, "unauthenticated", "log in first")
		return
	}
	var in simulateBody
	if !readJSON(w, r, &in) {
		return
	}
	if !in.Vendor.Valid() {
		writeJSONError(w, http.StatusNotFound, "unknown_vendor", "no such vendor")
		return
	}
	if !s.vendors.isFake(in.Vendor) {
		writeJSONError(w, http.StatusNotFound, "not_demo", "this vendor uses its real API: only a real phone can complete its session")
		return
	}
	g, ok := s.grants.current(in.Vendor, user)
	if !ok {
		writeJSONError(w, http.StatusNotFound, "no_grant", "start a session for this vendor first")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), simulateTimeout)
	defer cancel()
	out, err := s.playPhone(ctx, user, g)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		var se *errSimulate
		if errors.As(err, &se) {
			writeJSONError(w, se.status, se.code, se.text)
			return
		}
		s.logger.Warn("simulate failed", "vendor", string(in.Vendor), "kind", errorKind(err))
		writeJSONError(w, http.StatusBadGateway, "simulation_failed", "the simulated delivery failed")
		return
	}
	out["vendor"] = in.Vendor
	writeJSON(w, http.StatusOK, out)
}

// playPhone completes g on its fake and delivers the result.
func (s *server) playPhone(ctx context.Context, user string, g broker.Grant) (map[string]any, error) {
	v := s.vendors
	switch g.Vendor {
	case broker.Entrupy:
		uid, ok := v.entrupyFake.SignedRequestUser(g.Token)
		if !ok {
			return nil, &errSimulate{http.StatusConflict, "unknown_grant", "the fake does not know this grant"}
		}
		body, err := json.Marshal(map[string]any{
			"id": "evt_" + randomHex(8), "event": entrupy.EventSessionCompleted, "created_at": time.Now().Unix(),
			"data": map[string]any{
				"entrupy_id": "demo-" + randomHex(4), "customer_item_id": "demo-item", "unique_user_id": uid,
				"status": entrupy.StatusCompleted, "result": entrupy.ResultAuthentic, "brand": "Demo",
			},
		})
		if err != nil {
			return nil, err
		}
		status, err := s.deliver(ctx, "/webhooks/entrupy", body, http.Header{
			entrupy.SignatureHeader: {entrupytest.SignWebhook(v.entrupySecret, body)},
		})
		return map[string]any{"webhook_status": status}, err

	case broker.Sentiance:
		sid, _, err := v.sentianceFake.Redeem(g.Token) // what the SDK does with the code
		if errors.Is(err, sentiancetest.ErrCodeUsed) {
			var ok bool
			if sid, ok = s.sentianceUsers.sentianceID(user); !ok {
				return nil, &errSimulate{http.StatusConflict, "code_used", "this code was used elsewhere: invalidate and start again"}
			}
		} else if err != nil {
			return nil, &errSimulate{http.StatusConflict, "code_refused", "the fake refused the code: invalidate and start again"}
		}
		s.sentianceUsers.note(sid, user)
		body, err := sentiancetest.BuildFirehoseDelivery(sentiance.Message{
			Type: "TimelineEvent", Timestamp: time.Now().UTC(), UserID: sid,
			// A fresh id per simulation: the handler drops a body it saw
			// before as a replay (see mountWebhooks).
			Raw: json.RawMessage(`{"type":"TRANSPORT","transport_mode":"WALKING","id":"demo-` + randomHex(8) + `"}`),
		})
		if err != nil {
			return nil, err
		}
		req, err := sentiancetest.NewFirehoseRequest(ctx, s.selfURL+"/webhooks/sentiance", *v.firehose, body)
		if err != nil {
			return nil, err
		}
		status, err := s.send(req)
		return map[string]any{"webhook_status": status, "sentiance_user_id": sid}, err

	case broker.IDV:
		// The phone opens the handoff URL, then the workflow finishes. IDV
		// has no webhook here: the app then asks POST /v1/idv/result.
		if err := s.open(ctx, v.idvFake.Client(), g.HandoffURL); err != nil {
			return nil, err
		}
		if err := v.idvFake.SetResult(g.SessionID, idv.SessionStatusVerified, map[string]any{
			"document": "PASSPORT", "liveness": "passed", "faceMatch": "passed",
		}); err != nil {
			return nil, &errSimulate{http.StatusConflict, "unknown_session", "the fake does not know this session"}
		}
		return map[string]any{"session_id": g.SessionID, "next": "POST /v1/idv/result"}, nil

	case broker.Uqudo:
		jws, err := v.uqudoFake.CompleteSession(g.SessionID, nil) // the phone scans and finishes
		if err != nil {
			return nil, &errSimulate{http.StatusConflict, "unknown_session", "the fake does not know this session"}
		}
		body, err := json.Marshal(map[string]string{"jwsResult": jws})
		if err != nil {
			return nil, err
		}
		h := s.vendors.uqudoHook
		status, err := s.deliver(ctx, "/webhooks/uqudo", body, http.Header{h.Header: {h.HeaderValue}})
		return map[string]any{"webhook_status": status, "session_id": g.SessionID}, err
	}
	return nil, errNoVendor
}

// deliver POSTs body to this server's path as a vendor would.
func (s *server) deliver(ctx context.Context, path string, body []byte, h http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.selfURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	return s.send(req)
}

// send sends a delivery and wants 200.
func (s *server) send(req *http.Request) (int, error) {
	resp, err := s.selfClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("webhook answered %s", strconv.Itoa(resp.StatusCode))
	}
	return resp.StatusCode, nil
}

// open GETs u as a phone's browser would and wants a 2xx (after redirects).
func (s *server) open(ctx context.Context, hc *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil { // its text holds the URL, and so the device token
		return errors.New("the handoff URL could not be opened")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("handoff page answered %d", resp.StatusCode)
	}
	return nil
}
