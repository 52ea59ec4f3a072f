package hostile_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sdkbroker/sdkbroker/internal/hostile"
)

// The generated body has the size it claims and is never held in memory.
func TestReader_GeneratesNBytes(t *testing.T) {
	r := hostile.NewReader(3*hostile.MiB+5, 'x')
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != 3*hostile.MiB+5 || r.Consumed() != n {
		t.Fatalf("copied %d (consumed %d), err %v", n, r.Consumed(), err)
	}
}

// The nested JSON is valid JSON of the asked depth.
func TestNestedJSON_Depth(t *testing.T) {
	b := hostile.NestedJSON(50)
	if bytes.Count(b, []byte("[")) != 50 || !json.Valid(b) {
		t.Fatalf("not 50 nested arrays: %.80s", b)
	}
}

// The gzip bomb inflates to the asked size.
func TestGzipBomb_Inflates(t *testing.T) {
	bomb := hostile.GzipBomb(t, 8*hostile.MiB)
	zr, err := gzip.NewReader(bytes.NewReader(bomb))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil || n != 8*hostile.MiB {
		t.Fatalf("inflated to %d, err %v", n, err)
	}
	if len(bomb) >= hostile.MiB/8 {
		t.Fatalf("a %d-byte bomb is not small", len(bomb))
	}
}

// The ids cover the cases the issue names.
func TestIDs_CoverTheNamedCases(t *testing.T) {
	var all strings.Builder
	for _, id := range hostile.IDs() {
		all.WriteString(id.Value)
	}
	for _, want := range []string{"\x00", "\r\n", "../"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no hostile id holds %q", want)
		}
	}
}

func ExampleNestedJSON() {
	fmt.Println(string(hostile.NestedJSON(3)))
	// Output: [[[1]]]
}
