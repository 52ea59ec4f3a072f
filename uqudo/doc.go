// Package uqudo is a typed client for uqudo's server-side QR-code flow.
// uqudo verifies identities (KYC): it scans identity documents, reads their
// NFC chips, matches the holder's face and runs background checks, all in
// its mobile SDK or its QR reader app.
//
// # Flow
//
//  1. [Client.AccessToken] gets an OAuth 2 client-credentials token (cached,
//     shared by every call; hand it to the SDK if your app embeds it).
//  2. [Client.CreateSession] creates a QR session from a [SessionData] (what
//     to scan; start from [NewSessionData]), encoded as base64 JSON; store
//     Session.ID with your user and show Session.QRCodeText as a QR code.
//  3. The user scans it with uqudo's app and completes the flow.
//  4. A webhook ([NewWebhookHandler]) receives the signed result, or
//     [Client.Info] fetches it; both verify the JWS with a [Verifier].
//     Result.SessionID (the jti) is the session id you stored, so it names
//     the user; with sdkbroker's broker, b.Owner(ctx, broker.Uqudo,
//     result.SessionID) returns them.
//  5. [Client.DeleteInfo] purges the result at uqudo once you stored it.
//  6. [Client.Close] releases the client's background work when you are done.
//
// # Hosts and authentication
//
// Three services, each with its own base URL option: tokens at
// [DefaultAuthURL] ([WithAuthURL]), QR sessions at [DefaultSessionURL]
// ([WithSessionURL]), results and the JWKS at [DefaultAPIURL]
// ([WithAPIURL], reported by [Client.BaseURL]); [WithBaseURL] sets all
// three (the uqudotest fake serves them on one handler). The client id and secret ([Credentials]) are sent
// only to the token endpoint, form-encoded; every other call carries
// "Authorization: Bearer <access token>". The token is cached through
// sdkbroker's token cache and refreshed once, in the background, ahead of
// its expiry (expires_in, a number or a string); concurrent callers share
// one request. A 401 on any call drops that token and retries the call once
// with a fresh one. A 401 from the token endpoint itself is
// [ErrBadCredentials]; it is remembered for [TokenFailureBackoff] rather
// than retried in a loop.
//
// # Results
//
// Results are compact JWSs signed RS256 by a key of uqudo's JWKS
// ([DefaultJWKSURL]). A [Verifier] caches the JWKS for
// [DefaultJWKSRefreshInterval] (shortened by a Cache-Control max-age) and
// then downloads it again, dropping retired keys; an unknown kid triggers a
// download at most once per [DefaultJWKSMinRefresh], and within that
// interval is a retryable [ErrJWKSUnavailable] (the webhook answers 503),
// never a permanent rejection; a failed download is retried after a backoff
// of 1 s doubling up to that interval. It accepts RS256 only (none, HS256
// and keys other than RSA are refused), requires jti to equal the session
// id, aud to contain the client id when configured, exp, nbf and iat to hold
// within a leeway, a result without exp to be at most [DefaultMaxResultAge]
// old by its iat (one with neither is refused), and optionally a nonce.
// Every rejection matches [ErrInvalidResult] plus a specific error such as
// [ErrExpiredResult].
//
// A result uqudo posts to the webhook again (the same jti, within the
// deduper's window) is a replay: with [WithDedup] the handler answers it
// 200 without calling your callback again, through [NewMemoryDeduper]
// (this process only) or broker.NewStoreDeduper over a Store the replicas
// share (such as broker/redisstore's).
//
// # Errors and retries
//
// Bad input gives a [*ValidationError] (errors.Is [ErrInvalidInput]) before
// any network call. A non-2xx answer is an [*APIError] matching a category
// such as [ErrNotFound] or [ErrRateLimited]; an unusable 2xx body is a
// [*DecodeError] matching [ErrMalformedResponse] and its kind
// ([ErrEmptyBody], [ErrNotJSON], [ErrTruncatedJSON], [ErrMissingField],
// [ErrBodyTooLarge]); no answer is a [*TransportError], also when the
// caller's context ends while waiting for the shared access-token request
// (errors.Is(err, context.Canceled) still works). The fields of each type
// are listed on [APIError], [ValidationError], [DecodeError] and
// [TransportError]. After [Client.Close] every call fails with [ErrClosed].
// GETs and DELETEs are
// retried on 429, 502, 503, 504 and connection errors (honouring
// Retry-After); CreateSession is retried only on 429 or when the request
// provably never left (a retried create could make a second session). The
// token request is marked idempotent and retried like a GET: minting a
// second token is harmless. No client secret or access token appears in an
// error, a log line or the output of %v / %+v / %#v.
//
// # Assumed choices
//
// Where uqudo's documentation is silent we chose, each in one place:
//
//   - [SessionLifetime]: a QR session lasts 30 minutes (Session.ExpiresAt).
//   - [MinMatchLevel] .. [MaxMatchLevel]: face match levels are 1 to 5.
//   - [DocumentType.Valid]: a document type is "PASSPORT", "GENERIC_ID" or
//     shaped [A-Z]{3}_[A-Z_]+ (uqudo's spelling, e.g. "FRA_ID").
//   - [NewSessionData]: the values of uqudo's documented example stand in
//     for the app's defaults, which uqudo does not document.
//   - [MaxSessionDataSize]: 64 KiB of encoded session data at most.
//   - [DefaultLeeway]: 60 s of clock skew on exp, nbf and iat.
//   - [DefaultMaxResultAge]: a result without exp is accepted for 24 h
//     after its iat; one with neither exp nor iat is refused.
//   - [DefaultJWKSRefreshInterval]: the JWKS is downloaded again every hour.
//   - The nonce is read from the result's data.nonce, as uqudo documents for
//     SDK results.
//   - [TokenFailureBackoff]: a failed token request is remembered for 5 s.
package uqudo
