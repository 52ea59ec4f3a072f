package broker_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	otherKey = []byte("fedcba9876543210fedcba9876543210")
)

func pseudonyms(t testing.TB, key []byte) broker.UserIDMapper {
	t.Helper()
	m, err := broker.PseudonymousIDs(key)
	require.NoError(t, err)
	return m
}

func mapped(t testing.TB, m broker.UserIDMapper, v broker.Vendor, user string) string {
	t.Helper()
	id, err := m.VendorUserID(background, v, user)
	require.NoError(t, err)
	return id
}

// Issue 13: "alice" fails clearly for Entrupy without a mapper, before any
// vendor call, and works as is for the other vendors.
func TestBroker_AliceNeedsAMapperForEntrupy(t *testing.T) {
	env := newEnv(t)
	b := env.Broker
	_, err := b.Start(background, entrupyReq("alice"))
	require.ErrorIs(t, err, broker.ErrInvalidInput)
	var op *broker.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, broker.Entrupy, op.Vendor)
	var ve *broker.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "user_id", ve.Field)
	for _, want := range []string{"unique_user_id", "8 to 40 characters of A-Z, a-z, 0-9 and @.+_-", "WithUserIDs", "PseudonymousIDs"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "alice", "the error does not repeat the id")
	assert.Zero(t, env.calls.Load(), "no vendor call")
	assert.Zero(t, b.Stats()[broker.Entrupy].Fetches, "refused before the grant cache")

	for _, v := range []broker.Vendor{broker.Sentiance, broker.IDV, broker.Uqudo} {
		g, err := b.Start(background, request(v, "alice"))
		require.NoError(t, err, v)
		assert.Equal(t, "alice", g.UserID)
		if v == broker.Sentiance {
			_, _, err = env.Sentiance.Redeem(g.Token) // the app's SDK creates the user
			require.NoError(t, err)
		}
	}
	_, ok := env.Sentiance.UserFor("alice")
	assert.True(t, ok, "without a mapper Sentiance gets the id as is")

	// IDV's bound (the idv package's, 128 bytes) is named too, before any call.
	calls := env.calls.Load()
	assert.Positive(t, calls, "the count sees the calls above")
	_, err = b.Start(background, request(broker.IDV, strings.Repeat("a", idv.MaxIDLength+1)))
	require.ErrorIs(t, err, broker.ErrInvalidInput)
	assert.Contains(t, err.Error(), "idv's external_user_id, which must be non-empty UTF-8 text of at most 128 bytes")
	assert.Contains(t, err.Error(), "WithUserIDs")
	assert.Equal(t, calls, env.calls.Load())

	// A custom mapper whose ids do not fit is named as such.
	b2 := env.newBroker(t, broker.WithUserIDs(broker.UserIDMapperFunc(func(_ context.Context, _ broker.Vendor, u string) (string, error) {
		return "x" + u, nil
	})))
	_, err = b2.Start(background, entrupyReq("bob"))
	require.ErrorIs(t, err, broker.ErrInvalidInput)
	assert.Contains(t, err.Error(), "the mapped user id does not fit entrupy's unique_user_id")
	// A mapper's own error is reported, and nothing is sent.
	boom := errors.New("mapper down")
	b3 := env.newBroker(t, broker.WithUserIDs(broker.UserIDMapperFunc(func(context.Context, broker.Vendor, string) (string, error) {
		return "", boom
	})))
	_, err = b3.Start(background, request(broker.Sentiance, "bob"))
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 1, env.MintCalls(broker.Sentiance), "only alice's call")
}

// Issue 13: with PseudonymousIDs, "alice" works for every vendor, each fake
// receives the mapped id (never "alice"), and the grant keeps your id.
func TestBroker_PseudonymousIDsReachEveryVendor(t *testing.T) {
	m := pseudonyms(t, testKey)
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithUserIDs(m)))
	b := env.Broker
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			want := mapped(t, m, v, "alice")
			g, err := b.Start(background, request(v, "alice"))
			require.NoError(t, err)
			assert.Equal(t, "alice", g.UserID)
			switch v {
			case broker.Entrupy:
				got, ok := env.Entrupy.SignedRequestUser(g.Token)
				require.True(t, ok)
				assert.Equal(t, want, got)
			case broker.Sentiance:
				_, _, err := env.Sentiance.Redeem(g.Token) // the app's SDK creates the user
				require.NoError(t, err)
				_, ok := env.Sentiance.UserFor(want)
				assert.True(t, ok, "the code was made for the mapped external id")
				_, ok = env.Sentiance.UserFor("alice")
				assert.False(t, ok)
			case broker.IDV:
				rec, ok := env.IDV.Session(g.SessionID)
				require.True(t, ok)
				assert.Equal(t, want, rec.Metadata[idv.MetadataExternalUserID])
			case broker.Uqudo:
				data, _, ok := env.Uqudo.SessionData(g.SessionID)
				require.True(t, ok)
				require.NotNil(t, data.GeneralConfig)
				assert.Equal(t, want, data.GeneralConfig.UserIdentifier)
			}
		})
	}
}

func TestPseudonymousIDs_StableKeyedAndPerVendor(t *testing.T) {
	a, b := pseudonyms(t, testKey), pseudonyms(t, append([]byte(nil), testKey...))
	c := pseudonyms(t, otherKey)
	seen := map[string]broker.Vendor{}
	hexID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, v := range broker.Vendors() {
		id := mapped(t, a, v, "alice")
		assert.Regexp(t, hexID, id)
		assert.Len(t, id, broker.PseudonymLen)
		assert.Equal(t, id, mapped(t, b, v, "alice"), "the same key gives the same id (another replica)")
		assert.NotEqual(t, id, mapped(t, c, v, "alice"), "another key gives another id")
		assert.NotEqual(t, id, mapped(t, a, v, "alice2"))
		if prev, dup := seen[id]; dup {
			t.Errorf("%s and %s get the same id", prev, v)
		}
		seen[id] = v
		// Fits every vendor's rule.
		for _, check := range []func(string) error{sentiance.ValidateExternalID} {
			assert.NoError(t, check(id))
		}
	}
	// Pinned: the documented construction, so ids stay stable across releases.
	mac := hmac.New(sha256.New, testKey)
	mac.Write([]byte("sdkbroker/user-id/v1\x00entrupy\x00alice"))
	assert.Equal(t, hex.EncodeToString(mac.Sum(nil)[:16]), mapped(t, a, broker.Entrupy, "alice"))

	// The key is copied: changing the caller's slice changes nothing.
	key := append([]byte(nil), testKey...)
	d := pseudonyms(t, key)
	before := mapped(t, d, broker.IDV, "alice")
	key[0] ^= 0xff
	assert.Equal(t, before, mapped(t, d, broker.IDV, "alice"))

	for _, k := range [][]byte{nil, {}, testKey[:31]} {
		_, err := broker.PseudonymousIDs(k)
		require.ErrorIs(t, err, broker.ErrInvalidInput, "a key of %d bytes", len(k))
		assert.Contains(t, err.Error(), "32 bytes")
	}
}

func TestPseudonymousIDs_NeverPrintsItsKey(t *testing.T) {
	m := pseudonyms(t, testKey)
	type holder struct {
		M     broker.UserIDMapper
		Inner struct{ M broker.UserIDMapper }
	}
	var hd holder
	hd.M, hd.Inner.M = m, m
	for _, v := range []any{m, hd, &hd} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, string(testKey), verb)
			assert.NotContains(t, out, hex.EncodeToString(testKey), verb)
			assert.NotContains(t, out, "48, 49, 50", verb) // the key's bytes as a Go slice
			assert.NotContains(t, out, "[48 49 50", verb)
		}
		for _, newHandler := range []func(*strings.Builder) slog.Handler{
			func(b *strings.Builder) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *strings.Builder) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf strings.Builder
			slog.New(newHandler(&buf)).Info("m", "mapper", v, slog.Group("g", "m", v))
			assert.NotContains(t, buf.String(), string(testKey))
			assert.NotContains(t, buf.String(), "MDEyMzQ1Njc4OWFi") // base64 of the key
		}
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), string(testKey))
		assert.NotContains(t, string(raw), "MDEyMzQ1Njc4OWFi")
	}
}

func TestBroker_UqudoUserIdentifier(t *testing.T) {
	m := pseudonyms(t, testKey)
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithUserIDs(m)))
	b := env.Broker

	// The caller's data is not changed by the broker's copy.
	data := uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}},
		GeneralConfig: &uqudo.GeneralConfig{ReturnDataForIncompleteSession: true}}
	g, err := b.Start(background, broker.Request{Vendor: broker.Uqudo, UserID: "alice", Uqudo: &broker.UqudoParams{Data: &data}})
	require.NoError(t, err)
	assert.Empty(t, data.GeneralConfig.UserIdentifier)
	sent, _, ok := env.Uqudo.SessionData(g.SessionID)
	require.True(t, ok)
	assert.Equal(t, mapped(t, m, broker.Uqudo, "alice"), sent.GeneralConfig.UserIdentifier)
	assert.True(t, sent.GeneralConfig.ReturnDataForIncompleteSession, "the rest of generalConfig is kept")

	// A userIdentifier set by the caller is refused: the broker sets it.
	data.GeneralConfig.UserIdentifier = "alice"
	_, err = b.Start(background, broker.Request{Vendor: broker.Uqudo, UserID: "bob", Uqudo: &broker.UqudoParams{Data: data}})
	require.ErrorIs(t, err, broker.ErrInvalidInput)
	assert.Contains(t, err.Error(), "userIdentifier")

	// Raw session data is opaque: sent as is, no vendor-side user id recorded.
	generic := uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypeGenericID}}}
	raw, err := generic.Encode()
	require.NoError(t, err)
	g, err = b.Start(background, broker.Request{Vendor: broker.Uqudo, UserID: "carol", Uqudo: &broker.UqudoParams{Data: uqudo.RawSessionData(raw)}})
	require.NoError(t, err)
	sent, _, ok = env.Uqudo.SessionData(g.SessionID)
	require.True(t, ok)
	assert.True(t, sent.GeneralConfig == nil || sent.GeneralConfig.UserIdentifier == "")
	owner, err := b.Owner(background, broker.Uqudo, g.SessionID)
	require.NoError(t, err)
	assert.Equal(t, "carol", owner)
	_, err = b.Owner(background, broker.Uqudo, mapped(t, m, broker.Uqudo, "carol"))
	assert.ErrorIs(t, err, broker.ErrNotFound, "uqudo never got carol's mapped id")
}

// Issue 13: the Sentiance grant carries the platform URL of the client's
// region, which the app passes to the SDK with the code.
func TestBroker_SentianceGrantCarriesPlatformURL(t *testing.T) {
	env := newEnv(t)
	g, err := env.Broker.Start(background, request(broker.Sentiance, "user-000001"))
	require.NoError(t, err)
	assert.Equal(t, env.Sentiance.URL, g.PlatformURL, "a custom base URL without a region is its own platform")
	raw, err := json.Marshal(g)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"platform_url":"`+env.Sentiance.URL+`"`)
	assert.Contains(t, g.String(), env.Sentiance.URL)

	for region, want := range map[sentiance.Region]string{
		sentiance.RegionEU: sentiance.PlatformURLEU,
		sentiance.RegionUS: sentiance.PlatformURLUS,
		sentiance.RegionIN: sentiance.PlatformURLIN,
	} {
		t.Run(string(region), func(t *testing.T) {
			// The region's client, sent to the fake through a proxy base URL.
			c, err := env.Sentiance.NewClient(sentiance.WithRegion(region))
			require.NoError(t, err)
			defer c.Close()
			b, err := broker.New(broker.WithSentiance(c), broker.WithClock(env.Clock.Now))
			require.NoError(t, err)
			defer b.Close()
			g, err := b.Start(background, request(broker.Sentiance, "user-000002"))
			require.NoError(t, err)
			assert.Equal(t, want, g.PlatformURL)
			assert.NotEmpty(t, want)
		})
	}
	for _, v := range []broker.Vendor{broker.Entrupy, broker.IDV, broker.Uqudo} {
		g, err := env.Broker.Start(background, request(v, "user-000003"))
		require.NoError(t, err)
		assert.Empty(t, g.PlatformURL, v)
	}
}

// The fast path still allocates only the returned grant, with a mapper.
func TestBroker_ReusedStartAllocatesOnlyTheGrant(t *testing.T) {
	env := newEnv(t, brokertest.WithBrokerOptions(broker.WithUserIDs(pseudonyms(t, testKey))))
	b := env.Broker
	req := request(broker.Sentiance, "user-000001")
	_, err := b.Start(background, req)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		g, err := b.Start(background, req)
		if err != nil || !g.Reused {
			t.Fatal("not reused", err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0)
}
