package sdkbroker_test

// The fault table (issue 16, item 2): each vendor's creating call and one
// idempotent call, over real loopback sockets, against its fake behind a
// faulty front (an httptest server that misbehaves on the route under test
// and passes everything else to the fake), a DNS server that knows no
// name, a plain-TCP server spoken to over TLS, a TLS server with an
// untrusted certificate, and a redirect to another host. For each: the
// outcome (error type), the attempts the client made and the requests that
// reached the server, the creating POSTs the server received (never more
// than one, except for 429 answers or requests that never reached it), and
// the wall time against its bound. The table in docs/reliability.md is
// generated from this test (see reliability_test.go).

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// The scale of the fault table: the clients retry twice (three attempts)
// waiting 10 to 50 ms. The table must come out the same on an idle machine
// and on a loaded one (CI runs every package at once, under -race, on two
// cores), so no outcome may depend on how fast the machine is:
//
//   - an attempt timeout only ends attempts in the rows that test one (the
//     stall and drip rows), where the server never completes its answer
//     within it, however fast the machine; every other row gives each
//     attempt faultAttempt, which no exchange on loopback comes near even
//     under heavy load (a slow TLS handshake that ran into a 200 ms timeout
//     once made the untrusted-certificate row retry);
//   - the short timeouts (faultStallAttempt, faultCallerCtx) leave the
//     client ample time to send its request before they end it, so that the
//     request always reaches the server;
//   - a drip-fed body lasts over three of those timeouts, so no attempt
//     reads it whole;
//   - the counts are read once the server has finished every connection
//     the client opened (faultSettle), not while a request it was sent is
//     still on its way to the handler.
const (
	faultRetries      = 2
	faultMinWait      = 10 * time.Millisecond
	faultMaxWait      = 50 * time.Millisecond
	faultAttempt      = 10 * time.Second       // WithTimeout, in every row but the stall and drip rows: never reached
	faultStallAttempt = time.Second            // WithTimeout in the stall and drip rows: always reached
	faultStall        = 30 * time.Second       // a server that does not answer
	faultCallerCtx    = time.Second            // the caller's deadline in the "caller's context" rows
	faultDripEvery    = 50 * time.Millisecond  // a drip-fed body: one byte this often
	faultDripBytes    = 64                     // a drip-fed body has at least this many bytes (3.2 s)
	faultFailCount    = 2                      // "then recovery" rows fail this many requests first
	faultRetryAfter   = "1"                    // seconds, capped by faultMaxWait
	faultBoundFactor  = 10                     // a row's bound: its timeouts, plus this times the rest of its budget
	faultExchange     = 500 * time.Millisecond // the budget of one exchange on loopback (its bound is ten times it)
	faultSettle       = 10 * time.Second       // the most the server may take to finish a row's connections
	faultConcurrency  = 8                      // rows run at once
)

// fault is one row kind of the table.
type fault struct {
	name string
	// what the row stands for, in the document.
	about string
	// mode is what the front does on the route under test; the rows
	// without a front (DNS, TLS) set dial instead.
	mode faultMode
	dial dialKind
	// jwks: the fault hits uqudo's JWKS route, for Info (uqudo only).
	jwks bool
	// callerCtx: the call runs under a deadline of faultCallerCtx and the
	// client keeps its 30 s attempt timeout.
	callerCtx bool
}

type faultMode int

const (
	modePass faultMode = iota
	modeResetBefore
	modeResetMidBody
	modeStall
	modeDrip
	mode429
	mode429Then
	mode503Then
	mode503
	modeRedirect
)

type dialKind int

const (
	dialFront     dialKind = iota // http to the faulty front
	dialDNS                       // a host no DNS server knows
	dialPlainTLS                  // https to a plain-TCP server
	dialUntrusted                 // https to a server whose certificate is not trusted
)

var faults = []fault{
	{name: "reset before the answer", about: "the server closes the connection (TCP RST) once it has read the request", mode: modeResetBefore},
	{name: "reset mid-body", about: "the server sends the headers and half the body, then resets (an empty 204 answer is sent as a 200 with a short body, so that there is a body to cut)", mode: modeResetMidBody},
	{name: "30 s stall, attempt timeout", about: "the server does not answer for 30 s; the client's per-attempt timeout (WithTimeout) is " + prose(faultStallAttempt), mode: modeStall},
	{name: "30 s stall, caller's context", about: "the server does not answer for 30 s; the client keeps its default 30 s attempt timeout, the caller's context ends after " + prose(faultCallerCtx), mode: modeStall, callerCtx: true},
	{name: "drip-fed body", about: fmt.Sprintf("the server sends the headers, then the body one byte every %s, padded with spaces to %d bytes at least so that it lasts %s (a 204 as a 200 with a body of spaces); the attempt timeout is %s",
		prose(faultDripEvery), faultDripBytes, prose(faultDripBytes*faultDripEvery), prose(faultStallAttempt)), mode: modeDrip},
	{name: "429 storm", about: "every answer is 429 with Retry-After: 1 (capped at the client's 50 ms MaxWait)", mode: mode429},
	{name: "429 twice, then OK", about: "two 429 answers with Retry-After: 1, then the fake answers", mode: mode429Then},
	{name: "503, then recovery", about: "stands for \"503 for 10 s\": two 503 answers, then the fake answers", mode: mode503Then},
	{name: "DNS failure", about: "the host name is unknown (NXDOMAIN from a loopback DNS server)", dial: dialDNS},
	{name: "TLS: plain-TCP server", about: "https to a server that speaks plain HTTP", dial: dialPlainTLS},
	{name: "TLS: untrusted certificate", about: "https to a server whose certificate the client does not trust", dial: dialUntrusted},
	{name: "redirect to another host", about: "the server answers 307 to the same path on another host", mode: modeRedirect},
	{name: "JWKS down", about: "uqudo's JWKS answers 503; Info fetches a result it cannot verify", mode: mode503, jwks: true},
}

// callKind is the creating call or the idempotent call of a vendor.
type callKind int

const (
	createCall callKind = iota
	readCall
)

// faultVendor is one vendor's fake and calls.
type faultVendor struct {
	name string
	// create and read name the calls and their routes ("METHOD /path",
	// the path a prefix).
	createName, createRoute string
	readName, readRoute     string
	// start starts the vendor's fake on its own server, seeds it for the
	// read call, and returns the fake's handler and the server's URL.
	start func(t testing.TB) (fake http.Handler, fakeURL, readArg string)
	// open builds a client for base using hc (per-attempt timeout
	// attempt); healthy is the fake's own URL, for a vendor whose token
	// comes from another service.
	open func(base, healthy string, hc *http.Client, attempt time.Duration, fake http.Handler) (*faultClient, error)
}

// faultClient is a client's two calls.
type faultClient struct {
	create, read func(ctx context.Context, readArg string) error
	close        func()
}

func faultVendors() []faultVendor {
	return []faultVendor{
		{
			name: "entrupy", createName: "AuthorizeUser", createRoute: "POST /v2/integrations/authorize-user",
			readName: "GetAuthentication", readRoute: "GET /v2/authentications/",
			start: func(t testing.TB) (http.Handler, string, string) {
				srv := entrupytest.NewServer(t)
				srv.AddAuthentication(entrupy.Authentication{EntrupyID: "ent_1", Status: entrupy.StatusInProgress})
				return srv.Fake, srv.URL, "ent_1"
			},
			open: func(base, _ string, hc *http.Client, attempt time.Duration, fake http.Handler) (*faultClient, error) {
				c, err := entrupy.NewClient(fake.(*entrupytest.Fake).Credentials(), entrupy.WithBaseURL(base), entrupy.WithHTTPClient(hc),
					entrupy.WithRetry(faultRetries, faultMinWait, faultMaxWait), entrupy.WithTimeout(attempt))
				if err != nil {
					return nil, err
				}
				return &faultClient{
					create: func(ctx context.Context, _ string) error {
						_, err := c.AuthorizeUser(ctx, entrupy.AuthorizeUserParams{SDKAuthorizationRequest: "sdk-request", UniqueUserID: "user-0001", Email: "a@example.com"})
						return err
					},
					read: func(ctx context.Context, id string) error {
						_, err := c.GetAuthentication(ctx, id)
						return err
					},
					close: c.Close,
				}, nil
			},
		},
		{
			name: "sentiance", createName: "CreateAuthCode", createRoute: "POST /users/auth-code",
			readName: "DeleteUser", readRoute: "DELETE /users/",
			start: func(t testing.TB) (http.Handler, string, string) {
				srv := sentiancetest.NewServer(t)
				c, err := srv.NewClient()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				code, err := c.CreateAuthCode(context.Background(), "user-seed")
				if err != nil {
					t.Fatal(err)
				}
				user, _, err := srv.Redeem(code.Code)
				if err != nil {
					t.Fatal(err)
				}
				return srv.Fake, srv.URL, user
			},
			open: func(base, _ string, hc *http.Client, attempt time.Duration, fake http.Handler) (*faultClient, error) {
				c, err := sentiance.NewClient(fake.(*sentiancetest.Fake).Credentials(), sentiance.WithBaseURL(base), sentiance.WithHTTPClient(hc),
					sentiance.WithRetry(faultRetries, faultMinWait, faultMaxWait), sentiance.WithTimeout(attempt))
				if err != nil {
					return nil, err
				}
				return &faultClient{
					create: func(ctx context.Context, _ string) error {
						_, err := c.CreateAuthCode(ctx, "user-0001")
						return err
					},
					read:  func(ctx context.Context, id string) error { return c.DeleteUser(ctx, id) },
					close: c.Close,
				}, nil
			},
		},
		{
			name: "idv", createName: "CreateEphemeralDevice", createRoute: "POST /api/device/ephemeral",
			readName: "GetSession", readRoute: "GET /api/sessions/",
			start: func(t testing.TB) (http.Handler, string, string) {
				srv := idvtest.NewServer(t)
				c, err := srv.NewClient()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				h, err := c.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "wf-1"})
				if err != nil {
					t.Fatal(err)
				}
				return srv.Fake, srv.URL, h.Session.ID
			},
			open: func(base, _ string, hc *http.Client, attempt time.Duration, fake http.Handler) (*faultClient, error) {
				c, err := idv.NewClient(base, fake.(*idvtest.Fake).Credentials(), idv.WithInsecureHTTP(), idv.WithHTTPClient(hc),
					idv.WithRetry(faultRetries, faultMinWait, faultMaxWait), idv.WithTimeout(attempt))
				if err != nil {
					return nil, err
				}
				return &faultClient{
					create: func(ctx context.Context, _ string) error {
						_, err := c.CreateEphemeralDevice(ctx, time.Hour)
						return err
					},
					read: func(ctx context.Context, id string) error {
						_, err := c.GetSession(ctx, id)
						return err
					},
					close: c.Close,
				}, nil
			},
		},
		{
			name: "uqudo", createName: "CreateSession", createRoute: "POST /api/v1/session",
			readName: "Info", readRoute: "GET /api/v1/info/",
			start: func(t testing.TB) (http.Handler, string, string) {
				srv := uqudotest.NewServer(t)
				c, err := srv.NewClient()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				s, err := c.CreateSession(context.Background(), uqudo.NewSessionData(uqudo.DocumentTypePassport))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := srv.CompleteSession(s.ID, nil); err != nil {
					t.Fatal(err)
				}
				return srv.Fake, srv.URL, s.ID
			},
			open: func(base, healthy string, hc *http.Client, attempt time.Duration, fake http.Handler) (*faultClient, error) {
				// The token comes from the fake itself: the faults are on
				// the session and info services.
				c, err := uqudo.NewClient(fake.(*uqudotest.Fake).Credentials(), uqudo.WithBaseURL(base), uqudo.WithAuthURL(healthy),
					uqudo.WithHTTPClient(hc), uqudo.WithRetry(faultRetries, faultMinWait, faultMaxWait), uqudo.WithTimeout(attempt))
				if err != nil {
					return nil, err
				}
				return &faultClient{
					create: func(ctx context.Context, _ string) error {
						_, err := c.CreateSession(ctx, uqudo.NewSessionData(uqudo.DocumentTypePassport))
						return err
					},
					read: func(ctx context.Context, id string) error {
						_, err := c.Info(ctx, id)
						return err
					},
					close: c.Close,
				}, nil
			},
		},
	}
}

// front is the faulty server in front of a fake.
type front struct {
	next  http.Handler
	route string // "METHOD /path-prefix" that misbehaves
	mode  faultMode
	other string // the other host of a redirect

	hits   atomic.Int32 // requests on route
	posts  atomic.Int32 // requests on the vendor's creating route
	create string
}

func (f *front) matches(r *http.Request, route string) bool {
	method, prefix, _ := strings.Cut(route, " ")
	return r.Method == method && strings.HasPrefix(r.URL.Path, prefix)
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.matches(r, f.create) {
		f.posts.Add(1)
	}
	if !f.matches(r, f.route) {
		f.next.ServeHTTP(w, r)
		return
	}
	n := f.hits.Add(1)
	// Read the body first, as a server does, so that it notices the client
	// hanging up (the request's context ends); the fake gets it again.
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch f.mode {
	case modePass:
		f.next.ServeHTTP(w, r)
	case modeResetBefore:
		resetConn(w)
	case modeResetMidBody, modeDrip:
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, r)
		body = rec.Body.Bytes()
		code := rec.Code
		if code == http.StatusNoContent {
			code = http.StatusOK // a body to cut or drip
		}
		pad := 8 // a body to cut in half
		if f.mode == modeDrip {
			pad = faultDripBytes // a body that outlasts the attempt timeout
		}
		if len(body) < pad {
			body = append(body, strings.Repeat(" ", pad-len(body))...)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(code)
		fl := w.(http.Flusher)
		if f.mode == modeResetMidBody {
			_, _ = w.Write(body[:len(body)/2])
			fl.Flush()
			resetConn(w)
			return
		}
		t := time.NewTicker(faultDripEvery)
		defer t.Stop()
		for i := range body {
			_, _ = w.Write(body[i : i+1])
			fl.Flush()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
	case modeStall:
		select {
		case <-time.After(faultStall):
		case <-r.Context().Done():
		}
	case mode429:
		answerStatus(w, http.StatusTooManyRequests)
	case mode429Then, mode503Then:
		if n > faultFailCount {
			f.next.ServeHTTP(w, r)
			return
		}
		status := http.StatusTooManyRequests
		if f.mode == mode503Then {
			status = http.StatusServiceUnavailable
		}
		answerStatus(w, status)
	case mode503:
		answerStatus(w, http.StatusServiceUnavailable)
	case modeRedirect:
		http.Redirect(w, r, f.other+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}
}

func answerStatus(w http.ResponseWriter, status int) {
	w.Header().Set("Retry-After", faultRetryAfter)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"code": "injected", "message": "injected failure"}`)
}

// resetConn closes the request's connection with a TCP RST.
func resetConn(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// nxdomainServer answers every DNS query on a loopback UDP socket with
// NXDOMAIN (the name does not exist).
func nxdomainServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			resp := append([]byte(nil), buf[:n]...)
			resp[2] = 0x80 | resp[2]&0x01 // QR, keep RD
			resp[3] = 0x80 | 0x03         // RA, RCODE NXDOMAIN
			resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0, 0, 0
			_, _ = pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

// faultRow is the result of one row.
type faultRow struct {
	fault    fault
	vendor   string
	call     string
	kind     callKind
	outcome  string
	attempts int           // as the error reports them (for a success, the requests on the route)
	reached  int           // requests that reached the server on the route
	posts    int           // creating POSTs the server received
	timeouts time.Duration // the time its timeouts take
	budget   time.Duration // the budget of the rest
	wall     time.Duration
}

func TestFaults(t *testing.T) {
	t.Parallel()
	dnsAddr := nxdomainServer(t)
	// The uqudo fakes share signing keys generated on first use, which
	// takes a while under -race: generate the first one before any row
	// is timed, rather than while rows wait for it.
	_ = uqudotest.New().KeyID()
	type job struct {
		name string
		v    faultVendor
		f    fault
		kind callKind
		rt   *rowT
		row  faultRow
	}
	var jobs []*job
	for _, v := range faultVendors() {
		for _, f := range faults {
			for _, kind := range []callKind{createCall, readCall} {
				if f.jwks && (v.name != "uqudo" || kind != readCall) {
					continue
				}
				name := fmt.Sprintf("%s/%s/%s", f.name, v.name, map[callKind]string{createCall: v.createName, readCall: v.readName}[kind])
				jobs = append(jobs, &job{name: name, v: v, f: f, kind: kind, rt: &rowT{TB: t}})
			}
		}
	}
	// The rows run in goroutines of their own, faultConcurrency at a time,
	// the longest (those that wait for timeouts) first, rather than as
	// parallel subtests: a row spends most of its time waiting, and
	// -parallel (GOMAXPROCS by default, so 2 in CI) would run two at once.
	// Each row's subtest then reports its failures.
	byLength := slices.Clone(jobs)
	slices.SortStableFunc(byLength, func(a, b *job) int { return faultLength(b.f, b.kind) - faultLength(a.f, a.kind) })
	var wg sync.WaitGroup
	sem := make(chan struct{}, faultConcurrency)
	for _, j := range byLength {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer j.rt.runCleanups()
			j.row = runFault(j.rt, j.v, j.f, j.kind, dnsAddr)
		}()
	}
	wg.Wait()
	var rows []faultRow
	t.Run("table", func(t *testing.T) {
		for _, j := range jobs {
			t.Run(j.name, func(t *testing.T) {
				for _, e := range j.rt.errors() {
					t.Error(e)
				}
			})
			rows = append(rows, j.row)
		}
	})
	if t.Failed() {
		return
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.fault.name != b.fault.name {
			return faultIndex(a.fault.name) < faultIndex(b.fault.name)
		}
		if a.vendor != b.vendor {
			return vendorIndex(a.vendor) < vendorIndex(b.vendor)
		}
		return a.kind < b.kind
	})
	checkComparedDoc(t, faultTableDoc(rows))
	reportMeasured("Fault table: wall times", faultWallDoc(rows))
}

// faultLength ranks rows by how long they take: those that wait for
// timeouts several times, once, or not at all.
func faultLength(f fault, kind callKind) int {
	switch {
	case f.callerCtx:
		return 1
	case f.mode == modeStall || f.mode == modeDrip:
		if kind == readCall {
			return 2
		}
		return 1
	}
	return 0
}

// rowT is the testing.TB a row runs with, in a goroutine of its own: it
// records the row's failures for its subtest to report, ends the row's
// goroutine on Fatal, and runs the row's cleanups when the row ends. The
// rest is the test's.
type rowT struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (r *rowT) Helper() {}

func (r *rowT) Error(args ...any) { r.record(fmt.Sprint(args...)) }

func (r *rowT) Errorf(format string, args ...any) { r.record(fmt.Sprintf(format, args...)) }

func (r *rowT) Fatal(args ...any) {
	r.record(fmt.Sprint(args...))
	runtime.Goexit()
}

func (r *rowT) Fatalf(format string, args ...any) {
	r.record(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *rowT) Fail() { r.record("failed") }

func (r *rowT) FailNow() {
	r.Fail()
	runtime.Goexit()
}

func (r *rowT) Failed() bool { return len(r.errors()) > 0 }

func (r *rowT) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *rowT) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, msg)
}

func (r *rowT) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// runCleanups runs the row's cleanups, the last registered first.
func (r *rowT) runCleanups() {
	r.mu.Lock()
	cs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func faultIndex(name string) int {
	for i, f := range faults {
		if f.name == name {
			return i
		}
	}
	return -1
}

func vendorIndex(name string) int {
	return strings.Index("entrupy sentiance idv uqudo", name)
}

// runFault runs one row and checks it against the rules every row obeys.
func runFault(t testing.TB, v faultVendor, f fault, kind callKind, dnsAddr string) faultRow {
	fake, fakeURL, readArg := v.start(t)
	fr := &front{next: fake, create: v.createRoute, mode: f.mode}
	fr.route = v.createRoute
	if kind == readCall {
		fr.route = v.readRoute
	}
	if f.jwks {
		fr.route = "GET /api/.well-known/jwks.json"
	}
	var other atomic.Int32
	if f.mode == modeRedirect {
		otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			other.Add(1)
			fake.ServeHTTP(w, r)
		}))
		t.Cleanup(otherSrv.Close)
		fr.other = otherSrv.URL
	}
	// The connections the client opens to the front, and those the front
	// is done with (closed or hijacked), for the settling below.
	var (
		frontAddr      string
		dialed, closed atomic.Int32
	)
	dialer := &net.Dialer{}
	transport := &http.Transport{DisableKeepAlives: true}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err == nil && addr == frontAddr {
			dialed.Add(1)
		}
		return conn, err
	}
	quiet := func(tls bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(fr)
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point
		srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				closed.Add(1)
			}
		}
		frontAddr = srv.Listener.Addr().String()
		if tls {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		return srv
	}
	var base string
	switch f.dial {
	case dialFront:
		base = quiet(false).URL + "/"
	case dialDNS:
		dialer.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", dnsAddr)
		}}
		base = "http://api." + v.name + ".invalid/"
	case dialPlainTLS:
		base = "https://" + quiet(false).Listener.Addr().String() + "/"
	case dialUntrusted:
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12} // the system roots: the test certificate is not among them
		base = quiet(true).URL + "/"
	}
	attempt := faultAttempt
	switch {
	case f.callerCtx:
		attempt = httpx.DefaultTimeout
	case f.mode == modeStall || f.mode == modeDrip:
		attempt = faultStallAttempt
	}
	c, err := v.open(base, fakeURL+"/", &http.Client{Transport: transport}, attempt, fake)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	call := c.create
	callName := v.createName
	if kind == readCall {
		call, callName = c.read, v.readName
	}
	ctx := context.Background()
	if f.callerCtx {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, faultCallerCtx)
		defer cancel()
	}
	start := time.Now()
	err = call(ctx, readArg)
	wall := time.Since(start)

	// A request the client sent may still be on its way to the handler
	// (on a loaded machine, the client can give up on an attempt before
	// the server has read it): count once the front is done with every
	// connection the client opened to it.
	for settle := time.Now().Add(faultSettle); closed.Load() < dialed.Load(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(settle) {
			t.Fatalf("the front had not finished %d of the %d connections the client opened after %v", dialed.Load()-closed.Load(), dialed.Load(), faultSettle)
		}
	}

	row := faultRow{fault: f, vendor: v.name, call: callName, kind: kind, outcome: faultOutcome(err, ctx.Err() != nil),
		attempts: attemptsOf(err), reached: int(fr.hits.Load()), posts: int(fr.posts.Load()), wall: wall}
	if err == nil && row.attempts == 0 {
		row.attempts = row.reached // a success: every attempt reached the server
	}
	row.timeouts, row.budget = faultBudget(f, row)

	// The rules every row obeys.
	if bound := row.bound(); wall > bound {
		t.Errorf("took %v, over its bound %v", wall, bound)
	}
	if wall < row.timeouts {
		t.Errorf("took %v, under the %v its timeouts take: a timeout was not honoured", wall, row.timeouts)
	}
	is429 := strings.Contains(row.outcome, "429") || f.mode == mode429Then
	if row.posts > 1 && !is429 {
		t.Errorf("the creating POST reached the server %d times", row.posts)
	}
	if other.Load() != 0 {
		t.Errorf("the redirect was followed to the other host (%d requests)", other.Load())
	}
	if row.attempts > faultRetries+1 {
		t.Errorf("%d attempts, more than 1 + %d retries", row.attempts, faultRetries)
	}
	return row
}

// faultBudget is the time a row's timeouts take (the least it can take)
// and the budget of the rest: its exchanges and the waits between its
// attempts. The row's bound is the first plus faultBoundFactor times the
// second.
func faultBudget(f fault, row faultRow) (timeouts, budget time.Duration) {
	attempts := time.Duration(max(row.attempts, 1))
	waits := (attempts - 1) * faultMaxWait
	switch {
	case f.callerCtx:
		return faultCallerCtx, faultExchange
	case f.mode == modeStall || f.mode == modeDrip:
		return attempts * faultStallAttempt, attempts*faultExchange + waits
	case f.jwks:
		// The verifier's own download schedule: its retries, then a
		// result it cannot verify.
		return 0, 2*(faultRetries+1)*faultExchange + 2*waits
	}
	return 0, attempts*faultExchange + waits
}

// bound is the most a row may take.
func (r faultRow) bound() time.Duration { return r.timeouts + faultBoundFactor*r.budget }

// attemptsOf is the attempts an error reports (0 when it reports none).
func attemptsOf(err error) int {
	var api *httpx.APIError
	if errors.As(err, &api) {
		return api.Attempts
	}
	var te *httpx.TransportError
	if errors.As(err, &te) {
		return te.Attempts
	}
	return 0
}

// faultOutcome names an outcome: the error type, what caused it, and
// whether it is retryable. callerEnded tells whether the caller's context
// had ended when the call returned.
func faultOutcome(err error, callerEnded bool) string {
	if err == nil {
		return "ok"
	}
	var parts []string
	if errors.Is(err, uqudo.ErrJWKSUnavailable) {
		parts = append(parts, "ErrJWKSUnavailable:")
	}
	var (
		api *httpx.APIError
		te  *httpx.TransportError
		de  *httpx.DecodeError
	)
	switch {
	case errors.As(err, &api):
		parts = append(parts, fmt.Sprintf("*APIError %d", api.StatusCode))
	case errors.As(err, &te):
		parts = append(parts, "*TransportError")
		if te.Sent {
			parts = append(parts, "sent")
		} else {
			parts = append(parts, "not sent")
		}
		parts = append(parts, "("+transportCause(err, callerEnded)+")")
	case errors.As(err, &de):
		parts = append(parts, "*DecodeError")
	default:
		parts = append(parts, fmt.Sprintf("%T", err))
	}
	if httpx.IsRetryable(err) {
		parts = append(parts, "retryable")
	}
	return strings.Join(parts, " ")
}

func transportCause(err error, callerEnded bool) string {
	var (
		dnsErr  *net.DNSError
		recErr  tls.RecordHeaderError
		certErr *tls.CertificateVerificationError
		ne      net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && callerEnded:
		return "caller's deadline"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "attempt timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, httpx.ErrRedirectRefused):
		return "redirect refused"
	case errors.As(err, &dnsErr):
		return "DNS"
	case errors.As(err, &recErr):
		return "TLS record"
	case errors.As(err, &certErr):
		return "TLS certificate"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "EOF"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "TLS: an HTTP answer" // net/http's own error, a plain string
	}
	return "other"
}

func faultTableDoc(rows []faultRow) string {
	var b strings.Builder
	b.WriteString(`# Reliability

Generated by ` + "`go test -race -run 'TestFaults|TestLoad' -update .`" + ` (faults_test.go, load_test.go);
do not edit. The tests fail when the table below differs from what the code does.

## Fault table

Each vendor's creating call and one idempotent call run over real loopback sockets against the vendor's fake,
behind a front that misbehaves on the route under test and passes the rest to the fake. The clients retry
twice (3 attempts at most) waiting 10 to 50 ms (WithRetry); the shortened scale stands for the production
defaults (3 retries, 250 ms to 5 s). Each attempt gets ` + prose(faultAttempt) + ` (WithTimeout), which no exchange in the table
comes near even on a loaded machine, except in the stall and drip rows: their attempts get ` + prose(faultStallAttempt) + `, and
the server never completes an answer within it. The table is the same on an idle and on a loaded machine.

Columns: **outcome** is the error (its type, its cause, and whether IsRetryable says trying later may help);
**attempts** is what the error reports (for a success, the requests the call needed); **reached** is how many
requests on the route reached the server; **POSTs** is how many creating POSTs the server received, which is
never more than 1 except after 429 answers (the server asked to be called again) or when the request never
reached it; **bound** is the most the call may take: the time its timeouts take, plus ten times a budget of
` + prose(faultExchange) + ` per exchange and ` + prose(faultMaxWait) + ` per wait between attempts (the test fails beyond it, and, for the timeout rows,
below the time its timeouts must take). The counts are taken once the server has finished every connection
the client opened to it.

Faults:

`)
	for _, f := range faults {
		fmt.Fprintf(&b, "- **%s**: %s.\n", f.name, f.about)
	}
	b.WriteString("\n| fault | vendor | call | outcome | attempts | reached | POSTs | bound |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %d | %v |\n", r.fault.name, r.vendor, r.call, r.outcome,
			r.attempts, r.reached, r.posts, r.bound())
	}
	b.WriteString(`
Reading the table: a creating call that reached the server is not sent again (reset, stall, drip, 503, redirect):
its error is marked retryable where trying later may help, and the caller decides, since the vendor may have
created the thing. Only a 429, or a request that provably never reached the server (DNS, TLS handshake), is
sent again. An idempotent call is retried on the same faults; a DELETE whose first attempt took effect but whose
answer was lost is then answered 404 (Sentiance's DeleteUser in the mid-body rows), so its caller sees
ErrNotFound for a user that was deleted.
`)
	return b.String()
}

// prose writes a duration as the document's prose does: "1 s", "500 ms".
func prose(d time.Duration) string {
	if d >= time.Second {
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
}

func faultWallDoc(rows []faultRow) string {
	var b strings.Builder
	b.WriteString("| fault | vendor | call | wall time | bound |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %v | %v |\n", r.fault.name, r.vendor, r.call, r.wall.Round(time.Millisecond), r.bound())
	}
	return b.String()
}

// TestRedirectRefused: a call answered with a redirect to another host
// fails with an error that matches its vendor package's ErrRedirectRefused
// (the broker's too: the same value) inside a TransportError, through
// every vendor client's creating and idempotent call and through
// broker.Start; it is not retryable, and the other host receives nothing.
func TestRedirectRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var other atomic.Int32
	// redirector answers every request with a 307 to the same path on
	// another host, which serves to.
	redirector := func(t *testing.T, to http.Handler) string {
		otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			other.Add(1)
			to.ServeHTTP(w, r)
		}))
		t.Cleanup(otherSrv.Close)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, otherSrv.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		}))
		t.Cleanup(front.Close)
		return front.URL
	}
	check := func(t *testing.T, what string, err, sentinel error) {
		t.Helper()
		var te *broker.TransportError
		switch {
		case !errors.Is(err, sentinel):
			t.Errorf("%s: %v does not match the package's ErrRedirectRefused", what, err)
		case !errors.Is(err, broker.ErrRedirectRefused):
			t.Errorf("%s: %v does not match broker.ErrRedirectRefused", what, err)
		case !errors.As(err, &te):
			t.Errorf("%s: %T is not a TransportError", what, err)
		case broker.IsRetryable(err):
			t.Errorf("%s: a refused redirect is retryable", what)
		}
	}
	sentinels := map[string]error{"entrupy": entrupy.ErrRedirectRefused, "sentiance": sentiance.ErrRedirectRefused,
		"idv": idv.ErrRedirectRefused, "uqudo": uqudo.ErrRedirectRefused}
	for _, v := range faultVendors() {
		t.Run(v.name, func(t *testing.T) {
			fake, fakeURL, readArg := v.start(t)
			c, err := v.open(redirector(t, fake)+"/", fakeURL+"/", &http.Client{}, faultAttempt, fake)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			check(t, v.createName, c.create(ctx, readArg), sentinels[v.name])
			check(t, v.readName, c.read(ctx, readArg), sentinels[v.name])
		})
	}
	t.Run("broker", func(t *testing.T) {
		ef, sf, inf, uf := entrupytest.NewServer(t), sentiancetest.NewServer(t), idvtest.NewServer(t), uqudotest.NewServer(t)
		ec, err := entrupy.NewClient(ef.Credentials(), entrupy.WithBaseURL(redirector(t, ef)), entrupytest.FastRetry())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := sentiance.NewClient(sf.Credentials(), sentiance.WithBaseURL(redirector(t, sf)), sentiancetest.FastRetry())
		if err != nil {
			t.Fatal(err)
		}
		ic, err := idv.NewClient(redirector(t, inf), inf.Credentials(), idv.WithInsecureHTTP(), idvtest.FastRetry())
		if err != nil {
			t.Fatal(err)
		}
		// uqudo's token comes from its fake: the redirect is on the call.
		uc, err := uqudo.NewClient(uf.Credentials(), uqudo.WithBaseURL(redirector(t, uf)), uqudo.WithAuthURL(uf.URL), uqudotest.FastRetry())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ec.Close(); sc.Close(); ic.Close(); uc.Close() })
		b, err := broker.New(broker.WithEntrupy(ec), broker.WithSentiance(sc),
			broker.WithIDV(ic, broker.IDVParams{WorkflowID: "wf-1"}),
			broker.WithUqudo(uc, broker.UqudoParams{Data: uqudo.NewSessionData(uqudo.DocumentTypePassport)}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		for _, v := range broker.Vendors() {
			req := broker.Request{Vendor: v, UserID: "user-0001"}
			if v == broker.Entrupy {
				req.Entrupy = &broker.EntrupyParams{SDKAuthorizationRequest: "sdk-request", Email: "a@example.com"}
			}
			_, err := b.Start(ctx, req)
			check(t, "broker.Start "+string(v), err, broker.ErrRedirectRefused)
		}
	})
	if n := other.Load(); n != 0 {
		t.Errorf("the redirect was followed to the other host (%d requests)", n)
	}
}
