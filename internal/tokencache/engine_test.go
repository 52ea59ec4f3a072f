package tokencache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// GetWith's loader does the fetch the call starts; callers arriving meanwhile share it whatever loader they
// pass, and a nil loader is the function given to New.
func TestGetWith_PerCallLoader(t *testing.T) {
	clk := newFakeClock()
	var calls atomic.Int64
	c := newCache(t, minting(clk, 10*time.Minute, &calls), tokencache.WithClock(clk), tokencache.WithJitter(0))
	ctx := context.Background()
	loader := func(name string, gate chan struct{}) tokencache.FetchFunc[string, string] {
		return func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
			if gate != nil {
				<-gate
			}
			return name + ":" + key, tokencache.Expiry{Hard: clk.Now().Add(10 * time.Minute)}, nil
		}
	}

	v, info, err := c.GetInfoWith(ctx, "a", loader("first", nil))
	require.NoError(t, err)
	assert.Equal(t, "first:a", v)
	assert.False(t, info.Reused)
	v, err = c.GetWith(ctx, "a", loader("second", nil))
	require.NoError(t, err)
	assert.Equal(t, "first:a", v, "a fresh value is served without calling the loader")

	gate := make(chan struct{})
	leader := make(chan result, 1)
	go func() {
		v, err := c.GetWith(ctx, "b", loader("leader", gate))
		leader <- result{val: v, err: err}
	}()
	eventually(t, "the leader's fetch", func() bool { return c.Stats().Misses == 2 })
	follower := make(chan result, 1)
	go func() {
		v, err := c.GetWith(ctx, "b", loader("follower", nil))
		follower <- result{val: v, err: err}
	}()
	eventually(t, "the follower waiting", func() bool { return c.Stats().Misses == 3 })
	close(gate)
	assert.Equal(t, "leader:b", receive(t, leader).val)
	assert.Equal(t, "leader:b", receive(t, follower).val, "the follower shares the leader's fetch")

	v, err = c.GetWith(ctx, "c", nil)
	require.NoError(t, err)
	assert.Equal(t, "c#1", v, "nil: the function given to New")

	clk.Advance(9 * time.Minute) // stale: the call that finds it so refreshes it with its own loader
	v, err = c.GetWith(ctx, "a", loader("refresher", nil))
	require.NoError(t, err)
	assert.Equal(t, "first:a", v, "the stale value is served")
	eventually(t, "the refresh", func() bool { v, _, _ := c.Peek("a"); return v == "refresher:a" })
	assert.EqualValues(t, 1, calls.Load())
}

// The fetch context of a fetch started with context.Background runs on the caller's goroutine: it has the
// fetch timeout as its deadline, its Done channel closes then with DeadlineExceeded, and contexts derived from
// it are cancelled with it, without a goroutine of their own left behind (goleak checks at the end).
func TestFetchContext_DeadlineDoneAndDerived(t *testing.T) {
	var sawErr, childErr, causeErr error
	var derived context.Context
	var cancelDerived context.CancelFunc
	c := newCache(t, func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		derived, cancelDerived = context.WithCancel(ctx) // kept to see it cancelled when the fetch returns
		<-ctx.Done()
		<-child.Done() // derived contexts follow, from a goroutine of their own (as with context.AfterFunc)
		sawErr, childErr, causeErr = ctx.Err(), child.Err(), context.Cause(ctx)
		return "", tokencache.Expiry{}, ctx.Err()
	}, tokencache.WithFetchTimeout(20*time.Millisecond))
	start := time.Now()
	_, err := c.Get(context.Background(), "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.ErrorIs(t, sawErr, context.DeadlineExceeded)
	assert.ErrorIs(t, childErr, context.DeadlineExceeded, "a derived context ends with its parent")
	assert.ErrorIs(t, causeErr, context.DeadlineExceeded, "the cause is the fetch context's own")
	eventually(t, "the derived context cancelled once the fetch returned", func() bool { return derived.Err() != nil })
	cancelDerived()
}

// A fetch that never asks for Done still sees its deadline and Close through Err, and sees itself ended once
// it has returned (as with a deferred cancel of context.WithTimeout).
func TestFetchContext_ErrWithoutDone(t *testing.T) {
	var kept context.Context
	release := make(chan struct{})
	entered := make(chan struct{})
	c, err := tokencache.New(func(ctx context.Context, key string) (string, tokencache.Expiry, error) {
		kept = ctx
		if key == "slow" {
			close(entered)
			<-release
			return "", tokencache.Expiry{}, ctx.Err()
		}
		if err := ctx.Err(); err != nil {
			return "", tokencache.Expiry{}, err
		}
		return "v", tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
	})
	require.NoError(t, err)
	ctx := context.Background()
	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", v)
	require.ErrorIs(t, kept.Err(), context.Canceled, "ended once the fetch returned")
	select {
	case <-kept.Done():
	default:
		t.Fatal("Done of an ended fetch context is not closed")
	}

	slow := make(chan result, 1)
	go getAsync(c, ctx, "slow", slow)
	<-entered
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	eventually(t, "Close seen by Err", func() bool { return errors.Is(kept.Err(), context.Canceled) })
	close(release)
	<-closed
	r := receive(t, slow)
	require.ErrorIs(t, r.err, tokencache.ErrClosed)
	require.ErrorIs(t, r.err, context.Canceled)
}

// A miss with a fetcher that returns at once allocates the key's node and its fetch state, and nothing per
// call besides: no goroutine, context, timer or channel.
func TestGet_MissAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	far := time.Now().Add(time.Hour)
	c := newCache(t, func(context.Context, string) (string, tokencache.Expiry, error) {
		return "v", tokencache.Expiry{Hard: far}, nil
	}, tokencache.WithMaxEntries(1<<20))
	keys := make([]string, 20000)
	for i := range keys {
		keys[i] = fmt.Sprint("vendor:user-", i)
	}
	ctx := context.Background()
	i := 0
	allocs := testing.AllocsPerRun(len(keys)-1, func() {
		if _, err := c.Get(ctx, keys[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	assert.LessOrEqual(t, allocs, 2.0) // node, fetch state; table growth is amortized below 1
}

// A bounded cache keeps no more values reachable than its bound: an evicted value is garbage at once.
func TestEviction_EvictedValuesAreUnreachable(t *testing.T) {
	const bound = 1000
	var weaks []weak.Pointer[string]
	store := newCacheOfPointers(t, bound, &weaks)
	ctx := context.Background()
	for i := range 5 * bound {
		_, err := store.Get(ctx, fmt.Sprint("k", i))
		require.NoError(t, err)
		require.LessOrEqual(t, store.Len(), bound)
	}
	runtime.GC()
	runtime.GC()
	live := 0
	for _, w := range weaks {
		if w.Value() != nil {
			live++
		}
	}
	assert.LessOrEqual(t, live, bound)
	assert.EqualValues(t, 4*bound, store.Stats().Evictions)
}

func newCacheOfPointers(t *testing.T, bound int, weaks *[]weak.Pointer[string]) *tokencache.Cache[string, *string] {
	t.Helper()
	c, err := tokencache.New(func(_ context.Context, key string) (*string, tokencache.Expiry, error) {
		v := new(string)
		*v = "value of " + key
		*weaks = append(*weaks, weak.Make(v))
		return v, tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
	}, tokencache.WithMaxEntries(bound))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}
