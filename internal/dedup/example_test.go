package dedup_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/dedup"
)

// A delivery runs its callback once; its replay within the window does not.
func ExampleRun() {
	m, err := dedup.NewMemory(time.Hour, 100, 0, nil)
	if err != nil {
		panic(err)
	}
	key := dedup.Key("entrupy", "event", []byte("evt_123"))
	calls := 0
	for range 2 {
		out, _, _ := dedup.Run(context.Background(), m, key, func() error { calls++; return nil })
		fmt.Println(out == dedup.Processed)
	}
	fmt.Println("callback calls:", calls)
	// Output:
	// true
	// false
	// callback calls: 1
}
