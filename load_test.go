package sdkbroker_test

// Load and soak (issue 16, item 3): many goroutines call broker.Start for
// many users across all four vendors, on the fakes (brokertest), over
// loopback sockets. No call may fail; the vendors must receive exactly the
// minting calls the grants need (concurrent Starts for one user share one
// call, and a held grant is reused); once the grants expire and are
// invalidated, the heap must come back within 10% of where it started, and
// no goroutine may be left behind.
//
// TestLoad is the short version, in every run. TestSoak repeats the load
// cycle (mint, reuse, expire and invalidate) for as long as -soak says
// (go test -run Soak -soak=60s .).

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/broker/brokertest"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

var soak = flag.Duration("soak", 0, "run TestSoak for this long (0 skips it)")

// loadScale is the size of one wave: goroutines each calling Start once,
// for users users on every vendor. The race detector makes every call
// several times slower, so under -race the short run is scaled down (the
// document says which scale it measured).
type loadScale struct{ goroutines, users int }

func shortScale() loadScale {
	if raceEnabled {
		return loadScale{goroutines: 2_000, users: 200}
	}
	return loadScale{goroutines: 10_000, users: 1_000}
}

// wave is the result of one wave of Starts.
type wave struct {
	calls    int
	errors   int
	firstErr error
	wall     time.Duration
	p50, p99 time.Duration
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func (w wave) throughput() float64 { return float64(w.calls) / w.wall.Seconds() }

// runWave starts sc.goroutines goroutines, each calling Start once for
// vendor i%4 and user (i/4)%users, all released at once.
func runWave(env *loadEnv, sc loadScale) wave {
	vendors := broker.Vendors()
	var (
		wg      sync.WaitGroup
		release = make(chan struct{})
		nerr    atomic.Int32
		errOnce sync.Once
		first   error
	)
	lat := make([]time.Duration, sc.goroutines)
	for i := range sc.goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := vendors[i%len(vendors)]
			req := env.Request(v, fmt.Sprintf("load-user-%05d", (i/len(vendors))%sc.users))
			<-release
			start := time.Now()
			_, err := env.Broker.Start(context.Background(), req)
			lat[i] = time.Since(start)
			if err != nil {
				nerr.Add(1)
				errOnce.Do(func() { first = err })
			}
		}()
	}
	start := time.Now()
	close(release)
	wg.Wait()
	wall := time.Since(start)
	slices.Sort(lat)
	return wave{calls: sc.goroutines, errors: int(nerr.Load()), firstErr: first, wall: wall,
		p50: quantile(lat, 0.50), p99: quantile(lat, 0.99)}
}

// mintCalls counts every call the current fakes received that a grant
// needs: each vendor's minting call, IDV's device and uqudo's access token.
type mintCalls struct{ entrupy, sentiance, idvSession, idvDevice, uqudoSession, uqudoToken int }

func countMints(env *loadEnv) mintCalls {
	f := env.fakes.Load()
	return mintCalls{
		entrupy:      f.entrupy.Calls(entrupytest.RouteAuthorizeUser),
		sentiance:    f.sentiance.Calls(sentiancetest.RouteCreateAuthCode),
		idvSession:   f.idv.Calls(idvtest.RouteStartSession),
		idvDevice:    f.idv.Calls(idvtest.RouteCreateDevice),
		uqudoSession: f.uqudo.Calls(uqudotest.RouteCreateSession),
		uqudoToken:   f.uqudo.Calls(uqudotest.RouteToken),
	}
}

// reserveGoroutines runs n goroutines at once and lets them end. The
// runtime never frees a goroutine's descriptor (it keeps dead ones for
// reuse), so a wave of thousands of goroutines leaves the heap larger for
// good; reserving them before the first heap measurement keeps that out of
// the comparison.
func reserveGoroutines(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
		}()
	}
	close(release)
	wg.Wait()
}

// heapInUse is the live heap after two collections.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loadSettle is the most TestLoad waits for connections and goroutines to
// end: far beyond what they take even on a loaded machine.
const loadSettle = 10 * time.Second

// grantLifetime is past the longest life of any grant the fakes issue
// (Entrupy's 24 h) and of the ledger's retention below.
const (
	loadLedgerRetention = time.Hour
	grantLifetime       = 25*time.Hour + loadLedgerRetention
)

// loadFakes are the four vendor fakes behind a loadEnv's servers.
type loadFakes struct {
	entrupy   *entrupytest.Fake
	sentiance *sentiancetest.Fake
	idv       *idvtest.Fake
	uqudo     *uqudotest.Fake
}

// loadEnv is a broker over the four fakes sharing one clock, like
// brokertest's Env, but with fakes that can be swapped for fresh ones
// behind the same servers: a fake keeps every grant it issued, as a vendor
// would, so each heap measurement is taken with fresh (empty) fakes. Its
// clients have transports of their own (the transport of httptest's
// Client dials through a closure that holds its server, and so its fake).
type loadEnv struct {
	Broker     *broker.Broker
	Clock      *brokertest.Clock
	fakes      atomic.Pointer[loadFakes]
	transports []*http.Transport
}

// heap measures the live heap with no connection open: how many a
// transport keeps (and their buffers, on both ends) varies from run to run.
// It closes the idle ones and waits until both ends are gone: a fixed
// pause is not enough on a loaded machine, where the goroutines that hold
// a closed connection's buffers can take long to run.
func (e *loadEnv) heap(t testing.TB) uint64 {
	t.Helper()
	for _, tr := range e.transports {
		tr.CloseIdleConnections()
	}
	waitConnsGone(t)
	return heapInUse()
}

// connFuncs are the functions of the goroutines that hold an HTTP
// connection: the client's two per connection and the server's one.
var connFuncs = []string{"net/http.(*persistConn).readLoop", "net/http.(*persistConn).writeLoop", "net/http.(*conn).serve"}

// waitConnsGone waits until no goroutine of the process holds an HTTP
// connection (TestLoad does not run in parallel with other tests), and
// fails t after loadSettle.
func waitConnsGone(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(loadSettle)
	for {
		n := connGoroutines()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still hold HTTP connections after %v", n, loadSettle)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// connGoroutines counts the goroutines running one of connFuncs.
func connGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, f := range connFuncs {
			if strings.Contains(g, "\n"+f+"(") {
				count++
				break
			}
		}
	}
	return count
}

// swap puts fresh fakes behind the servers.
func (e *loadEnv) swap() {
	now := e.Clock.Now
	e.fakes.Store(&loadFakes{
		entrupy:   entrupytest.New(entrupytest.WithClock(now)),
		sentiance: sentiancetest.New(sentiancetest.WithClock(now)),
		idv:       idvtest.New(idvtest.WithClock(now)),
		uqudo:     uqudotest.New(uqudotest.WithClock(now)),
	})
}

// Request returns a valid Start request for vendor and user.
func (e *loadEnv) Request(vendor broker.Vendor, user string) broker.Request {
	req := broker.Request{Vendor: vendor, UserID: user}
	if vendor == broker.Entrupy {
		req.Entrupy = &broker.EntrupyParams{SDKAuthorizationRequest: "load-sdk-request-" + user, Email: brokertest.DefaultEmail}
	}
	return req
}

func newLoadEnv(t *testing.T) *loadEnv {
	t.Helper()
	env := &loadEnv{Clock: brokertest.NewClock(time.Now().Truncate(time.Second))}
	env.swap()
	serve := func(pick func(*loadFakes) http.Handler) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pick(env.fakes.Load()).ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	hc := func() *http.Client {
		tr := &http.Transport{}
		env.transports = append(env.transports, tr)
		return &http.Client{Transport: tr}
	}
	now := env.Clock.Now
	f := env.fakes.Load()
	ec, err := entrupy.NewClient(f.entrupy.Credentials(), entrupy.WithBaseURL(serve(func(f *loadFakes) http.Handler { return f.entrupy })),
		entrupy.WithHTTPClient(hc()), entrupy.WithClock(now), entrupytest.FastRetry())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sentiance.NewClient(f.sentiance.Credentials(), sentiance.WithBaseURL(serve(func(f *loadFakes) http.Handler { return f.sentiance })),
		sentiance.WithHTTPClient(hc()), sentiance.WithClock(now), sentiancetest.FastRetry())
	if err != nil {
		t.Fatal(err)
	}
	ic, err := idv.NewClient(serve(func(f *loadFakes) http.Handler { return f.idv }), f.idv.Credentials(), idv.WithInsecureHTTP(),
		idv.WithHTTPClient(hc()), idv.WithClock(now), idvtest.FastRetry())
	if err != nil {
		t.Fatal(err)
	}
	uc, err := uqudo.NewClient(f.uqudo.Credentials(), uqudo.WithBaseURL(serve(func(f *loadFakes) http.Handler { return f.uqudo })),
		uqudo.WithHTTPClient(hc()), uqudo.WithClock(now), uqudotest.FastRetry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ec.Close(); sc.Close(); ic.Close(); uc.Close() })
	env.Broker, err = broker.New(broker.WithClock(now),
		broker.WithEntrupy(ec), broker.WithSentiance(sc),
		broker.WithIDV(ic, broker.IDVParams{WorkflowID: brokertest.DefaultWorkflowID}),
		broker.WithUqudo(uc, broker.UqudoParams{Data: uqudo.NewSessionData(uqudo.DocumentTypePassport)}),
		broker.WithLedger(loadLedgerRetention, 1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Broker.Close)
	return env
}

// cycle runs one load cycle: a cold wave (every grant minted, checked
// against the vendor calls it needs), a warm wave (every grant reused),
// then the drain: every grant expired and invalidated, the ledger swept,
// and fresh fakes swapped in.
func cycle(t *testing.T, env *loadEnv, sc loadScale) (cold, warm wave) {
	t.Helper()
	cold = runWave(env, sc)
	if cold.errors != 0 {
		t.Fatalf("cold wave: %d of %d Starts failed, first: %v", cold.errors, cold.calls, cold.firstErr)
	}
	want := mintCalls{entrupy: sc.users, sentiance: sc.users, idvSession: sc.users, idvDevice: sc.users, uqudoSession: sc.users, uqudoToken: 1}
	if got := countMints(env); got != want {
		t.Fatalf("upstream calls %+v, want %+v (one per grant, one uqudo token)", got, want)
	}
	warm = runWave(env, sc)
	if warm.errors != 0 {
		t.Fatalf("warm wave: %d of %d Starts failed, first: %v", warm.errors, warm.calls, warm.firstErr)
	}
	if got := countMints(env); got != want {
		t.Fatalf("the warm wave called the vendors: %+v, want %+v", got, want)
	}
	drain(t, env, sc.users)
	return cold, warm
}

// drain expires every grant, invalidates every user's, lets the ledger
// sweep its entries, and swaps in fresh fakes.
func drain(t *testing.T, env *loadEnv, users int) {
	t.Helper()
	ctx := context.Background()
	env.Clock.Advance(grantLifetime)
	for _, v := range broker.Vendors() {
		for u := range users {
			if err := env.Broker.Invalidate(ctx, v, fmt.Sprintf("load-user-%05d", u)); err != nil {
				t.Fatalf("Invalidate: %v", err)
			}
		}
	}
	// The ledger sweeps expired entries when it records one: mint one more
	// grant (past every retention), then expire and invalidate it too.
	if _, err := env.Broker.Start(ctx, env.Request(broker.Sentiance, "load-sweeper")); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(grantLifetime)
	if err := env.Broker.Invalidate(ctx, broker.Sentiance, "load-sweeper"); err != nil {
		t.Fatal(err)
	}
	if st := env.Broker.LedgerStats(); st.Entries > 1 {
		t.Errorf("the ledger holds %d entries after the drain", st.Entries)
	}
	for v, st := range env.Broker.Stats() {
		if st.Held != 0 {
			t.Errorf("%s: %d users held after the drain", v, st.Held)
		}
	}
	env.swap()
}

func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	verifyNoLeak(t)
	sc := shortScale()
	env := newLoadEnv(t)
	// A first cycle brings everything that keeps its largest size (Go maps,
	// the cache's index, net/http's per-host queues, the runtime's
	// goroutine descriptors) to it; the heap is then measured around a
	// second, identical cycle.
	reserveGoroutines(3 * sc.goroutines)
	cycle(t, env, sc)
	heap0 := env.heap(t)
	cold, warm := cycle(t, env, sc)
	heapEnd := env.heap(t)
	t.Logf("heap %d KiB before the cycle, %d KiB after it", heap0>>10, heapEnd>>10)
	checkHeap(t, heap0, heapEnd)
	reportMeasured("Load", loadDoc(sc, cold, warm, heap0, heapEnd))
}

// verifyNoLeak checks, once everything the test set up has been closed
// (its cleanups run first), that no goroutine it started is left. A
// goroutine that is ending may take a while to be scheduled on a loaded
// machine: goleak's own retries last under half a second, so they are
// repeated for up to loadSettle before a goroutine counts as leaked.
func verifyNoLeak(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		deadline := time.Now().Add(loadSettle)
		for {
			err := goleak.Find(before)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// checkHeap fails t when end is more than 10% above start.
func checkHeap(t *testing.T, start, end uint64) {
	t.Helper()
	if float64(end) > 1.10*float64(start) {
		t.Errorf("heap %d KiB after the cache drained, more than 10%% above the %d KiB it started at", end>>10, start>>10)
	}
}

func loadDoc(sc loadScale, cold, warm wave, heap0, end uint64) string {
	var b strings.Builder
	race := "without"
	if raceEnabled {
		race = "with"
	}
	fmt.Fprintf(&b, "TestLoad, %s the race detector: %d goroutines, each calling broker.Start once, for %d users on each of the four vendors\n",
		race, sc.goroutines, sc.users)
	fmt.Fprintf(&b, "(goroutine i asks for vendor i mod 4 and user (i/4) mod %d), all released at once, on the fakes over loopback sockets.\n", sc.users)
	b.WriteString("The cold wave mints every grant (concurrent Starts for one user share one vendor call); the warm wave repeats it and is answered from memory.\n")
	if raceEnabled {
		b.WriteString("Under -race the short run is scaled down from 10,000 goroutines and 1,000 users (without -race it runs at full scale).\n")
	}
	b.WriteString("\n| wave | Starts | errors | wall time | Starts/s | p50 | p99 |\n|---|---|---|---|---|---|---|\n")
	for _, w := range []struct {
		name string
		w    wave
	}{{"cold (minting)", cold}, {"warm (reused)", warm}} {
		fmt.Fprintf(&b, "| %s | %d | %d | %v | %.0f | %v | %v |\n", w.name, w.w.calls, w.w.errors, w.w.wall.Round(time.Millisecond),
			w.w.throughput(), w.w.p50.Round(time.Microsecond), w.w.p99.Round(time.Microsecond))
	}
	fmt.Fprintf(&b, "\nUpstream calls: exactly one minting call per user and vendor (%d each; IDV also %d devices), one uqudo access token.\n",
		sc.users, sc.users)
	fmt.Fprintf(&b, "\nHeap (after two GCs, with fresh fakes and every connection closed on both ends, after a first identical cycle): %d KiB before the cycle, %d KiB after its grants expired and were invalidated (the test allows +10%%).\n",
		heap0>>10, end>>10)
	return b.String()
}

// TestSoak repeats the load cycle for -soak: each cycle mints every grant
// (the previous ones have expired), reuses them, and drains.
func TestSoak(t *testing.T) {
	if *soak <= 0 {
		t.Skip("run with -soak=60s (go test -run Soak -soak=60s .)")
	}
	verifyNoLeak(t)
	sc := loadScale{goroutines: 10_000, users: 1_000}
	env := newLoadEnv(t)
	reserveGoroutines(3 * sc.goroutines)
	cycle(t, env, sc)
	heap0 := env.heap(t)
	deadline := time.Now().Add(*soak)
	rounds, starts := 0, 0
	var p50s, p99s []time.Duration
	begin := time.Now()
	for time.Now().Before(deadline) {
		rounds++
		cold, warm := cycle(t, env, sc)
		t.Logf("cycle %d: heap %d KiB", rounds, env.heap(t)>>10)
		starts += cold.calls + warm.calls
		p50s, p99s = append(p50s, cold.p50, warm.p50), append(p99s, cold.p99, warm.p99)
	}
	wall := time.Since(begin)
	heapEnd := env.heap(t)
	checkHeap(t, heap0, heapEnd)
	slices.Sort(p50s)
	slices.Sort(p99s)
	t.Logf("soak: %d cycles, %d Starts in %v (%.0f/s, drains included); per wave: median p50 %v, worst p99 %v; heap %d KiB -> %d KiB",
		rounds, starts, wall.Round(time.Millisecond), float64(starts)/wall.Seconds(), quantile(p50s, 0.5), p99s[len(p99s)-1], heap0>>10, heapEnd>>10)
}
