package idv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
)

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *manualClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fakeClient returns a client for srv, with fast retries.
func fakeClient(t *testing.T, srv *idvtest.Server, key string, opts ...idv.Option) *idv.Client {
	t.Helper()
	all := append([]idv.Option{
		idv.WithInsecureHTTP(),
		idv.WithHTTPClient(srv.Client()),
		idv.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	}, opts...)
	c, err := idv.NewClient(srv.URL, idv.Credentials{APIKey: key}, all...)
	require.NoError(t, err)
	return c
}

// follow opens a handoff URL like the person's browser and decodes the page
// it ends on.
func follow(t *testing.T, hc *http.Client, handoffURL string) (int, map[string]string) {
	t.Helper()
	status, page, err := followErr(hc, handoffURL)
	require.NoError(t, err)
	return status, page
}

// followErr is follow for goroutines other than the test's.
func followErr(hc *http.Client, handoffURL string) (int, map[string]string, error) {
	resp, err := hc.Get(handoffURL)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var page map[string]string
	_ = json.Unmarshal(body, &page)
	return resp.StatusCode, page, nil
}

func TestFake_EndToEnd(t *testing.T) {
	srv := idvtest.NewServer(t)
	c := fakeClient(t, srv, idvtest.DefaultAPIKey)
	ctx := context.Background()

	h, err := c.Initiate(ctx, idv.InitiateParams{WorkflowID: "kyc & more", ExternalUserID: "user 42", Metadata: map[string]any{"plan": "gold"}})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h.Device.Token, idvtest.TokenPrefix), "fake tokens hold + and =")
	assert.Contains(t, h.Device.Token, "=")

	rec, ok := srv.Session(h.Session.ID)
	require.True(t, ok)
	assert.Equal(t, "kyc & more", rec.WorkflowID)
	assert.Equal(t, map[string]any{"plan": "gold", "externalUserId": "user 42"}, rec.Metadata)
	assert.Zero(t, rec.Opened)

	// Follow the handoff URL like a browser: /capture redirects to /mobile,
	// which names the session.
	status, page := follow(t, srv.Client(), h.URL)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, h.Session.ID, page["sessionId"])
	assert.Equal(t, "kyc & more", page["workflowId"])
	rec, _ = srv.Session(h.Session.ID)
	assert.Equal(t, 1, rec.Opened)
	assert.Equal(t, 1, srv.Calls(idvtest.RouteCapture))
	assert.Equal(t, 1, srv.Calls(idvtest.RouteMobile))

	res, err := c.GetSession(ctx, h.Session.ID)
	require.NoError(t, err)
	assert.Equal(t, idv.SessionStatusNotCompleted, res.Status)
	assert.Equal(t, "user 42", res.Metadata[idv.MetadataExternalUserID])
	assert.Nil(t, res.Properties)

	require.NoError(t, srv.SetResult(h.Session.ID, idv.SessionStatusVerified, map[string]any{"firstName": "JANE"}))
	res, err = c.GetSession(ctx, h.Session.ID)
	require.NoError(t, err)
	assert.Equal(t, idv.SessionStatusVerified, res.Status)
	assert.JSONEq(t, `{"firstName":"JANE"}`, string(res.Properties))

	require.NoError(t, srv.SetResult(h.Session.ID, "IN_REVIEW", nil))
	res, err = c.GetSession(ctx, h.Session.ID)
	require.NoError(t, err)
	assert.Equal(t, idv.SessionStatus("IN_REVIEW"), res.Status, "unknown statuses are kept verbatim")

	_, err = c.GetSession(ctx, "no-such-session")
	require.ErrorIs(t, err, idv.ErrNotFound)

	assert.Equal(t, 1, srv.Calls(idvtest.RouteCreateDevice))
	assert.Equal(t, 1, srv.Calls(idvtest.RouteStartSession))
	assert.Equal(t, 4, srv.Calls(idvtest.RouteGetSession))
}

func TestFake_HandoffWithPathlessBaseAndTamperedURL(t *testing.T) {
	srv := idvtest.NewServer(t)
	c := fakeClient(t, srv, idvtest.DefaultAPIKey)
	h, err := c.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "wf"})
	require.NoError(t, err)

	other, err := c.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "wf"})
	require.NoError(t, err)
	// Another device's token for this session: refused.
	swapped, err := idv.BuildHandoffURL(srv.URL, other.Device.Token, h.Session.ID)
	require.NoError(t, err)
	status, _ := follow(t, srv.Client(), swapped)
	assert.Equal(t, http.StatusUnauthorized, status)
	// A session that does not exist: refused at /capture.
	missing, err := idv.BuildHandoffURL(srv.URL, h.Device.Token, "session-999")
	require.NoError(t, err)
	status, _ = follow(t, srv.Client(), missing)
	assert.Equal(t, http.StatusNotFound, status)
	// The real one works.
	status, page := follow(t, srv.Client(), h.URL)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, h.Session.ID, page["sessionId"])
}

func TestFake_CredentialsKeptApart(t *testing.T) {
	srv := idvtest.NewServer(t)
	ctx := context.Background()
	c := fakeClient(t, srv, idvtest.DefaultAPIKey)
	d, err := c.CreateEphemeralDevice(ctx, time.Minute)
	require.NoError(t, err)

	// The API key cannot start a session.
	_, err = c.StartSession(ctx, &idv.EphemeralDevice{Token: "ApiKey " + idvtest.DefaultAPIKey}, "wf", nil)
	require.ErrorIs(t, err, idv.ErrUnauthorized)
	var apiErr *idv.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "API_KEY_NOT_ALLOWED", apiErr.Code)
	assert.NotContains(t, err.Error(), idvtest.DefaultAPIKey)

	// A device token cannot create devices, deep links or read sessions.
	asDevice := fakeClient(t, srv, d.Token, idv.WithAuthScheme(idv.DeviceTokenScheme))
	_, err = asDevice.CreateEphemeralDevice(ctx, time.Minute)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "DEVICE_TOKEN_NOT_ALLOWED", apiErr.Code)
	_, err = asDevice.CreateDeepLink(ctx, idv.DeepLinkParams{WorkflowIDs: []string{"wf"}})
	require.ErrorIs(t, err, idv.ErrUnauthorized)
	_, err = asDevice.GetSession(ctx, "session-1")
	require.ErrorIs(t, err, idv.ErrUnauthorized)
	assert.NotContains(t, err.Error(), d.Token)

	// A wrong key is refused; the right key with the wrong scheme too.
	wrong := fakeClient(t, srv, "wrong-key-123456")
	_, err = wrong.CreateEphemeralDevice(ctx, time.Minute)
	require.ErrorIs(t, err, idv.ErrUnauthorized)
	bare := fakeClient(t, srv, idvtest.DefaultAPIKey, idv.WithAuthScheme(""))
	_, err = bare.CreateEphemeralDevice(ctx, time.Minute)
	require.ErrorIs(t, err, idv.ErrUnauthorized)

	// A fake expecting the bare key accepts a client configured for it.
	bareSrv := idvtest.NewServer(t, idvtest.WithAuthScheme(""), idvtest.WithAPIKey("other-key-98765"))
	bareClient := fakeClient(t, bareSrv, "other-key-98765", idv.WithAuthScheme(""))
	_, err = bareClient.CreateEphemeralDevice(ctx, time.Minute)
	require.NoError(t, err)
}

func TestFake_DeviceTokenExpires(t *testing.T) {
	fakeClock := &manualClock{t: fixedNow}
	srv := idvtest.NewServer(t, idvtest.WithClock(fakeClock.Now))
	// The client's clock stands still, so only the fake decides expiry here.
	c := fakeClient(t, srv, idvtest.DefaultAPIKey, idv.WithClock(func() time.Time { return fixedNow }))
	ctx := context.Background()

	d, err := c.CreateEphemeralDevice(ctx, time.Minute)
	require.NoError(t, err)
	s, err := c.StartSession(ctx, d, "wf", nil)
	require.NoError(t, err, "a fresh token starts sessions")
	h, err := c.HandoffURL(d, s)
	require.NoError(t, err)

	fakeClock.Advance(59 * time.Second)
	_, err = c.StartSession(ctx, d, "wf", nil)
	require.NoError(t, err, "still valid one second before expiry")

	fakeClock.Advance(time.Second)
	_, err = c.StartSession(ctx, d, "wf", nil)
	require.ErrorIs(t, err, idv.ErrUnauthorized)
	var apiErr *idv.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "TOKEN_EXPIRED", apiErr.Code)
	assert.NotContains(t, fmt.Sprintf("%+v", err), d.Token)

	status, _ := follow(t, srv.Client(), h)
	assert.Equal(t, http.StatusUnauthorized, status, "the handoff URL dies with its token")
}

func TestClient_StartSession_ExpiredOnClientClock(t *testing.T) {
	srv := idvtest.NewServer(t)
	clientClock := &manualClock{t: time.Now()}
	c := fakeClient(t, srv, idvtest.DefaultAPIKey, idv.WithClock(clientClock.Now))
	d, err := c.CreateEphemeralDevice(context.Background(), 30*time.Second)
	require.NoError(t, err)
	clientClock.Advance(31 * time.Second)
	_, err = c.StartSession(context.Background(), d, "wf", nil)
	var ve *idv.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "device.expires_at", ve.Field)
	assert.Zero(t, srv.Calls(idvtest.RouteStartSession), "refused before any call")
}

func TestFake_FailNext(t *testing.T) {
	srv := idvtest.NewServer(t)
	c := fakeClient(t, srv, idvtest.DefaultAPIKey)
	ctx := context.Background()

	srv.FailNext(1, idvtest.Failure{Status: http.StatusServiceUnavailable})
	_, err := c.CreateEphemeralDevice(ctx, time.Minute)
	require.ErrorIs(t, err, idv.ErrServer)
	assert.True(t, idv.IsRetryable(err))
	var apiErr *idv.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "INJECTED_FAILURE", apiErr.Code)
	assert.Equal(t, 1, srv.Calls(idvtest.RouteCreateDevice), "a create call is not retried after a 503")

	_, err = c.CreateEphemeralDevice(ctx, time.Minute)
	require.NoError(t, err, "the failure was used up")

	// GET is retried through two injected 503s.
	h, err := c.Initiate(ctx, idv.InitiateParams{WorkflowID: "wf"})
	require.NoError(t, err)
	srv.FailNext(2, idvtest.Failure{Route: idvtest.RouteGetSession, Status: http.StatusServiceUnavailable})
	_, err = c.GetSession(ctx, h.Session.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, srv.Calls(idvtest.RouteGetSession))
}

func TestFake_RateLimitRetryAfter(t *testing.T) {
	srv := idvtest.NewServer(t)
	ctx := context.Background()

	noRetry := fakeClient(t, srv, idvtest.DefaultAPIKey, idv.WithRetry(0, 0, 0))
	srv.FailNext(1, idvtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second})
	_, err := noRetry.CreateEphemeralDevice(ctx, time.Minute)
	require.ErrorIs(t, err, idv.ErrRateLimited)
	var apiErr *idv.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 3*time.Second, apiErr.RetryAfter)

	// With retries, a 429 is retried even for a create call, the wait capped
	// by WithRetry's maximum (5 ms here, not 3 s).
	c := fakeClient(t, srv, idvtest.DefaultAPIKey)
	srv.FailNext(2, idvtest.Failure{Route: idvtest.RouteCreateDevice, Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second})
	start := time.Now()
	_, err = c.CreateEphemeralDevice(ctx, time.Minute)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, 4, srv.Calls(idvtest.RouteCreateDevice))
}

func TestFake_DeepLink(t *testing.T) {
	srv := idvtest.NewServer(t)
	c := fakeClient(t, srv, idvtest.DefaultAPIKey, idv.WithClock(time.Now))
	dl, err := c.CreateDeepLink(context.Background(), idv.DeepLinkParams{WorkflowIDs: []string{"a", "b"}, TTL: 10 * time.Minute, Locale: "en"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(dl.URL, srv.URL+"/deeplink/"), dl.URL)
	assert.Equal(t, []string{"a", "b"}, dl.WorkflowIDs)
	assert.Equal(t, 10*time.Minute, dl.ExpiresAt.Sub(dl.CreatedAt))
	assert.Equal(t, 1, srv.Calls(idvtest.RouteCreateDeepLink))
}

// TestFake_Responder runs the whole flow through an httpmock transport with
// no socket, including following the handoff URL.
func TestFake_Responder(t *testing.T) {
	fake := idvtest.New()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(fake.Responder())
	hc := &http.Client{Transport: mt}
	c, err := idv.NewClient("https://idv.mock/", idv.Credentials{APIKey: idvtest.DefaultAPIKey},
		idv.WithHTTPClient(hc), idv.WithRetry(0, 0, 0))
	require.NoError(t, err)

	h, err := c.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "wf", ExternalUserID: "u"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h.URL, "https://idv.mock/capture?url=https%3A%2F%2Fidv.mock%2Fmobile"), h.URL)

	status, page := follow(t, hc, h.URL)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, h.Session.ID, page["sessionId"])

	res, err := c.GetSession(context.Background(), h.Session.ID)
	require.NoError(t, err)
	assert.Equal(t, "u", res.Metadata[idv.MetadataExternalUserID])
	assert.Equal(t, 5, mt.GetTotalCallCount(), "device, session, capture, mobile, get")
}

func TestFake_Concurrent(t *testing.T) {
	srv := idvtest.NewServer(t)
	c := fakeClient(t, srv, idvtest.DefaultAPIKey)
	const n = 16
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			h, err := c.Initiate(context.Background(), idv.InitiateParams{WorkflowID: "wf", ExternalUserID: fmt.Sprint("u", i)})
			errs[i] = err
			if err == nil {
				ids[i] = h.Session.ID
				if status, _, err := followErr(srv.Client(), h.URL); err != nil || status != http.StatusOK {
					errs[i] = fmt.Errorf("follow: %d %v", status, err)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		assert.False(t, seen[ids[i]], "session ids are unique")
		seen[ids[i]] = true
		rec, ok := srv.Session(ids[i])
		require.True(t, ok)
		assert.Equal(t, 1, rec.Opened)
	}
	assert.Equal(t, n, srv.Calls(idvtest.RouteStartSession))
}
