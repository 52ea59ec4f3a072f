package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// The tests run against a real redis-server, never a mock: REDIS_ADDR
// (host:port) and REDIS_CLUSTER_ADDRS (comma-separated masters), as
// .ci/run exports them. Without them the tests skip, unless CI is set, in
// which case they fail: CI must not pass without having run them.

var background = context.Background()

var testKey = bytes.Repeat([]byte{0x42}, KeySize)

// missing skips the test, or fails it under CI.
func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set but CI is: .ci/run starts Redis and exports it", what)
	}
	t.Skipf("%s is not set: this test needs a real Redis (.ci/run starts redis-server and a Redis Cluster and exports REDIS_ADDR and REDIS_CLUSTER_ADDRS)", what)
}

// target is one Redis deployment the suite runs against.
type target struct {
	name      string
	newClient func() redis.UniversalClient
}

func singleTarget(t testing.TB) target {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		missing(t, "REDIS_ADDR")
	}
	return target{name: "single", newClient: func() redis.UniversalClient {
		return redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	}}
}

func clusterTarget(t testing.TB) target {
	t.Helper()
	addrs := os.Getenv("REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		missing(t, "REDIS_CLUSTER_ADDRS")
	}
	return target{name: "cluster", newClient: func() redis.UniversalClient {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ","), MaxRetries: -1, DialerRetries: 1})
	}}
}

// onRedis runs fn as a subtest against a single Redis and against a Redis
// Cluster.
func onRedis(t *testing.T, fn func(t *testing.T, tg target)) {
	t.Run("single", func(t *testing.T) { fn(t, singleTarget(t)) })
	t.Run("cluster", func(t *testing.T) { fn(t, clusterTarget(t)) })
}

var prefixSeq atomic.Int64

// env is one test's Redis: clients, stores with a key prefix of their own
// (so tests never see each other's keys), and the keys removed at the end.
type env struct {
	t      *testing.T
	tg     target
	prefix string
	admin  redis.UniversalClient // the test's own view of Redis
}

func newEnv(t *testing.T, tg target) *env {
	t.Helper()
	e := &env{t: t, tg: tg, admin: tg.newClient(),
		prefix: fmt.Sprintf("sdkbtest:%d:%d:", os.Getpid(), prefixSeq.Add(1))}
	ctx, cancel := context.WithTimeout(background, 5*time.Second)
	defer cancel()
	require.NoError(t, e.admin.Ping(ctx).Err(), "redis at %s is not answering", tg.name)
	t.Cleanup(func() {
		for _, k := range e.keys() {
			e.admin.Del(background, k)
		}
		_ = e.admin.Close()
	})
	return e
}

// keys lists the Redis keys under the test's prefix (on every master).
func (e *env) keys() []string {
	var out []string
	var mu sync.Mutex
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, e.prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	if cc, ok := e.admin.(*redis.ClusterClient); ok {
		require.NoError(e.t, cc.ForEachMaster(background, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) }))
	} else {
		require.NoError(e.t, scan(background, e.admin))
	}
	return out
}

// testOptions are the store options of the tests: a per-call timeout well
// above the default 50 ms, so that a machine loaded by -race and parallel
// packages does not turn a slow answer into a second mint; the timeout
// itself is tested on its own.
func (e *env) testOptions() []Option {
	return []Option{WithEncryptionKey(testKey), WithKeyPrefix(e.prefix), WithTimeout(2 * time.Second)}
}

// store returns a Store on a client of its own (like another process),
// closed at the end of the test, subscribed before it is returned.
func (e *env) store(opts ...Option) *Store {
	e.t.Helper()
	c := e.tg.newClient()
	s, err := New(c, append(e.testOptions(), opts...)...)
	require.NoError(e.t, err)
	e.t.Cleanup(func() {
		s.Close()
		_ = c.Close()
	})
	ctx, cancel := context.WithTimeout(background, 10*time.Second)
	defer cancel()
	require.NoError(e.t, s.WaitSubscribed(ctx))
	return s
}

// vendors are the four fakes on loopback, behind a proxy that can slow
// their answers down, shared by every replica of a test.
type vendors struct {
	t     testing.TB
	delay atomic.Int64 // nanoseconds added to each vendor answer

	ent *entrupytest.Server
	sen *sentiancetest.Server
	idv *idvtest.Server
	uq  *uqudotest.Server

	entURL, senURL, idvURL, uqURL string
}

func newVendors(t testing.TB) *vendors {
	v := &vendors{t: t, ent: entrupytest.NewServer(t), sen: sentiancetest.NewServer(t), idv: idvtest.NewServer(t), uq: uqudotest.NewServer(t)}
	v.entURL, v.senURL, v.idvURL, v.uqURL = v.proxy(v.ent.Fake), v.proxy(v.sen.Fake), v.proxy(v.idv.Fake), v.proxy(v.uq.Fake)
	return v
}

func (v *vendors) proxy(h http.Handler) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(v.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		h.ServeHTTP(w, r)
	}))
	v.t.Cleanup(srv.Close)
	return srv.URL
}

// mints is the number of grant-minting calls the fake of vendor saw.
func (v *vendors) mints(vendor broker.Vendor) int {
	switch vendor {
	case broker.Entrupy:
		return v.ent.Calls(entrupytest.RouteAuthorizeUser)
	case broker.Sentiance:
		return v.sen.Calls(sentiancetest.RouteCreateAuthCode)
	case broker.IDV:
		return v.idv.Calls(idvtest.RouteStartSession)
	case broker.Uqudo:
		return v.uq.Calls(uqudotest.RouteCreateSession)
	}
	v.t.Fatalf("no fake for %s", vendor)
	return 0
}

// broker builds a broker over the four vendors (clients of its own, like a
// replica) and store (none if nil).
func (v *vendors) broker(store broker.Store, opts ...broker.Option) *broker.Broker {
	t := v.t
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	ec, err := v.ent.NewClient(entrupy.WithBaseURL(v.entURL), entrupy.WithHTTPClient(hc))
	require.NoError(t, err)
	sc, err := v.sen.NewClient(sentiance.WithBaseURL(v.senURL), sentiance.WithHTTPClient(hc))
	require.NoError(t, err)
	ic, err := v.idv.NewClient(idv.WithBaseURL(v.idvURL), idv.WithHTTPClient(hc))
	require.NoError(t, err)
	uc, err := v.uq.NewClient(uqudo.WithBaseURL(v.uqURL), uqudo.WithHTTPClient(hc))
	require.NoError(t, err)
	all := append([]broker.Option{
		broker.WithEntrupy(ec),
		broker.WithSentiance(sc),
		broker.WithIDV(ic, broker.IDVParams{WorkflowID: "wf-default", TTL: time.Hour}),
		broker.WithUqudo(uc, broker.UqudoParams{Data: uqudo.NewSessionData(uqudo.DocumentTypePassport)}),
	}, opts...)
	if store != nil {
		all = append(all, broker.WithStore(store))
	}
	b, err := broker.New(all...)
	require.NoError(t, err)
	t.Cleanup(func() {
		b.Close()
		ec.Close()
		sc.Close()
		ic.Close()
		uc.Close()
	})
	return b
}

func request(v broker.Vendor, user string) broker.Request {
	if v == broker.Entrupy {
		return broker.Request{Vendor: v, UserID: user, Entrupy: &broker.EntrupyParams{
			SDKAuthorizationRequest: "sdk-request-" + user, Email: "ann@example.com", FirstName: "Ann"}}
	}
	return broker.Request{Vendor: v, UserID: user}
}

// secret is what a grant must never show in Redis: the token, session id
// and QR texts (the user id is checked separately).
func grantSecrets(g *broker.Grant) []string {
	var out []string
	for _, s := range []string{g.Token, g.SessionID, g.HandoffURL, g.QRCodeText, g.QRCodeTextWithDynamicLink} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

var userSeq atomic.Int64

// newUser returns a user id no other test uses (8+ characters, for Entrupy).
func newUser() string { return fmt.Sprintf("user-%06d-%d", userSeq.Add(1), os.Getpid()%100000) }

// eventually polls cond for up to 10 s.
func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting: " + msg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ownRedis is a redis-server this test starts on a free loopback port, to
// stop and restart it.
type ownRedis struct {
	t    testing.TB
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startOwnRedis(t testing.TB) *ownRedis {
	t.Helper()
	if os.Getenv("REDIS_ADDR") == "" { // the Redis tests run when asked for, like the others
		missing(t, "REDIS_ADDR")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		missing(t, "redis-server on PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	r := &ownRedis{t: t, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *ownRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *ownRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	require.NoError(r.t, r.cmd.Start())
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(r.cmd, r.done)
	c := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	eventually(r.t, func() bool {
		ctx, cancel := context.WithTimeout(background, 200*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}, "own redis-server answering")
}

func (r *ownRedis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}
