package sim

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/amd/audio"
)

// Agent answers bridge INVITEs like a call-center agent's phone: it picks
// up, listens for the customer, greets them, talks for a while and hangs up
// (BYE from the agent's side). It logs how much voiced audio it received,
// so a test can prove the dialer relays the customer's voice to the agent;
// the customer's record (caller_voiced_ms) proves the other direction.
const Agent Kind = "agent"

// Agent defaults.
const (
	// AgentTalk is how long an agent stays on the line after its greeting
	// before it hangs up, unless Options.AgentTalk says otherwise.
	AgentTalk = 3 * time.Second
	// agentListen is how long an agent waits to hear the customer before
	// greeting anyway.
	agentListen = 3 * time.Second
	// agentPause is the silence after the customer's words that lets the
	// agent speak.
	agentPause = 300 * time.Millisecond
)

// agentBehavior maps agent URIs: a Request-URI user starting with "agent"
// (sip:agent-1@sim) reaches an agent; "agent-busy…" answers 486 and
// "agent-noanswer…" rings without answering, for the failure paths. It
// reports false for every other user (the number table applies).
func agentBehavior(user string, talk time.Duration) (Behavior, bool) {
	u := strings.ToLower(user)
	if !strings.HasPrefix(u, "agent") {
		return Behavior{}, false
	}
	switch {
	case strings.Contains(u, "busy"):
		return Behavior{Kind: Busy}, true
	case strings.Contains(u, "noanswer"), strings.Contains(u, "no-answer"), strings.Contains(u, "no_answer"):
		return Behavior{Kind: NoAnswer}, true
	}
	return Behavior{Kind: Agent, HangupAfter: talk}, true
}

// agentGreeting is the agent's spoken greeting ("Hi there, how can I
// help?"), decoded from the bundled WAV.
func agentGreeting() ([]int16, error) {
	b, err := audioFS.ReadFile("audio/agent.wav")
	if err != nil {
		return nil, err
	}
	pcm, err := audio.DecodeWAV(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode agent.wav: %w", err)
	}
	return pcm, nil
}

// agent listens until the customer speaks (or agentListen passes), greets
// them, stays HangupAfter more, then hangs up unless the dialer did first.
func (c *call) agent() {
	ctx := c.dlg.Context()
	c.rec.AgentHeardCaller = c.waitSpeech(agentListen)
	greeting, err := agentGreeting()
	if err != nil {
		c.s.log.Warn("agent greeting", "error", err)
	}
	if ctx.Err() == nil && len(greeting) > 0 {
		c.rec.AgentGreeted = c.s.opts.Now()
		_, _ = c.rtp.Play(ctx, c.s.stopCh, greeting)
	}
	c.wait(c.b.HangupAfter)
	first, _ := c.speech()
	c.rec.CallerSpoke = !first.IsZero()
	c.hangup()
	c.mu.Lock()
	c.rec.AgentReceivedMS = int64(c.voiced) * 1000 / 8000
	c.mu.Unlock()
}

// waitSpeech polls the caller-audio analysis until the caller spoke and
// paused, the call ended or d passed; it reports whether speech was heard.
func (c *call) waitSpeech(d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// Greet once the customer paused, as a person would.
		if first, last := c.speech(); !first.IsZero() && time.Since(last) > agentPause {
			return true
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return false
		case <-c.dlg.Context().Done():
			return false
		case <-c.s.stopCh:
			return false
		}
	}
}
