package ari

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/ari/aritest"
)

// agentScripts adds agent endpoints to the test number plan.
func agentScripts(number string) aritest.Script {
	switch number {
	case "agent-ok": // picks up quickly
		return aritest.Script{RingFor: 150 * time.Millisecond, Answer: true}
	case "agent-away": // rings until the originate timeout
		return aritest.Script{}
	case "agent-busy":
		return aritest.Script{RingFor: 50 * time.Millisecond, Cause: 17}
	}
	return scripts(number)
}

// answeredCall dials a person who answers and stays on, and waits for the answer.
func answeredCall(t *testing.T, h *harness, to string) *leg {
	t.Helper()
	dl, _, _ := h.dial(t, to, 5*time.Second)
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-dl.Events():
			require.True(t, ok, "leg ended before the answer")
			if ev.Type == dialer.EventAnswered {
				return dl.(*leg)
			}
		case <-timeout:
			t.Fatal("no answer")
		}
	}
}

func connectCall(to, dest string) dialer.Call {
	return dialer.Call{ID: "att-" + to, To: to, Trunk: "carrier", OnHuman: dialer.HumanAction{Kind: "connect", Destination: dest}}
}

func record(t *testing.T, fake *aritest.Server, channelID string) aritest.CallRecord {
	t.Helper()
	for _, r := range fake.Records() {
		if r.ChannelID == channelID {
			return r
		}
	}
	t.Fatalf("no call record for %s", channelID)
	return aritest.CallRecord{}
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 10*time.Millisecond, msg)
}

func drain(l *leg) {
	go func() {
		for range l.Events() {
		}
	}()
}

// The agent answers and joins the customer's bridge well within the legal
// 2 s; externalMedia leaves the bridge; the agent hanging up ends the call.
func TestConnectAgentJoinsCustomerBridge(t *testing.T) {
	t.Parallel()
	h := newHarnessScripts(t, agentScripts)
	l := answeredCall(t, h, "+15550000010")
	drain(l)
	bridge, agentID := "br-"+l.id, agentPrefix+l.id

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, h.drv.Connect(ctx, l, connectCall("+15550000010", "PJSIP/agent-ok")))
	took := time.Since(start)
	t.Logf("connect latency (agent rings 150 ms in the fake): %v", took)
	require.Less(t, took, 2*time.Second)

	var joined time.Time
	for _, c := range h.fake.BridgeLog() {
		if c.Bridge == bridge && c.Channel == agentID && c.Joined {
			joined = c.At
		}
	}
	require.False(t, joined.IsZero(), "the agent never joined %s", bridge)
	require.Less(t, joined.Sub(start), 2*time.Second)

	eventually(t, func() bool {
		m, _ := h.fake.BridgeMembers(bridge)
		return slices.Equal(m, []string{l.id, agentID})
	}, "bridge should hold exactly the customer and the agent")

	ag := record(t, h.fake, agentID)
	require.Equal(t, "PJSIP/agent-ok", ag.Endpoint)
	require.Equal(t, "+15550000010", ag.CallerID)
	require.True(t, ag.Answered)
	require.False(t, l.isDone(), "the customer stays on after the connect")
	require.InDelta(t, 1, testutil.ToFloat64(h.drv.metrics.connects.WithLabelValues("connected")), 0)

	// The agent hangs up: we hang the customer up.
	require.True(t, h.fake.FarEndHangup(agentID))
	select {
	case <-l.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("customer not hung up after the agent left")
	}
	require.Equal(t, "us", l.Result().HangupBy)
	eventually(t, func() bool { return record(t, h.fake, l.id).HungUpBy == "us" }, "fake should see our hangup of the customer")
}

// The customer hangs up during the conversation: we hang the agent up.
func TestConnectCustomerHangupEndsAgent(t *testing.T) {
	t.Parallel()
	h := newHarnessScripts(t, agentScripts)
	l := answeredCall(t, h, "+15550000020")
	drain(l)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(t, h.drv.Connect(ctx, l, connectCall("+15550000020", "PJSIP/agent-ok")))

	require.True(t, h.fake.FarEndHangup(l.id))
	<-l.Done()
	require.Equal(t, "far_end", l.Result().HangupBy)
	eventually(t, func() bool { return record(t, h.fake, agentPrefix+l.id).HungUpBy == "us" }, "agent should be hung up by us")
	eventually(t, func() bool { _, ok := h.fake.BridgeMembers("br-" + l.id); return !ok }, "bridge should be destroyed")
}

// An agent who doesn't answer before the deadline: Connect fails within
// the deadline, the agent's channel is hung up, the customer stays for the
// dialer's safe-harbor message.
func TestConnectAgentNoAnswerBeforeDeadline(t *testing.T) {
	t.Parallel()
	h := newHarnessScripts(t, agentScripts)
	l := answeredCall(t, h, "+15550000030")
	drain(l)
	const deadline = 600 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err := h.drv.Connect(ctx, l, connectCall("+15550000030", "PJSIP/agent-away"))
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "did not answer in time")
	// The agent hangup is a REST call after the deadline; allow it, no more.
	require.Less(t, took, deadline+time.Second)

	agentID := agentPrefix + l.id
	eventually(t, func() bool { return record(t, h.fake, agentID).HungUpBy == "us" }, "agent channel should be hung up by us")
	ag := record(t, h.fake, agentID)
	require.False(t, ag.Answered)
	m, ok := h.fake.BridgeMembers("br-" + l.id)
	require.True(t, ok)
	require.NotContains(t, m, agentID)
	require.Contains(t, m, "em-"+l.id, "externalMedia stays for the safe-harbor message")
	require.False(t, l.isDone(), "the customer is the dialer's to play safe harbor to")
	require.InDelta(t, 1, testutil.ToFloat64(h.drv.metrics.connects.WithLabelValues("failed")), 0)

	// A second connect on the same call is refused.
	require.ErrorContains(t, h.drv.Connect(context.Background(), l, connectCall("+15550000030", "PJSIP/agent-ok")), "already being connected")
}

func TestConnectAgentBusyFailsFast(t *testing.T) {
	t.Parallel()
	h := newHarnessScripts(t, agentScripts)
	l := answeredCall(t, h, "+15550000040")
	drain(l)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := h.drv.Connect(ctx, l, connectCall("+15550000040", "PJSIP/agent-busy"))
	require.ErrorContains(t, err, "cause 17")
	require.NoError(t, ctx.Err(), "a busy agent fails before the deadline")
	require.False(t, l.isDone())
}

func TestConnectRefusals(t *testing.T) {
	t.Parallel()
	h := newHarnessScripts(t, agentScripts)

	// Not answered yet.
	ringing, _, _ := h.dial(t, "+15550000008", 2*time.Second)
	err := h.drv.Connect(context.Background(), ringing, connectCall("+15550000008", "PJSIP/agent-ok"))
	require.ErrorContains(t, err, "not answered")

	// Bad destination names the field.
	l := answeredCall(t, h, "+15550000050")
	drain(l)
	err = h.drv.Connect(context.Background(), l, connectCall("+15550000050", "agent-ok"))
	require.ErrorContains(t, err, "on_human.destination")

	// A leg from elsewhere.
	err = h.drv.Connect(context.Background(), foreignLeg{}, connectCall("+1", "PJSIP/agent-ok"))
	require.ErrorContains(t, err, "not placed by this driver")
	require.NoError(t, ringing.Hangup(context.Background()))
	<-ringing.Done()
}

type foreignLeg struct{ dialer.Leg }

func TestParseAgentDestination(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dest, endpoint, want, err string
	}{
		{dest: "PJSIP/agent-1", want: "PJSIP/agent-1"},
		{dest: " PJSIP/agent-1 ", want: "PJSIP/agent-1"},
		{dest: "PJSIP/1001@pbx", want: "PJSIP/1001@pbx"},
		{dest: "PJSIP/pbx/sip:1001@10.0.0.5", want: "PJSIP/pbx/sip:1001@10.0.0.5"},
		{dest: "IAX2/agents/1001", want: "IAX2/agents/1001"},
		{dest: "sip:1001@10.0.0.5:5060", endpoint: "agents", want: "PJSIP/agents/sip:1001@10.0.0.5:5060"},
		{dest: "SIPS:1001@pbx.example.com", endpoint: "agents", want: "PJSIP/agents/SIPS:1001@pbx.example.com"},
		{dest: "sip:1001@10.0.0.5", err: "agent_endpoint"},
		{dest: "sip:10.0.0.5", endpoint: "agents", err: "sip:user@host"},
		{dest: "sip:@host", endpoint: "agents", err: "sip:user@host"},
		{dest: "", err: "empty"},
		{dest: "agent-1", err: "Tech/resource"},
		{dest: "PJSIP/", err: "Tech/resource"},
		{dest: "/agent", err: "Tech/resource"},
		{dest: "PJSIP/a&PJSIP/b", err: "not allowed"},
		{dest: "PJSIP/a,30", err: "not allowed"},
		{dest: "PJ SIP/a", err: "not allowed"},
		{dest: "PJ-SIP/a", err: "channel driver"},
	} {
		got, err := ParseAgentDestination(tc.dest, tc.endpoint)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.dest)
			continue
		}
		require.NoError(t, err, tc.dest)
		require.Equal(t, tc.want, got, tc.dest)
	}
}

func FuzzParseAgentDestination(f *testing.F) {
	for _, s := range []string{"PJSIP/agent-1", "sip:1001@host", "sips:a@b:5061", "PJSIP/x/sip:a@b", "", "/", "a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dest string) {
		got, err := ParseAgentDestination(dest, "agents")
		if err != nil {
			return
		}
		// Whatever is accepted is one Asterisk dial string: Tech/resource,
		// with nothing that would make Asterisk dial several.
		tech, res, ok := strings.Cut(got, "/")
		if !ok || tech == "" || res == "" || strings.ContainsAny(got, " \t\r\n,&") {
			t.Fatalf("%q accepted as %q", dest, got)
		}
	})
}

func TestOptionsAgentEndpoint(t *testing.T) {
	t.Parallel()
	o := Options{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p", App: "a", AgentEndpoint: "agents/x"}
	require.ErrorContains(t, o.Validate(), "agent_endpoint")
	o.AgentEndpoint = "agents"
	require.NoError(t, o.Validate())
}
