package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// screenshotEnv names a file the browser test saves a screenshot of the
// page to (for docs/sdkserver.png):
//
//	SDKSERVER_SCREENSHOT=$PWD/docs/sdkserver.png go test -run TestBrowser ./examples/sdkserver
const screenshotEnv = "SDKSERVER_SCREENSHOT"

// findChromium returns the path of Debian's chromium (or another Chrome on
// PATH; CHROMIUM overrides), or "".
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium with a fresh profile, no network of
// its own (no QUIC, background networking, component updates or sync) and
// no sandbox (CI runs as root). It skips the test when no browser is
// installed, unless CI is set: then it fails.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := findChromium()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found and CI is set: .ci/run installs Debian's chromium package (apt-get install -y chromium)")
		}
		t.Skip("no Chromium found (apt-get install -y chromium, or set CHROMIUM to a Chrome binary): browser test skipped")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 960),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { // before TempDir's cleanup: the browser has exited
		cancelCtx()
		cancelAlloc()
	})
	// The first run starts the browser; it must not carry a timeout.
	require.NoError(t, chromedp.Do(ctx), "start Chromium at %s", path)
	return ctx
}

// TestBrowser_UqudoFlow drives the page in headless Chromium as a person
// would: log in, start Sentiance and reveal its masked token, simulate its
// phone, then start a uqudo session, check the QR code shown decodes to the
// session's dynamic link, double tap (reused), click "simulate the phone"
// and see the verified result arrive attributed to the user.
func TestBrowser_UqudoFlow(t *testing.T) {
	browser := newBrowser(t)
	ts := startServer(t, demoEnv)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	const user = "browser-user"
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		require.NoError(t, err, sel)
		return s
	}
	// waitText waits until sel's text contains want.
	waitText := func(sel, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
			if err == nil && strings.Contains(s, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: want text containing %q, have %q (err %v)", sel, want, s, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(css("#login-form")),
		chromedp.SetValue(css("#user"), user),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#logged-in")),
	))
	assert.Equal(t, user, text("#who"))
	assert.False(t, isVisible(t, ctx, "#login-form"), "the login form is hidden once logged in")
	waitText("#stream", "live")
	assert.Contains(t, text("#mode"), "Demo mode")

	// Sentiance: the token is masked until clicked.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(css("#vendor-sentiance")),
		chromedp.Click(css("#start")),
		chromedp.WaitVisible(css("#token")),
	))
	masked := text("#token")
	assert.Contains(t, masked, "•", "masked")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(css("#token"))))
	revealed := text("#token")
	assert.NotContains(t, revealed, "•", "revealed by a click")
	assert.Len(t, revealed, 64, "the auth code")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitEnabled(css("#simulate")),
		chromedp.Click(css("#simulate")),
		chromedp.WaitVisible(css(`#events li[data-vendor="sentiance"]`)),
	))

	// uqudo: the QR code, a double tap, the phone.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(css("#vendor-uqudo")),
		chromedp.Click(css("#start")),
		chromedp.WaitVisible(css("#grant-session")),
		chromedp.WaitVisible(css("#qr")),
	))
	session := text("#grant-session")
	link := text("#dynamic-link")
	require.NotEmpty(t, session)
	require.True(t, strings.Contains(link, "://"), link)
	assert.False(t, isVisible(t, ctx, "#reused"), "a first start is not reused")

	// The QR code as the browser shows it (a screenshot of the element)
	// decodes to the session's text. A screenshot is not a pure code (the
	// element's border, scaling), and the general detector misreads a
	// small share of valid codes; then the image the browser loaded,
	// copied through a canvas at its natural size, must decode to it.
	waitImage(t, ctx, "#qr")
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(css("#qr")))
	require.NoError(t, err)
	got, err := tryDecodeQR(shot)
	if err != nil {
		t.Logf("the screenshot did not decode (%v); reading the image the browser loaded", err)
		dataURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const i = document.querySelector('#qr'), c = document.createElement('canvas');
			c.width = i.naturalWidth; c.height = i.naturalHeight;
			c.getContext('2d').drawImage(i, 0, 0);
			return c.toDataURL('image/png');
		})()`))
		require.NoError(t, err)
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(dataURL, "data:image/png;base64,"))
		require.NoError(t, err)
		got = decodeQR(t, raw)
	}
	assert.Equal(t, link, got, "the QR code a phone scans holds the session's dynamic link")

	require.NoError(t, chromedp.Do(ctx, chromedp.Click(css("#start"))))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(css("#reused"))), "a double tap shows the reused badge")
	assert.Equal(t, session, text("#grant-session"), "the same session")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitEnabled(css("#simulate")),
		chromedp.Click(css("#simulate")),
		chromedp.WaitVisible(css(`#events li[data-vendor="uqudo"]`)),
	))
	ev := text(`#events li[data-vendor="uqudo"]`)
	assert.Contains(t, ev, "attributed to "+user)
	assert.Contains(t, ev, "verified")
	assert.Contains(t, ev, session)
	waitText("#message", "answered 200")

	if out := os.Getenv(screenshotEnv); out != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
		require.NoError(t, os.WriteFile(out, png, 0o644))
		t.Logf("screenshot saved to %s (%d bytes)", out, len(png))
	}
}

// isVisible reports whether sel is rendered (not hidden).
func isVisible(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	// As rendered, not as the hidden attribute says: a CSS display rule can
	// override that attribute.
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false; const r = e.getBoundingClientRect(); return getComputedStyle(e).display !== 'none' && r.width > 0 && r.height > 0; })()`))
	require.NoError(t, err)
	return v
}

// waitImage waits until the image sel has loaded.
func waitImage(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector(`+jsString(sel)+`); return !!i && i.complete && i.naturalWidth > 0; })()`))
		require.NoError(t, err)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not load", sel)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsString quotes s as a JavaScript string literal (s is a test constant).
func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
