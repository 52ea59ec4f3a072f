package tokencache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// An OAuth access token, fetched once and reused while fresh.
func Example() {
	fetches := 0
	fetch := func(ctx context.Context, clientID string) (string, tokencache.Expiry, error) {
		fetches++ // a real fetch would call the token endpoint with ctx
		token := fmt.Sprintf("token-%d-for-%s", fetches, clientID)
		return token, tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil // expires_in: 3600
	}
	tokens, err := tokencache.New(fetch)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tokens.Close()

	ctx := context.Background()
	for range 3 {
		token, info, err := tokens.GetInfo(ctx, "client-a")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(token, "reused:", info.Reused)
	}

	// The vendor rejected the token: drop it, unless another caller already replaced it.
	tokens.InvalidateIf("client-a", func(t string) bool { return t == "token-1-for-client-a" })
	token, _ := tokens.Get(ctx, "client-a")
	fmt.Println(token)
	fmt.Println("fetches:", tokens.Stats().Fetches)

	_, err = tokencache.New(fetch, tokencache.WithMaxEntries(-1))
	fmt.Println(errors.Is(err, tokencache.ErrInvalidConfig))
	// Output:
	// token-1-for-client-a reused: false
	// token-1-for-client-a reused: true
	// token-1-for-client-a reused: true
	// token-2-for-client-a
	// fetches: 2
	// true
}
