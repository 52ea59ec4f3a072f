// Package sentiance is a typed client for the server side of the Sentiance
// mobility SDK: creating users with authentication codes, legacy install
// linking, deleting users, and receiving Firehose webhooks.
//
// Sentiance's SDK records trips and mobility events on the phone. Your backend
// ties each Sentiance user to your own user id (the "external id") and must
// keep the Sentiance API key to itself, so the flow is:
//
//  1. The app, signed in to your backend, asks it for a Sentiance code.
//  2. The backend calls [Client.CreateAuthCode] with the user's external id.
//  3. It returns the [AuthCode] (code and expiry, never the API key) to the
//     app, with [Client.PlatformURL], the platform URL of the client's region
//     that the SDK's user creation needs outside the EU region.
//  4. The app passes the code to the SDK's user creation, which creates the
//     Sentiance user, or restores the existing one if the external id is
//     already linked (Sentiance then deactivates that user's other devices).
//  5. Sentiance later posts the user's data to your Firehose endpoint
//     ([NewFirehoseHandler]).
//
// # Authentication
//
// Every call sends "Authorization: Bearer <API key>" ([Credentials]). The key
// needs scope user.link for auth codes and linking and user.delete for
// [Client.DeleteUser]. Choose the host with [WithRegion] ([RegionEU], the
// default, [RegionUS] or [RegionIN]); [WithBaseURL] (a proxy or the fake in
// package sentiancetest) wins over the region whatever the option order.
//
// # Errors
//
// Sentiance answers errors as {"message", "errorCode", "ref"}. They become an
// [*APIError] with Code = errorCode, Message = message and RequestID = ref;
// [ErrorCode] extracts the code for a switch on [CodeUserNotFound],
// [CodeInstallLinkedToOtherUser] and [CodeUserLinkingNotConfigured], and
// errors.Is matches the status category ([ErrNotFound], [ErrRateLimited], ...,
// shared by every sdkbroker vendor package). Bad input is a [*ValidationError]
// ([ErrInvalidInput]) returned before any network call; an unusable 2xx body
// is a [*DecodeError] ([ErrMalformedResponse], with a Kind of [ErrEmptyBody],
// [ErrNotJSON], [ErrTruncatedJSON], [ErrMissingField] or [ErrBodyTooLarge]);
// no answer is a [*TransportError]. The alias docs list each type's fields.
//
// # Lifecycle
//
// A [Client] is built once and shared. [Client.Close] releases what it owns
// and is safe to call twice; calls after Close fail with [ErrClosed]. A nil
// or zero Client prints as "sentiance.Client{}" and its calls return a
// [*ValidationError] rather than panicking.
//
// # Retries
//
// 429, 502, 503, 504 and connection errors are retried (3 times, 250 ms to
// 5 s, honouring Retry-After up to the maximum wait; see [WithRetry]). The
// POSTs, [Client.CreateAuthCode] and [Client.LinkInstall], are retried only on
// 429 or when the request provably never reached Sentiance; after a 5xx they
// return the error at once: [IsRetryable] is true for a 502, 503 or 504 (the
// caller decides whether to try again) and false for any other 5xx.
//
// # Secrets
//
// The API key, authentication codes and the Firehose password never appear
// in errors, logs (see [WithLogger]) or fmt output: [Credentials], [AuthCode],
// [FirehoseConfig] and [Client] redact them under every verb and in slog.
// JSON encoding of an AuthCode keeps the code, so it can be sent to the app.
//
// # Firehose
//
// [NewFirehoseHandler] checks Basic auth in constant time, answers Sentiance's
// GET check with {"app_id": ...}, accepts gzip or plain JSON deliveries within
// a size limit applied after decompression ([WithWebhookMaxBodySize]),
// decodes the data[] envelope into [Message] values, flags test deliveries
// ([IsTestDelivery], Message.Test), and answers 200 only after your callback
// succeeded (500 when it failed or panicked). A bad configuration is an error
// from the constructor, never a handler that accepts anything. A delivery
// Sentiance sends again (the same body after decompression, within the
// deduper's window) is a replay: with [WithDedup] it is answered 200
// without calling your callback again, through [NewMemoryDeduper] (this
// process only) or broker.NewStoreDeduper over a Store the replicas share
// (such as broker/redisstore's).
//
// Attribution: Message.UserID is the Sentiance user id, not your external
// id. Keep the Sentiance user id the app's SDK reports after user creation
// next to the external id you sent; a broker-based backend resolves that
// external id to your user with broker.Owner(ctx, "sentiance", externalID).
//
// # Assumptions
//
// Where Sentiance documents nothing, these choices were made, each kept in one
// place:
//
//   - [Client.PlatformURL]: a region's SDK platform URL is its API host; with
//     only [WithBaseURL], it is that base URL.
//   - [MaxExternalIDLength]: external ids are at most 256 bytes.
//   - [MaxIDLength]: install and user ids are at most 256 bytes.
//   - [DefaultFirehoseMaxBody]: a Firehose delivery is at most 10 MiB, before
//     and after decompression ([WithWebhookMaxBodySize] changes it).
//   - [Message].UserID is read from the inner data's user_id, else userId.
//   - [Message].Timestamp also accepts a number, read as Unix milliseconds.
//   - A gzip body sent without Content-Encoding is recognised by its magic
//     bytes.
//
// Package sentiancetest provides an in-memory fake of the API for tests and
// demos.
package sentiance
