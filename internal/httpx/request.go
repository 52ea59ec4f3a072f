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
// [*TransportError]; an unusable 2xx body is a [*DecodeError]; a nil ctx or
// req, or a request that cannot be built, is a [*ValidationError].
func (c *Client) Do(ctx context.Context, req *Request, out any) (*Response, error) {
	if ctx == nil {
		return nil, Invalid("ctx", "is nil")
	}
	if req == nil {
		return nil, Invalid("request", "is nil")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	var u url.URL
	if err := c.resolve(&u, req); err != nil {
		return nil, err
	}
	body, contentType, err := encodeBody(req)
	if err != nil {
		return nil, err
	}
	a := &attempt{Context: ctx, client: c, secrets: req.Secrets, idempotent: req.Idempotent || (method != http.MethodPost && method != http.MethodPatch)}
	// The request is built once, from the resolved URL, never through a
	// string parsed again: NewRequestWithContext with an empty URL gives the
	// *http.Request (with its context) and a *url.URL to fill in.
	hreq, err := http.NewRequestWithContext(a.withTrace(), method, "", nil)
	if err != nil {
		return nil, Invalid("request", "cannot be built")
	}
	*hreq.URL = u
	hreq.Host = strings.TrimSuffix(u.Host, ":") // as NewRequest does (an empty port dropped)
	switch {
	case len(body) > 0:
		a.reqBody = body
		a.firstBody.Reset(body)
		hreq.Body = io.NopCloser(&a.firstBody)
		hreq.GetBody = a.getBody
		hreq.ContentLength = int64(len(body))
	case contentType != "":
		hreq.Body = http.NoBody
		hreq.GetBody = noBody
	}
	c.setHeaders(hreq.Header, req, contentType)

	if err := ctx.Err(); err != nil {
		return nil, c.transportError(ctx, method, u.EscapedPath(), a, err)
	}
	a.rreq.Request = hreq
	resp, err := c.rc.Do(&a.rreq)
	if err != nil {
		if resp != nil {
			closeBody(resp.Body)
		}
		return nil, c.transportError(ctx, method, u.EscapedPath(), a, err)
	}
	// bodyTransport read a 2xx body inside the round trip; otherwise the
	// body is still to read (an error answer, or one over the limit).
	raw, read := a.takeBody(resp)
	if read {
		_ = resp.Body.Close()
	} else {
		defer closeBody(resp.Body)
	}
	attempts := int(a.number.Load())

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.apiError(method, u.EscapedPath(), resp, attempts, req.Secrets)
	}
	meta := &Response{StatusCode: resp.StatusCode, Header: resp.Header}
	if !read {
		// Should a read failure still happen here, it is a transport
		// failure too, never a malformed answer.
		raw, err = readLimited(resp, c.maxBody)
		if errors.Is(err, ErrBodyTooLarge) {
			return nil, c.decodeError(method, u.EscapedPath(), resp.StatusCode, err)
		}
		if err != nil {
			return nil, c.transportError(ctx, method, u.EscapedPath(), a, &bodyReadError{err: err})
		}
	}
	if err := decodeInto(raw, out); err != nil {
		return nil, c.decodeError(method, u.EscapedPath(), resp.StatusCode, err)
	}
	return meta, nil
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// resolve sets dst to the URL of req: its path beneath the base URL (the
// client's, or req.BaseURL) and its query. A path of plain characters under
// a base without dot segments (the common case: [Path] of ordinary ids) is
// appended to the base path directly; any other path goes through
// url.URL.ResolveReference, which the direct way matches exactly where it
// is taken.
func (c *Client) resolve(dst *url.URL, req *Request) error {
	base, baseEsc, baseDots := c.base, c.baseEscPath, c.baseDots
	if req.BaseURL != "" {
		b, err := ParseBaseURL(req.BaseURL, false)
		if err != nil {
			return err
		}
		base, baseEsc = b, b.EscapedPath()
		baseDots = hasDotSegment(baseEsc)
	}
	escaped := strings.TrimLeft(req.Path, "/")
	if !baseDots && isPlainPath(escaped) {
		*dst = *base
		dst.Path = base.Path + escaped
		if base.RawPath != "" {
			dst.RawPath = baseEsc + escaped
		}
	} else {
		unescaped, err := url.PathUnescape(escaped)
		if err != nil {
			return Invalid("path", "is not a valid escaped path")
		}
		*dst = *base.ResolveReference(&url.URL{Path: unescaped, RawPath: escaped})
	}
	q, err := encodeQuery(req.Query)
	if err != nil {
		return err
	}
	dst.RawQuery = q
	return nil
}

// isPlainPath reports whether p is made only of bytes that a URL path keeps
// as they are (unescaped, and never escaped by url.URL) and has no "." or
// ".." segment: its escaped and unescaped forms are then p itself.
func isPlainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '~', c == '$', c == '&', c == '+', c == ',', c == '/', c == ':', c == ';', c == '=', c == '@':
		default:
			return false
		}
	}
	return !hasDotSegment(p)
}

// hasDotSegment reports whether the slash-separated path p has a "." or
// ".." segment.
func hasDotSegment(p string) bool {
	for p != "" {
		seg, rest, _ := strings.Cut(p, "/")
		if seg == "." || seg == ".." {
			return true
		}
		p = rest
	}
	return false
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
		return b, contentTypeJSON[0], nil
	case req.Form != nil:
		return []byte(req.Form.Encode()), contentTypeForm[0], nil
	}
	return nil, "", nil
}

// Content-Type values, shared by every request (never modified in place).
var (
	contentTypeJSON = []string{"application/json"}
	contentTypeForm = []string{"application/x-www-form-urlencoded"}
)

// setHeaders fills the headers of one request: the client's fixed headers
// (Config.Header, User-Agent, Accept), this call's Accept and Content-Type,
// its Header, then its Auth or else the client's credential. The client's
// values were built by New (see headerSetter).
func (c *Client) setHeaders(h http.Header, req *Request, contentType string) {
	c.setFixed(h)
	if req.Accept != "" {
		h["Accept"] = []string{req.Accept}
	}
	switch contentType {
	case "":
	case contentTypeJSON[0]:
		h["Content-Type"] = contentTypeJSON
	case contentTypeForm[0]:
		h["Content-Type"] = contentTypeForm
	default:
		h["Content-Type"] = []string{contentType}
	}
	for k, v := range req.Header {
		h[k] = append([]string(nil), v...)
	}
	switch {
	case req.Auth != nil:
		req.Auth(h)
	case c.setAuth != nil:
		c.setAuth(h)
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
