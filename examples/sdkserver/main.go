// Command sdkserver is a sample SDK management server: the backend a mobile
// or web app calls to start a vendor SDK (Entrupy, Sentiance, the Regula IDV
// platform, uqudo) for its logged-in user, the vendors' webhooks attributed
// to that user, and a page at / to try it all in a browser.
//
//	go run ./examples/sdkserver
//
// With no vendor credentials in the environment it runs in demo mode: the
// four vendors are the in-process fakes of sdkbroker's *test packages, and
// the page's "simulate the phone" button makes a fake finish the session and
// deliver its webhook or result back to this server. Each vendor switches to
// its real API when its variables are set (run with -help for the list).
//
// The login is a demo login (anyone may log in as any user name), as in the
// vendors' own sample servers: replace it with your authentication.
//
// Routes (every POST wants Content-Type application/json, which an HTML
// form or a "simple" cross-site request of another site cannot send):
//
//	GET  /                           the page (HTML, CSS and JS embedded; strict CSP)
//	GET  /healthz                    200 {"status":"ok"}
//	POST /auth/login                 demo login: {"user":"alice"} sets an HttpOnly session cookie
//	POST /auth/token                 demo login for scripts: {"user":"alice"} answers a bearer token
//	POST /auth/logout                ends the session
//	GET  /auth/me                    who is logged in, and which vendors are fakes
//	POST /v1/{vendor}/start          broker/brokerhttp: the grant for the logged-in user
//	POST /v1/{vendor}/invalidate     broker/brokerhttp: forget the user's grant
//	GET  /v1/qr.png?vendor=uqudo|idv the user's current uqudo session or IDV handoff URL as a QR code
//	POST /v1/idv/result              {"session_id":"..."}: the IDV result, for the session's owner only (else 403)
//	GET  /v1/events                  Server-Sent Events: the user's webhooks and results as they arrive
//	POST /v1/demo/simulate           demo only: {"vendor":"uqudo"} plays the phone for the user's grant
//	POST /webhooks/entrupy           Entrupy's webhook (Entrupy-Signature)
//	GET|POST /webhooks/sentiance     Sentiance's Firehose (Basic auth)
//	POST /webhooks/uqudo             uqudo's result webhook (signed JWS)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "sdkserver:", err)
		stop()
		os.Exit(2)
	}
}
