package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
)

func requireOwner(t *testing.T, b *broker.Broker, v broker.Vendor, ref, want string) {
	t.Helper()
	got, err := b.Owner(background, v, ref)
	require.NoError(t, err, "%s %s", v, ref)
	assert.Equal(t, want, got, "%s %s", v, ref)
}

func requireUnknown(t *testing.T, b *broker.Broker, v broker.Vendor, ref string) {
	t.Helper()
	got, err := b.Owner(background, v, ref)
	require.ErrorIs(t, err, broker.ErrNotFound, "%s %s", v, ref)
	assert.Empty(t, got)
	var op *broker.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "owner", op.Op)
	assert.Equal(t, v, op.Vendor)
	if ref != "" {
		assert.NotContains(t, err.Error(), ref, "the error does not repeat the ref")
	}
}

// Issue 13: Owner resolves IDV and uqudo session ids and vendor-side user
// ids, and refuses unknown ones.
func TestBroker_OwnerResolvesSessionsAndVendorUserIDs(t *testing.T) {
	m := pseudonyms(t, testKey)
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithUserIDs(m)))
	b := env.Broker
	grants := map[broker.Vendor]*broker.Grant{}
	for _, v := range broker.Vendors() {
		for _, user := range []string{"alice", "bob"} {
			g, err := b.Start(background, request(v, user))
			require.NoError(t, err)
			if user == "alice" {
				grants[v] = g
			}
		}
	}
	for _, v := range broker.Vendors() {
		requireOwner(t, b, v, mapped(t, m, v, "alice"), "alice")
		requireOwner(t, b, v, mapped(t, m, v, "bob"), "bob")
		requireUnknown(t, b, v, "alice") // your own id was never sent
		requireUnknown(t, b, v, "no-such-ref")
	}
	for _, v := range []broker.Vendor{broker.IDV, broker.Uqudo} {
		require.NotEmpty(t, grants[v].SessionID)
		requireOwner(t, b, v, grants[v].SessionID, "alice")
	}
	// Refs are per vendor.
	requireUnknown(t, b, broker.IDV, grants[broker.Uqudo].SessionID)
	requireUnknown(t, b, broker.Entrupy, mapped(t, m, broker.Sentiance, "alice"))

	// A reused grant adds nothing; a new session for the same user is one
	// more entry, and the old session still resolves.
	before := b.LedgerStats().Entries
	_, err := b.Start(background, request(broker.IDV, "alice"))
	require.NoError(t, err)
	assert.Equal(t, before, b.LedgerStats().Entries)
	require.NoError(t, b.Invalidate(background, broker.IDV, "alice"))
	g2, err := b.Start(background, request(broker.IDV, "alice"))
	require.NoError(t, err)
	assert.NotEqual(t, grants[broker.IDV].SessionID, g2.SessionID)
	assert.Equal(t, before+1, b.LedgerStats().Entries)
	requireOwner(t, b, broker.IDV, g2.SessionID, "alice")
	requireOwner(t, b, broker.IDV, grants[broker.IDV].SessionID, "alice")

	// Bad input is ErrInvalidInput, not ErrNotFound.
	onlyIDV, err := broker.New(broker.WithIDV(env.IDVClient, broker.IDVParams{WorkflowID: "wf"}))
	require.NoError(t, err)
	defer onlyIDV.Close()
	for name, tc := range map[string]struct {
		b   *broker.Broker
		v   broker.Vendor
		ref string
	}{
		"empty":        {b, broker.IDV, ""},
		"long":         {b, broker.IDV, strings.Repeat("a", broker.MaxRefLen+1)},
		"control":      {b, broker.IDV, "a\nb"},
		"not utf8":     {b, broker.IDV, "a\xffb"},
		"unknown":      {b, "acme", "abc"},
		"unconfigured": {onlyIDV, broker.Uqudo, grants[broker.Uqudo].SessionID},
	} {
		_, err := tc.b.Owner(background, tc.v, tc.ref)
		require.ErrorIs(t, err, broker.ErrInvalidInput, name)
		assert.NotErrorIs(t, err, broker.ErrNotFound, name)
	}
	//lint:ignore SA1012 a nil context is the bad input under test
	_, err = b.Owner(nil, broker.IDV, g2.SessionID)
	require.ErrorIs(t, err, broker.ErrInvalidInput)
}

// Sentiance and Entrupy have no session: each grant refreshes one entry per
// user rather than adding one.
func TestBroker_LedgerKeepsOneEntryPerUserWithoutSessions(t *testing.T) {
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithReuse(broker.Sentiance, false)))
	b := env.Broker
	var last *broker.Grant
	for range 5 {
		g, err := b.Start(background, request(broker.Sentiance, "user-000001"))
		require.NoError(t, err)
		last = g
		env.Clock.Advance(time.Minute)
	}
	assert.Equal(t, 5, env.MintCalls(broker.Sentiance))
	assert.Equal(t, 1, b.LedgerStats().Entries)
	// The entry lives as long as the latest grant plus the retention.
	env.Clock.Advance(last.ExpiresAt.Sub(env.Clock.Now()) + broker.DefaultLedgerRetention - time.Second)
	requireOwner(t, b, broker.Sentiance, "user-000001", "user-000001")
	env.Clock.Advance(2 * time.Second)
	requireUnknown(t, b, broker.Sentiance, "user-000001")
}

// Issue 13: entries are forgotten after the retention, by the broker's clock.
func TestBroker_OwnerForgetsAfterRetention(t *testing.T) {
	for name, tc := range map[string]struct {
		opts      []broker.Option
		retention time.Duration
	}{
		"default 30 days": {nil, 30 * 24 * time.Hour},
		"one hour":        {[]broker.Option{broker.WithLedger(time.Hour, 100)}, time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t, brokertest.WithBrokerOptions(tc.opts...))
			b := env.Broker
			g, err := b.Start(background, request(broker.IDV, "user-000001"))
			require.NoError(t, err)
			env.Clock.Advance(g.ExpiresAt.Sub(env.Clock.Now()) + tc.retention - time.Minute)
			requireOwner(t, b, broker.IDV, g.SessionID, "user-000001")
			requireOwner(t, b, broker.IDV, "user-000001", "user-000001")
			env.Clock.Advance(2 * time.Minute)
			requireUnknown(t, b, broker.IDV, g.SessionID)
			requireUnknown(t, b, broker.IDV, "user-000001")
			assert.Zero(t, b.LedgerStats().Entries)
			assert.EqualValues(t, 1, b.LedgerStats().Expired)
		})
	}
	env := newEnv(t)
	for _, opt := range []broker.Option{broker.WithLedger(0, 10), broker.WithLedger(time.Hour, 0), broker.WithUserIDs(nil)} {
		_, err := broker.New(opt, broker.WithSentiance(env.SentianceClient))
		assert.ErrorIs(t, err, broker.ErrInvalidInput)
	}
}

// Issue 13: the ledger is bounded, oldest first.
func TestBroker_LedgerMaxEntriesDropsTheOldest(t *testing.T) {
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithLedger(broker.DefaultLedgerRetention, 10)))
	b := env.Broker
	sessions := make([]string, 25)
	for i := range sessions {
		g, err := b.Start(background, request(broker.IDV, userID(i)))
		require.NoError(t, err)
		sessions[i] = g.SessionID
		env.Clock.Advance(time.Second)
	}
	st := b.LedgerStats()
	assert.Equal(t, 10, st.Entries)
	assert.EqualValues(t, 15, st.Evictions)
	for i, s := range sessions {
		if i < 15 {
			requireUnknown(t, b, broker.IDV, s)
			requireUnknown(t, b, broker.IDV, userID(i))
		} else {
			requireOwner(t, b, broker.IDV, s, userID(i))
			requireOwner(t, b, broker.IDV, userID(i), userID(i))
		}
	}
}

// Issue 13: two brokers sharing one Store resolve each other's grants, and
// forget them after the retention.
func TestBroker_OwnerAcrossBrokersSharingAStore(t *testing.T) {
	env := newEnv(t)
	store := broker.NewMemoryStore(env.Clock.Now)
	m := pseudonyms(t, testKey)
	a := env.newBroker(t, broker.WithStore(store), broker.WithUserIDs(m))
	b := env.newBroker(t, broker.WithStore(store), broker.WithUserIDs(pseudonyms(t, testKey)))

	idvGrant, err := a.Start(background, request(broker.IDV, "alice"))
	require.NoError(t, err)
	uqGrant, err := a.Start(background, request(broker.Uqudo, "alice"))
	require.NoError(t, err)
	_, err = a.Start(background, request(broker.Entrupy, "bob"))
	require.NoError(t, err)
	assert.Zero(t, b.LedgerStats().Entries, "b has not seen these grants")

	requireOwner(t, b, broker.IDV, idvGrant.SessionID, "alice")
	requireOwner(t, b, broker.Uqudo, uqGrant.SessionID, "alice")
	requireOwner(t, b, broker.IDV, mapped(t, m, broker.IDV, "alice"), "alice")
	requireOwner(t, b, broker.Entrupy, mapped(t, m, broker.Entrupy, "bob"), "bob")
	requireUnknown(t, b, broker.Sentiance, mapped(t, m, broker.Sentiance, "bob"))
	assert.Positive(t, b.LedgerStats().Entries, "resolved entries are kept in memory")

	// The same mapped id from b's own Start (same key) is the same user.
	g, err := b.Start(background, request(broker.IDV, "alice"))
	require.NoError(t, err)
	assert.True(t, g.Reused, "the grant came from the Store")

	// After the retention, neither broker (nor a fresh one) knows them.
	env.Clock.Advance(uqGrant.ExpiresAt.Sub(env.Clock.Now()) + broker.DefaultLedgerRetention + time.Hour)
	c := env.newBroker(t, broker.WithStore(store))
	for _, br := range []*broker.Broker{a, b, c} {
		requireUnknown(t, br, broker.IDV, idvGrant.SessionID)
		requireUnknown(t, br, broker.Uqudo, uqGrant.SessionID)
	}
}

// An entry in the Store under a key that does not match its content is
// ignored rather than trusted.
func TestBroker_OwnerIgnoresMismatchedStoreEntries(t *testing.T) {
	env := newEnv(t)
	store := broker.NewMemoryStore(env.Clock.Now)
	b := env.newBroker(t, broker.WithStore(store))
	e := broker.LedgerEntry{Vendor: broker.IDV, UserID: "mallory", SessionID: "other-session", VendorUserID: "mallory",
		CreatedAt: env.Clock.Now(), ExpiresAt: env.Clock.Now().Add(time.Hour)}
	require.NoError(t, store.SaveLedger(context.Background(), "ledger:idv:session:victim-session", e, time.Hour))
	require.NoError(t, store.SaveLedger(context.Background(), "ledger:uqudo:session:other-session", e, time.Hour))
	requireUnknown(t, b, broker.IDV, "victim-session")
	requireUnknown(t, b, broker.Uqudo, "other-session")
}
