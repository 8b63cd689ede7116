package agents

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/pacing"
)

// These tests run the gate and the connector in front of the real
// dialer.Dialer, with the real AMD deciding "human" on a recorded "Hello?".
// dialer's own scripted driver lives in its _test files and cannot be
// imported, so helloDriver below is a minimal one: every call rings,
// answers, says hello and hangs up a little later.

// audioSpeed is how much faster than real time the far end streams audio.
const audioSpeed = 20

type helloDriver struct{ pcm []int16 }

func (d *helloDriver) Originate(_ context.Context, req dialer.OriginateRequest) (dialer.Leg, error) {
	l := &helloLeg{events: make(chan dialer.Event, 8), done: make(chan struct{})}
	l.res.Timings.InviteSent = time.Now()
	go l.run(req, d.pcm)
	return l, nil
}

type helloLeg struct {
	events chan dialer.Event
	done   chan struct{}

	mu    sync.Mutex
	ended bool
	res   dialer.LegResult
}

func (l *helloLeg) run(req dialer.OriginateRequest, pcm []int16) {
	l.send(dialer.EventRinging)
	l.mu.Lock()
	l.res.Answered, l.res.SIPCode, l.res.SIPReason = true, 200, "OK"
	l.res.Timings.Answered = time.Now()
	l.mu.Unlock()
	l.send(dialer.EventAnswered)
	const frame = 160
	buf := make([]int16, frame)
	for i := 0; i < len(pcm); i += frame {
		select {
		case <-l.done:
			return
		case <-time.After(20 * time.Millisecond / audioSpeed):
		}
		n := copy(buf, pcm[i:min(i+frame, len(pcm))])
		req.OnAudio(buf[:n])
	}
	l.end("far_end") // the person hangs up after a while
}

func (l *helloLeg) send(t dialer.EventType) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended {
		l.events <- dialer.Event{Type: t, At: time.Now()}
	}
}

func (l *helloLeg) end(by string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.ended = true
	l.res.HangupBy = by
	l.res.Timings.Hangup = time.Now()
	l.events <- dialer.Event{Type: dialer.EventHangup, At: time.Now()}
	close(l.events)
	close(l.done)
}

func (l *helloLeg) Events() <-chan dialer.Event { return l.events }
func (l *helloLeg) Done() <-chan struct{}       { return l.done }
func (l *helloLeg) Hangup(context.Context) error {
	l.end("us")
	return nil
}
func (l *helloLeg) Play(_ context.Context, samples []int16) (time.Duration, error) {
	return time.Duration(len(samples)) * time.Second / 8000, nil
}
func (l *helloLeg) Result() dialer.LegResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res
}

// helloAudio is a second of line noise, "Hello?" from dialer's test data,
// then four seconds of line noise (a person waiting for an answer).
func helloAudio(t *testing.T) []int16 {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "hello.wav"))
	require.NoError(t, err)
	defer f.Close()
	hello, err := audio.DecodeWAV(f)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	noise := func(n int) []int16 {
		out := make([]int16, n)
		for i := range out {
			out[i] = int16(r.NormFloat64() * 30)
		}
		return out
	}
	pcm := append(noise(8000), hello...)
	for i := 8000; i < len(pcm); i++ {
		pcm[i] += int16(r.NormFloat64() * 30)
	}
	return append(pcm, noise(4*8000)...)
}

// realEnv wires Roster → QueueConnector → dialer.Dialer → Gate as
// cmd/cadenza does.
func realEnv(t *testing.T, agentIDs ...string) (*gateEnv, *dialer.Dialer) {
	t.Helper()
	e := &gateEnv{clock: newManualClock(g0), inner: &recConnector{}, reg: prometheus.NewRegistry()}
	var err error
	e.roster, err = NewRoster(Options{DefaultWrapUp: 30 * time.Second})
	require.NoError(t, err)
	for _, id := range agentIDs {
		require.NoError(t, e.roster.Add(Agent{ID: id, Name: "Agent " + id, Destination: "sip:" + id + "@pbx", Queues: []string{"sales"}}))
		require.NoError(t, e.roster.Login(id, g0))
	}
	e.conn, err = NewQueueConnector(ConnectorOptions{Roster: e.roster, Inner: e.inner, Clock: e.clock, Registerer: e.reg})
	require.NoError(t, err)
	pacer, err := pacing.NewLocal(nil, map[string]pacing.Limits{"t1": {CPS: 100, MaxChannels: 10}}, pacing.LocalOptions{})
	require.NoError(t, err)
	d, err := dialer.New(dialer.Options{
		Drivers:    map[string]dialer.Driver{"t1": &helloDriver{pcm: helloAudio(t)}},
		Pacer:      pacer,
		Connector:  e.conn,
		Registerer: e.reg,
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(d.Stop)
	e.gate, err = NewGate(GateOptions{Dialer: d, Connector: e.conn, Registerer: e.reg})
	require.NoError(t, err)
	return e, d
}

func TestRealDialerProgressiveConnectsReservedAgent(t *testing.T) {
	t.Parallel()
	e, _ := realEnv(t, "a1")
	events, cancel, err := e.roster.Subscribe("a1")
	require.NoError(t, err)
	defer cancel()
	out := e.gate.Dial(context.Background(), salesCall("real-1", ModeProgressive))
	require.Equal(t, dialer.Human, out.Disposition, out.Detail)
	require.Equal(t, "human: connected", out.Detail)
	require.Equal(t, "a1", out.Agent)
	require.Positive(t, out.ConnectedMS)
	require.Equal(t, []string{"sip:a1@pbx"}, e.inner.got())
	// The connector moves the agent to wrap-up when it sees the bridged
	// leg end, on a goroutine of its own: it may land just after Dial
	// returned.
	require.Eventually(t, func() bool { return e.state(t, "a1") == WrapUp }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "connecting you to Ada Lovelace, +15550001111, script: Say hi", nextOf(t, events, EventConnecting).Text)
}

func TestRealDialerNoAgentAbandonsWithSafeHarbor(t *testing.T) {
	t.Parallel()
	e, _ := realEnv(t, "a1")
	require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
	c := salesCall("real-2", ModeAgentless) // connect to queue:sales at the answer
	c.SafeHarborAudio = make([]int16, 8000)
	out := e.gate.Dial(context.Background(), c)
	require.Equal(t, dialer.Abandoned, out.Disposition, out.Detail)
	require.Contains(t, out.Detail, "no agent available")
	require.EqualValues(t, 1000, out.SafeHarborMS)
	require.Empty(t, out.Agent)
	require.Empty(t, e.inner.got())
	require.Equal(t, Paused, e.state(t, "a1"))
}
