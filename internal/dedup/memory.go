package dedup

import (
	"container/list"
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Memory is a [Deduper] in this process's memory, bounded in size: it
// remembers at most maxEntries keys, forgetting the least recently written
// one first when full (a delivery forgotten that way is processed again if
// it comes back). Replicas do not share it. Safe for concurrent use.
type Memory struct {
	window   time.Duration
	claimTTL time.Duration
	max      int
	now      func() time.Time

	mu    sync.Mutex
	seq   uint64
	keys  map[string]*list.Element // of *memEntry
	order *list.List               // least recently written first
}

type memEntry struct {
	key      string
	token    string // the claim's token; "" once committed
	deadline time.Time
}

// NewMemory returns a Memory remembering processed keys for window, at most
// maxEntries of them, holding claims for claimTTL, on the clock now. Zero
// window, maxEntries or claimTTL mean [DefaultWindow], [DefaultMaxEntries],
// [DefaultClaimTTL]; a negative one is an error (a *httpx.ValidationError).
// A nil now means time.Now.
func NewMemory(window time.Duration, maxEntries int, claimTTL time.Duration, now func() time.Time) (*Memory, error) {
	switch {
	case window < 0:
		return nil, httpx.Invalid("dedup_window", "must not be negative")
	case maxEntries < 0:
		return nil, httpx.Invalid("dedup_max_entries", "must not be negative")
	case claimTTL < 0:
		return nil, httpx.Invalid("dedup_claim_ttl", "must not be negative")
	}
	if window == 0 {
		window = DefaultWindow
	}
	if maxEntries == 0 {
		maxEntries = DefaultMaxEntries
	}
	if claimTTL == 0 {
		claimTTL = DefaultClaimTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{window: window, claimTTL: claimTTL, max: maxEntries, now: now,
		keys: map[string]*list.Element{}, order: list.New()}, nil
}

// Window returns how long a committed key is remembered.
func (m *Memory) Window() time.Duration { return m.window }

// Claim implements [Deduper].
func (m *Memory) Claim(ctx context.Context, key string) (string, error) {
	if err := ctxErr(ctx); err != nil {
		return "", err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.keys[key]; ok {
		e := el.Value.(*memEntry)
		if now.Before(e.deadline) {
			if e.token == "" {
				return "", ErrDuplicate
			}
			return "", ErrInProgress
		}
		m.remove(el)
	}
	m.seq++
	token := strconv.FormatUint(m.seq, 36)
	m.put(&memEntry{key: key, token: token, deadline: now.Add(m.claimTTL)}, now)
	return token, nil
}

// Commit implements [Deduper].
func (m *Memory) Commit(ctx context.Context, key, _ string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.keys[key]; ok {
		m.remove(el)
	}
	m.put(&memEntry{key: key, deadline: now.Add(m.window)}, now)
	return nil
}

// Release implements [Deduper].
func (m *Memory) Release(ctx context.Context, key, token string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.keys[key]; ok && token != "" && el.Value.(*memEntry).token == token {
		m.remove(el)
	}
	return nil
}

// Len returns how many keys are held, expired ones not yet dropped included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

// put adds e as the most recently written entry, dropping expired entries
// from the front and then, if still full, the least recently written one.
func (m *Memory) put(e *memEntry, now time.Time) {
	for m.order.Len() > 0 {
		front := m.order.Front()
		if m.order.Len() < m.max && now.Before(front.Value.(*memEntry).deadline) {
			break
		}
		m.remove(front)
	}
	m.keys[e.key] = m.order.PushBack(e)
}

func (m *Memory) remove(el *list.Element) {
	delete(m.keys, el.Value.(*memEntry).key)
	m.order.Remove(el)
}

// ctxErr is ctx.Err(), with a nil ctx an ErrInvalidInput rather than a panic.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return httpx.Invalid("ctx", "is nil")
	}
	return ctx.Err()
}
