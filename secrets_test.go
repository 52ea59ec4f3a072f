package sdkbroker_test

// One table over every exported type, in every package, that holds a
// secret (issue 11, item 3): no fmt verb, no slog record (Text and JSON
// handlers, the value on its own and nested inside another struct) and,
// for types not meant for the app, no json.Marshal shows the secret.
//
// Types whose JSON is the point (a grant handed to the app) are marked
// forApp: their JSON must carry the secret (that is how the app gets it),
// and everything else must not.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// Sentinels: each is long enough to be scrubbed and unlike any other text.
const (
	secretAPIKey   = "SENTINEL-Kq7ZvX2apiKey9f"
	secretPassword = "SENTINEL-Wp3QyR8pwd41d2"
	secretToken    = "SENTINEL-Tj5MxN4tok8b05"
	secretRequest  = "SENTINEL-Rz9HbL6req90ab"
	secretHeader   = "SENTINEL-Hv2GcS1hdr3c7e"
)

var sentinels = []string{secretAPIKey, secretPassword, secretToken, secretRequest, secretHeader}

type secretCase struct {
	name   string
	value  any
	forApp bool // its JSON is handed to the app (or a Store) and must carry the secret
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
	return cases
}

// leak reports the first sentinel (or a 4-byte-or-longer prefix of one at
// the end of out) found in out.
func leak(out string) string {
	for _, s := range sentinels {
		if strings.Contains(out, s) {
			return s
		}
		// A cut secret: any 4+ byte prefix at a truncation point. The
		// sentinels share "SENTINEL-", so look for their distinct part.
		distinct := s[len("SENTINEL-"):]
		for n := len(distinct); n >= 4; n-- {
			if strings.Contains(out, distinct[:n]) {
				return distinct[:n]
			}
		}
	}
	return ""
}

func TestSecrets_NeverPrinted(t *testing.T) {
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"}
	for _, tc := range secretCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			nested := struct {
				Name  string
				Inner any
			}{"outer", tc.value}
			ptrNested := struct{ Inner *any }{&tc.value}
			for _, v := range []any{tc.value, nested, ptrNested, []any{tc.value}, map[string]any{"k": tc.value}} {
				for _, verb := range verbs {
					if s := leak(fmt.Sprintf(verb, v)); s != "" {
						t.Errorf("fmt %s of %T shows %q", verb, v, s)
					}
				}
				if s := leak(fmt.Sprint(v) + fmt.Sprintln(v)); s != "" {
					t.Errorf("fmt.Sprint of %T shows %q", v, s)
				}
			}
			if st, ok := tc.value.(fmt.Stringer); ok {
				if s := leak(st.String()); s != "" {
					t.Errorf("String() shows %q", s)
				}
			}
			if gs, ok := tc.value.(fmt.GoStringer); ok {
				if s := leak(gs.GoString()); s != "" {
					t.Errorf("GoString() shows %q", s)
				}
			}
			if e, ok := tc.value.(error); ok {
				if s := leak(e.Error()); s != "" {
					t.Errorf("Error() shows %q", s)
				}
			}
		})
	}
}

func TestSecrets_NeverLogged(t *testing.T) {
	for _, tc := range secretCases(t) {
		t.Run(tc.name, func(t *testing.T) {
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
				if s := leak(top); s != "" {
					t.Errorf("slog %s shows %q: %s", format, s, top)
				}
				// Nested inside a plain struct: the Text handler prints it
				// with fmt; the JSON handler marshals the outer struct, so
				// a type whose JSON is for the app is exempt there.
				buf.Reset()
				l.Debug("nested", "outer", struct{ Inner any }{tc.value})
				if format == "json" && tc.forApp {
					continue
				}
				if s := leak(buf.String()); s != "" {
					t.Errorf("slog %s of a nested value shows %q: %s", format, s, buf.String())
				}
			}
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
			s := leak(string(b))
			switch {
			case tc.forApp && s == "":
				t.Errorf("JSON meant for the app lost its secret: %s", b)
			case !tc.forApp && s != "":
				t.Errorf("json.Marshal shows %q: %s", s, b)
			}
		})
	}
}
