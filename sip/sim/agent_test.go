package sim

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAgentBehavior(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user  string
		kind  Kind
		agent bool
	}{
		{"agent-1", Agent, true},
		{"Agent-42", Agent, true},
		{"agent", Agent, true},
		{"agent-busy-1", Busy, true},
		{"agent-noanswer-2", NoAnswer, true},
		{"agent-no-answer", NoAnswer, true},
		{"+15550000001", "", false},
		{"reagent-1", "", false},
	} {
		b, ok := agentBehavior(tc.user, AgentTalk)
		require.Equal(t, tc.agent, ok, tc.user)
		require.Equal(t, tc.kind, b.Kind, tc.user)
	}
}

func TestAgentRouting(t *testing.T) {
	t.Parallel()
	s, err := New(Options{
		Listen:    "127.0.0.1:0",
		Default:   Behavior{Kind: Voicemail},
		Behaviors: map[string]Behavior{"agent-7": {Kind: Agent, HangupAfter: time.Second}},
	})
	require.NoError(t, err)
	// Agents answer as agents whatever Default says; exact overrides win.
	b := s.behavior("agent-1")
	require.Equal(t, Agent, b.Kind)
	require.Equal(t, AgentTalk, b.HangupAfter)
	require.Equal(t, time.Second, s.behavior("agent-7").HangupAfter)
	require.Equal(t, Voicemail, s.behavior("+15550000001").Kind)

	// Options.AgentTalk shortens every agent's stay, not an exact override.
	quick, err := New(Options{Listen: "127.0.0.1:0", AgentTalk: 400 * time.Millisecond,
		Behaviors: map[string]Behavior{"agent-7": {Kind: Agent, HangupAfter: time.Second}}})
	require.NoError(t, err)
	require.Equal(t, 400*time.Millisecond, quick.behavior("agent-2").HangupAfter)
	require.Equal(t, time.Second, quick.behavior("agent-7").HangupAfter)
}

func TestAgentGreetingIsSpeech(t *testing.T) {
	t.Parallel()
	pcm, err := agentGreeting()
	require.NoError(t, err)
	secs := float64(len(pcm)) / 8000
	require.Greater(t, secs, 1.0)
	require.Less(t, secs, 4.0, "keep the greeting short: tests wait for it")
	require.Greater(t, rms(pcm), 1000.0)
}

func TestAgentRecordFields(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := newCallLog(&buf, 10)
	l.add(CallRecord{CallID: "a1", To: "agent-1", Behavior: Agent, FinalCode: 200, AgentReceivedMS: 1840, AgentHeardCaller: true,
		AgentGreeted: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)})
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	require.Equal(t, "agent", m["behavior"])
	require.Equal(t, 1840.0, m["agent_received_ms"])
	require.Equal(t, true, m["agent_heard_caller"])
	require.Equal(t, "2026-11-23T14:00:00Z", m["agent_greeted"])
}
