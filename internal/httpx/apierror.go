package httpx

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// maxErrorRead caps how much of an error answer is read.
const maxErrorRead = 64 << 10

// requestIDHeaders are the headers vendors use for a request id, in order.
var requestIDHeaders = [...]string{"X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Amzn-Requestid", "X-Trace-Id"}

func requestIDFromHeader(h http.Header) string {
	for _, k := range requestIDHeaders {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func (c *Client) apiError(method, path string, resp *http.Response, attempts int, secrets []string) error {
	// An error body is only read for its details: an excerpt is enough. One
	// byte past the limit tells a body that was cut from one that fit.
	limit := min(c.maxBody, maxErrorRead)
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	truncated := int64(len(raw)) > limit
	if truncated {
		raw = raw[:limit]
	}
	d := c.parseErr(resp.StatusCode, resp.Header, raw)
	if d.RequestID == "" {
		d.RequestID = requestIDFromHeader(resp.Header)
	}
	e := &APIError{
		Vendor:     c.vendor,
		Method:     method,
		Path:       path,
		StatusCode: resp.StatusCode,
		Code:       c.redactor.excerpt(d.Code, 64, truncated, secrets),
		Message:    c.redactor.excerpt(d.Message, maxMessage, truncated, secrets),
		RequestID:  c.redactor.excerpt(d.RequestID, 128, truncated, secrets),
		Attempts:   attempts,
	}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	if len(raw) > 0 {
		if body := c.redactor.excerpt(string(raw), MaxErrorBody, truncated, secrets); body != "" {
			e.Body = []byte(body)
		}
	}
	return e
}

// stripControl drops invalid UTF-8 and control characters (other than the
// space), so a vendor string cannot forge log lines.
func stripControl(s string) string {
	clean := true
	for _, r := range s {
		if isDropped(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !isDropped(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isDropped(r rune) bool { return r == utf8.RuneError || (r < 0x20 && r != ' ') || r == 0x7f }

// cutString cuts s to at most n bytes on a rune boundary and reports whether
// anything was cut.
func cutString(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], true
}

// ParseErrorBody is the generic [ErrorParser]: it reads a JSON object with
// the common field names (code / errorCode / error, message / error_description
// / detail / msg, ref / request_id / requestId / traceId), including one level
// of nesting under "error". A non-JSON body gives empty details.
func ParseErrorBody(_ int, _ http.Header, body []byte) ErrorDetails {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ErrorDetails{}
	}
	var d ErrorDetails
	d.Code = firstString(m, "errorCode", "error_code", "code", "error")
	d.Message = firstString(m, "message", "error_description", "detail", "msg", "title")
	d.RequestID = firstString(m, "ref", "request_id", "requestId", "traceId", "trace_id")
	if nested, ok := m["error"]; ok {
		var n map[string]json.RawMessage
		if json.Unmarshal(nested, &n) == nil {
			if d.Code == "" {
				d.Code = firstString(n, "code", "type", "errorCode")
			}
			if d.Message == "" {
				d.Message = firstString(n, "message", "detail")
			}
		}
	}
	return d
}

func firstString(m map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		raw, ok := m[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return s
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil && n != "" {
			return n.String()
		}
	}
	return ""
}
