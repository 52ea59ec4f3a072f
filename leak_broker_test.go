package sdkbroker_test

// The broker, brokerhttp and webhook part of the secret-leak sweep (issue
// 16, item 1): the four fakes accept the sentinels as credentials; a broker
// over clients that log at debug level mints a grant per vendor (the
// minted tokens become secrets too) and then meets every failure class the
// fakes inject; brokerhttp serves it; the three webhook handlers get good,
// forged and crashing deliveries. No secret may appear in an error, a log
// line, a panic or any HTTP answer, except a user's own grant in the 200
// answer that hands it to the app.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokerhttp"
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

// sentinelBroker is a broker over the four fakes with sentinel credentials,
// every client and the broker logging into logs.
type sentinelBroker struct {
	b         *broker.Broker
	entrupy   *entrupytest.Server
	sentiance *sentiancetest.Server
	idv       *idvtest.Server
	uqudo     *uqudotest.Server
	ec        *entrupy.Client
	sc        *sentiance.Client
	ic        *idv.Client
	uc        *uqudo.Client
	logs      *lockedBuffer
}

func newSentinelBroker(t *testing.T) *sentinelBroker {
	t.Helper()
	sb := &sentinelBroker{logs: &lockedBuffer{}}
	log := captureLogs(sb.logs)
	sb.entrupy = entrupytest.NewServer(t, entrupytest.WithAPIToken(secretAPIKey))
	sb.sentiance = sentiancetest.NewServer(t, sentiancetest.WithAPIKey(secretAPIKey))
	sb.idv = idvtest.NewServer(t, idvtest.WithAPIKey(secretAPIKey))
	sb.uqudo = uqudotest.NewServer(t, uqudotest.WithClientCredentials("client", secretAPIKey))
	var err error
	if sb.ec, err = sb.entrupy.NewClient(entrupy.WithLogger(log)); err != nil {
		t.Fatal(err)
	}
	if sb.sc, err = sb.sentiance.NewClient(sentiance.WithLogger(log)); err != nil {
		t.Fatal(err)
	}
	if sb.ic, err = sb.idv.NewClient(idv.WithLogger(log)); err != nil {
		t.Fatal(err)
	}
	sb.uc, err = sb.uqudo.NewClient(uqudo.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ec, sc, ic := sb.ec, sb.sc, sb.ic
	sb.b, err = broker.New(broker.WithEntrupy(ec), broker.WithSentiance(sc),
		broker.WithIDV(ic, broker.IDVParams{WorkflowID: "wf-1"}),
		broker.WithUqudo(sb.uc, broker.UqudoParams{Data: uqudo.NewSessionData(uqudo.DocumentTypePassport)}),
		broker.WithLogger(log), broker.WithStore(broker.NewMemoryStore(nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.b.Close(); ec.Close(); sc.Close(); ic.Close(); sb.uc.Close() })
	return sb
}

func (sb *sentinelBroker) request(vendor broker.Vendor, user string) broker.Request {
	req := broker.Request{Vendor: vendor, UserID: user}
	if vendor == broker.Entrupy {
		req.Entrupy = &broker.EntrupyParams{SDKAuthorizationRequest: secretRequest, Email: "a@example.com"}
	}
	return req
}

// fail injects n failures (a Status, a Reset or a Delay) on vendor's
// minting route; n = 0 cancels those still pending.
func (sb *sentinelBroker) fail(vendor broker.Vendor, n, status int, reset bool, delay time.Duration) {
	ra := time.Duration(0)
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		ra = time.Second
	}
	switch vendor {
	case broker.Entrupy:
		sb.entrupy.FailNext(n, entrupytest.Failure{Route: entrupytest.RouteAuthorizeUser, Status: status, Reset: reset, Delay: delay, RetryAfter: ra})
	case broker.Sentiance:
		sb.sentiance.FailNext(n, sentiancetest.Failure{Route: sentiancetest.RouteCreateAuthCode, Status: status, Reset: reset, Delay: delay, RetryAfter: ra})
	case broker.IDV:
		sb.idv.FailNext(n, idvtest.Failure{Route: idvtest.RouteStartSession, Status: status, Reset: reset, Delay: delay, RetryAfter: ra})
	case broker.Uqudo:
		sb.uqudo.FailNext(n, uqudotest.Failure{Route: uqudotest.RouteCreateSession, Status: status, Reset: reset, Delay: delay, RetryAfter: ra})
	}
}

// failureClasses are the failures injected on each vendor's minting call.
var failureClasses = []struct {
	name   string
	status int
	reset  bool
	delay  time.Duration // longer than the call's context
}{
	{name: "400", status: http.StatusBadRequest},
	{name: "401", status: http.StatusUnauthorized},
	{name: "403", status: http.StatusForbidden},
	{name: "404", status: http.StatusNotFound},
	{name: "409", status: http.StatusConflict},
	{name: "422", status: http.StatusUnprocessableEntity},
	{name: "429", status: http.StatusTooManyRequests},
	{name: "500", status: http.StatusInternalServerError},
	{name: "503", status: http.StatusServiceUnavailable},
	{name: "reset", reset: true},
	{name: "timeout", delay: time.Second},
}

// checkHTTP fails t if the answer (status line, headers, body) shows a
// secret of set.
func checkHTTP(t *testing.T, set *secretSet, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", rec.Code)
	_ = rec.Header().Write(&b)
	b.WriteString(rec.Body.String())
	if s := set.find(b.String()); s != "" {
		t.Errorf("%s: the answer shows %q: %.300s", what, s, b.String())
	}
}

func TestLeak_BrokerAndHandler(t *testing.T) {
	t.Parallel()
	sb := newSentinelBroker(t)
	set := newSecretSet()
	ctx := context.Background()

	// Success: every vendor mints, and the tokens are secrets from now on.
	for _, v := range broker.Vendors() {
		g, err := sb.b.Start(ctx, sb.request(v, "user-0001"))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		set.addMinted(g.Token)
	}
	tok, err := sb.uc.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.addMinted(tok.Token)

	h, err := brokerhttp.New(sb.b, brokerhttp.WithLogger(captureLogs(sb.logs)),
		brokerhttp.WithUser(func(r *http.Request) (string, error) { return r.Header.Get("X-User"), nil }))
	if err != nil {
		t.Fatal(err)
	}
	serve := func(user, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-User", user)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	startBody := map[broker.Vendor]string{
		broker.Entrupy: fmt.Sprintf(`{"sdk_authorization_request": %q, "email": "a@example.com"}`, secretRequest),
	}
	// The 200 that hands a grant to the app carries that grant's token, and
	// nothing else secret.
	for _, v := range broker.Vendors() {
		rec := serve("user-0002", "/"+string(v)+"/start", startBody[v])
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", v, rec.Code, rec.Body)
		}
		var g broker.Grant
		if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		own := strings.NewReplacer(g.Token, "<own token>", g.HandoffURL, "<own handoff url>")
		redacted := httptest.NewRecorder()
		redacted.Code = rec.Code
		_, _ = redacted.Body.WriteString(own.Replace(rec.Body.String()))
		checkHTTP(t, set, string(v)+" start 200", redacted)
		set.addMinted(g.Token)
	}

	// Every failure class on every vendor, through Start and through the
	// handler, for users with no grant yet.
	n := 0
	for _, v := range broker.Vendors() {
		for _, fc := range failureClasses {
			n++
			user := fmt.Sprintf("user-%04d", 100+n)
			cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			if fc.delay == 0 {
				cctx, cancel = context.WithTimeout(ctx, 10*time.Second)
			}
			sb.fail(v, 10, fc.status, fc.reset, fc.delay) // more than the retries
			_, err := sb.b.Start(cctx, sb.request(v, user))
			cancel()
			sb.fail(v, 0, 0, false, 0)
			if err == nil {
				t.Errorf("%s %s: Start succeeded", v, fc.name)
			}
			checkErr(t, set, fmt.Sprintf("%s %s: Start", v, fc.name), err)
			if fc.delay > 0 {
				continue // the handler has no deadline of its own
			}
			sb.fail(v, 10, fc.status, fc.reset, 0)
			rec := serve(user+"h", "/"+string(v)+"/start", startBody[v])
			sb.fail(v, 0, 0, false, 0)
			if rec.Code < 400 {
				t.Errorf("%s %s: handler answered %d", v, fc.name, rec.Code)
			}
			checkHTTP(t, set, fmt.Sprintf("%s %s: handler", v, fc.name), rec)
		}
	}

	// Bad input through the handler: secrets in values and in unknown
	// field names are not repeated.
	for _, body := range []string{
		fmt.Sprintf(`{"sdk_authorization_request": %q, "email": %q}`, secretRequest+"\x01", secretToken),
		fmt.Sprintf(`{"sdk_authorization_request": %q, "email": "a@example.com", "x": %q}`, secretRequest, secretToken),
		fmt.Sprintf(`{"sdk_authorization_request": %q, "sdk_authorization_request": %q, "email": "a@example.com"}`, secretRequest, secretToken),
		fmt.Sprintf(`{"sdk_authorization_request": %q`, secretRequest),
		strings.Repeat(secretRequest, 5000),
	} {
		rec := serve("user-0003", "/entrupy/start", body)
		if rec.Code < 400 {
			t.Errorf("bad body answered %d", rec.Code)
		}
		checkHTTP(t, set, "entrupy start with a bad body", rec)
	}
	for _, v := range broker.Vendors() {
		checkHTTP(t, set, string(v)+" invalidate", serve("user-0001", "/"+string(v)+"/invalidate", ""))
		checkHTTP(t, set, string(v)+" start, unknown field", serve("user-0004", "/"+string(v)+"/start", fmt.Sprintf(`{%q: %q}`, "x", secretToken)))
	}

	// Owner and Invalidate, with secrets as refs and user ids.
	for _, v := range broker.Vendors() {
		for _, ref := range []string{secretToken, secretAPIKey + "\x00", strings.Repeat(secretToken, 20)} {
			_, err := sb.b.Owner(ctx, v, ref)
			checkErr(t, set, string(v)+" Owner", err)
		}
		checkErr(t, set, string(v)+" Invalidate", sb.b.Invalidate(ctx, v, secretToken+"\n"))
		_, err := sb.b.Start(ctx, broker.Request{Vendor: v, UserID: secretToken + "\n",
			Entrupy: &broker.EntrupyParams{SDKAuthorizationRequest: secretRequest + "\n", Email: "a@example.com"}})
		checkErr(t, set, string(v)+" Start with bad input", err)
	}

	// Every other method of the clients, through success (and whatever
	// error the fakes answer), logging at debug level.
	sb.entrupy.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_1", CustomerItemID: "sku-1", Status: entrupy.StatusInProgress})
	sb.entrupy.AddSupportMessage("ent_1", entrupy.Message{Text: "hello"})
	h1, err := sb.ic.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf-1", ExternalUserID: "user-0005"})
	if err != nil {
		t.Fatal(err)
	}
	set.addMinted(h1.Device.Token)
	sess, err := sb.uc.CreateSession(ctx, uqudo.NewSessionData(uqudo.DocumentTypePassport))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.uqudo.CompleteSession(sess.ID, nil); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"entrupy GetAuthentication":    func() error { _, err := sb.ec.GetAuthentication(ctx, "ent_1"); return err },
		"entrupy LookupAuthentication": func() error { _, err := sb.ec.LookupAuthentication(ctx, "sku-1"); return err },
		"entrupy ListSupportMessages":  func() error { _, err := sb.ec.ListSupportMessages(ctx, "ent_1", nil); return err },
		"entrupy PostSupportMessage": func() error {
			_, err := sb.ec.PostSupportMessage(ctx, "ent_1", entrupy.SupportReplyParams{Text: "thanks"})
			return err
		},
		"entrupy Escalate": func() error {
			_, err := sb.ec.Escalate(ctx, entrupy.EscalationParams{EntrupyID: "ent_1", CustomerItemID: "sku-1", Reason: "why"})
			return err
		},
		"sentiance LinkInstall": func() error { _, err := sb.sc.LinkInstall(ctx, "install-1", "user-0005"); return err },
		"sentiance DeleteUser":  func() error { return sb.sc.DeleteUser(ctx, "no-such-user") },
		"idv GetSession":        func() error { _, err := sb.ic.GetSession(ctx, h1.Session.ID); return err },
		"idv CreateDeepLink": func() error {
			_, err := sb.ic.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf-1"}})
			return err
		},
		"uqudo Info":          func() error { _, err := sb.uc.Info(ctx, sess.ID); return err },
		"uqudo DeleteInfo":    func() error { return sb.uc.DeleteInfo(ctx, sess.ID) },
		"uqudo DeleteSession": func() error { return sb.uc.DeleteSession(ctx, sess.QRCodeText) },
	} {
		checkErr(t, set, name, f())
	}

	// A Redis store that cannot reach Redis: its errors and logs (and
	// go-redis's own) do not show its encryption key.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	rs, err := redisstore.New(rdb, redisstore.WithEncryptionKey([]byte(secretRedisKey)), redisstore.WithLogger(captureLogs(sb.logs)),
		redisstore.WithTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	checkErr(t, set, "redisstore Save", rs.Save(ctx, "idv:user-1", broker.StoredGrant{Grant: broker.Grant{Token: secretToken}, ExpiresAt: time.Now().Add(time.Hour)}))
	_, _, err = rs.Load(ctx, "idv:user-1")
	checkErr(t, set, "redisstore Load", err)
	checkErr(t, set, "redisstore Delete", rs.Delete(ctx, "idv:user-1"))

	if s := set.find(sb.logs.String() + redisLogs.String()); s != "" {
		i := strings.Index(sb.logs.String(), strings.TrimSuffix(s, " (cut)"))
		t.Errorf("a log line shows %q: %.300s", s, sb.logs.String()[max(0, i-200):])
	}
}

// redisLogs receives go-redis's own log lines (its pool logs failed
// dials), for the tests that point a client at a closed port.
var redisLogs lockedBuffer

type redisLogger struct{}

func (redisLogger) Printf(_ context.Context, format string, v ...any) {
	fmt.Fprintf(&redisLogs, format+"\n", v...)
}

func init() { redis.SetLogger(redisLogger{}) }

// TestLeak_Webhooks sends good, forged and crashing deliveries to the
// three webhook handlers: no answer and no log line shows the configured
// secrets, a wrong secret an attacker tried, or the payload.
func TestLeak_Webhooks(t *testing.T) {
	t.Parallel()
	set := newSecretSet()
	payloadSecret := "SENTINEL-Pq8WsE3payLoad77" // in the payload: never logged by the handlers
	withPayload := newSecretSet()
	withPayload.addMinted(payloadSecret)
	// One log per handler and callback kind: a callback's own error is
	// logged as the app wrote it (here, with the payload); a panic, with a
	// string or an error that quotes the payload, is logged without its
	// value (by its type).
	logs := map[string]*lockedBuffer{}
	logFor := func(vendor, kind string) *slog.Logger {
		b := &lockedBuffer{}
		logs[vendor+" "+kind] = b
		return captureLogs(b)
	}
	log := logFor("uqudo", "client")
	ctx := context.Background()
	callbacks := map[string]func(string){
		"ok":          func(string) {},
		"error":       nil, // the handlers return an error that quotes the payload
		"panic":       func(p string) { panic("callback crashed on " + p) },
		"error panic": func(p string) { panic(errors.New("callback crashed on " + p)) },
	}
	post := func(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: the handler panicked: %v", req.URL, set.find(fmt.Sprint(r)))
				}
			}()
			h.ServeHTTP(rec, req)
		}()
		return rec
	}

	// Entrupy: HMAC with the secret.
	event := fmt.Sprintf(`{"id":"evt_1","event":"support.message","created_at":"2026-03-01T12:00:00Z","data":{"entrupy_id":"ent_1","customer_item_id":"sku-1","message":{"id":"m1","sender":"entrupy","text":%q,"created_at":1772366400}}}`, payloadSecret)
	for name, cb := range callbacks {
		h, err := entrupy.NewWebhookHandler(entrupy.WebhookConfig{Secret: secretPassword}, func(_ context.Context, e *entrupy.Event) error {
			if name == "error" {
				return fmt.Errorf("callback failed on %s", event)
			}
			cb(event)
			return nil
		}, entrupy.WithWebhookLogger(logFor("entrupy", name)))
		if err != nil {
			t.Fatal(err)
		}
		for _, sig := range []string{entrupytest.SignWebhook(secretPassword, []byte(event)), entrupytest.SignWebhook(secretHeader, []byte(event)), secretPassword} {
			req := httptest.NewRequest(http.MethodPost, "/entrupy", strings.NewReader(event))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(entrupy.SignatureHeader, sig)
			checkHTTP(t, set, "entrupy webhook "+name, post(h, req))
		}
	}
	_, err := entrupy.ParseEvent([]byte(event[:len(event)-5]))
	checkErr(t, set, "entrupy.ParseEvent", err)
	checkErr(t, set, "entrupy.VerifySignature", entrupy.VerifySignature(secretPassword, []byte(event), secretHeader))

	// Sentiance: Basic auth.
	cfg := sentiance.FirehoseConfig{AppID: "app-1", Username: "hook", Password: secretPassword}
	delivery := fmt.Sprintf(`{"data":[{"meta":{"message_type":"x","message_timestamp":"2026-03-01T12:00:00Z"},"data":{"user_id":"u1","note":%q}}]}`, payloadSecret)
	for name, cb := range callbacks {
		h, err := sentiance.NewFirehoseHandler(cfg, func(_ context.Context, msgs []sentiance.Message) error {
			if name == "error" {
				return fmt.Errorf("callback failed on %s", msgs[0].Raw)
			}
			cb(string(msgs[0].Raw))
			return nil
		}, sentiance.WithWebhookLogger(logFor("sentiance", name)))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []sentiance.FirehoseConfig{cfg, {AppID: "app-1", Username: "hook", Password: secretHeader}} {
			req, err := sentiancetest.NewFirehoseRequest(ctx, "http://example.test/firehose", c, []byte(delivery))
			if err != nil {
				t.Fatal(err)
			}
			checkHTTP(t, set, "sentiance firehose "+name, post(h, req))
			get := httptest.NewRequest(http.MethodGet, "/firehose", nil)
			get.SetBasicAuth(c.Username, c.Password)
			checkHTTP(t, set, "sentiance firehose GET", post(h, get))
		}
	}

	// uqudo: a JWS result verified with the fake's keys, plus Basic auth and
	// a custom header.
	fake := uqudotest.NewServer(t, uqudotest.WithClientCredentials("client", secretAPIKey))
	uc, err := fake.NewClient(uqudo.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(uc.Close)
	sess, err := uc.CreateSession(ctx, uqudo.NewSessionData(uqudo.DocumentTypePassport))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := uc.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.addMinted(tok.Token)
	jws, err := fake.CompleteSession(sess.ID, map[string]any{"note": payloadSecret})
	if err != nil {
		t.Fatal(err)
	}
	ucfg := uqudo.WebhookConfig{Verifier: uc.Verifier(), Username: "hook", Password: secretPassword, Header: "X-Hook", HeaderValue: secretHeader}
	result := fmt.Sprintf(`{"jwsResult": %q}`, jws)
	for name, cb := range callbacks {
		h, err := uqudo.NewWebhookHandler(ucfg, func(_ context.Context, r *uqudo.Result) error {
			if name == "error" {
				return fmt.Errorf("callback failed on %s", r.Data)
			}
			cb(string(r.Data))
			return nil
		}, uqudo.WithWebhookLogger(logFor("uqudo", name)))
		if err != nil {
			t.Fatal(err)
		}
		for _, auth := range [][2]string{{secretPassword, secretHeader}, {secretHeader, secretPassword}, {secretPassword, secretPassword}} {
			for _, body := range []string{result, fmt.Sprintf(`{"jwsResult": %q}`, jws[:len(jws)-4]+"AAAA"), `{"jwsResult": "` + secretToken + `"}`} {
				req := httptest.NewRequest(http.MethodPost, "/uqudo", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth("hook", auth[0])
				req.Header.Set("X-Hook", auth[1])
				checkHTTP(t, set, "uqudo webhook "+name, post(h, req))
			}
		}
	}
	_, err = uc.Verifier().Verify(ctx, secretToken, uqudo.VerifyOptions{SessionID: sess.ID})
	checkErr(t, set, "uqudo Verify", err)
	for name, b := range logs {
		if s := set.find(b.String()); s != "" {
			t.Errorf("%s: a log line shows %q", name, s)
		}
		s := withPayload.find(b.String())
		switch {
		case strings.HasSuffix(name, " error"):
		case s != "":
			t.Errorf("%s: a log line shows the payload (%q)", name, s)
		}
		if strings.Contains(name, "panic") && !strings.Contains(b.String(), "panicked") {
			t.Errorf("%s: no log line says the callback panicked: %s", name, b.String())
		}
	}
}

// TestLeak_BadInputNeverPanics calls every method of zero-value clients,
// and of real clients with secrets in invalid inputs: each returns an error
// that shows no secret, and none panics.
func TestLeak_BadInputNeverPanics(t *testing.T) {
	t.Parallel()
	set := newSecretSet()
	ctx := context.Background()
	bad := secretToken + "\n\x00"
	call := func(what string, f func() error) {
		t.Helper()
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					msg := fmt.Sprint(r)
					if s := set.find(msg); s != "" {
						t.Errorf("%s panicked showing %q", what, s)
					}
					t.Errorf("%s panicked: %v", what, r)
				}
			}()
			err = f()
		}()
		if err == nil {
			t.Errorf("%s: no error", what)
		}
		checkErr(t, set, what, err)
	}
	device := &idv.EphemeralDevice{Token: secretToken, ExpiresAt: time.Now().Add(time.Hour)}
	badDevice := &idv.EphemeralDevice{Token: bad, ExpiresAt: time.Now().Add(time.Hour)}

	for name, creds := range map[string]func() error{
		"entrupy.NewClient":   func() error { _, err := entrupy.NewClient(entrupy.Credentials{APIToken: bad}); return err },
		"sentiance.NewClient": func() error { _, err := sentiance.NewClient(sentiance.Credentials{APIKey: bad}); return err },
		"idv.NewClient": func() error {
			_, err := idv.NewClient("https://idv.example", idv.Credentials{APIKey: bad})
			return err
		},
		"idv.NewClient bad URL": func() error {
			_, err := idv.NewClient("https://user:"+secretAPIKey+"@idv.example", idv.Credentials{APIKey: secretAPIKey})
			return err
		},
		"uqudo.NewClient": func() error {
			_, err := uqudo.NewClient(uqudo.Credentials{ClientSecret: bad})
			return err
		},
	} {
		call(name, creds)
	}

	var (
		ze entrupy.Client
		zs sentiance.Client
		zi idv.Client
		zu uqudo.Client
	)
	ic, err := idv.NewClient("https://idv.example", idv.Credentials{APIKey: secretAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	ec, err := entrupy.NewClient(entrupy.Credentials{APIToken: secretAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ic.Close(); ec.Close() })
	calls := map[string]func() error{
		"zero entrupy AuthorizeUser": func() error {
			_, err := ze.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: secretRequest, UniqueUserID: "user-0001", Email: "a@example.com"})
			return err
		},
		"zero entrupy GetAuthentication":    func() error { _, err := ze.GetAuthentication(ctx, "E-1"); return err },
		"zero entrupy LookupAuthentication": func() error { _, err := ze.LookupAuthentication(ctx, "item"); return err },
		"zero entrupy ListSupportMessages":  func() error { _, err := ze.ListSupportMessages(ctx, "E-1", nil); return err },
		"zero entrupy PostSupportMessage": func() error {
			_, err := ze.PostSupportMessage(ctx, "E-1", entrupy.SupportReplyParams{Text: "x"})
			return err
		},
		"zero entrupy Escalate": func() error {
			_, err := ze.Escalate(ctx, entrupy.EscalationParams{EntrupyID: "E-1", CustomerItemID: "i", Reason: "r"})
			return err
		},
		"zero sentiance CreateAuthCode": func() error { _, err := zs.CreateAuthCode(ctx, "user-0001"); return err },
		"zero sentiance LinkInstall":    func() error { _, err := zs.LinkInstall(ctx, "i", "user-0001"); return err },
		"zero sentiance DeleteUser":     func() error { return zs.DeleteUser(ctx, "u") },
		"zero idv CreateEphemeralDevice": func() error {
			_, err := zi.CreateEphemeralDevice(ctx, time.Hour)
			return err
		},
		"zero idv StartSession": func() error { _, err := zi.StartSession(ctx, device, "wf", nil); return err },
		"zero idv Initiate": func() error {
			_, err := zi.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf"})
			return err
		},
		"zero idv CreateDeepLink": func() error {
			_, err := zi.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf"}})
			return err
		},
		"zero idv GetSession": func() error { _, err := zi.GetSession(ctx, "s"); return err },
		"zero idv HandoffURL": func() error {
			_, err := zi.HandoffURL(device, &idv.Session{ID: "s"})
			return err
		},
		"zero uqudo AccessToken": func() error { _, err := zu.AccessToken(ctx); return err },
		"zero uqudo CreateSession": func() error {
			_, err := zu.CreateSession(ctx, uqudo.NewSessionData(uqudo.DocumentTypePassport))
			return err
		},
		"zero uqudo DeleteSession": func() error { return zu.DeleteSession(ctx, "qr") },
		"zero uqudo Info":          func() error { _, err := zu.Info(ctx, "s"); return err },
		"zero uqudo DeleteInfo":    func() error { return zu.DeleteInfo(ctx, "s") },
		"zero uqudo Verifier.Verify": func() error {
			_, err := (&uqudo.Verifier{}).Verify(ctx, secretToken, uqudo.VerifyOptions{SessionID: "s"})
			return err
		},

		"entrupy AuthorizeUser bad request": func() error {
			_, err := ec.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: bad, UniqueUserID: "user-0001", Email: "a@example.com"})
			return err
		},
		"entrupy AuthorizeUser huge request": func() error {
			_, err := ec.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: strings.Repeat(secretRequest, 1<<14), UniqueUserID: "user-0001", Email: "a@example.com"})
			return err
		},
		"entrupy AuthorizeUser bad user": func() error {
			_, err := ec.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: secretRequest, UniqueUserID: bad, Email: "a@example.com"})
			return err
		},
		"idv StartSession bad token": func() error { _, err := ic.StartSession(ctx, badDevice, "wf", nil); return err },
		"idv StartSession nil context": func() error {
			//lint:ignore SA1012 a nil context is the bad input under test
			_, err := ic.StartSession(nil, device, "wf", nil) //nolint:staticcheck
			return err
		},
		"idv HandoffURL bad token": func() error {
			_, err := ic.HandoffURL(badDevice, &idv.Session{ID: "s"})
			return err
		},
		"idv BuildHandoffURL bad token": func() error {
			_, err := idv.BuildHandoffURL("https://idv.example", bad, "s")
			return err
		},
		"idv BuildHandoffURL bad base": func() error {
			_, err := idv.BuildHandoffURL("https://user:"+secretAPIKey+"@idv.example", secretToken, "s")
			return err
		},
		"uqudo DecodeSessionData": func() error { _, err := uqudo.DecodeSessionData(secretToken); return err },
	}
	for name, f := range calls {
		call(name, f)
	}
}
