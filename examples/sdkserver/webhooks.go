package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// Webhooks: each verifies the delivery with its vendor package's handler,
// attributes it to a user, and publishes it to that user's event stream.

// unattributed reports an Owner error that means "not one of ours" (unknown
// or malformed ref), as opposed to a failure to look it up.
func unattributed(err error) bool {
	return errors.Is(err, broker.ErrNotFound) || errors.Is(err, broker.ErrInvalidInput)
}

// short cuts vendor text for a one-line summary (the page shows it as text).
func short(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// mountWebhooks adds the webhook routes whose configuration is complete and
// logs the ones left out. The handlers drop replayed deliveries (answered
// 200 without calling back) through one deduper in this process's memory,
// shared by the three (its keys name the vendor): 24 hours, 100,000
// deliveries. Replicas would share broker.NewStoreDeduper over their Store
// instead.
func (s *server) mountWebhooks(mux *http.ServeMux) error {
	wl := s.logger.With("component", "webhook")
	dedup, err := entrupy.NewMemoryDeduper(0, 0) // one Deduper interface: the three handlers accept it
	if err != nil {
		return err
	}
	if s.vendors.entrupySecret != "" {
		h, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: s.vendors.entrupySecret}, s.onEntrupy,
			entrupy.WithWebhookLogger(wl.With("vendor", "entrupy")), entrupy.WithDedup(dedup))
		if err != nil {
			return fmt.Errorf("entrupy webhook: %w", err)
		}
		mux.Handle("/webhooks/entrupy", h)
	} else {
		s.logger.Warn("entrupy webhook not served: set ENTRUPY_WEBHOOK_SECRET")
	}
	if s.vendors.firehose != nil {
		h, err := sentiance.NewFirehoseHandler(*s.vendors.firehose, s.onSentiance,
			sentiance.WithWebhookLogger(wl.With("vendor", "sentiance")), sentiance.WithDedup(dedup))
		if err != nil {
			return fmt.Errorf("sentiance firehose: %w", err)
		}
		mux.Handle("/webhooks/sentiance", h)
	} else {
		s.logger.Warn("sentiance firehose not served: set SENTIANCE_APP_ID, SENTIANCE_FIREHOSE_USERNAME and SENTIANCE_FIREHOSE_PASSWORD")
	}
	cfg := *s.vendors.uqudoHook
	cfg.Expect = func(ctx context.Context, sessionID string) (uqudo.VerifyOptions, error) {
		// A session this server did not start is refused (401); a failed
		// lookup answers 503 so that uqudo delivers again.
		if _, err := s.broker.Owner(ctx, broker.Uqudo, sessionID); err != nil {
			return uqudo.VerifyOptions{}, err
		}
		return uqudo.VerifyOptions{SessionID: sessionID}, nil
	}
	h, err := uqudo.NewWebhookHandler(cfg, s.onUqudo, uqudo.WithWebhookLogger(wl.With("vendor", "uqudo")), uqudo.WithDedup(dedup))
	if err != nil {
		return fmt.Errorf("uqudo webhook: %w", err)
	}
	mux.Handle("/webhooks/uqudo", h)
	return nil
}

// onEntrupy attributes an Entrupy event by its unique_user_id, the
// vendor-side id the broker sent (broker.Owner maps it back).
func (s *server) onEntrupy(ctx context.Context, ev *entrupy.Event) error {
	if ev.UniqueUserID == "" {
		s.logger.Info("entrupy event without unique_user_id: not attributed", "type", short(string(ev.Type)))
		return nil
	}
	user, err := s.broker.Owner(ctx, broker.Entrupy, ev.UniqueUserID)
	if unattributed(err) {
		s.logger.Info("entrupy event for a user this server did not authorize: not attributed", "type", short(string(ev.Type)))
		return nil // acknowledged: redelivery would not help
	}
	if err != nil {
		return err // 500: Entrupy delivers again
	}
	summary := string(ev.Type) + " for item " + ev.EntrupyID
	if a := ev.SessionCompleted; a != nil {
		summary += ": " + string(a.Status)
		if a.Result != "" {
			summary += ", " + string(a.Result)
		}
	}
	s.hub.publish(user, event{Vendor: broker.Entrupy, Kind: "webhook", Ref: short(ev.EntrupyID),
		Verified: "Entrupy-Signature HMAC-SHA256 checked; user by broker.Owner(unique_user_id)", Summary: short(summary)})
	return nil
}

// sentianceUsers maps the Sentiance user ids that Firehose messages carry to
// your users. Sentiance creates its user id when the app's SDK redeems the
// auth code, and the backend never sees it in the code's answer: a real
// app reports it after user creation (not served by this sample); the demo
// notes it when its simulated phone redeems the code. Safe for concurrent
// use; bounded.
type sentianceUsers struct {
	mu sync.Mutex
	m  map[string]string // Sentiance user id -> your user
	by map[string]string // your user -> Sentiance user id
}

func newSentianceUsers() *sentianceUsers {
	return &sentianceUsers{m: make(map[string]string), by: make(map[string]string)}
}

func (u *sentianceUsers) note(sentianceID, user string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.m) >= maxSessions {
		for k, v := range u.m {
			delete(u.m, k)
			delete(u.by, v)
			break
		}
	}
	u.m[sentianceID] = user
	u.by[user] = sentianceID
}

func (u *sentianceUsers) user(sentianceID string) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.m[sentianceID]
	return v, ok
}

func (u *sentianceUsers) sentianceID(user string) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.by[user]
	return v, ok
}

// onSentiance attributes each Firehose message by its Sentiance user id.
func (s *server) onSentiance(_ context.Context, msgs []sentiance.Message) error {
	for _, m := range msgs {
		user, ok := s.sentianceUsers.user(m.UserID)
		if !ok {
			s.logger.Info("sentiance message for an unknown Sentiance user: not attributed", "type", short(m.Type), "test", m.Test)
			continue
		}
		s.hub.publish(user, event{Vendor: broker.Sentiance, Kind: "firehose", Ref: short(m.Type),
			Verified: "Firehose Basic auth checked; user by the Sentiance user id the phone created",
			Summary:  short(m.Type + " for Sentiance user " + m.UserID)})
	}
	return nil
}

// onUqudo attributes a verified result by its session id (the signed jti).
func (s *server) onUqudo(ctx context.Context, r *uqudo.Result) error {
	user, err := s.broker.Owner(ctx, broker.Uqudo, r.SessionID)
	if err != nil {
		return err // Expect checked it a moment ago: a lookup failure, 500
	}
	types := make([]string, 0, len(r.Documents))
	for _, d := range r.Documents {
		types = append(types, string(d.DocumentType))
	}
	s.hub.publish(user, event{Vendor: broker.Uqudo, Kind: "webhook", Ref: short(r.SessionID),
		Verified: "JWS RS256 checked against uqudo's JWKS (kid " + short(r.KeyID) + "); user by broker.Owner(jti)",
		Summary:  short(fmt.Sprintf("result for session %s: %d document(s) %s", r.SessionID, len(r.Documents), strings.Join(types, ", ")))})
	return nil
}

// idvResultBody is the body of POST /v1/idv/result.
type idvResultBody struct {
	SessionID string `json:"session_id"`
}

// idvResult serves POST /v1/idv/result: the app says "my verification is
// done"; the server checks the session is the caller's (broker.Owner; else
// 403), reads the result from IDV with its API key, and answers its status.
func (s *server) idvResult(w http.ResponseWriter, r *http.Request) {
	user := s.sessions.user(r)
	if user == "" {
		writeJSONError(w, http.StatusUnauthorized, "unauthenticated", "log in first")
		return
	}
	var in idvResultBody
	if !readJSON(w, r, &in) {
		return
	}
	if in.SessionID == "" {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", `"session_id" is required`)
		return
	}
	owner, err := s.broker.Owner(r.Context(), broker.IDV, in.SessionID)
	switch {
	case unattributed(err) || (err == nil && owner != user):
		// Unknown and someone else's look the same to the caller.
		writeJSONError(w, http.StatusForbidden, "forbidden", "this session was not started by you")
		return
	case err != nil:
		s.logger.Warn("idv result: owner lookup failed", "kind", errorKind(err))
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
		return
	}
	res, err := s.vendors.idv.GetSession(r.Context(), in.SessionID)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		s.logger.Warn("idv result: GetSession failed", "kind", errorKind(err))
		writeJSONError(w, http.StatusBadGateway, "vendor_error", "IDV could not be asked for the result")
		return
	}
	s.hub.publish(user, event{Vendor: broker.IDV, Kind: "result", Ref: short(res.ID),
		Verified: "read from IDV with the API key; session owner checked by broker.Owner",
		Summary:  short("session " + res.ID + ": " + string(res.Status))})
	writeJSON(w, http.StatusOK, map[string]any{"session_id": res.ID, "status": res.Status, "workflow_id": res.WorkflowID})
}

// errorKind names an error's kind for a log line, never its message (which
// may echo vendor text).
func errorKind(err error) slog.Value {
	var (
		api *broker.APIError
		tr  *broker.TransportError
		de  *broker.DecodeError
	)
	switch {
	case errors.As(err, &api):
		return slog.StringValue(fmt.Sprintf("api %d", api.StatusCode))
	case errors.As(err, &tr):
		return slog.StringValue("transport")
	case errors.As(err, &de):
		return slog.StringValue("decode")
	case errors.Is(err, idv.ErrInvalidInput):
		return slog.StringValue("invalid_input")
	}
	return slog.StringValue("other")
}
