package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func miscTests() []test {
	return []test{
		{"Ping", testPing},
		{"CancelledContext", testCancelledContext},
		{"Close", testClose},
	}
}

func testPing(t *testing.T, s engine.Store) {
	require.NoError(t, s.Ping(ctx(t)))
}

func testCancelledContext(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "c", engine.StatusDraft, at(0))
	cctx, cancel := context.WithCancel(ctx(t))
	cancel()
	_, err := s.GetCadence(cctx, c.ID)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.UpdateCadence(cctx, c.ID, Definition("x"), 0, at(1))
	require.Error(t, err)
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.Version, "a cancelled update saves nothing")
}

func testClose(t *testing.T, s engine.Store) {
	require.NoError(t, s.Close())
	require.Error(t, s.Ping(ctx(t)), "a closed store is unusable")
}
