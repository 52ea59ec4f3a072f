// Package httpx is the one HTTP core shared by every sdkbroker vendor client.
//
// A vendor package builds a [Client] once from a [Config] (base URL, the caller's
// *http.Client, timeouts, [RetryPolicy], *slog.Logger, user agent, an auth
// function and the secrets to scrub) and sends every call through [Client.Do],
// which:
//
//   - builds the URL from a base URL that always ends in "/" and a relative path
//     whose segments are escaped with url.PathEscape ([Path]);
//   - encodes a JSON or form body and query parameters from url.Values or a
//     struct with go-querystring `url:"..."` tags;
//   - retries through go-retryablehttp with our own policy (below);
//   - reads a 2xx body whole inside the attempt, through a size limit (default
//     1 MiB), so a failure while reading it is an attempt failure the retry
//     policy sees; then decodes JSON, telling an empty body, a non-JSON body (an
//     HTML error page), truncated JSON and a missing required field apart
//     ([DecodeError]);
//   - turns every non-2xx answer into an [*APIError] that unwraps to a shared
//     sentinel ([ErrNotFound], [ErrRateLimited], ...).
//
// # Transport
//
// A Config without an HTTPClient (or with one whose Transport is nil) sends
// through http.DefaultTransport as it is when each request is sent, never a
// copy taken by [New]: httpmock.Activate, before or after New, intercepts,
// and a program that wrapped the default transport keeps its wrapping. The
// Client owns no connections, so [Client.Close] has nothing to release.
//
// Each attempt is bounded by the client's timeout (the HTTPClient's Timeout,
// else Config.Timeout, default 30 s), from sending the request to the end of
// the answer's body, redirects included; a retry gets a fresh one. It is a
// context deadline set by the client's own transport, not http.Client's
// Timeout (which, in front of any transport but a bare *http.Transport,
// costs a goroutine and a timer per request); when the caller's context
// ends sooner, it alone applies.
//
// # Cost
//
// [Client.Do] builds each request once: the URL from the parsed base URL and
// the path (no string parsed again), the headers from values built by [New]
// (Config.Header, the User-Agent and the credential Config.Auth set), and
// one allocation holds the call's state (its context, its connection trace,
// whose two hooks are its methods, the go-retryablehttp request and the
// first body reader). BenchmarkDo_InProcess and BenchmarkDo_Loopback
// compare it with a hand-written net/http + encoding/json call, and
// TestDo_AllocsPerCall keeps it within 8 allocations of the cheapest one.
//
// # Retries
//
// Only 429, 502, 503 and 504 answers, connection failures, timeouts and
// failures while reading a 2xx body (a reset, the server closing early, a
// stall past the attempt timeout) are retried; every other status, 500 and 501
// included, is returned at once. Waits grow exponentially with jitter between
// RetryPolicy.MinWait and MaxWait; a Retry-After (seconds or an HTTP date) is
// honoured but never waited longer than MaxWait; retrying stops at once when
// the context ends.
//
// A request that is not idempotent (a POST or PATCH without
// Request.Idempotent: one that creates a token, a code, a device or a session)
// is retried only on 429 or when it provably never reached the server: the
// transport never obtained a connection (dial, DNS or TLS handshake failure,
// seen through net/http/httptrace), or, for transports that report no
// connection events (mocks), the error itself is a dial, DNS or handshake
// error. A 502, 503 or 504, a timeout after the request was written, or a
// failure while reading the body is returned at once, as an error for which
// [IsRetryable] reports true, so the caller decides; any other 5xx is returned
// with IsRetryable false.
//
// # Secrets
//
// Secrets never reach an error string or a log line: [APIError] keeps the
// vendor's code and message, scrubbed by [Redactor], and never prints the body,
// headers or the query string; the retryablehttp logger is an adapter onto
// log/slog that logs method, host, path, status, attempt and wait only, and is
// silent unless a logger is configured. [Secret] is a string that prints as
// [REDACTED] under every fmt verb and in slog.
package httpx
