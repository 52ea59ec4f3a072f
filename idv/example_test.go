package idv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

// startFake serves an in-memory IDV platform on a loopback socket and returns
// a client for it. The fake speaks plain http, hence WithInsecureHTTP.
func startFake() (*httptest.Server, *idvtest.Fake, *idv.Client) {
	fake := idvtest.New()
	srv := httptest.NewServer(fake)
	client, err := idv.NewClient(srv.URL, idv.Credentials{APIKey: idvtest.DefaultAPIKey}, idv.WithInsecureHTTP())
	if err != nil {
		panic(err)
	}
	return srv, fake, client
}

func ExampleClient_Initiate() {
	srv, _, client := startFake()
	defer srv.Close()
	ctx := context.Background()

	h, err := client.Initiate(ctx, idv.InitiateParams{
		WorkflowID:     "kyc-passport",
		ExternalUserID: "user-42",
		TTL:            30 * time.Minute,
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("session:", h.Session.ID, h.Session.WorkflowID)
	fmt.Println("token lives:", h.Device.ExpiresAt.Sub(h.Session.CreatedAt).Round(time.Minute))

	// The person's browser follows the handoff URL: /capture sends it on to
	// /mobile, which opens the session.
	resp, err := srv.Client().Get(h.URL)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	var page struct {
		SessionID string `json:"sessionId"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&page)
	fmt.Println("handoff opens:", resp.StatusCode, page.SessionID)
	// Output:
	// session: session-1 kyc-passport
	// token lives: 30m0s
	// handoff opens: 200 session-1
}

func ExampleClient_StartSession() {
	srv, fake, client := startFake()
	defer srv.Close()
	ctx := context.Background()

	// Step by step: a device (API key), then a session (device token).
	device, err := client.CreateEphemeralDevice(ctx, 10*time.Minute)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	metadata := idv.WithExternalUserID(map[string]any{"plan": "gold"}, "user-42")
	session, err := client.StartSession(ctx, device, "kyc-passport", metadata)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	u, err := client.HandoffURL(device, session)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	rec, _ := fake.Session(session.ID)
	fmt.Println(session.ID, rec.Metadata[idv.MetadataExternalUserID])
	fmt.Println(strings.HasPrefix(u, srv.URL+"/capture?url="))
	// Output:
	// session-1 user-42
	// true
}

func ExampleClient_GetSession() {
	srv, fake, client := startFake()
	defer srv.Close()
	ctx := context.Background()

	h, err := client.Initiate(ctx, idv.InitiateParams{WorkflowID: "kyc-passport"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	// The person finishes the workflow (simulated on the fake).
	_ = fake.SetResult(h.Session.ID, idv.SessionStatusVerified, map[string]any{"lastName": "DOE"})

	res, err := client.GetSession(ctx, h.Session.ID)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.Status, res.Status.Known())
	fmt.Println(string(res.Properties))

	_, err = client.GetSession(ctx, "session-404")
	fmt.Println(errors.Is(err, idv.ErrNotFound))
	// Output:
	// verified true
	// {"lastName":"DOE"}
	// true
}

func ExampleClient_CreateDeepLink() {
	srv, _, client := startFake()
	defer srv.Close()

	dl, err := client.CreateDeepLink(context.Background(), idv.DeepLinkParams{
		WorkflowIDs: []string{"kyc-passport", "kyc-id-card"},
		Metadata:    idv.WithExternalUserID(nil, "user-42"),
		Locale:      "en",
		TTL:         15 * time.Minute,
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(dl.WorkflowIDs, dl.ExpiresAt.Sub(dl.CreatedAt))
	// Output:
	// [kyc-passport kyc-id-card] 15m0s
}

func ExampleBuildHandoffURL() {
	u, err := idv.BuildHandoffURL("https://idv.example.com", "tok+en=", "session-1")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(u)
	fmt.Println(idv.RedactHandoffURL(u))

	_, err = idv.BuildHandoffURL("https://idv.example.com", "", "session-1")
	fmt.Println(err)
	// Output:
	// https://idv.example.com/capture?url=https%3A%2F%2Fidv.example.com%2Fmobile%3Fauthorization%3Dtok%252Ben%253D%26sessionId%3Dsession-1
	// https://idv.example.com/capture?url=https%3A%2F%2Fidv.example.com%2Fmobile%3Fauthorization%3DREDACTED%26sessionId%3Dsession-1
	// invalid input: token: is empty
}

func ExampleEphemeralDevice() {
	d := idv.EphemeralDevice{Token: "secret-device-token", ExpiresAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	fmt.Println(d)
	fmt.Printf("%+v\n", &d)
	// Output:
	// idv.EphemeralDevice{Token: [REDACTED], ExpiresAt: 2025-03-04T05:06:07Z}
	// idv.EphemeralDevice{Token: [REDACTED], ExpiresAt: 2025-03-04T05:06:07Z}
}

func ExampleWithExternalUserID() {
	md := idv.WithExternalUserID(map[string]any{"plan": "gold"}, "user-42")
	b, _ := json.Marshal(map[string]any{"metadata": md})
	fmt.Println(string(b))
	// Output:
	// {"metadata":{"externalUserId":"user-42","plan":"gold"}}
}
