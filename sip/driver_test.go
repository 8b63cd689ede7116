package sip_test

import (
	"context"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/cadenza-dialer/cadenza/sip/sim"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// audioSink collects what OnAudio delivers.
type audioSink struct {
	mu      sync.Mutex
	samples int
	voiced  int // 20 ms frames above -36 dBFS
}

func (a *audioSink) onAudio(pcm []int16) {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	a.mu.Lock()
	a.samples += len(pcm)
	if len(pcm) > 0 && math.Sqrt(sum/float64(len(pcm))) > 500 {
		a.voiced++
	}
	a.mu.Unlock()
}

func (a *audioSink) stats() (samples, voiced int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.samples, a.voiced
}

type rig struct {
	sim *sim.Simulator
	drv *sip.Driver
	reg *prometheus.Registry
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SIP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newRig starts a simulator and a driver with one trunk pointing at it.
func newRig(t *testing.T, simOpts sim.Options, trunk sip.Trunk) *rig {
	t.Helper()
	simOpts.Listen = "127.0.0.1:0"
	simOpts.Logger = testLogger(t)
	if simOpts.Ring == 0 {
		simOpts.Ring = 20 * time.Millisecond
	}
	if simOpts.HelloRepeat == 0 {
		simOpts.HelloRepeat = 300 * time.Millisecond
	}
	s, err := sim.New(simOpts)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	host, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	trunk.Name = "sim"
	trunk.Host = host
	if trunk.Port == 0 {
		trunk.Port, _ = strconv.Atoi(port)
	}
	reg := prometheus.NewRegistry()
	d, err := sip.NewDriver(sip.Options{Trunks: []sip.Trunk{trunk}, Logger: testLogger(t), Registerer: reg})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(d.Stop)
	return &rig{sim: s, drv: d, reg: reg}
}

// waitEvent reads events until typ (or hangup) arrives.
func waitEvent(t *testing.T, leg dialer.Leg, typ dialer.EventType, within time.Duration) []dialer.EventType {
	t.Helper()
	var seen []dialer.EventType
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-leg.Events():
			if !ok {
				return seen
			}
			seen = append(seen, ev.Type)
			if ev.Type == typ || ev.Type == dialer.EventHangup {
				return seen
			}
		case <-deadline:
			t.Fatalf("no %s event within %s (saw %v)", typ, within, seen)
		}
	}
}

func waitDone(t *testing.T, leg dialer.Leg, within time.Duration) dialer.LegResult {
	t.Helper()
	select {
	case <-leg.Done():
	case <-time.After(within):
		t.Fatalf("leg not done within %s", within)
	}
	return leg.Result()
}

// waitCalls polls the simulator's log until n records are there.
func waitCalls(t *testing.T, s *sim.Simulator, n int) []sim.CallRecord {
	t.Helper()
	var calls []sim.CallRecord
	require.Eventually(t, func() bool {
		calls = s.Calls()
		return len(calls) >= n
	}, 10*time.Second, 10*time.Millisecond)
	return calls
}

func TestDriverHumanCall(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	sink := &audioSink{}
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		CallID: "a1", Trunk: "sim", To: "+15550000001", From: "+15551110000",
		RingTimeout: 5 * time.Second, OnAudio: sink.onAudio,
	})
	require.NoError(t, err)
	seen := waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	require.Contains(t, seen, dialer.EventRinging)
	require.Equal(t, dialer.EventAnswered, seen[len(seen)-1])
	// The human says hello: we hear speech.
	require.Eventually(t, func() bool { _, v := sink.stats(); return v >= 5 }, 5*time.Second, 10*time.Millisecond)
	msg, err := sim.MessageAudio()
	require.NoError(t, err)
	played, err := leg.Play(context.Background(), msg[:8000])
	require.NoError(t, err)
	require.InDelta(t, time.Second, played, float64(25*time.Millisecond))
	require.NoError(t, leg.Hangup(context.Background()))
	res := waitDone(t, leg, 5*time.Second)
	require.True(t, res.Answered)
	require.Equal(t, 200, res.SIPCode)
	require.Equal(t, "us", res.HangupBy)
	calls := waitCalls(t, r.sim, 1)
	require.Equal(t, sim.Human, calls[0].Behavior)
	require.Equal(t, 200, calls[0].FinalCode)
	require.True(t, calls[0].CallerSpoke, "the simulator heard our audio")
	require.Equal(t, "caller", calls[0].HangupBy)
	require.Greater(t, calls[0].PacketsIn, uint64(45))
}

func TestDriverFailuresAgainstSimulator(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	tests := []struct {
		name        string
		to          string
		disposition dialer.Disposition
		code        int
		retryAfter  time.Duration
		behavior    sim.Kind
		earlyAudio  bool
	}{
		{"busy", "+15550000007", dialer.Busy, 486, 0, sim.Busy, false},
		{"invalid", "+15550000009", dialer.InvalidNumber, 404, 0, sim.Invalid, false},
		{"invalid with SIT tones", "+19993000000", dialer.InvalidNumber, 404, 0, sim.InvalidSIT, true},
		{"unavailable with retry-after", "+19990000000", dialer.Failed, 503, 30 * time.Second, sim.Unavailable, false},
		{"reject", "+19991000000", dialer.Rejected, 603, 0, sim.Reject, false},
		{"cps limit", "+19995000000", dialer.Failed, 503, sip.DefaultBackoff, sim.CPSLimit, false},
		{"auth without credentials", "+19994000000", dialer.Failed, 401, 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := &audioSink{}
			leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
				CallID: tc.name, Trunk: "sim", To: tc.to, From: "+15551110000",
				RingTimeout: 10 * time.Second, OnAudio: sink.onAudio,
			})
			require.NoError(t, err)
			res := waitDone(t, leg, 15*time.Second)
			require.False(t, res.Answered)
			require.Equal(t, tc.disposition, res.Disposition, res.Detail)
			require.Equal(t, tc.code, res.SIPCode)
			require.Equal(t, tc.retryAfter, res.RetryAfter)
			_, voiced := sink.stats()
			if tc.earlyAudio {
				require.Greater(t, voiced, 50, "SIT tones and announcement arrive as early media")
			} else {
				require.Zero(t, voiced)
			}
			if tc.behavior != "" {
				rec := findCall(t, r.sim, tc.to)
				require.Equal(t, tc.behavior, rec.Behavior)
				require.Equal(t, tc.code, rec.FinalCode)
			}
		})
	}
}

func findCall(t *testing.T, s *sim.Simulator, to string) sim.CallRecord {
	t.Helper()
	var rec sim.CallRecord
	require.Eventually(t, func() bool {
		for _, c := range s.Calls() {
			if c.To == to {
				rec = c
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "no call log record for %s", to)
	return rec
}

func TestDriverRingTimeoutCancels(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	start := time.Now()
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000008", From: "+15551110000", RingTimeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 10*time.Second)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, dialer.NoAnswer, res.Disposition)
	require.Equal(t, 487, res.SIPCode)
	require.Contains(t, res.Detail, "ring timeout")
	rec := findCall(t, r.sim, "+15550000008")
	require.True(t, rec.Cancelled)
	require.Equal(t, 487, rec.FinalCode)
	require.Equal(t, "caller", rec.HangupBy)
}

func TestDriverHangupBeforeAnswer(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000018", From: "+15551110000", RingTimeout: time.Minute,
	})
	require.NoError(t, err)
	waitEvent(t, leg, dialer.EventRinging, 5*time.Second)
	require.NoError(t, leg.Hangup(context.Background()))
	res := leg.Result()
	require.Equal(t, dialer.NoAnswer, res.Disposition)
	require.Equal(t, "us", res.HangupBy)
	require.True(t, findCall(t, r.sim, "+15550000018").Cancelled)
}

func TestDriverPasswordFromEnvironment(t *testing.T) {
	t.Parallel()
	trunk := sip.Trunk{Name: "x", Host: "127.0.0.1", Username: "alice", PasswordEnv: "CADENZA_TEST_PW"}
	_, err := sip.NewDriver(sip.Options{Trunks: []sip.Trunk{trunk}, Getenv: func(string) string { return "" }})
	require.ErrorContains(t, err, "trunks[0].password_env: environment variable CADENZA_TEST_PW is empty")
	d, err := sip.NewDriver(sip.Options{Trunks: []sip.Trunk{trunk}, Getenv: func(k string) string { return map[string]string{"CADENZA_TEST_PW": "pw"}[k] }})
	require.NoError(t, err)
	d.Stop()
}

func TestDriverDigestAuth(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{AuthUser: "alice", AuthPassword: "pw"}, sip.Trunk{Username: "alice", Password: "pw"})
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+19994000001", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	seen := waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	require.Equal(t, dialer.EventAnswered, seen[len(seen)-1], "answered after the 401 challenge")
	require.NoError(t, leg.Hangup(context.Background()))
	rec := findCall(t, r.sim, "+19994000001")
	require.True(t, rec.Authenticated)
	require.Equal(t, 200, rec.FinalCode)

	// The same through a 407 proxy challenge.
	leg, err = r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+19998000001", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	seen = waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	require.Equal(t, dialer.EventAnswered, seen[len(seen)-1], "answered after the 407 challenge")
	require.NoError(t, leg.Hangup(context.Background()))
	require.True(t, findCall(t, r.sim, "+19998000001").Authenticated)

	// Wrong password: sipgo retries a capped number of times, then the
	// 401 is the final answer.
	r2 := newRig(t, sim.Options{AuthUser: "alice", AuthPassword: "pw"}, sip.Trunk{Username: "alice", Password: "wrong"})
	leg, err = r2.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+19994000002", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 10*time.Second)
	require.Equal(t, 401, res.SIPCode)
	require.Equal(t, dialer.Failed, res.Disposition)
	require.Contains(t, res.Detail, "authentication failed")
}

func TestDriverEarlyMediaThenAnswer(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	sink := &audioSink{}
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+19992000000", From: "+15551110000", RingTimeout: 10 * time.Second, OnAudio: sink.onAudio,
	})
	require.NoError(t, err)
	seen := waitEvent(t, leg, dialer.EventAnswered, 10*time.Second)
	require.Contains(t, seen, dialer.EventProgress)
	require.Equal(t, dialer.EventAnswered, seen[len(seen)-1])
	_, voiced := sink.stats()
	require.Greater(t, voiced, 80, "2 s of early media arrived before the answer")
	require.NoError(t, leg.Hangup(context.Background()))
	require.True(t, leg.Result().Answered)
}

func TestDriverFarEndHangsUp(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+19996000000", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 10*time.Second)
	require.True(t, res.Answered)
	require.Equal(t, "far_end", res.HangupBy)
	rec := findCall(t, r.sim, "+19996000000")
	require.Equal(t, "sim", rec.HangupBy)
}

func TestDriverMaxCallDuration(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{MaxCallDuration: 400 * time.Millisecond})
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000002", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 10*time.Second)
	require.True(t, res.Answered)
	require.Equal(t, "us", res.HangupBy)
	require.Contains(t, res.Detail, "maximum call duration")
	require.Equal(t, "caller", findCall(t, r.sim, "+15550000002").HangupBy)
}

func TestDriverVoicemailDrop(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	sink := &audioSink{}
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000004", From: "+15551110000", RingTimeout: 5 * time.Second, OnAudio: sink.onAudio,
	})
	require.NoError(t, err)
	waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	// Greeting 1.5 s + beep 0.5 s = 16000 samples: wait them out on the
	// audio we receive, then leave 1.5 s of message.
	require.Eventually(t, func() bool { n, _ := sink.stats(); return n >= 16000 }, 10*time.Second, 5*time.Millisecond)
	msg, err := sim.MessageAudio()
	require.NoError(t, err)
	_, err = leg.Play(context.Background(), msg[:12000])
	require.NoError(t, err)
	require.NoError(t, leg.Hangup(context.Background()))
	rec := findCall(t, r.sim, "+15550000004")
	require.Equal(t, sim.Voicemail, rec.Behavior)
	require.False(t, rec.BeepEnd.IsZero())
	require.Equal(t, 500*time.Millisecond, rec.BeepEnd.Sub(rec.BeepStart).Round(100*time.Millisecond))
	require.NotNil(t, rec.MessageStartMS)
	require.False(t, rec.Clipped)
	require.GreaterOrEqual(t, *rec.MessageStartMS, int64(0))
	require.Less(t, *rec.MessageStartMS, int64(800))
	require.InDelta(t, 1300, rec.MessageMS, 400, "the spoken part of 1.5 s of message")
}

func TestDriverStopHangsUpLiveLegs(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	answered, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000021", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	waitEvent(t, answered, dialer.EventAnswered, 5*time.Second)
	ringing, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000028", From: "+15551110000", RingTimeout: time.Minute,
	})
	require.NoError(t, err)
	waitEvent(t, ringing, dialer.EventRinging, 5*time.Second)
	r.drv.Stop()
	r.drv.Stop() // idempotent
	require.Equal(t, "driver stopping", answered.Result().Detail)
	require.Equal(t, "us", answered.Result().HangupBy)
	require.Equal(t, dialer.NoAnswer, ringing.Result().Disposition)
	require.Equal(t, "caller", findCall(t, r.sim, "+15550000021").HangupBy, "BYE reached the far end")
	require.True(t, findCall(t, r.sim, "+15550000028").Cancelled, "CANCEL reached the far end")
	_, err = r.drv.Originate(context.Background(), dialer.OriginateRequest{Trunk: "sim", To: "+15550000001"})
	require.ErrorContains(t, err, "not running")
	_, err = answered.Play(context.Background(), make([]int16, 160))
	require.Error(t, err, "no audio after the call ended")
}

func TestDriverMetrics(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000007", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	waitDone(t, leg, 5*time.Second)
	leg, err = r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000031", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	_, err = leg.Play(context.Background(), make([]int16, 1600))
	require.NoError(t, err)
	require.NoError(t, leg.Hangup(context.Background()))
	families, err := r.reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	require.Equal(t, 2.0, got["cadenza_sip_invites_sent_total,trunk=sim"])
	require.Equal(t, 1.0, got["cadenza_sip_final_responses_total,class=4xx,trunk=sim"])
	require.Equal(t, 1.0, got["cadenza_sip_final_responses_total,class=2xx,trunk=sim"])
	require.Equal(t, 1.0, got["cadenza_sip_setup_seconds,trunk=sim"])
	require.Equal(t, 2.0, got["cadenza_sip_ring_latency_seconds,trunk=sim"])
	require.Zero(t, got["cadenza_sip_active_legs,trunk=sim"])
	// 10 packets of audio, plus silence keepalives (one at answer).
	require.GreaterOrEqual(t, got["cadenza_rtp_packets_total,direction=out,trunk=sim"], 11.0)
	require.Greater(t, got["cadenza_rtp_packets_total,direction=in,trunk=sim"], 5.0)
}

func TestSimulatorDetectsClippedMessage(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{})
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000014", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	// Speak over the greeting: the message starts before the beep ends.
	msg, err := sim.MessageAudio()
	require.NoError(t, err)
	_, err = leg.Play(context.Background(), msg[:8000*3])
	require.NoError(t, err)
	require.NoError(t, leg.Hangup(context.Background()))
	rec := findCall(t, r.sim, "+15550000014")
	require.True(t, rec.Clipped)
	require.NotNil(t, rec.MessageStartMS)
	require.Less(t, *rec.MessageStartMS, int64(-1000), "started well before the beep ended")
}

func TestSimulatorHumanSaysHelloAgain(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{HelloRepeat: 100 * time.Millisecond}, sip.Trunk{})
	sink := &audioSink{}
	leg, err := r.drv.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sim", To: "+15550000010", From: "+15551110000", RingTimeout: 5 * time.Second, OnAudio: sink.onAudio,
	})
	require.NoError(t, err)
	waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	// We stay silent: the three hellos of this number (≈ 0.8+1.9+1.4 s)
	// all arrive.
	require.Eventually(t, func() bool { n, _ := sink.stats(); return n >= 8000*4 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, leg.Hangup(context.Background()))
	rec := findCall(t, r.sim, "+15550000010")
	require.Equal(t, 3, rec.Hellos)
	require.False(t, rec.CallerSpoke)
}

func TestDriverTrunkSettings(t *testing.T) {
	t.Parallel()
	// National numbers, A-law only, through an outbound proxy (the
	// simulator) while the trunk host does not resolve.
	s, err := sim.New(sim.Options{Listen: "127.0.0.1:0", Ring: 20 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	d, err := sip.NewDriver(sip.Options{Logger: testLogger(t), Trunks: []sip.Trunk{{
		Name: "t", Host: "carrier.invalid", OutboundProxy: s.Addr(),
		NumberFormat: sip.FormatNational, Codecs: []string{sip.CodecPCMA},
	}}})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(d.Stop)
	sink := &audioSink{}
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		CallID: "attempt-42", Trunk: "t", To: "+15550000002", From: "+15551110000", RingTimeout: 5 * time.Second, OnAudio: sink.onAudio,
		Variables: map[string]string{"Campaign": "spring", "Bad Key": "x", "Inject": "a\r\nB: c"},
	})
	require.NoError(t, err)
	seen := waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	require.Equal(t, dialer.EventAnswered, seen[len(seen)-1], "%+v", leg.Result())
	require.Eventually(t, func() bool { _, v := sink.stats(); return v >= 5 }, 5*time.Second, 10*time.Millisecond, "A-law audio decodes to speech")
	require.NoError(t, leg.Hangup(context.Background()))
	rec := findCall(t, s, "5550000002")
	require.Equal(t, "attempt-42", rec.Attempt)
	require.Equal(t, "+15551110000", rec.From)

	_, err = d.Originate(context.Background(), dialer.OriginateRequest{Trunk: "nope", To: "+15550000002"})
	require.ErrorContains(t, err, `trunk "nope" is not configured`)
	_, err = d.Originate(context.Background(), dialer.OriginateRequest{Trunk: "t", To: "not a number"})
	require.ErrorContains(t, err, "to:")
}
