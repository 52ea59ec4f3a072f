package httpx

import (
	"encoding/json"
	"io"
	"net/http"
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
	// An error body is only read for its details: an excerpt is enough.
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, min(c.maxBody, maxErrorRead)))
	d := c.parseErr(resp.StatusCode, resp.Header, raw)
	if d.RequestID == "" {
		d.RequestID = requestIDFromHeader(resp.Header)
	}
	e := &APIError{
		Vendor:     c.vendor,
		Method:     method,
		Path:       path,
		StatusCode: resp.StatusCode,
		Code:       capString(c.redactor.Redact(d.Code, secrets...), 64),
		Message:    capString(c.redactor.Redact(d.Message, secrets...), maxMessage),
		RequestID:  capString(c.redactor.Redact(d.RequestID, secrets...), 128),
		Attempts:   attempts,
	}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	if len(raw) > 0 {
		e.Body = []byte(c.redactor.Redact(capString(string(raw), MaxErrorBody), secrets...))
	}
	return e
}

// capString cuts s to at most n bytes on a rune boundary and drops control
// characters, so a vendor string cannot forge log lines.
func capString(s string, n int) string {
	out := make([]rune, 0, min(len(s), n))
	size := 0
	for _, r := range s {
		if r == utf8.RuneError || (r < 0x20 && r != ' ') || r == 0x7f {
			continue
		}
		size += utf8.RuneLen(r)
		if size > n {
			break
		}
		out = append(out, r)
	}
	return string(out)
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
