package peers

import (
	"context"
	"sync"
	"time"

	"github.com/jellydator/ttlcache/v3"
	"github.com/maypok86/otter/v2"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// fetchFunc obtains the token for a key; the token's Expiry is its hard expiry.
type fetchFunc func(ctx context.Context, key string) (*oauth2.Token, error)

// spec is what a scenario asks of a cache.
type spec struct {
	fetch fetchFunc
	max   int           // entries held at most; every implementation that has a bound gets this one
	ahead time.Duration // refresh this long before the hard expiry (0: the implementation's default)
}

// subject is one cache under test.
type subject interface {
	Get(ctx context.Context, key string) (*oauth2.Token, error)
	Close()
}

// settler is a subject with pending maintenance to run before its memory is measured.
type settler interface{ settle() }

// impl makes subjects of one implementation.
type impl struct {
	name string
	make func(spec) subject
}

// impls lists the library first; the others are its peers.
var impls = []impl{
	{"tokencache", newLibrary},
	{"otter", newOtter},
	{"syncmap+sf", newHand},
	{"oauth2", newOAuth2},
	{"ttlcache", newTTL},
}

// library: internal/tokencache with no safety margin and no jitter, so that it keeps values exactly as
// long as the peers do.
type library struct {
	c *tokencache.Cache[string, *oauth2.Token]
}

func newLibrary(s spec) subject {
	fetch := func(ctx context.Context, key string) (*oauth2.Token, tokencache.Expiry, error) {
		t, err := s.fetch(ctx, key)
		if err != nil {
			return nil, tokencache.Expiry{}, err
		}
		exp := tokencache.Expiry{Hard: t.Expiry}
		if s.ahead > 0 {
			exp.Soft = t.Expiry.Add(-s.ahead)
		}
		return t, exp, nil
	}
	c, err := tokencache.New(fetch, tokencache.WithMaxEntries(s.max), tokencache.WithSafetyMargin(0),
		tokencache.WithJitter(0), tokencache.WithNegativeTTL(0))
	if err != nil {
		panic(err)
	}
	return library{c}
}

func (l library) Get(ctx context.Context, key string) (*oauth2.Token, error) {
	return l.c.Get(ctx, key)
}
func (l library) Close() { l.c.Close() }

// otterCache: otter v2 with a loader, per-entry expiry at the token's expiry and refresh after write.
type otterCache struct {
	c      *otter.Cache[string, *oauth2.Token]
	loader otter.Loader[string, *oauth2.Token]
}

func newOtter(s spec) subject {
	o := &otter.Options[string, *oauth2.Token]{
		MaximumSize: s.max,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *oauth2.Token]) time.Duration {
			return time.Until(e.Value.Expiry)
		}),
	}
	if s.ahead > 0 {
		o.RefreshCalculator = otter.RefreshWritingFunc(func(e otter.Entry[string, *oauth2.Token]) time.Duration {
			return time.Until(e.Value.Expiry) - s.ahead
		})
	}
	return &otterCache{c: otter.Must(o), loader: otter.LoaderFunc[string, *oauth2.Token](s.fetch)}
}

func (o *otterCache) Get(ctx context.Context, key string) (*oauth2.Token, error) {
	return o.c.Get(ctx, key, o.loader)
}
func (o *otterCache) Close()  { o.c.InvalidateAll(); o.c.StopAllGoroutines() }
func (o *otterCache) settle() { o.c.CleanUp() }

// hand: the hand-rolled cache, a sync.Map of tokens and a singleflight.Group; unbounded, no refresh ahead
// (a token is fetched again once expired, callers waiting).
type hand struct {
	m     sync.Map // string -> *oauth2.Token
	g     singleflight.Group
	fetch fetchFunc
}

func newHand(s spec) subject { return &hand{fetch: s.fetch} }

func (h *hand) Get(ctx context.Context, key string) (*oauth2.Token, error) {
	if v, ok := h.m.Load(key); ok {
		if t := v.(*oauth2.Token); time.Now().Before(t.Expiry) {
			return t, nil
		}
	}
	v, err, _ := h.g.Do(key, func() (any, error) {
		t, err := h.fetch(ctx, key)
		if err != nil {
			return nil, err
		}
		h.m.Store(key, t)
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*oauth2.Token), nil
}
func (h *hand) Close() {}

// oauth2Cache: one oauth2.ReuseTokenSourceWithExpiry per key, in a sync.Map; unbounded. The early expiry is
// spec.ahead (1ns when 0: oauth2 would read 0 as its default of 10s).
type oauth2Cache struct {
	m     sync.Map // string -> oauth2.TokenSource
	fetch fetchFunc
	early time.Duration
}

type keySource struct {
	key   string
	fetch fetchFunc
}

func (k keySource) Token() (*oauth2.Token, error) { return k.fetch(context.Background(), k.key) }

func newOAuth2(s spec) subject {
	early := s.ahead
	if early <= 0 {
		early = time.Nanosecond
	}
	return &oauth2Cache{fetch: s.fetch, early: early}
}

func (o *oauth2Cache) Get(_ context.Context, key string) (*oauth2.Token, error) {
	v, ok := o.m.Load(key)
	if !ok {
		v, _ = o.m.LoadOrStore(key, oauth2.ReuseTokenSourceWithExpiry(nil, keySource{key, o.fetch}, o.early))
	}
	return v.(oauth2.TokenSource).Token()
}
func (o *oauth2Cache) Close() {}

// ttl: ttlcache v3 with a singleflight loader, capacity spec.max, no touch on hit (a token's expiry is fixed).
type ttl struct {
	c *ttlcache.Cache[string, *oauth2.Token]
}

func newTTL(s spec) subject {
	load := ttlcache.LoaderFunc[string, *oauth2.Token](func(c *ttlcache.Cache[string, *oauth2.Token], key string) *ttlcache.Item[string, *oauth2.Token] {
		t, err := s.fetch(context.Background(), key)
		if err != nil {
			return nil
		}
		return c.Set(key, t, time.Until(t.Expiry))
	})
	opts := []ttlcache.Option[string, *oauth2.Token]{
		ttlcache.WithLoader[string, *oauth2.Token](ttlcache.NewSuppressedLoader[string, *oauth2.Token](load, nil)),
		ttlcache.WithDisableTouchOnHit[string, *oauth2.Token](),
	}
	if s.max > 0 {
		opts = append(opts, ttlcache.WithCapacity[string, *oauth2.Token](uint64(s.max)))
	}
	return ttl{ttlcache.New(opts...)}
}

func (t ttl) Get(_ context.Context, key string) (*oauth2.Token, error) {
	it := t.c.Get(key)
	if it == nil {
		return nil, errNotLoaded
	}
	return it.Value(), nil
}
func (t ttl) Close() { t.c.DeleteAll() }
