package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// The overhead benchmarks send the same call two ways, side by side in one
// run: "raw" is what a careful hand-written client does with net/http and
// encoding/json (build the request, set the same headers, send through an
// http.Client with the same 30 s timeout, read the body, decode it), and
// "httpx" is Client.Do. The call is a POST of a small JSON body answered by
// a small JSON object, the shape of a vendor's token call.

const (
	benchToken    = "bench-token-0123456789abcdef"
	benchRespBody = `{"token":"tok_0123456789abcdefghijklmnop","exp":"2030-01-02T03:04:05Z","user":"u-42"}`
)

type benchReq struct {
	User  string `json:"user"`
	Scope string `json:"scope"`
}

type benchResp struct {
	Token string `json:"token"`
	Exp   string `json:"exp"`
	User  string `json:"user"`
}

var benchPayload = benchReq{User: "u-42", Scope: "sdk"}

// memTransport answers every request from memory, without sockets, after
// draining and closing the request body as a real transport does. Each
// answer gets its own header map and body reader, as a real one would.
type memTransport struct{}

func (memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(benchRespBody)),
		ContentLength: int64(len(benchRespBody)),
		Request:       req,
	}, nil
}

// rawCall is the hand-written baseline.
func rawCall(ctx context.Context, hc *http.Client, url string) (benchResp, error) {
	var out benchResp
	body, err := json.Marshal(benchPayload)
	if err != nil {
		return out, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	req.Header.Set("User-Agent", "sdkbroker/"+httpx.Version+" (+acme)")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Token "+benchToken)
	resp, err := hc.Do(req)
	if err != nil {
		return out, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, httpx.DefaultMaxBodyBytes+1))
	if err != nil {
		return out, err
	}
	if resp.StatusCode != http.StatusOK {
		return out, io.ErrUnexpectedEOF
	}
	err = json.Unmarshal(raw, &out)
	return out, err
}

// benchClient is Client.Do's side: the same transport, timeout and headers.
func benchClient(tb testing.TB, base string, rt http.RoundTripper) *httpx.Client {
	tb.Helper()
	cfg := httpx.NewConfig("acme", base)
	cfg.HTTPClient = &http.Client{Transport: rt}
	cfg.Auth = func(h http.Header) { h.Set("Authorization", "Token "+benchToken) }
	cfg.Secrets = []string{benchToken}
	c, err := httpx.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

var benchRequest = httpx.Request{Method: http.MethodPost, Path: "v1/tokens", JSON: benchPayload}

func httpxCall(ctx context.Context, c *httpx.Client) (benchResp, error) {
	var out benchResp
	req := benchRequest
	_, err := c.Do(ctx, &req, &out)
	return out, err
}

// benchPair runs, side by side: "raw", the baseline with the same 30 s
// timeout as Client.Do; "raw_no_timeout", the cheapest hand-written call
// (an http.Client without a Timeout, so no deadline at all); and "httpx".
func benchPair(b *testing.B, base string, rt http.RoundTripper) {
	ctx := context.Background()
	url := base + "v1/tokens"
	c := benchClient(b, base, rt)
	for _, raw := range []struct {
		name string
		hc   *http.Client
	}{
		{"raw", &http.Client{Transport: rt, Timeout: httpx.DefaultTimeout}},
		{"raw_no_timeout", &http.Client{Transport: rt}},
	} {
		b.Run(raw.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out, err := rawCall(ctx, raw.hc, url); err != nil || out.User != "u-42" {
					b.Fatal(out, err)
				}
			}
		})
	}
	b.Run("httpx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if out, err := httpxCall(ctx, c); err != nil || out.User != "u-42" {
				b.Fatal(out, err)
			}
		}
	})
}

// BenchmarkDo_InProcess compares raw net/http + encoding/json with Client.Do
// over a RoundTripper that answers from memory: the client's own overhead.
func BenchmarkDo_InProcess(b *testing.B) {
	benchPair(b, "https://vendor.test/api/", memTransport{})
}

// BenchmarkDo_Loopback compares the two over a real loopback connection
// (httptest server, one kept-alive connection each).
func BenchmarkDo_Loopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchRespBody)
	}))
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	benchPair(b, srv.URL+"/api/", tr)
}

// BenchmarkDo_Interleaved runs the three calls of benchPair in rounds: each
// round times a batch of each, in an order that rotates from round to round,
// so that a load that drifts during the run weighs on all three alike. It
// reports the median time per call of each and the median over rounds of
// the ratios httpx/raw and httpx/raw_no_timeout (run it with -benchtime
// Nx for N rounds).
func BenchmarkDo_Interleaved(b *testing.B) {
	b.Run("InProcess", func(b *testing.B) {
		benchInterleaved(b, "https://vendor.test/api/", memTransport{}, 200)
	})
	b.Run("Loopback", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, benchRespBody)
		}))
		defer srv.Close()
		tr := srv.Client().Transport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		benchInterleaved(b, srv.URL+"/api/", tr, 40)
	})
}

func benchInterleaved(b *testing.B, base string, rt http.RoundTripper, batch int) {
	ctx := context.Background()
	url := base + "v1/tokens"
	hcTimeout := &http.Client{Transport: rt, Timeout: httpx.DefaultTimeout}
	hcBare := &http.Client{Transport: rt}
	c := benchClient(b, base, rt)
	calls := [3]func() error{
		func() error { _, err := rawCall(ctx, hcTimeout, url); return err },
		func() error { _, err := rawCall(ctx, hcBare, url); return err },
		func() error { _, err := httpxCall(ctx, c); return err },
	}
	var perCall [3][]float64
	var vsRaw, vsBare []float64
	round := 0
	for b.Loop() {
		var ns [3]float64
		for k := range 3 {
			which := (round + k) % 3
			start := time.Now()
			for range batch {
				if err := calls[which](); err != nil {
					b.Fatal(err)
				}
			}
			ns[which] = float64(time.Since(start).Nanoseconds()) / float64(batch)
		}
		round++
		for i := range ns {
			perCall[i] = append(perCall[i], ns[i])
		}
		vsRaw = append(vsRaw, ns[2]/ns[0])
		vsBare = append(vsBare, ns[2]/ns[1])
	}
	b.ReportMetric(median(perCall[0]), "raw-ns/call")
	b.ReportMetric(median(perCall[1]), "raw_no_timeout-ns/call")
	b.ReportMetric(median(perCall[2]), "httpx-ns/call")
	b.ReportMetric(median(vsRaw), "httpx/raw")
	b.ReportMetric(median(vsBare), "httpx/raw_no_timeout")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// TestDo_AllocsPerCall pins Client.Do's allocations per call to at most 8
// more than the cheapest raw net/http + encoding/json call (no timeout at
// all, where Client.Do has one), both measured here over the same in-memory
// transport, so a regression cannot go unnoticed.
func TestDo_AllocsPerCall(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	ctx := context.Background()
	const base = "https://vendor.test/api/"
	hc := &http.Client{Transport: memTransport{}}
	c := benchClient(t, base, memTransport{})
	raw := testing.AllocsPerRun(200, func() {
		if _, err := rawCall(ctx, hc, base+"v1/tokens"); err != nil {
			t.Fatal(err)
		}
	})
	got := testing.AllocsPerRun(200, func() {
		if _, err := httpxCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocs per call: raw %.0f, httpx %.0f", raw, got)
	if got > raw+8 {
		t.Errorf("Client.Do allocates %.0f times per call, raw net/http + encoding/json %.0f: more than raw + 8", got, raw)
	}
}
