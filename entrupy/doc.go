// Package entrupy is a client for Entrupy's server-side API. Entrupy
// authenticates luxury goods from photos taken with its mobile SDK; the SDK
// needs a signed authorization request that only your backend, holding the
// organisation's API token, can obtain.
//
// # Flow
//
//  1. The Entrupy SDK in your app produces an opaque sdk_authorization_request.
//  2. The app sends it to your backend, which calls [Client.AuthorizeUser]
//     with your user's unique_user_id and e-mail.
//  3. The backend returns [SDKToken].SignedRequest to the app and reuses the
//     token for the same user and SDK request until [SDKToken.NeedsRefresh].
//  4. Entrupy reports results and support messages by webhook
//     ([NewWebhookHandler]); the backend reads items ([Client.GetAuthentication])
//     and talks to support ([Client.ListSupportMessages],
//     [Client.PostSupportMessage], [Client.Escalate]).
//
// # Authentication
//
// Every request carries "Authorization: Token <APIToken>" and an Api-Version
// header; [WithLanguage] adds Accept-Language ("en" or "ja"). The token and
// every signed request are secrets: [Credentials], [SDKToken],
// [AuthorizeUserParams] (its SDK request) and [WebhookConfig] print them as
// [REDACTED], and they are scrubbed from errors; logging ([WithLogger])
// records method, host, path, status and attempt only.
//
// # Errors
//
// Input is validated before any request; a problem is a [*ValidationError]
// matching [ErrInvalidInput]. A non-2xx answer is an [*APIError] matching a
// category sentinel ([ErrUnauthorized], [ErrNotFound], [ErrRateLimited], ...);
// an unusable 2xx body is a [*DecodeError] ([ErrMalformedResponse], with a
// Kind of [ErrEmptyBody], [ErrNotJSON], [ErrTruncatedJSON], [ErrMissingField]
// or [ErrBodyTooLarge], and Field naming the wire field); no answer is a
// [*TransportError]. The alias docs list each type's fields. Webhook
// signature failures match [ErrInvalidSignature]. No error repeats an input
// (ids and texts are bounded, see [MaxIDLength]).
//
// # Lifecycle
//
// A [Client] is built once and shared. [Client.Close] releases what it owns
// and is safe to call twice; calls after Close fail with [ErrClosed]. A nil
// or zero Client prints as "entrupy.Client{}" and its calls return a
// [*ValidationError] rather than panicking.
//
// # Webhooks
//
// [NewWebhookHandler] takes a [WebhookConfig] and returns an error for a
// missing secret or callback, so a misconfigured handler is never mounted.
// Each event names the item and, when Entrupy sends it, the unique_user_id
// the item's SDK token was signed for (Event.UniqueUserID); a backend built
// on package broker finds its user with broker.Owner(ctx, "entrupy", id).
//
// Entrupy may deliver an event more than once. Give the handler
// [WithDedup] to answer a replay 200 without calling your callback again:
// [NewMemoryDeduper] remembers deliveries in this process, and
// broker.NewStoreDeduper over a Store the replicas share (such as
// broker/redisstore's) remembers them for every replica.
//
// # Retries
//
// Reads are retried on 429, 502, 503, 504 and connection errors, honouring
// Retry-After up to the maximum wait ([WithRetry]; default 3 retries, 250 ms
// to 5 s). AuthorizeUser, PostSupportMessage and Escalate create something,
// so they are retried only on 429 or when the request never reached Entrupy;
// otherwise the error is returned and [IsRetryable] tells whether trying
// again later makes sense.
//
// # Assumptions
//
// Where Entrupy's public documentation is silent, these choices were made;
// each lives in one named constant, option or type:
//
//   - Api-Version "2.0" for the v2 routes: [DefaultAPIVersion], [WithAPIVersion].
//   - The authorize-user answer's optional "username", and "exp" / "soft_exp"
//     as Unix seconds (number or numeric string): [SDKToken].
//   - With no "exp": 24 h lifetime ([DefaultTokenLifetime],
//     [WithDefaultTokenLifetime]); with no "soft_exp": 30 min before expiry
//     ([DefaultSoftWindow], [WithSoftWindow]).
//   - Support routes and their fields: [RouteListSupportMessages],
//     [RoutePostSupportMessage], [RouteEscalate], [Message],
//     [StructuredResponse], [SupportMessagePage], [Escalation].
//   - The fields of [Authentication] and its status and result values.
//   - Webhook signatures as hex HMAC-SHA256 of the raw body ([VerifySignature],
//     [SignatureHeader]); the event envelope and payload fields ([Event],
//     [SupportMessageEvent], [CertificateTransferEvent]), including
//     data.unique_user_id (Event.UniqueUserID).
//   - Input bounds other than unique_user_id's: [MaxIDLength],
//     [MaxSDKAuthorizationRequestLength], [MaxNameLength], [MaxTextLength],
//     [MaxCursorLength].
//
// Package entrupytest is an in-memory fake of this API for tests and demos.
package entrupy
