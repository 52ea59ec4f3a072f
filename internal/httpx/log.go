package httpx

import (
	"context"
	"log/slog"
	"net/url"
	"time"
)

const levelDebug = slog.LevelDebug

func attrVendor(v string) slog.Attr      { return slog.String("vendor", v) }
func attrMethod(v string) slog.Attr      { return slog.String("method", v) }
func attrHost(v string) slog.Attr        { return slog.String("host", v) }
func attrPath(v string) slog.Attr        { return slog.String("path", v) }
func attrStatus(v int) slog.Attr         { return slog.Int("status", v) }
func attrAttempt(v int) slog.Attr        { return slog.Int("attempt", v) }
func attrRequestID(v string) slog.Attr   { return slog.String("request_id", v) }
func attrWait(v time.Duration) slog.Attr { return slog.Duration("wait", v) }

// slogAdapter is the retryablehttp.LeveledLogger handed to go-retryablehttp.
// retryablehttp passes full URLs (with query strings), error strings and
// request descriptions; the adapter keeps only an allow-list (method, the
// URL's host and path, wait and remaining retries) and drops the rest, so no
// query string, header or body can reach the log. Its per-attempt lines are
// dropped too: loggingTransport logs each attempt with its status.
type slogAdapter struct {
	l      *slog.Logger
	vendor string
}

func (a *slogAdapter) Error(msg string, kv ...any) { a.log(slog.LevelWarn, msg, kv) }
func (a *slogAdapter) Info(msg string, kv ...any)  { a.log(slog.LevelInfo, msg, kv) }
func (a *slogAdapter) Debug(msg string, kv ...any) { a.log(slog.LevelDebug, msg, kv) }
func (a *slogAdapter) Warn(msg string, kv ...any)  { a.log(slog.LevelWarn, msg, kv) }

func (a *slogAdapter) log(level slog.Level, msg string, kv []any) {
	if msg == "performing request" || msg == "request failed" {
		return // loggingTransport logs every attempt, with its outcome
	}
	ctx := context.Background()
	if !a.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, attrVendor(a.vendor))
	for i := 0; i+1 < len(kv); i += 2 {
		key, _ := kv[i].(string)
		switch v := kv[i+1]; key {
		case "method":
			if s, ok := v.(string); ok {
				attrs = append(attrs, attrMethod(s))
			}
		case "url":
			if u := asURL(v); u != nil {
				attrs = append(attrs, attrHost(u.Host), attrPath(u.EscapedPath()))
			}
		case "timeout", "wait":
			if d, ok := v.(time.Duration); ok {
				attrs = append(attrs, attrWait(d))
			}
		case "remaining":
			if n, ok := v.(int); ok {
				attrs = append(attrs, slog.Int("remaining", n))
			}
		}
	}
	a.l.LogAttrs(ctx, level, "retryablehttp: "+msg, attrs...)
}

func asURL(v any) *url.URL {
	switch u := v.(type) {
	case *url.URL:
		return u
	case string:
		p, err := url.Parse(u)
		if err != nil {
			return nil
		}
		return p
	}
	return nil
}
