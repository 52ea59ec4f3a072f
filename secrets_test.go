package sdkbroker_test

// One table over every exported type, in every package, that holds a
// secret (issue 11, item 3; kept complete by TestSecrets_Registry in
// leak_types_test.go): no fmt verb, no slog record (Text and JSON handlers,
// the value on its own and nested inside another struct) and, for types
// not meant for the app, no json.Marshal shows the secret.
//
// Types whose JSON is the point (a grant handed to the app) are marked
// forApp: their JSON must carry the secret (that is how the app gets it),
// and everything else must not.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/broker/redisstore"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// Sentinels: each is long enough to be scrubbed and unlike any other text.
const (
	secretAPIKey   = "SENTINEL-Kq7ZvX2apiKey9f"
	secretPassword = "SENTINEL-Wp3QyR8pwd41d2"
	secretToken    = "SENTINEL-Tj5MxN4tok8b05"
	secretRequest  = "SENTINEL-Rz9HbL6req90ab"
	secretHeader   = "SENTINEL-Hv2GcS1hdr3c7e"
	// secretRedisKey is the Redis encryption key: exactly 32 bytes.
	secretRedisKey = "SENTINEL-Ye4NpD7xQ2mZ8wR5tB3vL9k"
)

var sentinels = []string{secretAPIKey, secretPassword, secretToken, secretRequest, secretHeader, secretRedisKey}

// secretSet is a set of secrets to look for: the fixed sentinels, plus
// tokens the fakes mint during a test.
type secretSet struct {
	mu     sync.Mutex
	fixed  []string // sentinels: any 4+ byte piece of their distinct part counts
	minted []string // minted tokens: found whole, or cut at the end of a text
}

func newSecretSet() *secretSet { return &secretSet{fixed: append([]string(nil), sentinels...)} }

// addMinted adds tokens minted during the test (empty ones are ignored).
func (s *secretSet) addMinted(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tok := range tokens {
		if len(tok) >= 8 {
			s.minted = append(s.minted, tok)
		}
	}
}

// find reports the first secret found in out: a sentinel, its hex
// encoding, or a 4-byte-or-longer prefix of its distinct part anywhere
// (the sentinels share "SENTINEL-"; a cut keeps a prefix); a minted token
// whole or in hex, or a 4-byte-or-longer prefix of one at the end of out
// (a cut).
func (s *secretSet) find(out string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.fixed {
		if hit := findWhole(out, sec); hit != "" {
			return hit
		}
		distinct := sec[len("SENTINEL-"):]
		for n := len(distinct); n >= 4; n-- {
			if strings.Contains(out, distinct[:n]) {
				return distinct[:n]
			}
		}
	}
	for _, sec := range s.minted {
		if hit := findWhole(out, sec); hit != "" {
			return hit
		}
		for n := len(sec) - 1; n >= 4; n-- {
			if strings.HasSuffix(out, sec[:n]) {
				return sec[:n] + " (cut)"
			}
		}
	}
	return ""
}

func findWhole(out, sec string) string {
	switch {
	case strings.Contains(out, sec):
		return sec
	case strings.Contains(out, hex.EncodeToString([]byte(sec))):
		return sec + " (hex)"
	case strings.Contains(out, strings.ToUpper(hex.EncodeToString([]byte(sec)))):
		return sec + " (HEX)"
	}
	return ""
}

// leak reports the first sentinel (or a piece of one) found in out.
func leak(out string) string { return fixedSecrets.find(out) }

var fixedSecrets = newSecretSet()

type secretCase struct {
	name   string
	value  any
	forApp bool // its JSON is handed to the app (or a Store) and must carry the secret
	// secrets, when set, are the secrets to look for (the sentinels and
	// the tokens minted for this value); nil means the sentinels.
	secrets *secretSet
	// knownLeak, when set, says why this value is known to show a secret
	// under fmt (and maybe the slog Text handler), a reported finding
	// outside the root test package: those tests log what leaks, and the
	// fmt test fails once nothing does, so that the entry is removed. Its
	// JSON is checked as usual.
	knownLeak string
}

func (tc secretCase) find(out string) string {
	if tc.secrets != nil {
		return tc.secrets.find(out)
	}
	return leak(out)
}

// report fails t for each problem found, or, for a known leak, logs them
// (and, when mustShow, fails if there were none).
func (tc secretCase) report(t *testing.T, problems []string, mustShow bool) {
	t.Helper()
	if tc.knownLeak == "" {
		for _, p := range problems {
			t.Error(p)
		}
		return
	}
	if len(problems) == 0 {
		if !mustShow {
			return
		}
		t.Errorf("known leak (%s) no longer shows: remove knownLeak from the case", tc.knownLeak)
		return
	}
	t.Logf("known leak (%s): %d findings, first: %s", tc.knownLeak, len(problems), problems[0])
}

func secretCases(t *testing.T) []secretCase {
	t.Helper()
	exp := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	handoffURL := "https://idv.example/capture?url=" + url.QueryEscape("https://idv.example/mobile?authorization="+secretToken+"&sessionId=s-1")
	grant := broker.Grant{Vendor: broker.IDV, UserID: "user-1234", Token: secretToken,
		HandoffURL: handoffURL, ExpiresAt: exp, RefreshAfter: exp}
	cases := []secretCase{
		{name: "entrupy.Credentials", value: entrupy.Credentials{APIToken: secretAPIKey}},
		{name: "entrupy.WebhookConfig", value: entrupy.WebhookConfig{Secret: secretPassword}},
		{name: "entrupy.AuthorizeUserParams", value: entrupy.AuthorizeUserParams{SDKAuthorizationRequest: secretRequest, UniqueUserID: "user-1234", Email: "a@example.com"}},
		{name: "entrupy.SDKToken", value: entrupy.SDKToken{SignedRequest: secretToken, ExpiresAt: exp}, forApp: true},
		{name: "sentiance.Credentials", value: sentiance.Credentials{APIKey: secretAPIKey}},
		{name: "sentiance.FirehoseConfig", value: sentiance.FirehoseConfig{AppID: "app", Username: "hook", Password: secretPassword}},
		{name: "sentiance.AuthCode", value: sentiance.AuthCode{Code: secretToken, ExpiresAt: exp}, forApp: true},
		{name: "idv.Credentials", value: idv.Credentials{APIKey: secretAPIKey}},
		{name: "idv.EphemeralDevice", value: idv.EphemeralDevice{Token: secretToken, ExpiresAt: exp}},
		{name: "idv.Handoff", value: idv.Handoff{Device: &idv.EphemeralDevice{Token: secretToken, ExpiresAt: exp},
			URL: handoffURL}, forApp: true},
		{name: "uqudo.Credentials", value: uqudo.Credentials{ClientID: "client", ClientSecret: secretAPIKey}},
		{name: "uqudo.WebhookConfig", value: uqudo.WebhookConfig{Username: "hook", Password: secretPassword, Header: "X-Hook", HeaderValue: secretHeader}},
		{name: "uqudo.AccessToken", value: uqudo.AccessToken{Token: secretToken, Type: "bearer", ExpiresAt: exp}, forApp: true},
		{name: "broker.EntrupyParams", value: broker.EntrupyParams{SDKAuthorizationRequest: secretRequest, Email: "a@example.com"}},
		{name: "broker.Request", value: broker.Request{Vendor: broker.Entrupy, UserID: "user-1234", Entrupy: &broker.EntrupyParams{SDKAuthorizationRequest: secretRequest}}},
		{name: "broker.Grant", value: grant, forApp: true},
		// A Store must keep the token to hand the grant out again (a Store
		// encrypts it at rest): its JSON carries it, like the Grant's.
		{name: "broker.StoredGrant", value: broker.StoredGrant{Grant: grant, ExpiresAt: exp, RefreshAfter: exp}, forApp: true},
	}
	mapper, err := broker.PseudonymousIDs([]byte(secretAPIKey + "-padding-to-32-bytes-or-more"))
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, secretCase{name: "broker.PseudonymousIDs", value: mapper})

	// Clients hold their credentials: they print and log without them.
	ec, err := entrupy.NewClient(entrupy.Credentials{APIToken: secretAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sentiance.NewClient(sentiance.Credentials{APIKey: secretAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := idv.NewClient("https://idv.example.com", idv.Credentials{APIKey: secretAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	uc, err := uqudo.NewClient(uqudo.Credentials{ClientID: "client", ClientSecret: secretAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ec.Close(); sc.Close(); ic.Close(); uc.Close() })
	b, err := broker.New(broker.WithEntrupy(ec), broker.WithSentiance(sc), broker.WithUserIDs(mapper))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cases = append(cases,
		secretCase{name: "*entrupy.Client", value: ec},
		secretCase{name: "*sentiance.Client", value: sc},
		secretCase{name: "*idv.Client", value: ic},
		secretCase{name: "*uqudo.Client", value: uc},
		secretCase{name: "*broker.Broker", value: b},
	)
	return append(cases, holderCases(t, exp, grant)...)
}

// holderCases are the objects that hold secrets at run time: a verifier,
// webhook settings holding it, a MemoryStore holding a grant, a Redis store
// holding its encryption key, and a brokertest Env (broker, clients and
// fakes) whose fakes accept the sentinels and whose broker holds a grant
// of each vendor (the minted tokens are looked for too).
func holderCases(t *testing.T, exp time.Time, grant broker.Grant) []secretCase {
	t.Helper()
	ctx := context.Background()
	v, err := uqudo.NewVerifier(uqudo.VerifierConfig{JWKSURL: "https://uqudo.example/jwks.json", Audience: "client"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	store := broker.NewMemoryStore(func() time.Time { return exp.Add(-time.Hour) })
	if err := store.Save(ctx, "idv:user-1234", broker.StoredGrant{Grant: grant, ExpiresAt: exp, RefreshAfter: exp}); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	rs, err := redisstore.New(rdb, redisstore.WithEncryptionKey([]byte(secretRedisKey)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Close)

	env := brokertest.New(t,
		brokertest.WithEntrupyFake(entrupytest.WithAPIToken(secretAPIKey)),
		brokertest.WithSentianceFake(sentiancetest.WithAPIKey(secretAPIKey)),
		brokertest.WithIDVFake(idvtest.WithAPIKey(secretAPIKey)),
		brokertest.WithUqudoFake(uqudotest.WithClientCredentials("client", secretAPIKey)),
		brokertest.WithBrokerOptions(broker.WithStore(broker.NewMemoryStore(nil))),
	)
	minted := newSecretSet()
	for _, vendor := range broker.Vendors() {
		req := env.Request(vendor, "user-0001")
		if vendor == broker.Entrupy {
			req.Entrupy.SDKAuthorizationRequest = secretRequest
		}
		g, err := env.Broker.Start(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", vendor, err)
		}
		minted.addMinted(g.Token)
	}
	tok, err := env.UqudoClient.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	minted.addMinted(tok.Token)
	return []secretCase{
		{name: "*uqudo.Verifier", value: v},
		{name: "uqudo.WebhookConfig with a Verifier", value: uqudo.WebhookConfig{Verifier: v, Username: "hook", Password: secretPassword, Header: "X-Hook", HeaderValue: secretHeader}},
		{name: "*broker.MemoryStore", value: store},
		{name: "*redisstore.Store", value: rs},
		{name: "*brokertest.Env", value: env, secrets: minted},
		{name: "*broker.Broker with grants", value: env.Broker, secrets: minted},
		{name: "*uqudo.Client with a token", value: env.UqudoClient, secrets: minted},
		// The live servers: a fake's Server prints a description, not its
		// fields (which would walk the state of a serving httptest.Server).
		{name: "*entrupytest.Server", value: env.Entrupy, secrets: minted},
		{name: "entrupytest.Server", value: *env.Entrupy, secrets: minted},
		{name: "*entrupytest.Fake", value: env.Entrupy.Fake, secrets: minted},
		{name: "*sentiancetest.Server", value: env.Sentiance, secrets: minted},
		{name: "sentiancetest.Server", value: *env.Sentiance, secrets: minted},
		{name: "*sentiancetest.Fake", value: env.Sentiance.Fake, secrets: minted},
		{name: "*idvtest.Server", value: env.IDV, secrets: minted},
		{name: "idvtest.Server", value: *env.IDV, secrets: minted},
		{name: "*idvtest.Fake", value: env.IDV.Fake, secrets: minted},
		{name: "*uqudotest.Server", value: env.Uqudo, secrets: minted},
		{name: "uqudotest.Server", value: *env.Uqudo, secrets: minted},
		{name: "*uqudotest.Fake", value: env.Uqudo.Fake, secrets: minted},
	}
}

func TestSecrets_NeverPrinted(t *testing.T) {
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"}
	for _, tc := range secretCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var problems []string
			check := func(what, out string) {
				if s := tc.find(out); s != "" {
					problems = append(problems, fmt.Sprintf("%s shows %q", what, s))
				}
			}
			nested := struct {
				Name  string
				Inner any
			}{"outer", tc.value}
			ptrNested := struct{ Inner *any }{&tc.value}
			for _, v := range []any{tc.value, nested, ptrNested, []any{tc.value}, map[string]any{"k": tc.value}} {
				for _, verb := range verbs {
					check(fmt.Sprintf("fmt %s of %T", verb, v), fmt.Sprintf(verb, v))
				}
				check(fmt.Sprintf("fmt.Sprint of %T", v), fmt.Sprint(v)+fmt.Sprintln(v))
			}
			if st, ok := tc.value.(fmt.Stringer); ok {
				check("String()", st.String())
			}
			if gs, ok := tc.value.(fmt.GoStringer); ok {
				check("GoString()", gs.GoString())
			}
			if e, ok := tc.value.(error); ok {
				check("Error()", e.Error())
			}
			tc.report(t, problems, true)
		})
	}
}

func TestSecrets_NeverLogged(t *testing.T) {
	for _, tc := range secretCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var problems []string
			for _, format := range []string{"text", "json"} {
				var buf bytes.Buffer
				opts := &slog.HandlerOptions{Level: slog.LevelDebug}
				var h slog.Handler = slog.NewTextHandler(&buf, opts)
				if format == "json" {
					h = slog.NewJSONHandler(&buf, opts)
				}
				l := slog.New(h)
				l.Debug("top", "v", tc.value)
				l.Debug("group", slog.Group("g", slog.Any("v", tc.value)))
				l.With("v", tc.value).Info("with")
				top := buf.String()
				if s := tc.find(top); s != "" {
					problems = append(problems, fmt.Sprintf("slog %s shows %q: %s", format, s, top))
				}
				// Nested inside a plain struct: the Text handler prints it
				// with fmt; the JSON handler marshals the outer struct, so
				// a type whose JSON is for the app is exempt there.
				buf.Reset()
				l.Debug("nested", "outer", struct{ Inner any }{tc.value})
				if format == "json" && tc.forApp {
					continue
				}
				if s := tc.find(buf.String()); s != "" {
					problems = append(problems, fmt.Sprintf("slog %s of a nested value shows %q: %s", format, s, buf.String()))
				}
			}
			tc.report(t, problems, false)
		})
	}
}

func TestSecrets_JSON(t *testing.T) {
	for _, tc := range secretCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.value)
			if err != nil {
				// A type that cannot be encoded leaks nothing either; say so.
				t.Logf("json.Marshal: %v", err)
				return
			}
			s := tc.find(string(b))
			switch {
			case tc.forApp && s == "":
				t.Errorf("JSON meant for the app lost its secret: %s", b)
			case !tc.forApp && s != "":
				t.Errorf("json.Marshal shows %q: %s", s, b)
			}
		})
	}
}
