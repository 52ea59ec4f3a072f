package tokencache_test

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// stackTestFar is an expiry no test reaches.
var stackTestFar = time.Now().Add(24 * time.Hour)

// stackDepth is where a local variable of the calling function lies, as a number: the difference between two
// readings on one goroutine is the stack used between them, as long as the stack has not been moved (copied
// into a bigger one) in between. It is never turned back into a pointer.
//
//go:noinline
func stackDepth() uintptr {
	var here byte
	return uintptr(unsafe.Pointer(&here))
}

// growStack uses n KiB of stack, so that the goroutine's stack is at least that big afterwards and is not
// moved by the calls that follow (until a garbage collection shrinks it).
//
//go:noinline
func growStack(n int) byte {
	var pad [1024]byte
	if n > 1 {
		pad[n%1024] = growStack(n - 1)
	}
	return pad[n%1024]
}

// stackUnder returns how much stack lies between call's caller and fetch, the fetch function call ends up
// calling (directly, or through a cache). It retries if the stack was moved meanwhile.
func stackUnder(t *testing.T, call func(fetch tokencache.FetchFunc[string, string])) uintptr {
	t.Helper()
	for range 10 {
		var inFetch uintptr
		growStack(16)
		top := stackDepth()
		call(func(context.Context, string) (string, tokencache.Expiry, error) {
			inFetch = stackDepth()
			return "v", tokencache.Expiry{Hard: stackTestFar}, nil
		})
		if stackDepth() == top && inFetch != 0 {
			return top - inFetch
		}
	}
	t.Fatal("the stack kept moving")
	return 0
}

// A miss adds little stack under the fetch function it runs on the caller's goroutine (a context that never
// ends, such as context.Background, asks for that): a few hundred bytes for the cache's frames. A goroutine
// started only to call Get on a cold key (1000 at once, each on its own key, is the storm of issue 17) starts
// with 2 KiB of stack, about 1.1 KiB of it usable before the runtime copies the stack into one twice as big;
// the miss path used 1.7 KiB of it before the fetch function was even called, so every such caller paid for
// a new stack and a copy.
//
// The race detector's instrumentation makes every frame bigger, so the budget holds without it only.
func TestMiss_LittleStackUnderTheFetch(t *testing.T) {
	if raceEnabled {
		t.Skip("frames are bigger under the race detector")
	}
	ctx := context.Background()
	direct := stackUnder(t, func(fetch tokencache.FetchFunc[string, string]) {
		if _, _, err := fetch(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	})
	const budget = 640 // bytes the cache may add under the fetch function (this test's closure included)
	for _, tc := range []struct {
		name string
		get  func(c *tokencache.Cache[string, string]) error
	}{
		{"Get", func(c *tokencache.Cache[string, string]) error {
			_, err := c.Get(ctx, "k")
			return err
		}},
		{"GetWith", func(c *tokencache.Cache[string, string]) error {
			_, err := c.GetWith(ctx, "k", nil)
			return err
		}},
		{"GetInfoWith", func(c *tokencache.Cache[string, string]) error {
			_, _, err := c.GetInfoWith(ctx, "k", nil)
			return err
		}},
	} {
		viaCache := stackUnder(t, func(fetch tokencache.FetchFunc[string, string]) {
			c, err := tokencache.New(fetch)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := tc.get(c); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s: %d bytes of stack under the fetch function (%d called directly)", tc.name, viaCache, direct)
		if viaCache > direct+budget {
			t.Errorf("%s puts %d bytes of stack under the fetch function, more than %d", tc.name, viaCache-direct, budget)
		}
	}
}
