// Command idv shows the idv client doing the server-side dance: it creates
// an ephemeral device, starts a session for a user and prints the session id
// and the handoff URL, with the device token redacted.
//
// Without IDV_API_KEY it runs against the in-memory fake from package
// idvtest on a loopback socket, so it needs no account:
//
//	go run ./examples/idv
//
// Against a real deployment, set IDV_API_KEY (permission Ephemeral
// Devices: Write), IDV_BASE_URL (https://your-idv-host) and IDV_WORKFLOW_ID;
// IDV_EXTERNAL_USER_ID is optional.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "idv:", err)
		os.Exit(1)
	}
}

// run does the work; getenv and out are parameters so a test can drive it.
func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	key, baseURL, workflow := getenv("IDV_API_KEY"), getenv("IDV_BASE_URL"), getenv("IDV_WORKFLOW_ID")
	user := getenv("IDV_EXTERNAL_USER_ID")
	if user == "" {
		user = "demo-user-1"
	}
	var opts []idv.Option
	var pageClient *http.Client
	if key == "" {
		srv, err := idvtest.Start()
		if err != nil {
			return err
		}
		defer srv.Close()
		key, baseURL, workflow = idvtest.DefaultAPIKey, srv.URL, "demo-workflow"
		opts = append(opts, idv.WithInsecureHTTP()) // the fake speaks plain http on loopback
		pageClient = srv.Client()
		fmt.Fprintln(out, "IDV_API_KEY is not set: using the in-memory fake")
	} else if baseURL == "" || workflow == "" {
		return errors.New("IDV_BASE_URL and IDV_WORKFLOW_ID are required with IDV_API_KEY")
	}

	client, err := idv.NewClient(baseURL, idv.Credentials{APIKey: key}, opts...)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := client.Initiate(ctx, idv.InitiateParams{WorkflowID: workflow, ExternalUserID: user, TTL: 15 * time.Minute})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "session id: ", h.Session.ID)
	fmt.Fprintln(out, "token until:", h.Device.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(out, "handoff URL:", idv.RedactHandoffURL(h.URL))

	if pageClient != nil {
		// On the fake, follow the handoff URL as the person's phone would.
		status, id, err := open(ctx, pageClient, h.URL)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "handoff opens session:", id, "status", status)
	}
	return nil
}

// open follows a handoff URL and returns the final status and the session
// the page names.
func open(ctx context.Context, hc *http.Client, handoffURL string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, handoffURL, nil)
	if err != nil {
		return 0, "", errors.New("cannot build the handoff request")
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The error would carry the URL, and so the token: keep it out.
		return 0, "", errors.New("cannot open the handoff URL")
	}
	defer resp.Body.Close()
	var page struct {
		SessionID string `json:"sessionId"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&page)
	return resp.StatusCode, page.SessionID, nil
}
