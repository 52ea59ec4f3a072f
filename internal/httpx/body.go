package httpx

import (
	"bytes"
	"io"
	"net/http"
)

// bodyTransport reads a 2xx body whole, through the client's size limit,
// inside the round trip. A failure while reading it (a reset, the server
// closing early, a stall past the attempt timeout) is then an error of the
// attempt, which the retry policy sees like a failure before the headers: a
// GET is retried, a creation POST is not (the request was sent). A body over
// the limit is not an attempt failure: it is handed on, unread past the
// limit, for Do to refuse with ErrBodyTooLarge. A body read whole goes to Do
// through the call's attempt, uncopied (the response keeps http.NoBody).
type bodyTransport struct {
	next  http.RoundTripper
	limit int64
}

func (t *bodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 || resp.Body == nil || resp.ContentLength > t.limit {
		return resp, err
	}
	body := resp.Body
	raw, err := readAtMost(body, t.limit+1, resp.ContentLength)
	if err != nil {
		_ = body.Close()
		return nil, &bodyReadError{err: err}
	}
	if int64(len(raw)) > t.limit {
		resp.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(raw), body), Closer: body}
		return resp, nil
	}
	_ = body.Close()
	resp.ContentLength = int64(len(raw))
	// Within Do, the body goes to Do through the attempt, uncopied; the
	// response keeps an empty body.
	if a := attemptFrom(req.Context()); a != nil {
		a.resp, a.respRaw = resp, raw
		resp.Body = http.NoBody
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp, nil
}

// readAtMost reads r to its end, or until it has max bytes, into one buffer
// sized from hint (the Content-Length, -1 when unknown) when it is known.
func readAtMost(r io.Reader, max, hint int64) ([]byte, error) {
	size := int64(512)
	if hint >= 0 {
		size = hint + 1 // one byte more, to see the end without growing
	}
	b := make([]byte, 0, min(size, max))
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow
		}
		n, err := r.Read(b[len(b):min(int64(cap(b)), max)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return b, err
		case int64(len(b)) >= max:
			return b, nil
		}
	}
}

// prefixedBody is a body whose first bytes were already read.
type prefixedBody struct {
	io.Reader
	io.Closer
}

// bodyReadError is a failure while reading a 2xx body: a transport failure,
// not a malformed answer.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "reading the response body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }
