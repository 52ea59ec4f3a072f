// Package hostile holds the hostile inputs the packages' tests feed to every
// entry point (issue 16 item 5): ids with NUL, CR LF, "../", invalid UTF-8
// or a megabyte of text; bodies of 100 MiB generated as they are read;
// deeply nested JSON; gzip bombs. It is imported by tests only.
package hostile

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// MiB is a mebibyte.
const MiB = 1 << 20

// ID is a hostile id and what a correct client does with it.
type ID struct {
	// Name describes the case.
	Name string
	// Value is the id.
	Value string
}

// IDs returns the hostile ids: each must be refused before sending (a
// validation error) or sent as exactly one escaped path segment or JSON
// string, and never echoed raw (unescaped) by an error.
func IDs() []ID {
	return []ID{
		{"NUL byte", "item\x00id"},
		{"1 MB", strings.Repeat("u", MiB)},
		{"CR LF", "item\r\nX-Injected: yes"},
		{"LF", "item\nX-Injected: yes"},
		{"dot-dot slash", "../../admin"},
		{"dot-dot", ".."},
		{"dot", "."},
		{"escaped dot-dot", "%2e%2e"},
		{"slash", "a/b"},
		{"backslash dot-dot", `..\..\admin`},
		{"query and fragment", "a?admin=1#frag"},
		{"invalid UTF-8", "item\xff\xfe"},
		{"only spaces", "   "},
	}
}

// Recorder is a loopback HTTP server that records the raw request target
// (RequestURI) of every request and answers each with Status and Body.
type Recorder struct {
	*httptest.Server
	// Status and Body are the answer (set before the first request).
	Status int
	Body   string
	// Answer, when set before the first request, answers the requests
	// it returns true for (an access token, say); they are not recorded.
	Answer func(w http.ResponseWriter, r *http.Request) bool

	mu      sync.Mutex
	targets []string
	bodies  [][]byte
}

// NewRecorder starts a Recorder answering status with body as JSON; it is
// closed at the end of the test.
func NewRecorder(t testing.TB, status int, body string) *Recorder {
	t.Helper()
	rec := &Recorder{Status: status, Body: body}
	// No ServeMux: it would clean or redirect the path under test.
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec.Answer != nil && rec.Answer(w, r) {
			return
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 4*MiB))
		rec.mu.Lock()
		rec.targets = append(rec.targets, r.Method+" "+r.RequestURI)
		rec.bodies = append(rec.bodies, b)
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Status)
		_, _ = io.WriteString(w, rec.Body)
	}))
	t.Cleanup(rec.Close)
	return rec
}

// Take returns the request targets ("METHOD /raw/target") and bodies
// recorded since the last Take, and forgets them.
func (r *Recorder) Take() (targets []string, bodies [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	targets, bodies = r.targets, r.bodies
	r.targets, r.bodies = nil, nil
	return targets, bodies
}

// CheckPathID checks what a client did with a hostile id that becomes a
// path segment: either err is a refusal before sending (isInvalid(err) and
// no request recorded), or every request recorded is method prefix+<id as
// one escaped segment>+suffix, with no query, whatever err the answer
// caused. In both cases the error must not hold the id (when the id is
// longer than 3 bytes) nor any line it would inject.
func CheckPathID(t testing.TB, rec *Recorder, id string, err error, isInvalid func(error) bool, method, prefix, suffix string) {
	t.Helper()
	targets, _ := rec.Take()
	checkErrorText(t, id, err)
	if err != nil && isInvalid(err) {
		if len(targets) != 0 {
			t.Errorf("refused as invalid, yet %d requests were sent: %q", len(targets), short(strings.Join(targets, ", ")))
		}
		return
	}
	if len(targets) == 0 {
		t.Errorf("no request sent and no validation error (err: %v)", err)
		return
	}
	for _, got := range targets {
		rest, ok := strings.CutPrefix(got, method+" "+prefix)
		if !ok {
			t.Errorf("request %q does not start with %q", short(got), method+" "+prefix)
			continue
		}
		seg, ok := strings.CutSuffix(rest, suffix)
		if !ok || strings.ContainsAny(seg, "/?#") {
			t.Errorf("request %q: the id is not one segment before %q", short(got), suffix)
			continue
		}
		if seg == "." || seg == ".." {
			t.Errorf("request %q: the id is a dot segment", short(got))
		}
		if dec, err := url.PathUnescape(seg); err != nil || dec != id {
			t.Errorf("request %q: the segment does not decode to the id", short(got))
		}
	}
}

// CheckQueryID checks what a client did with a hostile id sent as a query
// parameter: either a refusal before sending (isInvalid(err), nothing
// recorded), or every request recorded is method path?..., with exactly the
// query keys keys, param among them holding the id exactly once, whatever
// err the answer caused; the error must not hold the id.
func CheckQueryID(t testing.TB, rec *Recorder, id string, err error, isInvalid func(error) bool, method, path, param string, keys ...string) {
	t.Helper()
	targets, _ := rec.Take()
	checkErrorText(t, id, err)
	if err != nil && isInvalid(err) {
		if len(targets) != 0 {
			t.Errorf("refused as invalid, yet %d requests were sent: %q", len(targets), short(strings.Join(targets, ", ")))
		}
		return
	}
	if len(targets) == 0 {
		t.Errorf("no request sent and no validation error (err: %v)", err)
		return
	}
	for _, got := range targets {
		m, target, _ := strings.Cut(got, " ")
		u, perr := url.ParseRequestURI(target)
		if m != method || perr != nil || u.EscapedPath() != path || u.Fragment != "" {
			t.Errorf("request %q is not %s %s?...", short(got), method, path)
			continue
		}
		q := u.Query()
		for k := range q {
			found := false
			for _, want := range keys {
				found = found || k == want
			}
			if !found {
				t.Errorf("request %q: unexpected query parameter %q", short(got), short(k))
			}
		}
		n := 0
		for _, v := range q[param] {
			if v == id {
				n++
			}
		}
		if n != 1 {
			t.Errorf("request %q: %s does not hold the id exactly once", short(got), param)
		}
	}
}

// CheckRefusedOrSent checks an id sent in a body or refused: no panic (the
// caller got here), and an error that does not hold the id.
func CheckRefusedOrSent(t testing.TB, id string, err error) {
	t.Helper()
	checkErrorText(t, id, err)
}

func checkErrorText(t testing.TB, id string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if len(msg) > 2048 {
		t.Errorf("error message of %d bytes", len(msg))
	}
	if strings.Contains(msg, "X-Injected") || strings.ContainsAny(msg, "\x00\r") {
		t.Errorf("error message carries the id's control characters or injected text: %q", short(msg))
	}
	if len(id) > 3 && strings.TrimSpace(id) == id && strings.Contains(msg, id) {
		t.Errorf("error message repeats the id: %q", short(msg))
	}
}

func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// Reader is an endless-looking body of n bytes of fill, generated as it is
// read (nothing of size n is allocated); Read counts the bytes consumed.
type Reader struct {
	n, read int64
	fill    byte
	counted atomic.Int64
}

// NewReader returns a Reader of n bytes of fill.
func NewReader(n int64, fill byte) *Reader { return &Reader{n: n, fill: fill} }

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n-r.read {
		p = p[:r.n-r.read]
	}
	for i := range p {
		p[i] = r.fill
	}
	r.read += int64(len(p))
	r.counted.Add(int64(len(p)))
	return len(p), nil
}

// Consumed returns how many bytes were read so far.
func (r *Reader) Consumed() int64 { return r.counted.Load() }

// JSONPrefixed returns a body of n bytes that starts like a JSON object,
// {"id":"xxxx..., generated as it is read.
func JSONPrefixed(n int64) (io.Reader, *Reader) {
	head := `{"id":"`
	r := NewReader(n-int64(len(head)), 'x')
	return io.MultiReader(strings.NewReader(head), r), r
}

// NestedJSON returns depth nested arrays around 1: [[[...1...]]].
func NestedJSON(depth int) []byte {
	return []byte(strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth))
}

// NestedObject returns depth nested objects under key: {"k":{"k":...{}}}.
func NestedObject(key string, depth int) []byte {
	return []byte(strings.Repeat(`{"`+key+`":`, depth) + "{}" + strings.Repeat("}", depth))
}

// GzipBomb returns a gzip stream that inflates to n zero bytes (rounded up
// to a MiB): the same 1 MiB member repeated, which gzip readers inflate one
// after the other, so it is quick to build and about n/1000 bytes long.
func GzipBomb(t testing.TB, n int64) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(zw, io.LimitReader(zeroReader{}, MiB)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(member.Bytes(), int((n+MiB-1)/MiB))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Answers are hostile 200 answers a vendor (or an impostor) could send:
// each name maps to a handler writing one.
func Answers(t testing.TB) map[string]http.HandlerFunc {
	bomb := GzipBomb(t, 100*MiB)
	return map[string]http.HandlerFunc{
		"gzip bomb of 100 MiB": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb)
		},
		"100 MiB body": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			body, _ := JSONPrefixed(100 * MiB)
			_, _ = io.Copy(w, body) // stops when the client hangs up
		},
		"nested 100k deep": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(NestedObject("a", 100_000))
		},
		"invalid UTF-8 and NUL": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{\"\xff\x00\":\"\xfe\x00\"}")
		},
	}
}

// ServeAnswer starts a loopback server answering every request with h, but
// the requests accept (an access token, say) answers itself.
func ServeAnswer(t testing.TB, h http.HandlerFunc, accept func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if accept != nil && accept(w, r) {
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
