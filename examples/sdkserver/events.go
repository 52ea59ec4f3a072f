package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
)

const (
	// eventBacklog is how many recent events per user a new stream replays.
	eventBacklog = 50
	// subscriberBuffer is how many events a slow stream may lag behind
	// before it is dropped (the browser reconnects and replays).
	subscriberBuffer = 16
	// heartbeat is how often an idle stream gets a comment line, so
	// proxies keep it open and a gone client is noticed.
	heartbeat = 20 * time.Second
)

// event is one vendor delivery (webhook, Firehose message, result check)
// attributed to a user, as the page shows it. It never holds a token.
type event struct {
	ID     int64         `json:"id"`
	Time   time.Time     `json:"time"`
	Vendor broker.Vendor `json:"vendor"`
	// Kind is "webhook", "firehose" or "result".
	Kind string `json:"kind"`
	// User is the user the event was attributed to (by broker.Owner, or
	// for Sentiance by the demo's note of the Sentiance user id).
	User string `json:"user"`
	// Verified says how the delivery was authenticated.
	Verified string `json:"verified"`
	// Ref is the vendor reference: session id, item id, message type.
	Ref string `json:"ref,omitempty"`
	// Summary is one line for the page.
	Summary string `json:"summary"`
}

// hub keeps each user's recent events and live streams. Safe for
// concurrent use.
type hub struct {
	now func() time.Time

	mu     sync.Mutex
	nextID int64
	users  map[string]*userEvents
	closed bool
}

type userEvents struct {
	backlog []event
	subs    map[chan event]struct{}
}

func newHub(now func() time.Time) *hub {
	return &hub{now: now, users: make(map[string]*userEvents)}
}

// publish records ev for user and sends it to the user's streams.
func (h *hub) publish(user string, ev event) event {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	ev.ID, ev.Time, ev.User = h.nextID, h.now().UTC(), user
	u := h.usersLocked(user)
	u.backlog = append(u.backlog, ev)
	if len(u.backlog) > eventBacklog {
		u.backlog = append([]event(nil), u.backlog[len(u.backlog)-eventBacklog:]...)
	}
	for ch := range u.subs {
		select {
		case ch <- ev:
		default: // too slow: drop the stream; the browser reconnects
			delete(u.subs, ch)
			close(ch)
		}
	}
	return ev
}

func (h *hub) usersLocked(user string) *userEvents {
	u, ok := h.users[user]
	if !ok {
		if len(h.users) >= maxSessions {
			for k, v := range h.users {
				if len(v.subs) == 0 {
					delete(h.users, k)
					break
				}
			}
		}
		u = &userEvents{subs: make(map[chan event]struct{})}
		h.users[user] = u
	}
	return u
}

// subscribe returns the user's events after lastID and a channel of the
// next ones, closed when the hub closes or the stream falls behind; cancel
// ends the subscription.
func (h *hub) subscribe(user string, lastID int64) (backlog []event, ch chan event, cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch = make(chan event, subscriberBuffer)
	if h.closed {
		close(ch)
		return nil, ch, func() {}
	}
	u := h.usersLocked(user)
	for _, ev := range u.backlog {
		if ev.ID > lastID {
			backlog = append(backlog, ev)
		}
	}
	u.subs[ch] = struct{}{}
	return backlog, ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := u.subs[ch]; ok {
			delete(u.subs, ch)
			close(ch)
		}
	}
}

// close ends every stream (at shutdown).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, u := range h.users {
		for ch := range u.subs {
			close(ch)
		}
		u.subs = map[chan event]struct{}{}
	}
}

// events serves GET /v1/events: a Server-Sent Events stream of the user's
// events, starting with the recent ones (after Last-Event-ID, when the
// browser reconnects).
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	user := s.sessions.user(r)
	if user == "" {
		writeJSONError(w, http.StatusUnauthorized, "unauthenticated", "log in first")
		return
	}
	var last int64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		last, _ = strconv.ParseInt(v, 10, 64)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	backlog, ch, cancel := s.hub.subscribe(user, last)
	defer cancel()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	send := func(ev event) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", ev.ID, b)
		return err
	}
	for _, ev := range backlog {
		if send(ev) != nil {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if send(ev) != nil || rc.Flush() != nil {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
