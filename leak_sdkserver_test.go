package sdkbroker_test

// The sample server's part of the secret-leak sweep (issue 16, item 1):
// examples/sdkserver is built and run as the program it is, in demo mode
// (the four vendors on their fakes, whose default credentials are then the
// secrets), and driven over HTTP: a login, a grant of each vendor, the
// demo's simulated deliveries, the event stream, hostile bodies, another
// user's requests. No answer may show a credential, another user's grant
// or the session token outside the answer that hands it out, and no log
// line may show any of them. Its configuration errors (secrets in the
// environment, wrongly combined) must not repeat the secrets either.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// buildSDKServer builds examples/sdkserver into a temporary directory.
func buildSDKServer(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("examples/sdkserver"); err != nil {
		t.Skip("examples/sdkserver is not in this tree")
	}
	bin := filepath.Join(t.TempDir(), "sdkserver")
	cmd := exec.Command(goCommand(), "build", "-o", bin, "./examples/sdkserver")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/sdkserver: %v\n%s", err, out)
	}
	return bin
}

func TestLeak_SDKServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sample server")
	}
	t.Parallel()
	bin := buildSDKServer(t)
	set := newSecretSet()
	set.addMinted(entrupytest.DefaultAPIToken, sentiancetest.DefaultAPIKey, idvtest.DefaultAPIKey, uqudotest.DefaultClientSecret)

	t.Run("config errors", func(t *testing.T) {
		for name, env := range map[string][]string{
			"orphan webhook secret": {"ENTRUPY_WEBHOOK_SECRET=" + secretPassword},
			"half a Firehose":       {"SENTIANCE_API_KEY=" + secretAPIKey, "SENTIANCE_FIREHOSE_PASSWORD=" + secretPassword},
			"no pseudonym key":      {"UQUDO_CLIENT_ID=client", "UQUDO_CLIENT_SECRET=" + secretAPIKey, "UQUDO_WEBHOOK_HEADER_VALUE=" + secretHeader},
			"bad IDV URL":           {"IDV_BASE_URL=https://user:" + secretPassword + "@idv.invalid/", "IDV_API_KEY=" + secretAPIKey, "IDV_WORKFLOW_ID=wf", "SDKSERVER_PSEUDONYM_KEY=" + strings.Repeat("ab", 32), "SDKSERVER_ADDR=127.0.0.1:1"},
			"bad pseudonym key":     {"ENTRUPY_API_TOKEN=" + secretAPIKey, "SDKSERVER_PSEUDONYM_KEY=" + secretToken},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:1")
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
			out, _ := cmd.CombinedOutput()
			cancel()
			if s := set.find(string(out)); s != "" {
				t.Errorf("%s: the output shows %q: %s", name, s, out)
			}
		}
		out, _ := exec.Command(bin, "-help").CombinedOutput()
		if s := set.find(string(out)); s != "" {
			t.Errorf("-help shows %q", s)
		}
	})

	t.Run("demo", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SDKSERVER_LOG_FORMAT=json"}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var logs lockedBuffer
		base := make(chan string, 1)
		var readDone sync.WaitGroup
		readDone.Add(1)
		go func() {
			defer readDone.Done()
			sc := bufio.NewScanner(stderr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				_, _ = logs.Write([]byte(line + "\n"))
				var rec struct{ Msg, URL string }
				if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
					base <- rec.URL
				}
			}
		}()
		defer func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Wait()
			readDone.Wait()
			if s := set.find(logs.String()); s != "" {
				i := strings.Index(logs.String(), strings.TrimSuffix(s, " (cut)"))
				t.Errorf("the server's log shows %q: %.300s", s, logs.String()[max(0, i-200):])
			}
		}()
		var url string
		select {
		case url = <-base:
		case <-ctx.Done():
			t.Fatalf("the server did not start: %s", logs.String())
		}
		driveSDKServer(t, url, set)
	})
}

// driveSDKServer logs two users in and runs every route the app and the
// demo page use, with good and hostile requests.
func driveSDKServer(t *testing.T, base string, set *secretSet) {
	t.Helper()
	hc := &http.Client{Timeout: 20 * time.Second}
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var head bytes.Buffer
		_ = resp.Header.Write(&head)
		return resp.StatusCode, head.String() + "\n" + string(b)
	}
	check := func(what, out string, allowed ...string) {
		t.Helper()
		for _, a := range allowed {
			if a != "" {
				out = strings.ReplaceAll(out, a, "<own>")
			}
		}
		if s := set.find(out); s != "" {
			t.Errorf("%s: the answer shows %q: %.400s", what, s, out)
		}
	}
	login := func(user string) string {
		status, out := call(http.MethodPost, "/auth/token", "", fmt.Sprintf(`{"user": %q}`, user))
		if status != http.StatusOK {
			t.Fatalf("login: %d %s", status, out)
		}
		var tok struct{ Token string }
		if err := json.Unmarshal([]byte(out[strings.Index(out, "\n\n")+2:]), &tok); err != nil || tok.Token == "" {
			t.Fatalf("login answer: %v %s", err, out)
		}
		set.addMinted(tok.Token)
		return tok.Token
	}
	alice, mallory := login("alice"), login("mallory")
	bodies := map[string]string{
		"entrupy": fmt.Sprintf(`{"sdk_authorization_request": %q, "email": "alice@example.com"}`, secretRequest),
	}
	// Alice's grants: her own answer carries them, nothing else may.
	for _, v := range []string{"entrupy", "sentiance", "idv", "uqudo"} {
		status, out := call(http.MethodPost, "/v1/"+v+"/start", alice, bodies[v])
		if status != http.StatusOK {
			t.Fatalf("%s start: %d %s", v, status, out)
		}
		var g struct {
			Token      string `json:"token"`
			HandoffURL string `json:"handoff_url"`
		}
		_ = json.Unmarshal([]byte(out[strings.Index(out, "\n\n")+2:]), &g)
		check(v+" start", out, g.Token, g.HandoffURL, secretRequest)
		set.addMinted(g.Token)
	}
	for _, v := range []string{"entrupy", "sentiance", "idv", "uqudo"} {
		status, out := call(http.MethodPost, "/v1/demo/simulate", alice, fmt.Sprintf(`{"vendor": %q}`, v))
		check(fmt.Sprintf("%s simulate (%d)", v, status), out)
		// Mallory asks for the same things, and for Alice's.
		_, out = call(http.MethodPost, "/v1/"+v+"/invalidate", mallory, "")
		check(v+" invalidate by another user", out)
		_, out = call(http.MethodPost, "/v1/"+v+"/start", mallory, fmt.Sprintf(`{"x": %q}`, secretToken))
		check(v+" start with an unknown field", out)
	}
	for _, c := range []struct{ method, path, token, body string }{
		{http.MethodGet, "/auth/me", alice, ""},
		{http.MethodGet, "/auth/me", mallory, ""},
		{http.MethodPost, "/v1/idv/result", mallory, `{"session_id": "` + secretToken + `"}`},
		{http.MethodPost, "/v1/entrupy/start", alice, fmt.Sprintf(`{"sdk_authorization_request": %q, "email": %q}`, secretRequest+"\x01", secretToken)},
		{http.MethodPost, "/v1/entrupy/start", alice, strings.Repeat(secretRequest, 5000)},
		{http.MethodPost, "/v1/entrupy/start", secretToken, bodies["entrupy"]},
		{http.MethodPost, "/auth/token", "", fmt.Sprintf(`{"user": %q}`, secretToken+"\n")},
		{http.MethodPost, "/webhooks/entrupy", "", `{"event": "support.message", "data": {"text": "` + secretToken + `"}}`},
		{http.MethodPost, "/webhooks/sentiance", "", `{"data": []}`},
		{http.MethodPost, "/webhooks/uqudo", "", `{"jwsResult": "` + secretToken + `"}`},
		{http.MethodPost, "/auth/logout", mallory, ""},
	} {
		status, out := call(c.method, c.path, c.token, c.body)
		check(fmt.Sprintf("%s %s (%d)", c.method, c.path, status), out)
	}
	// The event stream, for as long as it takes to send what it has.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	if resp, err := hc.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		check("the event stream", string(b))
	}
}
