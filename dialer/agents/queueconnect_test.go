package agents

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
)

func TestConnectQueueRouting(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		c         dialer.Call
		held      bool
		queue     string
		wantAgent bool
	}{
		{"queue destination", dialer.Call{OnHuman: dialer.HumanAction{Destination: "queue:closers"}, Queue: "sales"}, false, "closers", true},
		{"agent mode with queue", dialer.Call{Mode: ModePredictive, Queue: "sales", OnHuman: dialer.HumanAction{Destination: ""}}, false, "sales", true},
		{"agentless sip", dialer.Call{Mode: ModeAgentless, Queue: "sales", OnHuman: dialer.HumanAction{Destination: "sip:bot@ai"}}, false, "", false},
		{"no mode, no queue", dialer.Call{OnHuman: dialer.HumanAction{Destination: "PJSIP/agent-1"}}, false, "", false},
		{"reserved by the gate", dialer.Call{Queue: "sales", OnHuman: dialer.HumanAction{Destination: "sip:x@y"}}, true, "sales", true},
	}
	for _, tc := range cases {
		q, ok := connectQueue(tc.c, tc.held)
		require.Equal(t, tc.wantAgent, ok, tc.name)
		require.Equal(t, tc.queue, q, tc.name)
	}
}

// Used without a Gate, the connector reserves at the answer and the leg's
// end puts the agent into wrap-up.
func TestConnectorAloneWrapsUpWhenTheLegEnds(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1", "a2"}, func(c *envConfig) { c.roster.DefaultWrapUp = time.Minute })
	leg := newTestLeg()
	c := salesCall("solo", ModeAgentless)
	c.Owner = "a2"
	require.NoError(t, e.conn.Connect(context.Background(), leg, c))
	require.Equal(t, []string{"sip:a2@pbx"}, e.inner.got(), "the owner is preferred")
	require.Equal(t, OnCall, e.state(t, "a2"))
	leg.end()
	require.Eventually(t, func() bool {
		st, err := e.roster.Get("a2", e.clock.Now())
		return err == nil && st.State == WrapUp
	}, 5*time.Second, time.Millisecond)
}

// A call whose reservation expired (and whose agent another call then
// reserved) must neither connect nor release that agent: it takes another.
func TestLostReservationIsNeverStolen(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1", "a2"}, func(c *envConfig) { c.roster.ReservationTimeout = time.Minute })
	e.sd.behave = func(c dialer.Call) string {
		e.clock.Advance(2 * time.Minute) // a very long ring: a1's hold expires
		_, err := e.roster.ReserveAgent("a1", "sales", e.clock.Now())
		if err != nil {
			return "a1 was not free for the other call"
		}
		return farHuman
	}
	out := e.gate.Dial(context.Background(), salesCall("c1", ModeProgressive))
	require.Equal(t, dialer.Human, out.Disposition, out.Detail)
	require.Equal(t, "a2", out.Agent)
	require.Equal(t, []string{"sip:a2@pbx"}, e.inner.got())
	require.Equal(t, Reserved, e.state(t, "a1"), "the other call's reservation is untouched")
}

func TestReleaseHoldOnlyReleasesItsOwnReservation(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{ReservationTimeout: time.Minute}, "a")
	require.NoError(t, r.Login("a", t0))
	h, err := r.reserveHold("sales", "", t0)
	require.NoError(t, err)
	later := t0.Add(2 * time.Minute) // expired
	other, err := r.reserveHold("sales", "", later)
	require.NoError(t, err)
	require.False(t, r.releaseHold(h, later))
	_, err = r.connectHold(h, ConnectInfo{}, later)
	require.ErrorIs(t, err, ErrAgentBusy)
	require.Equal(t, Reserved, state(t, r, "a", later))
	require.True(t, r.releaseHold(other, later))
	require.Equal(t, Available, state(t, r, "a", later))
}
