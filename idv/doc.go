// Package idv is a client for the server-side session initiation of the
// Regula IDV platform, an identity verification platform (document reading,
// liveness, face match) that runs workflows on a host of your own deployment.
//
// Your backend keeps the API key and starts sessions; the person's phone or
// browser only ever receives a short-lived device token inside a handoff URL:
//
//  1. [Client.CreateEphemeralDevice]: POST /api/device/ephemeral with the API
//     key gives a device token that lives for a TTL and sees only its own data.
//  2. [Client.StartSession]: POST /api/sessions?workflowId=... with the device
//     token (not the API key) starts a session, metadata carrying your user id
//     ([WithExternalUserID]).
//  3. [Client.HandoffURL] / [BuildHandoffURL]: https://HOST/capture?url=...
//     hands the session to the person's device.
//  4. [Client.GetSession]: GET /api/sessions/{id} with the API key reads the
//     result: a typed [SessionStatus] and the raw properties.
//
// [Client.Initiate] does steps 1 to 3 in one call. [Client.CreateDeepLink]
// (POST /api/v1/deeplink) is the platform's newer single call.
//
// # Auth
//
// The base URL is required (the host differs per deployment), given to
// [NewClient] or with [WithBaseURL], and must be https; [WithInsecureHTTP] allows http for a local fake such as the one in
// package idvtest. The API key is sent as "Authorization: ApiKey <key>"
// ([WithAuthScheme] changes the scheme). A device token is sent as
// "Authorization: Token <token>", or as given when it already has a scheme.
//
// # Errors
//
// Bad input is a [*ValidationError] (errors.Is [ErrInvalidInput]) before any
// network call. A non-2xx answer is an [*APIError] matching a sentinel such as
// [ErrUnauthorized] (a wrong API key, or an expired device token) or
// [ErrNotFound]; an unusable 2xx body is a [*DecodeError] (Kind
// [ErrEmptyBody], [ErrNotJSON], [ErrTruncatedJSON], [ErrMissingField],
// [ErrBodyTooLarge] or [ErrMalformedResponse]); no answer is a
// [*TransportError]. The alias docs list each type's fields. The sentinels
// are shared by every sdkbroker package. Every id and string input is
// bounded ([MaxIDLength] and its siblings) and no error repeats an input.
//
// # Lifecycle
//
// A [Client] is built once and shared. [Client.Close] releases what it owns
// and is safe to call twice; calls after Close fail with [ErrClosed]. A nil
// or zero Client prints as "idv.Client{}" and its calls return a
// [*ValidationError] rather than panicking.
//
// # Retries
//
// GetSession is retried on 429, 502, 503, 504 and connection errors, honouring
// Retry-After within [WithRetry]'s bounds. Calls that create something (a
// device, a session, a deep link) are retried only on 429 or when the request
// never reached the server; a 5xx is returned at once and [IsRetryable]
// reports whether trying again later may work.
//
// # Secrets
//
// The API key and device tokens never appear in errors, logs or fmt output:
// [Credentials], [EphemeralDevice], [Handoff], [DeepLink] and [Client] print
// them redacted, and the optional logger ([WithLogger]) sees method, host,
// path, status and attempt only. The one place a token appears is the
// handoff URL itself, whose purpose is to carry it; print it with
// [RedactHandoffURL].
//
// # Assumed choices
//
// Where the vendor's documentation is silent, these choices are ours, each in
// one place:
//
//   - [DefaultAuthScheme] "ApiKey" before the API key (one vendor page shows
//     the bare key): [WithAuthScheme].
//   - [DeviceTokenScheme] "Token" before a device token that has no scheme.
//   - TTL limits [MinTTL] 1 s to [MaxTTL] 24 h in whole seconds, [DefaultTTL]
//     1 h for a zero TTL.
//   - The session id is the answer's "id" field (required); workflowId,
//     createdAt, updatedAt, metadata and, for devices, expiresAt are optional
//     fields read when present. Timestamps are RFC 3339 strings or Unix
//     seconds (milliseconds when too large for seconds).
//   - An expiry the platform does not send is the client's clock when the
//     request was sent plus the TTL ([WithClock] for tests).
//   - The handoff URL's /capture and /mobile pages are resolved against the
//     base URL like the API routes, keeping its scheme and any path prefix.
//   - Tokens, ids and workflow ids must be valid UTF-8 without control
//     characters; invalid UTF-8 is refused, not passed through as bytes.
//   - Input bounds: ids [MaxIDLength] (128 bytes), locale [MaxLocaleLength],
//     API key and device token [MaxTokenLength] (4 KiB), metadata keys
//     [MaxMetadataKeyLength], string values [MaxMetadataValueLength] (1 KiB)
//     and the whole [MaxMetadataSize] (16 KiB of JSON), at most
//     [MaxWorkflowIDs] workflows per deep link.
//   - [SessionStatus] names the documented integer codes and keeps any other
//     value verbatim.
package idv
