package dialer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDrainLetsCallsFinish(t *testing.T) {
	t.Parallel()
	h := newHarness(t, humanScript(t), func(o *Options) { o.DrainTimeout = 10 * time.Second })
	c := baseCall()
	c.OnHuman = HumanAction{Kind: HumanMessage, Audio: tone(440, time.Second, 4000)}
	var wg sync.WaitGroup
	outs := make([]Outcome, 3)
	for i := range outs {
		wg.Go(func() { outs[i] = h.d.Dial(context.Background(), c) })
	}
	waitFor(t, func() bool { return countSteps(h.rec.get(), "originate") == 3 })
	h.d.Stop()
	wg.Wait()
	for _, out := range outs {
		require.Equal(t, Human, out.Disposition)
		require.Contains(t, out.Detail, "message played (1.0s)", "calls in flight finish their message")
	}
	late := h.d.Dial(context.Background(), c)
	require.Equal(t, Failed, late.Disposition)
	require.True(t, strings.HasPrefix(late.Detail, DetailNotRunning), late.Detail)
	h.d.Stop() // idempotent
}

func TestDrainTimeoutHangsUpAndAbandonsWaiting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, humanScript(t), func(o *Options) {
		o.DrainTimeout = 100 * time.Millisecond
		o.Connector = fakeConnector{}
	})
	c := baseCall()
	c.OnHuman = HumanAction{Kind: HumanConnect, Destination: "sip:agent@pbx"}
	inFlight := make(chan Outcome, 1)
	go func() { inFlight <- h.d.Dial(context.Background(), c) }()
	waitFor(t, func() bool { return countSteps(h.rec.get(), "originate") == 1 })

	// A second call waits for pacing when the drain starts.
	blocked := &fakePacer{rec: &recorder{}, block: true}
	d2, err := New(Options{Drivers: map[string]Driver{trunkName: h.drv}, Pacer: blocked, CallerIDs: h.picker})
	require.NoError(t, err)
	require.NoError(t, d2.Start(context.Background()))
	waiting := make(chan Outcome, 1)
	go func() { waiting <- d2.Dial(context.Background(), c) }()
	waitFor(t, func() bool { return len(blocked.rec.get()) == 1 })
	d2.Stop()
	w := <-waiting
	require.Equal(t, Failed, w.Disposition)
	require.Contains(t, w.Detail, "dialer stopping")
	require.False(t, w.Placed())

	h.d.Stop()
	out := <-inFlight
	require.Contains(t, out.Detail, whyShutdown)
	require.Equal(t, "us", out.HangupBy)
	require.Equal(t, 0, h.pacer.heldSlots())
}

func TestStartStopContract(t *testing.T) {
	t.Parallel()
	d, err := New(Options{Drivers: map[string]Driver{trunkName: &fakeDriver{}}, Pacer: &fakePacer{}})
	require.NoError(t, err)
	out := d.Dial(context.Background(), baseCall())
	require.True(t, strings.HasPrefix(out.Detail, DetailNotRunning), "dial before Start is refused")
	require.NoError(t, d.Start(context.Background()))
	require.Error(t, d.Start(context.Background()))
	d.Stop()
	d.Stop()
	require.Error(t, d.Start(context.Background()))

	_, err = New(Options{Drivers: map[string]Driver{trunkName: &fakeDriver{}}})
	require.ErrorContains(t, err, "pacer")
	_, err = New(Options{Pacer: &fakePacer{}})
	require.ErrorContains(t, err, "drivers")
}

func TestManyConcurrentCalls(t *testing.T) {
	t.Parallel()
	const n = 1000
	hello := loadWAV(t, "hello.wav")
	humanPCM := withNoise(concat(quiet(time.Second), hello, quiet(3*time.Second)), 6)
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		switch l.req.CallID[len(l.req.CallID)-1] {
		case '0':
			l.answer()
			l.feed(humanPCM)
		default:
			l.reject(Busy, 486, "Busy Here", 0)
		}
	})
	var wg sync.WaitGroup
	outs := make([]Outcome, n)
	for i := range n {
		wg.Go(func() {
			c := baseCall()
			c.ID = fmt.Sprintf("att-%d", i)
			outs[i] = h.d.Dial(context.Background(), c)
		})
	}
	wg.Wait()
	counts := map[Disposition]int{}
	for _, o := range outs {
		counts[o.Disposition]++
	}
	require.Equal(t, map[Disposition]int{Human: 100, Busy: 900}, counts)
	require.Equal(t, 0, h.pacer.heldSlots())
}

func TestMetricsHaveBoundedLabels(t *testing.T) {
	t.Parallel()
	pcm, _ := machineAudio(t, true)
	h := newHarness(t, machineScript(pcm))
	c := baseCall()
	c.VoicemailAudio = tone(440, 500*time.Millisecond, 4000)
	h.d.Dial(context.Background(), c)
	bad := baseCall()
	bad.Trunk = "typo"
	h.d.Dial(context.Background(), bad)

	mfs, err := h.reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, lp := range m.GetLabel() {
				require.NotContains(t, lp.GetValue(), "555", "a phone number in a label")
				key += "," + lp.GetName() + "=" + lp.GetValue()
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
	for key, want := range map[string]float64{
		"cadenza_dialer_calls_started_total,trunk=carrier-a":                                1,
		"cadenza_dialer_calls_ended_total,disposition=voicemail,trunk=carrier-a":            1,
		"cadenza_dialer_calls_not_placed_total,reason=invalid,trunk=_unknown":               1,
		"cadenza_dialer_active_calls,trunk=carrier-a":                                       0,
		"cadenza_dialer_amd_verdicts_total,verdict=machine":                                 1,
		"cadenza_dialer_amd_decision_seconds,verdict=machine":                               1,
		"cadenza_dialer_voicemail_drops_total,result=complete,trigger=beep,trunk=carrier-a": 1,
		"cadenza_dialer_setup_seconds,trunk=carrier-a":                                      1,
		"cadenza_dialer_ring_seconds,trunk=carrier-a":                                       1,
		"cadenza_dialer_answer_seconds,trunk=carrier-a":                                     1,
	} {
		require.Equal(t, want, got[key], key)
	}

	// A second dialer on the same registerer is refused, not a panic.
	_, err = New(Options{Drivers: map[string]Driver{trunkName: h.drv}, Pacer: h.pacer, Registerer: h.reg})
	require.ErrorContains(t, err, "already registered")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func countSteps(steps []string, s string) int {
	n := 0
	for _, x := range steps {
		if x == s {
			n++
		}
	}
	return n
}

// blockingDriver's Originate hangs until its context ends.
type blockingDriver struct{ entered chan struct{} }

func (b blockingDriver) Originate(ctx context.Context, _ OriginateRequest) (Leg, error) {
	close(b.entered)
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestStopDoesNotWaitForStuckOriginate(t *testing.T) {
	t.Parallel()
	drv := blockingDriver{entered: make(chan struct{})}
	d, err := New(Options{
		Drivers:      map[string]Driver{trunkName: drv},
		Pacer:        &fakePacer{rec: &recorder{}},
		CallerIDs:    &fakePicker{rec: &recorder{}, number: ourNumber},
		DrainTimeout: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	done := make(chan Outcome, 1)
	go func() { done <- d.Dial(context.Background(), baseCall()) }()
	<-drv.entered
	d.Stop() // returns once the drain timeout cancels the stuck originate
	out := <-done
	require.Equal(t, Failed, out.Disposition)
	require.False(t, out.Placed())
	require.Contains(t, out.Detail, "dialer stopping")
}
