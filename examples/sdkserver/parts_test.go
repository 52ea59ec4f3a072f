package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// clock is a settable clock for the in-memory parts.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestQRPNG_RoundTrip: the PNG decodes back to the text, for a short link
// and for a handoff-URL-sized text; empty and oversized texts are refused.
func TestQRPNG_RoundTrip(t *testing.T) {
	for _, text := range []string{
		"https://uqudo.example/qr?code=uqudo-qr-0123",
		"https://idv.example.com/capture?url=" + strings.Repeat("a%2Fb", 150),
	} {
		b, err := qrPNG(text)
		require.NoError(t, err)
		assert.Equal(t, text, decodeQR(t, b))
	}
	_, err := qrPNG("")
	assert.Error(t, err)
	_, err = qrPNG(strings.Repeat("x", maxQRText+1))
	assert.Error(t, err)
}

// TestRun_ClearsQRDebug: QRCODE_DEBUG would make go-qrcode log the encoded
// text (an IDV handoff URL carries a device token): run clears it and says
// so.
func TestRun_ClearsQRDebug(t *testing.T) {
	t.Setenv(qrDebugEnv, "1")
	ts := startServer(t, demoEnv)
	_, set := os.LookupEnv(qrDebugEnv)
	assert.False(t, set)
	assert.Contains(t, ts.Logs.String(), qrDebugEnv+" was set: cleared")
}

// TestSessions_Expiry: a session ends after sessionTTL, on logout, and an
// unknown or oversized token is no session.
func TestSessions_Expiry(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	s := newSessions(c.Now)
	tok := s.create("alice")
	u, ok := s.lookup(tok)
	require.True(t, ok)
	assert.Equal(t, "alice", u)
	c.advance(sessionTTL - time.Second)
	_, ok = s.lookup(tok)
	assert.True(t, ok)
	c.advance(time.Second)
	_, ok = s.lookup(tok)
	assert.False(t, ok, "expired")

	tok = s.create("bob")
	s.remove(tok)
	_, ok = s.lookup(tok)
	assert.False(t, ok, "logged out")
	_, ok = s.lookup(strings.Repeat("a", 129))
	assert.False(t, ok)
	_, ok = s.lookup("")
	assert.False(t, ok)
}

// TestSessions_Bounded: past maxSessions the oldest session goes.
func TestSessions_Bounded(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	s := newSessions(c.Now)
	first := s.create("u0")
	for i := 1; i < maxSessions; i++ {
		c.advance(time.Millisecond)
		s.create("u")
	}
	_, ok := s.lookup(first)
	require.True(t, ok)
	c.advance(time.Millisecond)
	last := s.create("last")
	_, ok = s.lookup(first)
	assert.False(t, ok, "the oldest was dropped")
	_, ok = s.lookup(last)
	assert.True(t, ok)
	assert.Len(t, s.m, maxSessions)
}

// TestToken_Sources: a bearer header wins over the cookie; another scheme
// is no token.
func TestToken_Sources(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: "from-cookie"})
	assert.Equal(t, "from-cookie", token(r))
	r.Header.Set("Authorization", "bearer from-header")
	assert.Equal(t, "from-header", token(r))
	r.Header.Set("Authorization", "Basic eDp5")
	assert.Equal(t, "", token(r))
}

// TestHub_BacklogAndReplay: a stream gets the user's events after its
// Last-Event-ID, never another user's, and the backlog is bounded.
func TestHub_BacklogAndReplay(t *testing.T) {
	h := newHub(time.Now)
	for i := 0; i < eventBacklog+5; i++ {
		h.publish("alice", event{Vendor: broker.Uqudo, Summary: "a"})
	}
	h.publish("bob", event{Vendor: broker.IDV})
	backlog, _, cancel := h.subscribe("alice", 0)
	cancel()
	require.Len(t, backlog, eventBacklog)
	assert.EqualValues(t, 6, backlog[0].ID, "the oldest were dropped")
	for _, ev := range backlog {
		assert.Equal(t, "alice", ev.User)
	}
	backlog, _, cancel = h.subscribe("alice", 50)
	cancel()
	assert.Len(t, backlog, 5, "after Last-Event-ID 50")
}

// TestHub_SlowSubscriberDropped: a stream that does not read is closed
// rather than blocking publish; close ends every stream.
func TestHub_SlowSubscriberDropped(t *testing.T) {
	h := newHub(time.Now)
	_, slow, cancelSlow := h.subscribe("alice", 0)
	defer cancelSlow()
	_, other, cancelOther := h.subscribe("bob", 0)
	defer cancelOther()
	done := make(chan struct{})
	go func() {
		for i := 0; i < subscriberBuffer+1; i++ {
			h.publish("alice", event{})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publish blocked on a slow stream")
	}
	n := 0
	for range slow {
		n++
	}
	assert.Equal(t, subscriberBuffer, n, "the buffered events, then closed")
	cancelSlow() // safe after the hub closed it

	h.close()
	_, ok := <-other
	assert.False(t, ok, "close ends the streams")
	_, ch, cancel := h.subscribe("carol", 0)
	defer cancel()
	_, ok = <-ch
	assert.False(t, ok, "no stream after close")
}

// TestGrantBook_Current: the noted grant is current until it expires or is
// invalidated; failed starts note nothing.
func TestGrantBook_Current(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	fb := &fakeBroker{grant: broker.Grant{Vendor: broker.Uqudo, SessionID: "s1", ExpiresAt: c.Now().Add(time.Minute)}}
	g := newGrantBook(fb, c.Now)
	ctx := context.Background()
	_, ok := g.current(broker.Uqudo, "alice")
	assert.False(t, ok)
	_, err := g.Start(ctx, broker.Request{Vendor: broker.Uqudo, UserID: "alice"})
	require.NoError(t, err)
	gr, ok := g.current(broker.Uqudo, "alice")
	require.True(t, ok)
	assert.Equal(t, "s1", gr.SessionID)
	_, ok = g.current(broker.Uqudo, "bob")
	assert.False(t, ok, "per user")
	c.advance(time.Minute)
	_, ok = g.current(broker.Uqudo, "alice")
	assert.False(t, ok, "expired")

	c.advance(-time.Minute)
	_, _ = g.Start(ctx, broker.Request{Vendor: broker.Uqudo, UserID: "alice"})
	require.NoError(t, g.Invalidate(ctx, broker.Uqudo, "alice"))
	_, ok = g.current(broker.Uqudo, "alice")
	assert.False(t, ok, "invalidated")

	fb.err = broker.ErrRateLimited
	_, err = g.Start(ctx, broker.Request{Vendor: broker.Uqudo, UserID: "carol"})
	require.Error(t, err)
	_, ok = g.current(broker.Uqudo, "carol")
	assert.False(t, ok)
}

// fakeBroker answers Start with grant (or err).
type fakeBroker struct {
	broker.Interface
	grant broker.Grant
	err   error
}

func (f *fakeBroker) Start(context.Context, broker.Request) (*broker.Grant, error) {
	if f.err != nil {
		return nil, f.err
	}
	g := f.grant
	return &g, nil
}

func (f *fakeBroker) Invalidate(context.Context, broker.Vendor, string) error { return nil }

// TestStartHook_Pins: the hook fills Entrupy's e-mail from the user and
// drops the IDV and uqudo params the app sent.
func TestStartHook_Pins(t *testing.T) {
	req := broker.Request{Vendor: broker.Entrupy, UserID: "alice", Entrupy: &broker.EntrupyParams{SDKAuthorizationRequest: "x", Email: "evil@example.com"}}
	require.NoError(t, startHook(nil, &req))
	assert.Equal(t, "alice@"+demoEmailDomain, req.Entrupy.Email)
	req = broker.Request{Vendor: broker.IDV, UserID: "alice", IDV: &broker.IDVParams{WorkflowID: "other"}}
	require.NoError(t, startHook(nil, &req))
	assert.Nil(t, req.IDV)
	req = broker.Request{Vendor: broker.Uqudo, UserID: "alice", Uqudo: &broker.UqudoParams{}}
	require.NoError(t, startHook(nil, &req))
	assert.Nil(t, req.Uqudo)
}

// TestE2E_SentianceSimulateTwice: a second simulation on the same (used)
// code still delivers, for the Sentiance user noted the first time.
func TestE2E_SentianceSimulateTwice(t *testing.T) {
	ts := startServer(t, demoEnv)
	alice := ts.login(t, "alice")
	events := ts.stream(t, alice)
	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/v1/sentiance/start", map[string]any{}, alice...).Status)
	first := ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "sentiance"}, alice...)
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	second := ts.do(t, "POST", "/v1/demo/simulate", map[string]string{"vendor": "sentiance"}, alice...)
	require.Equal(t, http.StatusOK, second.Status, "%s", second.Body)
	assert.Equal(t, first.json(t)["sentiance_user_id"], second.json(t)["sentiance_user_id"])
	for range 2 {
		ev := waitEvent(t, events, func(e event) bool { return e.Vendor == broker.Sentiance })
		assert.Equal(t, "alice", ev.User)
	}
}

// TestE2E_BodyLimits: this server's own JSON endpoints take one small
// object.
func TestE2E_BodyLimits(t *testing.T) {
	ts := startServer(t, demoEnv)
	big := map[string]string{"user": strings.Repeat("x", maxJSONBody)}
	assert.Equal(t, http.StatusRequestEntityTooLarge, ts.do(t, "POST", "/auth/token", big).Status)
	req, _ := http.NewRequest("POST", ts.URL+"/auth/token", bytes.NewReader([]byte(`{"user":"a"}{"user":"b"}`)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "data after the object")
}

// TestAccessLog_KeepsResponseController: the event stream clears the
// server's write deadline and flushes through the access log's wrapper.
func TestAccessLog_KeepsResponseController(t *testing.T) {
	s := &server{logger: newLogger("text", &bytes.Buffer{})}
	// The handler goes on after its Flush has sent the answer: its results
	// come back over a channel once it has returned.
	errs := make(chan [2]error, 1)
	h := s.accessLog(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		deadlineErr := rc.SetWriteDeadline(time.Time{})
		flushErr := rc.Flush()
		errs <- [2]error{deadlineErr, flushErr}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	got := <-errs
	assert.NoError(t, got[0], "SetWriteDeadline through the access log")
	assert.NoError(t, got[1], "Flush through the access log")
}
