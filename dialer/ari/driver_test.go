package ari

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/ari/aritest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"), goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// tone makes d of a sine at hz, at a speech-like level.
func tone(hz float64, d time.Duration) []int16 {
	n := int(d.Seconds() * 8000)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return out
}

// scripts is the number plan the tests dial.
func scripts(number string) aritest.Script {
	switch {
	case strings.HasSuffix(number, "0"): // a person says hello and waits
		return aritest.Script{RingFor: 100 * time.Millisecond, Answer: true, Audio: tone(300, 500*time.Millisecond)}
	case strings.HasSuffix(number, "1"): // a person who hangs up quickly
		return aritest.Script{RingFor: 50 * time.Millisecond, Answer: true, Audio: tone(300, 200*time.Millisecond), HangupAfter: 100 * time.Millisecond}
	case strings.HasSuffix(number, "7"):
		return aritest.Script{RingFor: 50 * time.Millisecond, Cause: 17}
	case strings.HasSuffix(number, "8"): // rings until the originate timeout
		return aritest.Script{}
	case strings.HasSuffix(number, "9"):
		return aritest.Script{RingFor: 20 * time.Millisecond, Cause: 1}
	case strings.HasSuffix(number, "6"):
		return aritest.Script{RingFor: 20 * time.Millisecond, Cause: 21}
	case strings.HasSuffix(number, "5"):
		return aritest.Script{RingFor: 20 * time.Millisecond, Cause: 34}
	}
	return aritest.Script{RingFor: 10 * time.Millisecond, Cause: 38}
}

type harness struct {
	fake *aritest.Server
	drv  *Driver
	reg  *prometheus.Registry
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessScripts(t, scripts)
}

func newHarnessScripts(t *testing.T, scripts func(string) aritest.Script) *harness {
	t.Helper()
	fake := aritest.New("cadenza", "s3cret", scripts)
	reg := prometheus.NewRegistry()
	drv, err := New(Options{URL: fake.URL(), Username: "cadenza", Password: "s3cret", App: "cadenza",
		Trunks: []Trunk{{Name: "carrier", Endpoint: "PJSIP/{number}@carrier"}}, Registerer: reg, RequestTimeout: 2 * time.Second})
	require.NoError(t, err)
	require.NoError(t, drv.Start(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, drv.WaitConnected(ctx))
	t.Cleanup(func() {
		drv.Stop()
		fake.Close()
	})
	return &harness{fake: fake, drv: drv, reg: reg}
}

// dial places a call and collects the events and the audio received.
func (h *harness) dial(t *testing.T, to string, ring time.Duration) (dialer.Leg, *[]dialer.EventType, *atomic.Int64) {
	t.Helper()
	var samples atomic.Int64
	leg, err := h.drv.Originate(context.Background(), dialer.OriginateRequest{CallID: "t-" + to, Trunk: "carrier", To: to, From: "+15550001111", RingTimeout: ring,
		OnAudio: func(s []int16) { samples.Add(int64(len(s))) }})
	require.NoError(t, err)
	events := &[]dialer.EventType{}
	return leg, events, &samples
}

func waitDone(t *testing.T, leg dialer.Leg, events *[]dialer.EventType) dialer.LegResult {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-leg.Events():
			if !ok {
				<-leg.Done()
				return leg.Result()
			}
			*events = append(*events, ev.Type)
		case <-timeout:
			t.Fatal("leg did not end")
		}
	}
}

func TestUnansweredDispositions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct {
		to    string
		want  dialer.Disposition
		cause int
	}{
		{"+15550000007", dialer.Busy, 17},
		{"+15550000009", dialer.InvalidNumber, 1},
		{"+15550000006", dialer.Rejected, 21},
		{"+15550000005", dialer.Failed, 34},
		{"+15550000008", dialer.NoAnswer, 19},
	} {
		t.Run(string(tc.want), func(t *testing.T) {
			t.Parallel()
			leg, events, _ := h.dial(t, tc.to, time.Second)
			res := waitDone(t, leg, events)
			require.False(t, res.Answered)
			require.Equal(t, tc.want, res.Disposition, res.Detail)
			require.Equal(t, tc.cause, res.Q850Cause)
			require.Equal(t, dialer.EventTrying, (*events)[0])
			require.Equal(t, dialer.EventHangup, (*events)[len(*events)-1])
			require.NotContains(t, *events, dialer.EventAnswered)
		})
	}
}

// An answered call brings the callee's audio through externalMedia, and what
// we play reaches the far end; we hang up and the leg says so.
func TestAnsweredAudioBothWays(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	leg, events, samples := h.dial(t, "+15550000010", 5*time.Second)
	for ev := range leg.Events() {
		*events = append(*events, ev.Type)
		if ev.Type == dialer.EventAnswered {
			break
		}
	}
	require.Equal(t, []dialer.EventType{dialer.EventTrying, dialer.EventRinging, dialer.EventAnswered}, *events)
	require.Eventually(t, func() bool { return samples.Load() >= 3200 }, 5*time.Second, 10*time.Millisecond, "400 ms of the hello arrive")
	played, err := leg.Play(context.Background(), tone(1000, 300*time.Millisecond))
	require.NoError(t, err)
	require.Equal(t, 300*time.Millisecond, played)
	require.NoError(t, leg.Hangup(context.Background()))
	res := waitDone(t, leg, events)
	require.True(t, res.Answered)
	require.Equal(t, "us", res.HangupBy)
	require.Equal(t, 200, res.SIPCode)
	require.False(t, res.Timings.Answered.IsZero())
	rec := h.fake.Records()[0]
	require.True(t, rec.Answered)
	require.Equal(t, "PJSIP/+15550000010@carrier", rec.Endpoint)
	require.Equal(t, "+15550000011"[:0]+"+15550001111", rec.CallerID)
	require.InDelta(t, 300, rec.MessageMS, 40, "our 300 ms tone reached the far end")
	require.Equal(t, "us", rec.HungUpBy)
	require.Positive(t, h.fake.UnknownEventsSent(), "the fake sent event types ari/v5 does not know")
}

func TestFarEndHangsUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	leg, events, samples := h.dial(t, "+15550000011", 5*time.Second)
	res := waitDone(t, leg, events)
	require.True(t, res.Answered)
	require.Equal(t, "far_end", res.HangupBy)
	require.Equal(t, 16, res.Q850Cause)
	require.Positive(t, samples.Load())
}

// Events lost to a dropped WebSocket are recovered: the driver reconnects
// and a call placed afterwards works; a restarted Asterisk's calls end as
// unknown (they may have happened).
func TestReconnectAndRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// The driver is connected once its handshake completes, which can be
	// before the fake has registered the socket: drop it only then.
	require.Eventually(t, func() bool { return h.fake.EventConns() == 1 }, 5*time.Second, time.Millisecond)
	h.fake.DropEvents()
	require.Eventually(t, func() bool {
		leg, err := h.drv.Originate(context.Background(), dialer.OriginateRequest{Trunk: "carrier", To: "+15550000007", RingTimeout: time.Second})
		if err != nil {
			return false
		}
		<-leg.Done()
		return leg.Result().Disposition == dialer.Busy
	}, 10*time.Second, 50*time.Millisecond, "calls work again after the reconnect")

	leg, events, _ := h.dial(t, "+15550000010", 5*time.Second)
	for ev := range leg.Events() {
		*events = append(*events, ev.Type)
		if ev.Type == dialer.EventAnswered {
			break
		}
	}
	h.fake.Restart()
	res := waitDone(t, leg, events)
	require.Equal(t, dialer.Unknown, res.Disposition)
	require.Contains(t, res.Detail, "vanished")
	reconnects := testutilCounter(t, h.reg, "cadenza_ari_reconnects_total")
	require.GreaterOrEqual(t, reconnects, 2.0)
}

// Without the events WebSocket the driver refuses to originate rather than
// lose a call's events, and Start never blocks.
func TestNoEventsNoCalls(t *testing.T) {
	t.Parallel()
	fake := aritest.New("cadenza", "s3cret", scripts)
	defer fake.Close()
	fake.RefuseEvents(true)
	drv, err := New(Options{URL: fake.URL(), Username: "cadenza", Password: "s3cret", App: "cadenza", Trunks: []Trunk{{Name: "carrier", Endpoint: "PJSIP/{number}@carrier"}}})
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, drv.Start(context.Background()))
	require.Less(t, time.Since(start), time.Second)
	defer drv.Stop()
	_, err = drv.Originate(context.Background(), dialer.OriginateRequest{Trunk: "carrier", To: "+15550000010"})
	require.ErrorContains(t, err, "not connected")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.Error(t, drv.WaitConnected(ctx))
	require.Empty(t, fake.Records())
}

func TestWrongPasswordAndUnknownTrunk(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.drv.Originate(context.Background(), dialer.OriginateRequest{Trunk: "nope", To: "+15550000010"})
	require.ErrorContains(t, err, `unknown trunk "nope"`)

	drv, err := New(Options{URL: h.fake.URL(), Username: "cadenza", Password: "wrong", App: "cadenza"})
	require.NoError(t, err)
	require.ErrorContains(t, drv.ast.Info(context.Background()), "401")
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	err := Options{URL: "ftp://x", Trunks: []Trunk{{Name: "a", Endpoint: "x"}, {Name: "a", Endpoint: "PJSIP/{number}@c"}}, MediaHost: "nohost", RTPPortMin: 10, RTPPortMax: 5}.Validate()
	require.Error(t, err)
	for _, want := range []string{"url:", "username: required", "password: required", "app: required", "trunks[0].endpoint", "trunks[1].name: duplicate", "media_host", "rtp_port_min"} {
		require.ErrorContains(t, err, want)
	}
	require.NoError(t, Options{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p", App: "a"}.Validate())
}

func testutilCounter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}
