// Package brokerhttp serves a [broker.Interface] to your app over HTTP, in
// the shape of promhttp.Handler: one [Handler] with two routes per vendor.
//
//	h := brokerhttp.Handler(b, brokerhttp.WithUser(func(r *http.Request) (string, error) {
//		return userIDFromYourSession(r) // your authentication, never the body
//	}))
//	mux.Handle("/v1/", http.StripPrefix("/v1", h))
//
// # Routes
//
// {vendor} is entrupy, sentiance, idv or uqudo.
//
//   - POST /{vendor}/start: body the vendor's params (below); answers 200
//     with the [broker.Grant] as JSON ({"vendor", "user_id", "token",
//     "session_id", "handoff_url", "qr_code_text",
//     "qr_code_text_with_dynamic_link", "platform_url", "expires_at",
//     "refresh_after", "reused"}, empty fields left out). A double tap gets
//     the same grant with "reused": true (see the broker's reuse rules).
//   - POST /{vendor}/invalidate: body empty or {}; answers 204 once the
//     broker forgot the user's grant (call it when the vendor's SDK
//     reported the grant invalid).
//
// The user is always the one [WithUser] returns, from your own
// authentication: a body naming a user ("user_id", "userId", "user",
// "external_id", "unique_user_id", "userIdentifier", ...) is refused with
// 400, and so is uqudo session data that sets generalConfig.userIdentifier
// (the broker sets it).
//
// # Request bodies
//
// Every request must have Content-Type application/json (charset utf-8 if
// any), even with an empty body: an HTML form or a "simple" cross-site
// fetch cannot send it, which keeps a cookie-authenticated Handler from
// being driven by another site (your CORS policy still decides which
// origins may call it). A body is at most 64 KiB ([WithMaxBodyBytes]),
// valid UTF-8, one JSON object with nothing after it, nested at most 32
// deep, with no key given twice in one object (keys differing only in
// case count as the same key, since field names are matched as
// encoding/json matches them: exactly, else case-insensitively). Unknown
// fields are refused with 400, so a typo does not pass silently. An empty
// body is {}.
//
//	entrupy    {"sdk_authorization_request": "...", "email": "...", "first_name": "...", "last_name": "..."}
//	           (sdk_authorization_request and email required; the names are optional)
//	sentiance  {} or nothing
//	idv        {"workflow_id": "...", "metadata": {...}, "ttl": 3600}
//	           (all optional: missing ones take the defaults given to broker.WithIDV;
//	           ttl in whole seconds; metadata's externalUserId is set by the broker)
//	uqudo      {"data": {"documents": [{"documentType": "PASSPORT"}], ...}}
//	           (optional: the session JSON of uqudo's QR reader app as uqudo.SessionData
//	           decodes it; without it, the data given to broker.WithUqudo)
//
// The params come from the app, so the app chooses them. Use
// [WithStartHook] to fill in what your server knows better (Entrupy's
// e-mail and names from your user records, as Entrupy's sample server
// does) or to pin what the app must not choose (an IDV workflow, uqudo's
// session data).
//
// # What the app reads from the grant
//
// For each vendor, the fields the app passes to the vendor's SDK (the
// pages named were checked; what they leave open is marked assumed):
//
//   - Entrupy: "token" is the signed_authorization_request; the app logs
//     the Entrupy SDK in with it, and starts again before "expires_at"
//     (the broker renews it from "refresh_after", Entrupy's soft_exp).
//     https://developer.entrupy.com/docs/mobile-sdks/ios/integration-guide/setup-and-authorization/sdk-user-authorization
//     and the Android page of the same name ("Log in to SDK" with the
//     signed request), https://developer.entrupy.com/docs/api/sdk-management.
//   - Sentiance: "token" is the authentication code and "platform_url" the
//     platform URL of the server's region; the app calls the SDK's
//     createUser with the code (authCode) and, where the SDK takes one, the
//     platform URL (platformUrl of iOS's SENTUserCreationOptions). The code
//     lives about 10 minutes. https://docs.sentiance.com/important-topics/user-registration,
//     https://docs.sentiance.com/sdk/getting-started/react-native-quick-start/4.-user-creation,
//     https://docs.sentiance.com/important-topics/sdk/api-reference/ios/user-creation-and-linking/user-creation/sentusercreationoptions.
//   - IDV (Regula): "handoff_url" is the capture URL the app opens (in a
//     browser or web view) or shows as a QR code for a phone; it carries
//     the ephemeral device token. **Assumed**: an app that starts the IDV
//     SDK itself instead uses "token" (the ephemeral device token) and
//     "session_id", the two values inside the handoff URL.
//     https://docs.regulaforensics.com/develop/idv/integration/server-side-session-initiation,
//     https://docs.regulaforensics.com/develop/idv/integration/starting-session/authentication/token-url.
//   - uqudo: "qr_code_text" is the text the web page renders as a QR code,
//     which uqudo's QR reader app scans (and exchanges with uqudo for the
//     session id, SDK token and data); "session_id" is what the result's
//     jti must match. **Assumed**: "qr_code_text_with_dynamic_link" is the
//     same session as a link a phone opens in uqudo's app (uqudo's page
//     names the field without describing it). The broker never hands the
//     app uqudo's account-wide access token (the uqudo SDK's own
//     accessToken flow is not served here). https://docs.uqudo.com/docs/kyc/qr-code-app/create-a-session,
//     https://docs.uqudo.com/docs/kyc/qr-code-app/scan-the-qr-code.
//
// # Answers
//
// Every answer carries Cache-Control: no-store and X-Content-Type-Options:
// nosniff; grants and errors are JSON. An error is
// {"error":{"code":"...","message":"...","vendor":"..."}}, "vendor" being
// the path's vendor ("" when the path names none), with these statuses:
//
//	400 invalid_request         bad body (see above), or params the broker refused before any vendor call
//	401 unauthenticated         WithUser found no user (or your *Error's status)
//	404 not_found               no such route
//	404 unknown_vendor          the path names no supported vendor, or one the broker was not configured with
//	405 method_not_allowed      not POST (with Allow: POST)
//	413 body_too_large          over WithMaxBodyBytes
//	415 unsupported_media_type  Content-Type is not application/json
//	500 internal                Handler misconfigured, your user id does not fit the vendor
//	                            (see broker.WithUserIDs), or a failure of the broker's own (a Store)
//	502 vendor_error            the vendor answered an error (e.g. 401: the server's credentials)
//	502 vendor_unavailable      the vendor could not be reached or timed out
//	502 vendor_bad_response     the vendor's answer could not be used
//	503 vendor_rate_limited     the vendor rate-limited the server; Retry-After is the vendor's
//	                            wait rounded up to whole seconds (1 when it named none)
//
// Messages are fixed texts per code; a 400 may add the offending field's
// name and the broker's reason. No error answer holds a secret, a token,
// a vendor's message or body, or err.Error() of a vendor error. When the
// request's context has ended (the client went away), nothing is written
// at all, not even headers, and [WithErrorHook] is not called.
//
// The checks run in this order: route (404), method (405), Content-Type
// (415), user (401), body size and syntax (413, 400), [WithStartHook], then
// the broker. Whether a vendor is configured is only known to the broker,
// so an unconfigured vendor answers 404 after authentication.
package brokerhttp
