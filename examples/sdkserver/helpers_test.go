package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// syncBuffer is a log sink safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is the sample server run in-process on a random loopback port.
type testServer struct {
	URL  string
	Logs *syncBuffer
	stop func() error
}

// envOf returns a getenv over m only, so the machine's environment (a real
// vendor key, say) never leaks into a test.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// startServer runs the server with env and extra args on 127.0.0.1:0 and
// stops it at the end of the test (failing it if run returned an error).
func startServer(t *testing.T, env map[string]string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), envOf(env), logs, func(u string) { ready <- u })
	}()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run returned before serving: %v\nlogs:\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server not ready after 30 s")
	}
	var once sync.Once
	var runErr error
	ts := &testServer{URL: url, Logs: logs}
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = context.DeadlineExceeded
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return ts
}

// answer is a decoded HTTP answer.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("not JSON (status %d): %q", a.Status, a.Body)
	}
	return m
}

// errorCode returns the "error.code" of an error answer.
func (a answer) errorCode(t *testing.T) string {
	t.Helper()
	e, _ := a.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// do sends a request to the server; body, when not nil, is sent as JSON.
// hdr adds headers ("Authorization", ...).
func (ts *testServer) do(t *testing.T, method, path string, body any, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// login logs user in through /auth/token and returns the Authorization
// header pair for do.
func (ts *testServer) login(t *testing.T, user string) []string {
	t.Helper()
	a := ts.do(t, "POST", "/auth/token", map[string]string{"user": user})
	if a.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", user, a.Status, a.Body)
	}
	tok, _ := a.json(t)["token"].(string)
	if tok == "" {
		t.Fatalf("login %s: no token", user)
	}
	return []string{"Authorization", "Bearer " + tok}
}

// stream reads the user's Server-Sent Events until the test ends.
func (ts *testServer) stream(t *testing.T, auth []string) <-chan event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(auth[0], auth[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan event, 64)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev event
			if json.Unmarshal([]byte(data), &ev) == nil {
				ch <- ev
			}
		}
	}()
	return ch
}

// waitEvent returns the first event from ch that match accepts.
func waitEvent(t *testing.T, ch <-chan event, match func(event) bool) event {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("event stream ended")
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("no matching event after 20 s")
		}
	}
}

// decodeQR reads the text of a QR code PNG.
func decodeQR(t *testing.T, b []byte) string {
	t.Helper()
	text, err := tryDecodeQR(b)
	if err != nil {
		t.Fatalf("QR code not readable: %v", err)
	}
	return text
}

// tryDecodeQR reads the text of a QR code PNG. The server's PNG is a pure
// code (a quiet zone, nothing else) and is read as one: the general
// detector misjudges the size of about 1.7% of valid codes (51 of 3000
// random session links), which made tests flaky. An image that is not
// pure (a screenshot) falls back to the general detector.
func tryDecodeQR(b []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("not a PNG: %w", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	pure := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, pure)
	if err != nil {
		hard := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
		res, err = zxqr.NewQRCodeReader().Decode(bmp, hard)
	}
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// demoEnv is an environment without any vendor credentials.
var demoEnv = map[string]string{}
