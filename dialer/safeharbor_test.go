package dialer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A failed connect plays the safe-harbor message (seller, callback number,
// opt-out) before hanging up, and the call stays abandoned.
func TestConnectFailurePlaysSafeHarbor(t *testing.T) {
	t.Parallel()
	h := newHarness(t, humanScript(t), func(o *Options) {
		o.Connector = fakeConnector{err: errors.New("no agent free")}
	})
	c := baseCall()
	c.OnHuman = HumanAction{Kind: HumanConnect, Destination: "sip:agent@pbx"}
	c.SafeHarborAudio = tone(440, 600*time.Millisecond, 4000)
	out := h.d.Dial(context.Background(), c)
	require.Equal(t, Abandoned, out.Disposition, out.Detail)
	require.Contains(t, out.Detail, "no agent free")
	require.Contains(t, out.Detail, "safe-harbor message played (0.6s)")
	require.EqualValues(t, 600, out.SafeHarborMS)
	require.Zero(t, out.ConnectedMS)
	require.Equal(t, "us", out.HangupBy)
	_, _, played, plays, _ := h.drv.leg(t).snapshot()
	require.Equal(t, 1, plays)
	require.Equal(t, 600*time.Millisecond, played)
}

// Without safe-harbor audio a failed connect hangs up at once.
func TestConnectFailureWithoutSafeHarborHangsUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t, humanScript(t), func(o *Options) {
		o.Connector = fakeConnector{err: errors.New("agent busy")}
	})
	c := baseCall()
	c.OnHuman = HumanAction{Kind: HumanConnect, Destination: "sip:agent@pbx"}
	out := h.d.Dial(context.Background(), c)
	require.Equal(t, Abandoned, out.Disposition)
	require.Zero(t, out.SafeHarborMS)
	_, _, _, plays, _ := h.drv.leg(t).snapshot()
	require.Zero(t, plays)
}
