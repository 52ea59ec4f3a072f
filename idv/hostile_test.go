package idv_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/internal/hostile"
)

func isInvalid(err error) bool { return errors.Is(err, idv.ErrInvalidInput) }

// TestClient_HostileIDs: session ids (path segments), workflow ids (query
// parameters), the ids put into a handoff URL and metadata are refused
// before sending or sent escaped, as one segment or one parameter; no error
// repeats an id (issue 16 item 5).
func TestClient_HostileIDs(t *testing.T) {
	rec := hostile.NewRecorder(t, http.StatusNotFound, `{"message":"not found"}`)
	c, err := idv.NewClient(rec.URL, idv.Credentials{APIKey: "idv_hostile_key_1234567890"},
		idv.WithInsecureHTTP(), idv.WithRetry(0, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	device := &idv.EphemeralDevice{Token: "device-token-1234567890", ExpiresAt: time.Now().Add(time.Hour)}
	for _, id := range hostile.IDs() {
		t.Run(id.Name, func(t *testing.T) {
			_, err := c.GetSession(ctx, id.Value)
			hostile.CheckPathID(t, rec, id.Value, err, isInvalid, "GET", "/api/sessions/", "")

			_, err = c.StartSession(ctx, device, id.Value, nil)
			hostile.CheckQueryID(t, rec, id.Value, err, isInvalid, "POST", "/api/sessions", "workflowId", "workflowId")
			_, err = c.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"kyc", id.Value}})
			hostile.CheckQueryID(t, rec, id.Value, err, isInvalid, "POST", "/api/v1/deeplink", "workflowId", "workflowId")

			// Metadata keys and values, and the external user id, travel
			// as JSON strings.
			md := map[string]any{"note": id.Value}
			if utf8Valid(id.Value) {
				md[id.Value] = "v"
			}
			_, err = c.StartSession(ctx, device, "kyc", idv.WithExternalUserID(md, id.Value))
			hostile.CheckRefusedOrSent(t, id.Value, err)
			_, bodies := rec.Take()
			for _, b := range bodies {
				var v struct {
					Metadata map[string]any `json:"metadata"`
				}
				if err := json.Unmarshal(b, &v); err != nil {
					t.Errorf("body is not JSON: %v", err)
				} else if v.Metadata["note"] != id.Value {
					t.Errorf("metadata note does not round-trip")
				}
			}

			// The handoff URL: the session id and the token are query
			// values of the inner URL, itself one query value of the outer.
			link, err := c.HandoffURL(device, &idv.Session{ID: id.Value})
			hostile.CheckRefusedOrSent(t, id.Value, err)
			if err == nil {
				outer, perr := url.Parse(link)
				if perr != nil {
					t.Fatalf("handoff URL does not parse: %v", perr)
				}
				inner, perr := url.Parse(outer.Query().Get("url"))
				if perr != nil || inner.Query().Get("sessionId") != id.Value || len(outer.Query()) != 1 ||
					strings.ContainsAny(link, "\r\n\x00 ") || outer.Path != "/capture" || inner.Path != "/mobile" {
					t.Errorf("handoff URL %q does not carry the session id as one value", link)
				}
			}
		})
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestClient_HostileAnswers: a gzip bomb, a 100 MiB body, JSON nested 100k
// deep or invalid UTF-8 with NUL from the platform is a DecodeError, read
// no further than the response size limit (issue 16 item 5).
func TestClient_HostileAnswers(t *testing.T) {
	for name, answer := range hostile.Answers(t) {
		t.Run(name, func(t *testing.T) {
			srv := hostile.ServeAnswer(t, answer, nil)
			c, err := idv.NewClient(srv.URL, idv.Credentials{APIKey: "idv_hostile_key_1234567890"},
				idv.WithInsecureHTTP(), idv.WithRetry(0, time.Millisecond, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			_, err = c.CreateEphemeralDevice(context.Background(), 0)
			if !errors.Is(err, idv.ErrMalformedResponse) {
				t.Fatalf("got %v, want ErrMalformedResponse", err)
			}
			if strings.Contains(name, "MiB") && !errors.Is(err, idv.ErrBodyTooLarge) {
				t.Fatalf("got %v, want ErrBodyTooLarge", err)
			}
		})
	}
}
