package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

// Issue 11 item 6: a Start whose context ends while it waits on a shared
// fetch returns an *OpError wrapping a *TransportError that names the
// vendor's minting call, and errors.Is still sees the context error.
func TestBroker_ContextEndWhileWaitingIsATransportError(t *testing.T) {
	paths := map[broker.Vendor]string{
		broker.Entrupy:   "/v2/integrations/authorize-user",
		broker.Sentiance: "/users/auth-code",
		broker.IDV:       "/api/device/ephemeral",
		broker.Uqudo:     "/api/v1/session",
	}
	for _, v := range broker.Vendors() {
		t.Run(string(v), func(t *testing.T) {
			env := newEnv(t)
			b := env.Broker
			if v == broker.Uqudo {
				// Fetch uqudo's access token first, so the held call is the session.
				_, err := env.UqudoClient.AccessToken(background)
				require.NoError(t, err)
			}
			release := env.hold()
			defer release()

			// The leader starts the shared fetch and is cancelled while it waits.
			leaderCtx, cancelLeader := context.WithCancel(background)
			leaderErr := make(chan error, 1)
			go func() {
				_, err := b.Start(leaderCtx, request(v, "user-000001"))
				leaderErr <- err
			}()
			eventually(t, func() bool { return env.inflight.Load() == 1 }, "the vendor call is in flight")

			// A follower waits on the same fetch until its deadline.
			followerCtx, cancelFollower := context.WithTimeout(background, 50*time.Millisecond)
			defer cancelFollower()
			_, ferr := b.Start(followerCtx, request(v, "user-000001"))
			cancelLeader()
			var lerr error
			select {
			case lerr = <-leaderErr:
			case <-time.After(10 * time.Second):
				t.Fatal("the cancelled leader did not return")
			}

			for name, tc := range map[string]struct {
				err  error
				want error
			}{"leader": {lerr, context.Canceled}, "follower": {ferr, context.DeadlineExceeded}} {
				require.Error(t, tc.err, name)
				assert.ErrorIs(t, tc.err, tc.want, name)
				var op *broker.OpError
				require.ErrorAs(t, tc.err, &op, name)
				assert.Equal(t, v, op.Vendor)
				var te *broker.TransportError
				require.ErrorAs(t, tc.err, &te, name)
				assert.Equal(t, string(v), te.Vendor, name)
				assert.Equal(t, "POST", te.Method, name)
				assert.Equal(t, paths[v], te.Path, name)
				assert.False(t, broker.IsRetryable(tc.err), "the caller's own context ended: %s", name)
				assert.True(t, errors.Is(tc.err, tc.want))
			}
			release()
			eventually(t, func() bool { return env.MintCalls(v) == 1 }, "the shared call completed")
		})
	}
}
