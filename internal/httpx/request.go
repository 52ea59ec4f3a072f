package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-querystring/query"
	"github.com/hashicorp/go-retryablehttp"
)

// Request describes one call. The zero value is a GET of the base URL.
type Request struct {
	// Method is the HTTP method (default GET).
	Method string
	// Path is relative to the base URL; build it with [Path] so segments are
	// escaped. A leading "/" is ignored, so the base URL's own path is kept.
	Path string
	// BaseURL, when set, replaces the client's base URL for this call (a
	// vendor with several hosts). It must be an absolute http(s) URL.
	BaseURL string
	// Query is url.Values or a struct with go-querystring `url:"..."` tags.
	Query any
	// JSON, when not nil, is encoded as the JSON body.
	JSON any
	// Form, when not nil, is sent as an application/x-www-form-urlencoded body.
	Form url.Values
	// Header holds extra headers for this call.
	Header http.Header
	// Auth, when not nil, sets this call's credential instead of the client's.
	Auth func(http.Header)
	// Idempotent marks a POST or PATCH as safe to retry like a GET. Leave it
	// false for calls that create something (a token, code, device, session):
	// they are retried only on 429 or when they never reached the server.
	Idempotent bool
	// Accept is the Accept header (default application/json).
	Accept string
	// Secrets are extra values to scrub from this call's errors and log
	// lines (a token created a moment ago, say).
	Secrets []string
}

// Response is what a successful call returns besides the decoded value.
type Response struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
}

// ResponseValidator is implemented by response types with required fields:
// Do calls ValidateResponse after decoding, and an error (use [MissingField])
// becomes a [*DecodeError].
type ResponseValidator interface {
	ValidateResponse() error
}

// Path joins segments into a relative path, escaping each with
// url.PathEscape; "." and ".." are escaped too, so an id can never climb out
// of its route. Path("v2", "authentications", id) is "v2/authentications/<id>".
func Path(segments ...string) string {
	var b strings.Builder
	for i, s := range segments {
		if i > 0 {
			b.WriteByte('/')
		}
		switch s {
		case ".":
			b.WriteString("%2E")
		case "..":
			b.WriteString("%2E%2E")
		default:
			b.WriteString(url.PathEscape(s))
		}
	}
	return b.String()
}

// Do sends req and decodes a 2xx answer into out: nil discards the body, a
// *[]byte or *string receives it raw, anything else is decoded as JSON (and
// checked with [ResponseValidator] when it implements it). A non-2xx answer
// is an [*APIError]; no answer, or a failure while reading the body, is a
// [*TransportError]; an unusable 2xx body is a [*DecodeError].
func (c *Client) Do(ctx context.Context, req *Request, out any) (*Response, error) {
	if ctx == nil {
		return nil, Invalid("ctx", "is nil")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	u, err := c.url(req)
	if err != nil {
		return nil, err
	}
	body, contentType, err := encodeBody(req)
	if err != nil {
		return nil, err
	}
	a := &attempt{client: c, secrets: req.Secrets, idempotent: req.Idempotent || (method != http.MethodPost && method != http.MethodPatch)}
	rreq, err := retryablehttp.NewRequestWithContext(withAttempt(ctx, a), method, u.String(), body)
	if err != nil {
		return nil, Invalid("request", "cannot be built")
	}
	c.setHeaders(rreq.Header, req, contentType)

	path := u.EscapedPath()
	if err := ctx.Err(); err != nil {
		return nil, c.transportError(ctx, method, path, a, err)
	}
	resp, err := c.rc.Do(rreq)
	if err != nil {
		if resp != nil {
			closeBody(resp.Body)
		}
		return nil, c.transportError(ctx, method, path, a, err)
	}
	defer closeBody(resp.Body)
	attempts := int(a.number.Load())

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.apiError(method, path, resp, attempts, req.Secrets)
	}
	meta := &Response{StatusCode: resp.StatusCode, Header: resp.Header}
	// bodyTransport read the body inside the round trip, so a read failure
	// was an attempt failure, seen by the retry policy; should one still
	// happen here, it is a transport failure too, never a malformed answer.
	raw, err := readLimited(resp, c.maxBody)
	if errors.Is(err, ErrBodyTooLarge) {
		return nil, c.decodeError(method, path, resp.StatusCode, err)
	}
	if err != nil {
		return nil, c.transportError(ctx, method, path, a, &bodyReadError{err: err})
	}
	if err := decodeInto(raw, out); err != nil {
		return nil, c.decodeError(method, path, resp.StatusCode, err)
	}
	return meta, nil
}

func (c *Client) url(req *Request) (*url.URL, error) {
	base := c.base
	if req.BaseURL != "" {
		b, err := ParseBaseURL(req.BaseURL, false)
		if err != nil {
			return nil, err
		}
		base = b
	}
	escaped := strings.TrimLeft(req.Path, "/")
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, Invalid("path", "is not a valid escaped path")
	}
	u := base.ResolveReference(&url.URL{Path: unescaped, RawPath: escaped})
	q, err := encodeQuery(req.Query)
	if err != nil {
		return nil, err
	}
	u.RawQuery = q
	return u, nil
}

func encodeQuery(q any) (string, error) {
	switch v := q.(type) {
	case nil:
		return "", nil
	case url.Values:
		return v.Encode(), nil
	case map[string][]string:
		return url.Values(v).Encode(), nil
	}
	vals, err := query.Values(q)
	if err != nil {
		return "", Invalid("query", "cannot be encoded")
	}
	return vals.Encode(), nil
}

func encodeBody(req *Request) ([]byte, string, error) {
	switch {
	case req.JSON != nil && req.Form != nil:
		return nil, "", Invalid("body", "both JSON and form given")
	case req.JSON != nil:
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return nil, "", Invalid("body", "cannot be encoded as JSON")
		}
		return b, "application/json", nil
	case req.Form != nil:
		return []byte(req.Form.Encode()), "application/x-www-form-urlencoded", nil
	}
	return nil, "", nil
}

func (c *Client) setHeaders(h http.Header, req *Request, contentType string) {
	for k, v := range c.header {
		h[k] = append([]string(nil), v...)
	}
	h.Set("User-Agent", c.userAgent)
	if req.Accept != "" {
		h.Set("Accept", req.Accept)
	} else {
		h.Set("Accept", "application/json")
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	for k, v := range req.Header {
		h[k] = append([]string(nil), v...)
	}
	switch {
	case req.Auth != nil:
		req.Auth(h)
	case c.auth != nil:
		c.auth(h)
	}
}

func closeBody(b io.ReadCloser) {
	if b == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 4<<10))
	_ = b.Close()
}

// readLimited reads at most limit bytes; a larger body (by Content-Length or
// by reading one byte past the limit) is ErrBodyTooLarge.
func readLimited(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, ErrBodyTooLarge
	}
	return raw, nil
}

// decodeInto implements Do's rules for out.
func decodeInto(raw []byte, out any) error {
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = raw
		return nil
	case *string:
		*o = string(raw)
		return nil
	}
	if err := DecodeJSON(raw, out); err != nil {
		return err
	}
	if v, ok := out.(ResponseValidator); ok {
		if err := v.ValidateResponse(); err != nil {
			return err
		}
	}
	return nil
}

// DecodeJSON decodes raw into out and classifies failures as a *DecodeError
// of kind ErrEmptyBody, ErrNotJSON, ErrTruncatedJSON or ErrMalformedResponse.
// Unknown fields are ignored.
func DecodeJSON(raw []byte, out any) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return &DecodeError{Kind: ErrEmptyBody}
	}
	switch trimmed[0] {
	case '{', '[', '"':
	default:
		if !json.Valid(trimmed) {
			return &DecodeError{Kind: ErrNotJSON}
		}
	}
	err := json.Unmarshal(trimmed, out)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &syn) && syn.Offset >= int64(len(trimmed)) && strings.Contains(syn.Error(), "end of JSON")):
		return &DecodeError{Kind: ErrTruncatedJSON}
	case errors.As(err, &typ):
		return &DecodeError{Kind: ErrMalformedResponse, Field: typ.Field, Err: errors.New("field has the wrong type")}
	case errors.As(err, &syn):
		return &DecodeError{Kind: ErrNotJSON, Err: errors.New("syntax error")}
	}
	return &DecodeError{Kind: ErrMalformedResponse}
}

func (c *Client) decodeError(method, path string, status int, err error) error {
	var de *DecodeError
	if !errors.As(err, &de) {
		kind := ErrMalformedResponse
		if errors.Is(err, ErrBodyTooLarge) {
			kind = ErrBodyTooLarge
			err = nil
		}
		de = &DecodeError{Kind: kind, Err: err}
	}
	out := *de
	out.Vendor, out.Method, out.Path, out.StatusCode = c.vendor, method, path, status
	return &out
}

func (c *Client) transportError(ctx context.Context, method, path string, a *attempt, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // url.Error's message carries the full URL, query included
	}
	te := &TransportError{Vendor: c.vendor, Method: method, Path: path, Attempts: int(a.number.Load()), Err: err}
	te.Sent = a.number.Load() > 0 && a.reachedServer(err)
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		te.Err = errors.Join(ctxErr, err)
	}
	te.retryable = ctx.Err() == nil && !errors.Is(err, ErrRedirectRefused) && !errors.Is(err, context.Canceled) && !isCertVerifyError(err)
	if msg := err.Error(); c.redactor.Redact(msg) != msg {
		te.Err = &redactedError{msg: c.redactor.Redact(msg), err: err}
	}
	return te
}

// redactedError keeps the chain of an error whose message held a secret.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
