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
// # Errors
//
// Every error from Start and Invalidate is an [*OpError] naming the vendor;
// the vendor package's error stays reachable, so errors.Is(err,
// broker.ErrRateLimited) and errors.As(err, &apiErr) work. Requests for a
// vendor that was not configured, without a user id, or without the
// vendor's params fail with [ErrInvalidInput] before any vendor call.
//
// # Secrets
//
// A Grant prints without its token or handoff URL (String, GoString, every
// fmt verb, slog); its JSON, meant for the app, is the one place they
// appear. The logger given to [WithLogger] never receives a token, a key or
// a user id.
//
// # Replicas
//
// [WithStore] adds a [Store] shared by several backend replicas (Redis, say),
// so a grant minted by one is reused by the others.
package broker
