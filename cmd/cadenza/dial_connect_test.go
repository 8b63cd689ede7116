package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// `cadenza dial --connect` against the simulator: a human answers, AMD
// says human, the driver calls the simulator's agent and bridges the two.

func startAgentSim(t *testing.T) *sim.Simulator {
	t.Helper()
	s, err := sim.New(sim.Options{
		Listen: "127.0.0.1:0", Ring: 50 * time.Millisecond, MaxCall: 20 * time.Second,
		// A short agent: greets, talks 300 ms, hangs up (so the test is quick).
		Behaviors: map[string]sim.Behavior{"agent-1": {Kind: sim.Agent, HangupAfter: 300 * time.Millisecond}},
	})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	return s
}

func TestDialConnectBridgesHumanToAgent(t *testing.T) {
	t.Parallel()
	s := startAgentSim(t)
	lines, stderr, err := runDialCmd(t, nil,
		"--trunk-uri", "sip:"+s.Addr(), "--to", "+15550100001", "--from", "+15557650000",
		"--connect", "sip:agent-1@"+s.Addr())
	require.NoError(t, err, stderr)
	require.Len(t, lines, 1, stderr)
	o := lines[0]
	require.Equal(t, dialer.Human, o.Disposition, rawLines(t, lines))
	require.Equal(t, "human: connected", o.Detail)
	require.NotNil(t, o.Connected)
	require.True(t, *o.Connected)
	require.Positive(t, o.ConnectedMS)
	require.NotNil(t, o.AMD)
	// Bridged within the legal 2 s of the human verdict.
	require.Less(t, o.ConnectedMS-o.AMD.DecisionMS, int64(2000), rawLines(t, lines))
	t.Logf("connected_ms %d, amd decision_ms %d", o.ConnectedMS, o.AMD.DecisionMS)

	var agent sim.CallRecord
	require.Eventually(t, func() bool {
		for _, c := range s.Calls() {
			if c.To == "agent-1" {
				agent = c
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, 200, agent.FinalCode)
	require.Equal(t, "+15550100001", agent.From)
	require.False(t, agent.AgentGreeted.IsZero())
}

func TestDialConnectFailureIsAbandoned(t *testing.T) {
	t.Parallel()
	s := startAgentSim(t)
	wav := filepath.Join(t.TempDir(), "safe-harbor.wav")
	writeToneWAV(t, wav, time.Second)
	lines, stderr, err := runDialCmd(t, nil,
		"--trunk-uri", "sip:"+s.Addr(), "--to", "+15550100002", "--from", "+15557650000",
		"--connect", "sip:agent-busy@"+s.Addr(), "--safe-harbor", wav)
	require.NoError(t, err, stderr)
	require.Len(t, lines, 1, stderr)
	o := lines[0]
	require.Equal(t, dialer.Abandoned, o.Disposition, rawLines(t, lines))
	require.NotNil(t, o.Connected)
	require.False(t, *o.Connected)
	require.Zero(t, o.ConnectedMS)
	require.Contains(t, o.Detail, "486")
	require.InDelta(t, 1000, o.SafeHarborMS, 20)
}

func TestDialConnectFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--connect", "tel:+15551234567"}, "--connect: uri: must start with sip:"},
		{[]string{"--connect", "sip:@"}, "--connect"},
		{[]string{"--safe-harbor", "x.wav"}, "--safe-harbor: only with --connect"},
	} {
		args := append([]string{"--trunk-uri", "sip:127.0.0.1:9", "--to", "+15550100001", "--from", "+15557650000"}, tc.args...)
		_, _, err := runDialCmd(t, nil, args...)
		require.ErrorContains(t, err, tc.err, tc.args)
	}
}
