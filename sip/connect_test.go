package sip_test

import (
	"context"
	"errors"
	"math"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/pacing"
	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// These tests run the whole human branch over real SIP and RTP on
// loopback: the dialer places a call through the driver to a simulated
// human, AMD hears "hello", the driver bridges the call to a simulated
// agent (a second INVITE, straight to the agent's URI) and relays audio
// both ways. The simulator's call log is the far ends' testimony.

// connectRig is a simulator, a driver on a trunk pointing at it, and a
// dialer that uses the driver as its Connector.
type connectRig struct {
	sim       *sim.Simulator
	drv       *sip.Driver
	d         *dialer.Dialer
	connected chan time.Time // one value per successful Connect
}

func newConnectRig(t *testing.T, simOpts sim.Options, codecs ...string) *connectRig {
	t.Helper()
	simOpts.Listen = "127.0.0.1:0"
	simOpts.Logger = testLogger(t)
	simOpts.Ring = 20 * time.Millisecond
	// The human repeats "hello" after 2 s of silence: long enough for AMD
	// to decide on the first one, and the repeat is what the agent hears
	// through the bridge.
	simOpts.HelloRepeat = 2 * time.Second
	if simOpts.MaxCall == 0 {
		simOpts.MaxCall = 20 * time.Second
	}
	s, err := sim.New(simOpts)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	host, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	p, _ := strconv.Atoi(port)
	drv, err := sip.NewDriver(sip.Options{Trunks: []sip.Trunk{{Name: "sim", Host: host, Port: p, Codecs: codecs}}, Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, drv.Start(context.Background()))
	t.Cleanup(drv.Stop)
	pacer, err := pacing.NewLocal(nil, map[string]pacing.Limits{"sim": {CPS: 50, Burst: 5, MaxChannels: 10}}, pacing.LocalOptions{})
	require.NoError(t, err)
	r := &connectRig{sim: s, drv: drv, connected: make(chan time.Time, 4)}
	d, err := dialer.New(dialer.Options{
		Drivers:        map[string]dialer.Driver{"sim": drv},
		Pacer:          pacer,
		Connector:      connectorFunc(func(ctx context.Context, l dialer.Leg, c dialer.Call) error { return r.connect(ctx, l, c) }),
		Logger:         testLogger(t),
		MinRingTimeout: time.Second,
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(d.Stop)
	r.d = d
	return r
}

type connectorFunc func(context.Context, dialer.Leg, dialer.Call) error

func (f connectorFunc) Connect(ctx context.Context, l dialer.Leg, c dialer.Call) error {
	return f(ctx, l, c)
}

// connect is the driver's Connect, timed; the dialer gives it the legal 2 s.
func (r *connectRig) connect(ctx context.Context, l dialer.Leg, c dialer.Call) error {
	if err := r.drv.Connect(ctx, l, c); err != nil {
		return err
	}
	r.connected <- time.Now()
	return nil
}

func (r *connectRig) agentURI(user string) string { return "sip:" + user + "@" + r.sim.Addr() }

func connectCall(to, agent string) dialer.Call {
	return dialer.Call{
		To: to, Trunk: "sim", CallerID: "+15557654321", RingTimeout: 5 * time.Second,
		MaxDuration: 30 * time.Second,
		OnHuman:     dialer.HumanAction{Kind: dialer.HumanConnect, Destination: agent},
	}
}

// farEnd waits until the simulator logged a finished call to user.
func farEnd(t *testing.T, s *sim.Simulator, user string) sim.CallRecord {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, c := range s.Calls() {
			if c.To == user {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call to %s in the simulator's log: %+v", user, s.Calls())
		}
		time.Sleep(10 * time.Millisecond) // polling the log, not synchronizing
	}
}

func TestConnectBridgesHumanToAgent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		codecs []string
	}{
		{name: "pcmu trunk"},
		{name: "pcma trunk", codecs: []string{sip.CodecPCMA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testBridge(t, tc.codecs)
		})
	}
}

func testBridge(t *testing.T, codecs []string) {
	const human, agent = "+15550200001", "agent-1"
	r := newConnectRig(t, sim.Options{
		// The agent greets when the customer pauses, then talks 500 ms and
		// hangs up: its BYE must end the customer's leg too.
		Behaviors: map[string]sim.Behavior{agent: {Kind: sim.Agent, HangupAfter: 500 * time.Millisecond}},
	}, codecs...)
	out := r.d.Dial(context.Background(), connectCall(human, r.agentURI(agent)))
	require.Equal(t, dialer.Human, out.Disposition, out.Detail)
	require.Equal(t, "human: connected", out.Detail)
	require.NotNil(t, out.AMD)
	require.Equal(t, "human", out.AMD.Verdict)

	// Bridged within the legal 2 s of the verdict.
	var bridgedAt time.Time
	select {
	case bridgedAt = <-r.connected:
	default:
		t.Fatal("Connect never succeeded")
	}
	latency := bridgedAt.Sub(out.Timings.AMDVerdict)
	require.Less(t, latency, 2*time.Second)
	require.Positive(t, out.ConnectedMS)
	require.GreaterOrEqual(t, out.ConnectedMS, out.AMD.DecisionMS)
	t.Logf("connect latency after the AMD verdict: %v (connected_ms %d, amd decision_ms %d)", latency, out.ConnectedMS, out.AMD.DecisionMS)

	a := farEnd(t, r.sim, agent)
	h := farEnd(t, r.sim, human)
	t.Logf("agent: received %d ms voiced, heard caller %v, %d/%d RTP in/out; customer: heard %d ms voiced from us",
		a.AgentReceivedMS, a.AgentHeardCaller, a.PacketsIn, a.PacketsOut, h.CallerVoicedMS)
	// Customer → agent: the agent heard the customer's repeated hello.
	require.Equal(t, sim.Agent, a.Behavior)
	require.Equal(t, 200, a.FinalCode)
	require.True(t, a.AgentHeardCaller, "%+v", a)
	require.Positive(t, a.AgentReceivedMS, "%+v", a)
	require.Equal(t, "+15550200001", a.From, "the agent sees the customer's number")
	require.NotEmpty(t, a.Attempt)
	// Agent → customer: the customer heard the agent's greeting, the
	// only voiced audio on our side of the customer's leg.
	require.False(t, a.AgentGreeted.IsZero())
	require.Greater(t, h.CallerVoicedMS, int64(500), "%+v", h)
	require.True(t, h.CallerSpoke)
	// The agent hung up; we then hung the customer up.
	require.Equal(t, "sim", a.HangupBy)
	require.Equal(t, "caller", h.HangupBy)
	require.Equal(t, "us", out.HangupBy)
	// …at once, not at the end of the customer's 20 s (MaxCall).
	require.WithinDuration(t, a.Hangup, h.Hangup, time.Second)
}

func TestConnectEndsAgentWhenCustomerLegEnds(t *testing.T) {
	t.Parallel()
	const human, agent = "+15550200011", "agent-2"
	r := newConnectRig(t, sim.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-r.connected:
			cancel() // hang the customer up as soon as the bridge stands
		case <-ctx.Done():
		}
	}()
	out := r.d.Dial(ctx, connectCall(human, r.agentURI(agent)))
	require.Equal(t, dialer.Human, out.Disposition, out.Detail)
	require.Positive(t, out.ConnectedMS)
	require.Contains(t, out.Detail, "cancelled")
	a := farEnd(t, r.sim, agent)
	require.Equal(t, 200, a.FinalCode)
	require.Equal(t, "caller", a.HangupBy, "our BYE ended the agent's leg")
}

func TestConnectFailuresAreAbandoned(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, human, agent string
		detail             string
		cancelled          bool
	}{
		{name: "agent busy", human: "+15550200021", agent: "agent-busy-1", detail: "486 Busy Here"},
		{name: "agent does not answer", human: "+15550200031", agent: "agent-noanswer-1", detail: "not connected in time", cancelled: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newConnectRig(t, sim.Options{})
			c := connectCall(tc.human, r.agentURI(tc.agent))
			// Safe harbor: 1.2 s of tone stands in for the recorded message.
			c.SafeHarborAudio = testTone(600, 1200*time.Millisecond)
			out := r.d.Dial(context.Background(), c)
			require.Equal(t, dialer.Abandoned, out.Disposition, out.Detail)
			require.Contains(t, out.Detail, tc.detail)
			require.Zero(t, out.ConnectedMS)
			require.EqualValues(t, 1200, out.SafeHarborMS)
			require.Contains(t, out.Detail, "safe-harbor message played")

			h := farEnd(t, r.sim, tc.human)
			require.Greater(t, h.CallerVoicedMS, int64(1000), "the customer heard the safe-harbor message: %+v", h)
			require.Equal(t, "caller", h.HangupBy)
			a := farEnd(t, r.sim, tc.agent)
			require.Equal(t, tc.cancelled, a.Cancelled, "%+v", a)
			if tc.cancelled {
				require.Equal(t, 487, a.FinalCode)
				// The legal 2 s: the message started right after the deadline.
				require.WithinDuration(t, out.Timings.AMDVerdict.Add(2*time.Second), a.Hangup, 700*time.Millisecond)
			}
		})
	}
}

func TestConnectRejectsForeignAndUnansweredLegs(t *testing.T) {
	t.Parallel()
	r := newConnectRig(t, sim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.drv.Connect(ctx, otherLeg{}, connectCall("+15550200041", r.agentURI("agent-3")))
	require.ErrorContains(t, err, "not placed by this driver")

	leg, err := r.drv.Originate(ctx, dialer.OriginateRequest{Trunk: "sim", To: "+15550200048", From: "+15557654321", RingTimeout: 5 * time.Second})
	require.NoError(t, err) // …8 rings without answering
	err = r.drv.Connect(ctx, leg, connectCall("+15550200048", r.agentURI("agent-3")))
	require.ErrorContains(t, err, "not answered")
	err = r.drv.Connect(ctx, leg, connectCall("+15550200048", "tel:+15551234567"))
	require.ErrorContains(t, err, "on_human.destination")
	require.NoError(t, leg.Hangup(ctx))
}

type otherLeg struct{ dialer.Leg }

func TestParseAgentURI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, host, user, err string
		port                int
	}{
		{in: "sip:agent-1@127.0.0.1:5070", host: "127.0.0.1", user: "agent-1", port: 5070},
		{in: "<sip:1001@pbx.example.com;transport=tcp>", host: "pbx.example.com", user: "1001"},
		{in: "sips:agent@pbx.example.com", host: "pbx.example.com", user: "agent"},
		{in: " sip:pbx.example.com ", host: "pbx.example.com"},
		{in: "", err: "must start with sip:"},
		{in: "tel:+15551234567", err: "must start with sip:"},
		{in: "sip:agent@", err: "no host"},
		{in: "sip:agent@pbx;transport=sctp", err: "transport"},
		{in: "sip:agent@pbx\r\nX: y", err: "whitespace"},
	} {
		u, err := sip.ParseAgentURI(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.host, u.Host, tc.in)
		require.Equal(t, tc.user, u.User, tc.in)
		require.Equal(t, tc.port, u.Port, tc.in)
	}
}

func FuzzParseAgentURI(f *testing.F) {
	for _, s := range []string{"sip:agent-1@127.0.0.1:5070", "<sips:a@b;transport=tls>", "sip:@", "sip:a@b:99999", "sip:[::1]:5060"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := sip.ParseAgentURI(s)
		if err != nil {
			var fe *sip.FieldError
			require.True(t, errors.As(err, &fe), "errors name the field: %v", err)
			return
		}
		require.NotEmpty(t, u.Host)
	})
}

func testTone(hz float64, d time.Duration) []int16 {
	n := int(d.Seconds() * 8000)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return pcm
}

// A failed attempt frees the leg for another agent within the same call;
// a second Connect while one stands is refused; our hang-up of the
// customer sends the agent its BYE.
func TestConnectRetriesAnotherAgent(t *testing.T) {
	t.Parallel()
	r := newConnectRig(t, sim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const human = "+15550200051"
	leg, err := r.drv.Originate(ctx, dialer.OriginateRequest{Trunk: "sim", To: human, From: "+15557654321", RingTimeout: 5 * time.Second})
	require.NoError(t, err)
	require.Contains(t, waitEvent(t, leg, dialer.EventAnswered, 5*time.Second), dialer.EventAnswered)

	cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
	err = r.drv.Connect(cctx, leg, connectCall(human, r.agentURI("agent-busy-9")))
	ccancel()
	require.ErrorContains(t, err, "486")
	start := time.Now()
	cctx, ccancel = context.WithTimeout(ctx, 2*time.Second)
	err = r.drv.Connect(cctx, leg, connectCall(human, r.agentURI("agent-9")))
	ccancel()
	require.NoError(t, err)
	t.Logf("Connect to a ringing-then-answering agent took %v (sim ring 20 ms)", time.Since(start))
	err = r.drv.Connect(ctx, leg, connectCall(human, r.agentURI("agent-10")))
	require.ErrorContains(t, err, "already being connected")

	require.NoError(t, leg.Hangup(ctx))
	a := farEnd(t, r.sim, "agent-9")
	require.Equal(t, 200, a.FinalCode)
	require.Equal(t, "caller", a.HangupBy, "our BYE reached the agent")
	require.Equal(t, 486, farEnd(t, r.sim, "agent-busy-9").FinalCode)
}

// An agent host that never answers (nothing listens on the port) costs
// Connect no more than its deadline, and the driver still stops at once:
// an INVITE without any response is given up without waiting for Timer B.
func TestConnectDeadAgentHost(t *testing.T) {
	t.Parallel()
	r := newConnectRig(t, sim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const human = "+15550200061"
	leg, err := r.drv.Originate(ctx, dialer.OriginateRequest{Trunk: "sim", To: human, From: "+15557654321", RingTimeout: 5 * time.Second})
	require.NoError(t, err)
	require.Contains(t, waitEvent(t, leg, dialer.EventAnswered, 5*time.Second), dialer.EventAnswered)

	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.LocalAddr().String()
	require.NoError(t, dead.Close())
	start := time.Now()
	cctx, ccancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err = r.drv.Connect(cctx, leg, connectCall(human, "sip:agent@"+deadAddr))
	ccancel()
	require.Error(t, err)
	require.Less(t, time.Since(start), 1500*time.Millisecond, "Connect keeps to its deadline: %v", err)
	t.Logf("dead agent host: %v after %v", err, time.Since(start))

	start = time.Now()
	r.drv.Stop() // hangs up the customer, gives the agent INVITE up
	require.Less(t, time.Since(start), 5*time.Second)
	res := waitDone(t, leg, time.Second)
	require.True(t, res.Answered)
}

// Stopping the driver ends a bridge: BYE to the customer and to the agent.
func TestConnectDriverStopEndsBothLegs(t *testing.T) {
	t.Parallel()
	r := newConnectRig(t, sim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const human = "+15550200071"
	leg, err := r.drv.Originate(ctx, dialer.OriginateRequest{Trunk: "sim", To: human, From: "+15557654321", RingTimeout: 5 * time.Second})
	require.NoError(t, err)
	require.Contains(t, waitEvent(t, leg, dialer.EventAnswered, 5*time.Second), dialer.EventAnswered)
	cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
	require.NoError(t, r.drv.Connect(cctx, leg, connectCall(human, r.agentURI("agent-11"))))
	ccancel()
	r.drv.Stop()
	require.Equal(t, "caller", farEnd(t, r.sim, "agent-11").HangupBy)
	require.Equal(t, "caller", farEnd(t, r.sim, human).HangupBy)
}
