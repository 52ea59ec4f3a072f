// Package broker is the thin layer a backend calls to start a vendor SDK for
// one of its users: Start returns a [Grant] (a token, code, session, handoff
// URL or QR text) for Entrupy, Sentiance, IDV or uqudo, reusing a still-good
// grant, and never exposing the vendor keys.
//
// Build a [Broker] with [New] and the vendor clients you use:
//
//	b, err := broker.New(
//		broker.WithEntrupy(entrupyClient),
//		broker.WithIDV(idvClient, broker.IDVParams{WorkflowID: "kyc-basic"}),
//	)
//	grant, err := b.Start(ctx, broker.Request{Vendor: broker.IDV, UserID: user.ID})
//	// return grant as JSON to the app
//
// # Reuse
//
// Grants are kept per vendor and user, and answer one set of inputs: a
// request for the same user with other inputs (another Entrupy SDK
// authorization request, another IDV workflow or ttl, other uqudo session
// data) replaces the held grant. A held grant is handed out (Reused true)
// until its RefreshAfter; after that it is still handed out while one
// background call fetches its successor; only a missing or expired grant
// makes a caller wait, and concurrent callers for one user share one vendor
// call. Per vendor:
//
//   - Entrupy: the signed request until Entrupy's soft_exp, for the same SDK request string;
//   - Sentiance: the authentication code in the first half of its short life (a double tap);
//   - IDV: the handoff (device, session, URL) while the device token is fresh
//     (the last 20% of its ttl, at least a minute, is the refresh window);
//   - uqudo: the QR session within its 30-minute life minus the same window.
//
// No grant is handed out in the last 30 seconds of its life. [WithReuse]
// turns reuse off per vendor; [Broker.Invalidate] drops a grant the SDK
// reported invalid. A failed vendor call is not remembered: the next Start
// asks again. Memory is bounded by [WithMaxEntries] per vendor.
//
// # User ids
//
// Request.UserID is your id for the user; [WithUserIDs] decides what each
// vendor receives instead. By default ([IdentityUserIDs]) it is the id
// itself, which must then fit every vendor's rule: Entrupy accepts only 8
// to 40 characters of A-Z, a-z, 0-9 and "@.+_-", so Start refuses "alice"
// for Entrupy with an [ErrInvalidInput] naming that rule. [PseudonymousIDs]
// sends each vendor a keyed hash instead (32 hex digits, different per
// vendor, stable across replicas with the same key), which fits every
// vendor and keeps your internal ids from them. Grants, GrantEvent and
// Owner keep your id.
//
// # Ownership
//
// Every grant minted is recorded in a ledger: vendor, your user id, the
// vendor-side user id sent and the vendor session id (IDV, uqudo), with
// creation and expiry times. [Broker.Owner] answers whose a session id or
// vendor-side user id is, so a webhook (a uqudo result's jti, a Sentiance
// message's external id, an Entrupy event's unique_user_id) is attributed
// to your user, and an app reporting a session it did not start is refused.
// Entries live 30 days past their grant's expiry and are bounded in number
// ([WithLedger]).
//
// # Errors
//
// Every error from Start, Invalidate and Owner is an [*OpError] naming the
// vendor; the vendor package's error stays reachable, so errors.Is(err,
// broker.ErrRateLimited) and errors.As(err, &apiErr) work. Requests for a
// vendor that was not configured, without a user id, with a user id the
// vendor refuses, or without the vendor's params fail with
// [ErrInvalidInput] before any vendor call. A context that ends while Start
// waits for a grant gives a [*TransportError] (errors.Is(err,
// context.Canceled) holds). Owner's unknown refs match [ErrNotFound].
//
// # Secrets
//
// A Grant prints without its token or handoff URL (String, GoString, every
// fmt verb, slog); its JSON, meant for the app, is the one place they
// appear. [EntrupyParams] never prints its SDK authorization request, and a
// [PseudonymousIDs] mapper never prints its key. The logger given to
// [WithLogger] never receives a token, a key, a user id or an error
// message: errors are logged by kind, status and vendor code.
//
// # Replicas
//
// [WithStore] adds a [Store] shared by several backend replicas (Redis,
// say), so a grant minted by one is reused by the others and Owner on any
// replica resolves what any other minted. [NewMemoryStore] is an in-process
// Store for tests. [Broker.Invalidate] deletes the shared grant, but
// another replica serves a copy it already holds until its RefreshAfter,
// unless the Store is also a [Notifier]; and replicas missing the same
// grant at once each mint one, unless the Store is also a [Locker]. The
// Redis store in broker/redisstore is both: one mint per grant across
// replicas, and invalidations that reach every replica.
//
// # Ownership of the clients
//
// The broker does not own the vendor clients or the Store given to [New]:
// [Broker.Close] stops the broker's own background work only, and the
// caller closes the clients and the Store after it.
package broker
