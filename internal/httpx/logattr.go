package httpx

import (
	"context"
	"errors"
	"log/slog"
	"strings"
)

// ErrorLogAttr describes err for the debug log by its kind, HTTP status and
// vendor error code only: never its message, which may echo vendor text
// (and through it a user id or an input).
func ErrorLogAttr(err error) slog.Attr {
	attrs := make([]slog.Attr, 0, 4)
	var (
		apiErr *APIError
		decErr *DecodeError
		trErr  *TransportError
		valErr *ValidationError
	)
	switch {
	case errors.As(err, &valErr):
		attrs = append(attrs, slog.String("kind", "invalid_input"), slog.String("field", logToken(valErr.Field)))
	case errors.As(err, &apiErr):
		attrs = append(attrs, slog.String("kind", "api"), slog.Int("status", apiErr.StatusCode))
		if apiErr.Code != "" {
			attrs = append(attrs, slog.String("code", logToken(apiErr.Code)))
		}
		if apiErr.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", logToken(apiErr.RequestID)))
		}
	case errors.As(err, &decErr):
		attrs = append(attrs, slog.String("kind", "decode"), slog.Int("status", decErr.StatusCode))
		if decErr.Kind != nil {
			attrs = append(attrs, slog.String("reason", decErr.Kind.Error()))
		}
	case errors.As(err, &trErr):
		attrs = append(attrs, slog.String("kind", "transport"), slog.Bool("sent", trErr.Sent))
	default:
		attrs = append(attrs, slog.String("kind", "other"))
	}
	switch {
	case errors.Is(err, context.Canceled):
		attrs = append(attrs, slog.String("cause", "canceled"))
	case errors.Is(err, context.DeadlineExceeded):
		attrs = append(attrs, slog.String("cause", "deadline_exceeded"))
	}
	return slog.Attr{Key: "error", Value: slog.GroupValue(attrs...)}
}

// logToken returns s when it looks like a code or an id a vendor or this
// library chose (at most 64 bytes of letters, digits and "._-:/"), else
// "[other]", so that vendor text cannot reach the log through it.
func logToken(s string) string {
	if len(s) > 64 {
		return "[other]"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:/", c) >= 0) {
			return "[other]"
		}
	}
	return s
}
