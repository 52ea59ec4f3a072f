package tokencache_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

func okFetch(context.Context, string) (string, tokencache.Expiry, error) {
	return "v", tokencache.Expiry{Hard: time.Now().Add(time.Hour)}, nil
}

func TestNew_InvalidConfig(t *testing.T) {
	for name, opt := range map[string]tokencache.Option{
		"nil option":             nil,
		"nil clock":              tokencache.WithClock(nil),
		"negative margin":        tokencache.WithSafetyMargin(-time.Second),
		"soft fraction above 1":  tokencache.WithSoftWindow(1.5, time.Minute),
		"soft fraction NaN":      tokencache.WithSoftWindow(math.NaN(), time.Minute),
		"negative soft min":      tokencache.WithSoftWindow(0.2, -time.Minute),
		"negative jitter":        tokencache.WithJitter(-0.1),
		"jitter above 1":         tokencache.WithJitter(2),
		"negative negative TTL":  tokencache.WithNegativeTTL(-time.Second),
		"zero fetch timeout":     tokencache.WithFetchTimeout(0),
		"negative max entries":   tokencache.WithMaxEntries(-1),
		"negative max refreshes": tokencache.WithMaxBackgroundRefreshes(-1),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := tokencache.New(okFetch, opt)
			require.ErrorIs(t, err, tokencache.ErrInvalidConfig)
			assert.Nil(t, c)
		})
	}

	_, err := tokencache.New[string, string](nil)
	require.ErrorIs(t, err, tokencache.ErrInvalidConfig, "nil fetch")
	_, err = tokencache.NewWithStore[string, string](okFetch, nil)
	require.ErrorIs(t, err, tokencache.ErrInvalidConfig, "nil store")
}

func TestNew_ValidEdgeOptions(t *testing.T) {
	c, err := tokencache.New(okFetch,
		tokencache.WithClock(realClock{}),
		tokencache.WithSafetyMargin(0),
		tokencache.WithSoftWindow(0, 0),
		tokencache.WithJitter(1),
		tokencache.WithNegativeTTL(0),
		tokencache.WithFetchTimeout(time.Second),
		tokencache.WithMaxEntries(0),
		tokencache.WithMaxBackgroundRefreshes(0),
	)
	require.NoError(t, err)
	defer c.Close()
	v, err := c.Get(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "v", v)
}
