// Package brokertest runs a [broker.Broker] over the four vendor fakes
// (entrupytest, sentiancetest, idvtest, uqudotest), for tests and demos of
// code built on package broker.
//
// [New] starts the four fakes on loopback sockets and returns an [Env]: the
// broker, each fake's server (for fault injection with FailNext, call counts
// with Calls and the fakes' inspection methods), the vendor clients the
// broker uses (fast retries: an injected 429 costs milliseconds), and one
// controllable [Clock] shared by the fakes, the clients and the broker, so
// that expiry tests never sleep. Everything is closed when the test ends.
// [Start] is the twin for programs, with [Env.Close]. [Env.NewBroker] builds
// more brokers over the same fakes, such as replicas sharing a Store.
//
//	env := brokertest.New(t)
//	g, err := env.Broker.Start(ctx, env.Request(broker.Sentiance, "user-0001"))
//	env.Sentiance.FailNext(1, sentiancetest.Failure{Status: http.StatusServiceUnavailable})
//	env.Clock.Advance(10 * time.Minute)
//
// Each fake accepts its package's default credentials; the clients are built
// by each server's NewClient. IDV sessions run [DefaultWorkflowID] and uqudo
// sessions ask for a passport unless [WithIDVParams] or [WithUqudoParams]
// say otherwise.
package brokertest

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

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

// DefaultWorkflowID is the IDV workflow an Env's broker runs unless
// [WithIDVParams] gives another.
const DefaultWorkflowID = "brokertest-workflow"

// DefaultEmail is the e-mail address [Env.Request] puts in Entrupy requests.
const DefaultEmail = "brokertest@example.com"

// Clock is a controllable clock, safe for concurrent use. Its zero value
// reads the zero time; [NewClock] starts it elsewhere.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time. Pass the method value (clock.Now) where a
// func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward if d is negative) and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Option configures an Env.
type Option func(*config)

type config struct {
	start     time.Time
	vendors   []broker.Vendor
	idv       broker.IDVParams
	uqudo     broker.UqudoParams
	brokerOps []broker.Option
	entrupy   []entrupytest.Option
	sentiance []sentiancetest.Option
	idvFake   []idvtest.Option
	uqudoFake []uqudotest.Option
	wrap      func(http.RoundTripper) http.RoundTripper
}

// WithTime sets the time the Env's clock starts at (default the real time
// at New or Start, truncated to the second).
func WithTime(t time.Time) Option { return func(c *config) { c.start = t } }

// WithVendors limits the broker to vendors (default all four). Every fake
// is started anyway, so the Env's servers are never nil.
func WithVendors(vendors ...broker.Vendor) Option {
	return func(c *config) { c.vendors = append([]broker.Vendor(nil), vendors...) }
}

// WithIDVParams sets the IDV defaults given to broker.WithIDV (default
// WorkflowID [DefaultWorkflowID]).
func WithIDVParams(p broker.IDVParams) Option { return func(c *config) { c.idv = p } }

// WithUqudoParams sets the uqudo defaults given to broker.WithUqudo
// (default: session data asking for a passport).
func WithUqudoParams(p broker.UqudoParams) Option { return func(c *config) { c.uqudo = p } }

// WithBrokerOptions adds options for broker.New (WithStore, WithLogger,
// WithUserIDs...), applied after the Env's own (the clock and the four
// vendors), so they may replace them.
func WithBrokerOptions(opts ...broker.Option) Option {
	return func(c *config) { c.brokerOps = append(c.brokerOps, opts...) }
}

// WithRoundTripper wraps the transport of every vendor client the broker
// uses with wrap, to watch or hold back the broker's vendor calls (count the
// calls in flight, make answers wait on a channel...). wrap gets each
// server's own transport; tell vendors apart by the request's URL, which
// starts with the server's URL. For slow or failing answers, prefer the
// fakes' FailNext (Delay, Status, Reset).
func WithRoundTripper(wrap func(next http.RoundTripper) http.RoundTripper) Option {
	return func(c *config) { c.wrap = wrap }
}

// WithEntrupyFake adds options for the Entrupy fake (entrupytest.New); the
// Env's clock comes first, so an entrupytest.WithClock here replaces it for
// that fake and its client.
func WithEntrupyFake(opts ...entrupytest.Option) Option {
	return func(c *config) { c.entrupy = append(c.entrupy, opts...) }
}

// WithSentianceFake adds options for the Sentiance fake, like
// [WithEntrupyFake].
func WithSentianceFake(opts ...sentiancetest.Option) Option {
	return func(c *config) { c.sentiance = append(c.sentiance, opts...) }
}

// WithIDVFake adds options for the IDV fake, like [WithEntrupyFake].
func WithIDVFake(opts ...idvtest.Option) Option {
	return func(c *config) { c.idvFake = append(c.idvFake, opts...) }
}

// WithUqudoFake adds options for the uqudo fake, like [WithEntrupyFake].
func WithUqudoFake(opts ...uqudotest.Option) Option {
	return func(c *config) { c.uqudoFake = append(c.uqudoFake, opts...) }
}

// Env is a broker over the four fakes. Build it with [New] or [Start].
type Env struct {
	// Broker is the broker under test, over the vendors of [WithVendors]
	// (default all four).
	Broker *broker.Broker
	// Clock is the clock of the broker, the vendor clients and the fakes.
	Clock *Clock

	// Entrupy, Sentiance, IDV and Uqudo are the fakes' servers: FailNext,
	// Calls, and each fake's inspection methods.
	Entrupy   *entrupytest.Server
	Sentiance *sentiancetest.Server
	IDV       *idvtest.Server
	Uqudo     *uqudotest.Server

	// EntrupyClient, SentianceClient, IDVClient and UqudoClient are the
	// vendor clients the broker uses (each server's NewClient: fast retries,
	// the Env's clock).
	EntrupyClient   *entrupy.Client
	SentianceClient *sentiance.Client
	IDVClient       *idv.Client
	UqudoClient     *uqudo.Client

	brokerOpts []broker.Option // what Broker was built with, for NewBroker
	mu         sync.Mutex
	closed     bool
	extra      []*broker.Broker // from NewBroker, closed by Close
	closeOnce  sync.Once
}

// New starts an Env configured by opts and closes it when t's test ends. It
// fails the test if the Env cannot start.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	e, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// Start starts an Env configured by opts, for programs and demos without a
// testing.TB. Call Close when done.
func Start(opts ...Option) (_ *Env, err error) {
	cfg := config{
		start:   time.Now().Truncate(time.Second),
		vendors: broker.Vendors(),
		idv:     broker.IDVParams{WorkflowID: DefaultWorkflowID},
		uqudo: broker.UqudoParams{Data: uqudo.SessionData{
			Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}},
		}},
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	e := &Env{Clock: NewClock(cfg.start)}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	now := e.Clock.Now
	if e.Entrupy, err = entrupytest.Start(append([]entrupytest.Option{entrupytest.WithClock(now)}, cfg.entrupy...)...); err != nil {
		return nil, err
	}
	if e.Sentiance, err = sentiancetest.Start(append([]sentiancetest.Option{sentiancetest.WithClock(now)}, cfg.sentiance...)...); err != nil {
		return nil, err
	}
	if e.IDV, err = idvtest.Start(append([]idvtest.Option{idvtest.WithClock(now)}, cfg.idvFake...)...); err != nil {
		return nil, err
	}
	if e.Uqudo, err = uqudotest.Start(append([]uqudotest.Option{uqudotest.WithClock(now)}, cfg.uqudoFake...)...); err != nil {
		return nil, err
	}
	hc := func(srv interface{ Client() *http.Client }) *http.Client {
		c := *srv.Client()
		if cfg.wrap != nil {
			next := c.Transport
			if next == nil {
				next = http.DefaultTransport
			}
			c.Transport = cfg.wrap(next)
		}
		return &c
	}
	if e.EntrupyClient, err = e.Entrupy.NewClient(entrupy.WithHTTPClient(hc(e.Entrupy))); err != nil {
		return nil, err
	}
	if e.SentianceClient, err = e.Sentiance.NewClient(sentiance.WithHTTPClient(hc(e.Sentiance))); err != nil {
		return nil, err
	}
	if e.IDVClient, err = e.IDV.NewClient(idv.WithHTTPClient(hc(e.IDV))); err != nil {
		return nil, err
	}
	if e.UqudoClient, err = e.Uqudo.NewClient(uqudo.WithHTTPClient(hc(e.Uqudo))); err != nil {
		return nil, err
	}

	bopts := []broker.Option{broker.WithClock(now)}
	for _, v := range cfg.vendors {
		switch v {
		case broker.Entrupy:
			bopts = append(bopts, broker.WithEntrupy(e.EntrupyClient))
		case broker.Sentiance:
			bopts = append(bopts, broker.WithSentiance(e.SentianceClient))
		case broker.IDV:
			bopts = append(bopts, broker.WithIDV(e.IDVClient, cfg.idv))
		case broker.Uqudo:
			bopts = append(bopts, broker.WithUqudo(e.UqudoClient, cfg.uqudo))
		default:
			return nil, errors.New("brokertest: unknown vendor " + string(v))
		}
	}
	e.brokerOpts = append(bopts, cfg.brokerOps...)
	if e.Broker, err = broker.New(e.brokerOpts...); err != nil {
		return nil, err
	}
	return e, nil
}

// errClosed is NewBroker's error after Close.
var errClosed = errors.New("brokertest: NewBroker after Env.Close")

// NewBroker returns another broker built like [Env.Broker]: over the same
// vendor clients (so the same fakes, clock and [WithRoundTripper] wrapping),
// with the same vendor defaults and [WithBrokerOptions], and then opts, which
// may replace them. Use it for a second replica sharing a Store
// (broker.WithStore) or for a broker with other options over the same fakes.
// [Env.Close] closes it before Env.Broker; closing it earlier is fine too.
// It returns broker.New's error for bad opts, and an error after Close.
func (e *Env) NewBroker(opts ...broker.Option) (*broker.Broker, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	all := append(append([]broker.Option(nil), e.brokerOpts...), opts...)
	b, err := broker.New(all...)
	if err != nil {
		return nil, err
	}
	e.extra = append(e.extra, b)
	return b, nil
}

// Close closes the brokers (those of [Env.NewBroker], then Env.Broker), then
// the vendor clients, then the fakes' servers. It is safe to call more than
// once.
func (e *Env) Close() {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		extra := e.extra
		e.extra = nil
		e.mu.Unlock()
		for _, b := range extra {
			b.Close()
		}
		if e.Broker != nil {
			e.Broker.Close()
		}
		if e.UqudoClient != nil {
			e.UqudoClient.Close()
		}
		if e.IDVClient != nil {
			e.IDVClient.Close()
		}
		if e.SentianceClient != nil {
			e.SentianceClient.Close()
		}
		if e.EntrupyClient != nil {
			e.EntrupyClient.Close()
		}
		if e.Uqudo != nil {
			e.Uqudo.Close()
		}
		if e.IDV != nil {
			e.IDV.Close()
		}
		if e.Sentiance != nil {
			e.Sentiance.Close()
		}
		if e.Entrupy != nil {
			e.Entrupy.Close()
		}
	})
}

// Request returns a valid broker.Request for vendor and userID: for
// Entrupy, with an SDK authorization request derived from userID and
// [DefaultEmail]; for the others, the broker's defaults. Entrupy accepts 8
// to 40 characters of A-Z, a-z, 0-9 and @.+_- as a user id.
func (e *Env) Request(vendor broker.Vendor, userID string) broker.Request {
	req := broker.Request{Vendor: vendor, UserID: userID}
	if vendor == broker.Entrupy {
		req.Entrupy = &broker.EntrupyParams{SDKAuthorizationRequest: "brokertest-sdk-request-" + userID, Email: DefaultEmail}
	}
	return req
}

// MintCalls returns how many grant-minting requests vendor's fake received,
// failed ones included: Entrupy's authorize-user, Sentiance's auth-code,
// IDV's session start and uqudo's session creation. A Start answered from a
// reused grant does not add one.
func (e *Env) MintCalls(vendor broker.Vendor) int {
	switch vendor {
	case broker.Entrupy:
		return e.Entrupy.Calls(entrupytest.RouteAuthorizeUser)
	case broker.Sentiance:
		return e.Sentiance.Calls(sentiancetest.RouteCreateAuthCode)
	case broker.IDV:
		return e.IDV.Calls(idvtest.RouteStartSession)
	case broker.Uqudo:
		return e.Uqudo.Calls(uqudotest.RouteCreateSession)
	}
	return 0
}
