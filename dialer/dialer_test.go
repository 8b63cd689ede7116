package dialer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	trunkName = "carrier-a"
	ourNumber = "+15550001111"
	theirNum  = "+15557654321"
)

// harness is one dialer over the doubles.
type harness struct {
	rec    *recorder
	pacer  *fakePacer
	picker *fakePicker
	drv    *fakeDriver
	reg    *prometheus.Registry
	d      *Dialer
}

func newHarness(t *testing.T, script func(*fakeLeg), tweak ...func(*Options)) *harness {
	t.Helper()
	rec := &recorder{}
	h := &harness{
		rec:    rec,
		pacer:  &fakePacer{rec: rec},
		picker: &fakePicker{rec: rec, number: ourNumber},
		drv:    &fakeDriver{rec: rec, script: script},
		reg:    prometheus.NewRegistry(),
	}
	opts := Options{
		Drivers:    map[string]Driver{trunkName: h.drv},
		Pacer:      h.pacer,
		CallerIDs:  h.picker,
		Registerer: h.reg,
		// Backstops far beyond any scripted call, so that only the
		// detector and the scripts decide.
		AMDTimeout:  20 * time.Second,
		BeepTimeout: 20 * time.Second,
	}
	for _, f := range tweak {
		f(&opts)
	}
	d, err := New(opts)
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(d.Stop)
	h.d = d
	return h
}

func baseCall() Call {
	return Call{
		ID:               "att-1",
		To:               theirNum,
		Trunk:            trunkName,
		CallerIDPool:     "main",
		CallerIDStrategy: CallerIDLocalPresence,
		ContactKey:       "contact-7",
		RingTimeout:      20 * time.Second,
	}
}

// scripts -------------------------------------------------------------------

func humanScript(t *testing.T) func(*fakeLeg) {
	hello := loadWAV(t, "hello.wav")
	return func(l *fakeLeg) {
		l.ring()
		l.answer()
		// "Hello?" then the pause of a person waiting for an answer. The
		// quiet lead-in keeps the greeting clear of the answer even when a
		// loaded test machine delays the loop by more than the replay
		// buffer (1 s of audio is 50 ms of wall time at speed).
		if !l.feed(withNoise(concat(quiet(time.Second), hello, quiet(4*time.Second)), 1)) {
			return
		}
		l.feedUntilEnd()
	}
}

// machineAudio is a greeting, a pause, a 1 kHz beep and the recording's
// silence; it also returns where the beep ends (from answer).
func machineAudio(t *testing.T, beep bool) ([]int16, time.Duration) {
	greet := loadWAV(t, "greet.wav")
	parts := [][]int16{quiet(300 * time.Millisecond), greet, quiet(400 * time.Millisecond)}
	if beep {
		parts = append(parts, tone(1000, 500*time.Millisecond, 12000))
	}
	head := concat(parts...)
	pcm := withNoise(concat(head, quiet(20*time.Second)), 2)
	return pcm, samplesDuration(len(head))
}

func machineScript(pcm []int16) func(*fakeLeg) {
	return func(l *fakeLeg) {
		l.ring()
		l.answer()
		l.feed(pcm)
	}
}

// orchestration ---------------------------------------------------------------

func TestHumanDetectionOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, humanScript(t))
	out := h.d.Dial(context.Background(), baseCall())

	require.Equal(t, Human, out.Disposition, out.Detail)
	require.NotNil(t, out.AMD)
	require.Equal(t, "human", out.AMD.Verdict)
	require.Equal(t, ourNumber, out.CallerID)
	require.Equal(t, 200, out.SIPCode)
	require.Equal(t, "us", out.HangupBy)
	require.True(t, out.Placed())
	// Pacing before caller ID before originate; slot released after hang-up.
	require.Equal(t, []string{"acquire", "pick", "originate", "hangup", "release"}, h.rec.get())
	require.Equal(t, 0, h.pacer.heldSlots())

	tm := out.Timings
	for _, ts := range []time.Time{tm.Queued, tm.InviteSent, tm.FirstRing, tm.Answered, tm.AMDVerdict, tm.Hangup} {
		require.False(t, ts.IsZero(), "timings %+v", tm)
	}
	require.False(t, tm.InviteSent.Before(tm.Queued))
	require.False(t, tm.Answered.Before(tm.FirstRing))
	require.False(t, tm.AMDVerdict.Before(tm.Answered))
	require.False(t, tm.Hangup.Before(tm.AMDVerdict))

	// The picker got the call's caller-ID request.
	require.Len(t, h.picker.got, 1)
	require.Equal(t, "main", h.picker.got[0].Pool)
	require.Equal(t, "local_presence", h.picker.got[0].Strategy)
	require.Equal(t, theirNum, h.picker.got[0].To)
	require.Equal(t, "contact-7", h.picker.got[0].ContactKey)
	_, _, _, plays, _ := h.drv.leg(t).snapshot()
	require.Zero(t, plays)
}

func TestHumanMessagePlaysThenHangsUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t, humanScript(t))
	c := baseCall()
	c.OnHuman = HumanAction{Kind: HumanMessage, Audio: tone(440, time.Second, 4000)}
	out := h.d.Dial(context.Background(), c)

	require.Equal(t, Human, out.Disposition, out.Detail)
	require.Contains(t, out.Detail, "message played (1.0s)")
	require.Equal(t, []string{"acquire", "pick", "originate", "play", "hangup", "release"}, h.rec.get())
	require.Nil(t, out.Voicemail)
}

func TestVoicemailStartsAfterBeepEnd(t *testing.T) {
	t.Parallel()
	pcm, beepEnd := machineAudio(t, true)
	h := newHarness(t, machineScript(pcm))
	c := baseCall()
	c.AMDProfile = ProfileVoicemailDrop
	c.VoicemailAudio = tone(440, 2*time.Second, 4000)
	out := h.d.Dial(context.Background(), c)

	require.Equal(t, Voicemail, out.Disposition, out.Detail)
	require.Equal(t, "machine", out.AMD.Verdict)
	vm := out.Voicemail
	require.NotNil(t, vm)
	require.Equal(t, "beep", vm.Trigger)
	require.True(t, vm.Complete, "%+v", vm)
	require.False(t, vm.FarEndHungUpFirst)
	require.InDelta(t, 2.0, vm.SecondsPlayed, 0.03)
	// The beep end the watcher reports is the real one (± 60 ms)…
	require.InDelta(t, beepEnd.Milliseconds(), vm.BeepMS, 60, "beep end reported %d ms, real %d ms", vm.BeepMS, beepEnd.Milliseconds())
	// …and the message began only after the far end's beep had ended.
	_, playStart, _, plays, _ := h.drv.leg(t).snapshot()
	require.Equal(t, 1, plays)
	require.GreaterOrEqual(t, playStart, beepEnd, "message started at %v of audio, beep ended at %v", playStart, beepEnd)
	require.Equal(t, "us", out.HangupBy)
	require.Equal(t, []string{"acquire", "pick", "originate", "play", "hangup", "release"}, h.rec.get())
	require.Positive(t, vm.StartMS)
}

func TestVoicemailFarEndHangsUpMidMessage(t *testing.T) {
	t.Parallel()
	pcm, _ := machineAudio(t, true)
	script := func(l *fakeLeg) {
		l.ring()
		l.answer()
		for i := 0; i+frameLen <= len(pcm); i += frameLen {
			_, _, played, _, _ := l.snapshot()
			if played >= 500*time.Millisecond {
				l.farHangup() // the mailbox cuts the message
				return
			}
			if !l.feed(pcm[i : i+frameLen]) {
				return
			}
		}
	}
	h := newHarness(t, script)
	c := baseCall()
	c.VoicemailAudio = tone(440, 3*time.Second, 4000)
	out := h.d.Dial(context.Background(), c)

	require.Equal(t, Voicemail, out.Disposition, out.Detail)
	vm := out.Voicemail
	require.NotNil(t, vm)
	require.False(t, vm.Complete)
	require.True(t, vm.FarEndHungUpFirst)
	require.GreaterOrEqual(t, vm.SecondsPlayed, 0.5)
	require.Less(t, vm.SecondsPlayed, 1.5)
	require.Equal(t, "far_end", out.HangupBy)
	require.NotContains(t, h.rec.get(), "hangup")
	require.Equal(t, 0, h.pacer.heldSlots())
}

func TestMachineWithoutVoicemailHangsUpAtOnce(t *testing.T) {
	t.Parallel()
	pcm, beepEnd := machineAudio(t, true)
	h := newHarness(t, machineScript(pcm))
	out := h.d.Dial(context.Background(), baseCall())

	require.Equal(t, Machine, out.Disposition, out.Detail)
	require.Equal(t, "machine", out.AMD.Verdict)
	require.Nil(t, out.Voicemail)
	fed, _, _, plays, _ := h.drv.leg(t).snapshot()
	require.Zero(t, plays)
	require.Less(t, fed, beepEnd, "hung up at the verdict, not after the beep")
	require.Equal(t, "us", out.HangupBy)
}

func TestVoicemailWithoutBeepAfterGreeting(t *testing.T) {
	t.Parallel()
	pcm, greetingEnd := machineAudio(t, false)
	h := newHarness(t, machineScript(pcm))
	c := baseCall()
	c.VoicemailAudio = tone(440, time.Second, 4000)
	out := h.d.Dial(context.Background(), c)

	require.Equal(t, Voicemail, out.Disposition, out.Detail)
	require.Contains(t, []string{"silence", "timeout"}, out.Voicemail.Trigger)
	require.Zero(t, out.Voicemail.BeepMS)
	require.True(t, out.Voicemail.Complete)
	_, playStart, _, _, _ := h.drv.leg(t).snapshot()
	require.Greater(t, playStart, greetingEnd, "message started inside the greeting")
}

func TestSITInEarlyMediaIsInvalidNumber(t *testing.T) {
	t.Parallel()
	script := func(l *fakeLeg) {
		l.progress()
		if l.feed(withNoise(concat(sitTones(), sitTones()), 3)) {
			l.feedUntilEnd()
		}
	}
	h := newHarness(t, script)
	out := h.d.Dial(context.Background(), baseCall())

	require.Equal(t, InvalidNumber, out.Disposition, out.Detail)
	require.Contains(t, out.Detail, "SIT")
	require.Equal(t, []string{"acquire", "pick", "originate", "hangup", "release"}, h.rec.get())
	require.Empty(t, out.HangupBy)
	require.Nil(t, out.AMD)
}

func TestSignallingOutcomes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		disp   Disposition
		code   int
		reason string
	}{
		{"busy", Busy, 486, "Busy Here"},
		{"no answer", NoAnswer, 480, "Temporarily Unavailable"},
		{"invalid", InvalidNumber, 404, "Not Found"},
		{"rejected", Rejected, 603, "Decline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(l *fakeLeg) {
				l.ring()
				l.reject(tc.disp, tc.code, tc.reason, 0)
			})
			out := h.d.Dial(context.Background(), baseCall())
			require.Equal(t, tc.disp, out.Disposition)
			require.Equal(t, tc.code, out.SIPCode)
			require.Equal(t, tc.reason, out.SIPReason)
			require.Nil(t, out.AMD)
			require.True(t, out.Placed())
			require.Equal(t, []string{"acquire", "pick", "originate", "release"}, h.rec.get())
			require.Empty(t, h.pacer.paused)
		})
	}
}

func TestRetryAfter503PausesTrunk(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *fakeLeg) {
		l.reject(Failed, 503, "Service Unavailable", 30*time.Second)
	})
	before := time.Now()
	out := h.d.Dial(context.Background(), baseCall())
	require.Equal(t, Failed, out.Disposition)
	require.Equal(t, 30*time.Second, out.RetryAfter)
	h.pacer.mu.Lock()
	until, ok := h.pacer.paused[trunkName]
	h.pacer.mu.Unlock()
	require.True(t, ok, "503 Retry-After must pause the trunk")
	require.WithinDuration(t, before.Add(30*time.Second), until, 2*time.Second)
}

func TestPacingFailureNeverOriginates(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(*fakeLeg) { t.Error("originated without a pacing grant") })
	h.pacer.err = errors.New("redis: connection refused")
	out := h.d.Dial(context.Background(), baseCall())

	require.Equal(t, Failed, out.Disposition)
	require.True(t, strings.HasPrefix(out.Detail, DetailPacingUnavailable), out.Detail)
	require.False(t, out.Placed())
	require.Equal(t, []string{"acquire"}, h.rec.get())
}

func TestCallerIDFailureReleasesSlot(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(*fakeLeg) { t.Error("originated without a caller ID") })
	h.picker.err = errors.New(`pool "main": every number is resting`)
	out := h.d.Dial(context.Background(), baseCall())

	require.Equal(t, Failed, out.Disposition)
	require.Contains(t, out.Detail, "caller id: pool")
	require.False(t, out.Placed())
	require.Equal(t, []string{"acquire", "pick", "release"}, h.rec.get())
}

func TestCallWithoutIDGetsOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *fakeLeg) { l.reject(Busy, 486, "Busy Here", 0) })
	c := baseCall()
	c.ID = ""
	out := h.d.Dial(context.Background(), c)
	require.NotEmpty(t, out.CallID)
	require.Equal(t, out.CallID, h.drv.reqs[0].CallID)
}

func TestFixedCallerIDSkipsPicker(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *fakeLeg) { l.reject(Busy, 486, "Busy Here", 0) })
	c := baseCall()
	c.CallerID = "+15550009999"
	out := h.d.Dial(context.Background(), c)
	require.Equal(t, "+15550009999", out.CallerID)
	require.Equal(t, []string{"acquire", "originate", "release"}, h.rec.get())
	require.Equal(t, "+15550009999", h.drv.reqs[0].From)
}

func TestOriginateErrorIsFailedUnplaced(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.drv.err = errors.New("dial udp: network unreachable")
	out := h.d.Dial(context.Background(), baseCall())
	require.Equal(t, Failed, out.Disposition)
	require.Contains(t, out.Detail, "originate: dial udp")
	require.False(t, out.Placed())
	require.Equal(t, []string{"acquire", "pick", "originate", "release"}, h.rec.get())
}

func TestMaxDurationHangsUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t, humanScript(t))
	c := baseCall()
	c.MaxDuration = 800 * time.Millisecond // wall clock from answer; the verdict comes ~120 ms in
	c.OnHuman = HumanAction{Kind: HumanMessage, Audio: tone(440, time.Minute, 4000)}
	out := h.d.Dial(context.Background(), c)

	require.Equal(t, Human, out.Disposition)
	require.Contains(t, out.Detail, whyMaxDuration)
	require.Equal(t, "us", out.HangupBy)
	d := out.Timings.Hangup.Sub(out.Timings.Answered)
	require.GreaterOrEqual(t, d, 800*time.Millisecond)
	require.Less(t, d, 5*time.Second)
}

func TestCancelWhileRingingCancelsCall(t *testing.T) {
	t.Parallel()
	ringing := make(chan struct{})
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		close(ringing)
		<-l.Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-ringing
		cancel()
	}()
	out := h.d.Dial(ctx, baseCall())
	require.Equal(t, NoAnswer, out.Disposition)
	require.Equal(t, 487, out.SIPCode)
	require.Contains(t, out.Detail, "hung up: cancelled")
	require.Equal(t, []string{"acquire", "pick", "originate", "hangup", "release"}, h.rec.get())
}

func TestFarEndHangsUpBeforeVerdict(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		l.answer()
		l.feed(withNoise(quiet(300*time.Millisecond), 4))
		l.farHangup()
	})
	out := h.d.Dial(context.Background(), baseCall())
	require.Equal(t, Human, out.Disposition)
	require.Equal(t, "far end hung up before the amd verdict", out.Detail)
	require.Equal(t, "far_end", out.HangupBy)
	require.Nil(t, out.AMD)
}

func TestLostAnsweredLegIsUnknown(t *testing.T) {
	t.Parallel()
	hello := loadWAV(t, "hello.wav")
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		l.answer()
		l.feed(withNoise(concat(quiet(time.Second), hello, quiet(4*time.Second)), 16))
		l.end(func(r *LegResult) { r.Disposition, r.Detail = Unknown, "asterisk restarted" })
	}, func(o *Options) { o.Connector = fakeConnector{} })
	c := baseCall()
	c.OnHuman = HumanAction{Kind: HumanConnect, Destination: "sip:agent@pbx"}
	out := h.d.Dial(context.Background(), c)
	require.Equal(t, Unknown, out.Disposition)
	require.Equal(t, "asterisk restarted; answered leg lost; was human", out.Detail)
	require.Equal(t, "human", out.AMD.Verdict)
}

func TestSilenceHangsUpAsMachine(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		l.answer()
		l.feedUntilEnd()
	})
	c := baseCall()
	c.VoicemailAudio = tone(440, time.Second, 4000) // no message into dead air
	out := h.d.Dial(context.Background(), c)
	require.Equal(t, Machine, out.Disposition, out.Detail)
	require.Equal(t, "silence", out.AMD.Verdict)
	require.Nil(t, out.Voicemail)
	_, _, _, plays, _ := h.drv.leg(t).snapshot()
	require.Zero(t, plays)
}

func TestNoAudioAfterAnswerTimesOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		l.answer()
		<-l.Done() // answered, but no RTP ever arrives
	}, func(o *Options) { o.AMDTimeout = 200 * time.Millisecond })
	out := h.d.Dial(context.Background(), baseCall())
	require.Equal(t, Machine, out.Disposition)
	require.Equal(t, "silence", out.AMD.Verdict)
	require.Contains(t, out.AMD.Cause, "no audio")
}

type fakeConnector struct{ err error }

func (f fakeConnector) Connect(ctx context.Context, _ Leg, _ Call) error {
	if f.err != nil {
		return f.err
	}
	return nil
}

func TestConnectExtensionPoint(t *testing.T) {
	t.Parallel()
	t.Run("no connector hangs up as human", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, humanScript(t))
		c := baseCall()
		c.OnHuman = HumanAction{Kind: HumanConnect, Destination: "sip:agent@pbx"}
		out := h.d.Dial(context.Background(), c)
		require.Equal(t, Human, out.Disposition)
		require.Contains(t, out.Detail, "no connector")
	})
	t.Run("connector error is abandoned", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, humanScript(t), func(o *Options) {
			o.Connector = fakeConnector{err: errors.New("no agent free")}
		})
		c := baseCall()
		c.OnHuman = HumanAction{Kind: HumanConnect, Destination: "sip:agent@pbx"}
		out := h.d.Dial(context.Background(), c)
		require.Equal(t, Abandoned, out.Disposition)
		require.Contains(t, out.Detail, "no agent free")
	})
	t.Run("connected call runs until the far end hangs up", func(t *testing.T) {
		t.Parallel()
		hello := loadWAV(t, "hello.wav")
		h := newHarness(t, func(l *fakeLeg) {
			l.ring()
			l.answer()
			l.feed(withNoise(concat(quiet(200*time.Millisecond), hello, quiet(4*time.Second)), 5))
			l.farHangup()
		}, func(o *Options) { o.Connector = fakeConnector{} })
		c := baseCall()
		c.OnHuman = HumanAction{Kind: HumanConnect, Destination: "sip:agent@pbx"}
		out := h.d.Dial(context.Background(), c)
		require.Equal(t, Human, out.Disposition)
		require.Equal(t, "human: connected", out.Detail)
		require.Positive(t, out.ConnectedMS)
		require.Equal(t, "far_end", out.HangupBy)
	})
}

func TestInvalidCallsAreNotPlaced(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(*fakeLeg) { t.Error("invalid call was placed") })
	for _, tc := range []struct {
		name   string
		edit   func(*Call)
		disp   Disposition
		detail string
	}{
		{"not e164", func(c *Call) { c.To = "5551234567" }, InvalidNumber, "to: "},
		{"letters", func(c *Call) { c.To = "+1555CALLNOW" }, InvalidNumber, "to: "},
		{"unknown trunk", func(c *Call) { c.Trunk = "nope" }, Failed, `trunk: unknown trunk "nope"`},
		{"bad profile", func(c *Call) { c.AMDProfile = "psychic" }, Failed, "amd_profile: "},
		{"bad human action", func(c *Call) { c.OnHuman.Kind = "dance" }, Failed, "on_human.kind: "},
		{"bad caller id", func(c *Call) { c.CallerID = "12" }, Failed, "caller_id: "},
	} {
		c := baseCall()
		tc.edit(&c)
		out := h.d.Dial(context.Background(), c)
		require.Equal(t, tc.disp, out.Disposition, tc.name)
		require.True(t, strings.HasPrefix(out.Detail, tc.detail), "%s: %s", tc.name, out.Detail)
		require.False(t, out.Placed(), tc.name)
	}
	require.Empty(t, h.rec.get())
}

func TestRingTimeoutFloorAndDefault(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *fakeLeg) { l.reject(Busy, 486, "Busy Here", 0) })
	for _, tc := range []struct{ in, want time.Duration }{
		{0, DefaultRingTimeout},
		{5 * time.Second, LegalMinRingTimeout},
		{25 * time.Second, 25 * time.Second},
	} {
		c := baseCall()
		c.RingTimeout = tc.in
		h.d.Dial(context.Background(), c)
		h.drv.mu.Lock()
		got := h.drv.reqs[len(h.drv.reqs)-1].RingTimeout
		h.drv.mu.Unlock()
		require.Equal(t, tc.want, got, "ring timeout %v", tc.in)
	}
}

func TestMachineHangsUpBeforeBeep(t *testing.T) {
	t.Parallel()
	greet := loadWAV(t, "greet.wav")
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		l.answer()
		if l.feed(withNoise(concat(quiet(300*time.Millisecond), greet), 12)) {
			l.farHangup() // a full mailbox: greeting, then goodbye
		}
	})
	c := baseCall()
	c.VoicemailAudio = tone(440, time.Second, 4000)
	out := h.d.Dial(context.Background(), c)
	require.Equal(t, Machine, out.Disposition, out.Detail)
	require.Contains(t, out.Detail, "no message left")
	require.Nil(t, out.Voicemail)
	require.Equal(t, "far_end", out.HangupBy)
	_, _, _, plays, _ := h.drv.leg(t).snapshot()
	require.Zero(t, plays)
}

func TestBeepWaitBackstopPlaysMessage(t *testing.T) {
	t.Parallel()
	greet := loadWAV(t, "greet.wav")
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		l.answer()
		// A greeting that never ends: no beep, no silence.
		for l.feed(withNoise(greet, 13)) {
		}
	}, func(o *Options) { o.BeepTimeout = 300 * time.Millisecond })
	c := baseCall()
	c.VoicemailAudio = tone(440, 500*time.Millisecond, 4000)
	out := h.d.Dial(context.Background(), c)
	require.Equal(t, Voicemail, out.Disposition, out.Detail)
	require.Equal(t, "timeout", out.Voicemail.Trigger)
	require.Zero(t, out.Voicemail.BeepMS)
	require.True(t, out.Voicemail.Complete)
}

func TestSITAfterAnswerIsInvalidNumber(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(l *fakeLeg) {
		l.ring()
		l.answer() // some carriers answer, then play the intercept
		if l.feed(withNoise(concat(quiet(300*time.Millisecond), sitTones(), sitTones()), 14)) {
			l.feedUntilEnd()
		}
	})
	out := h.d.Dial(context.Background(), baseCall())
	require.Equal(t, InvalidNumber, out.Disposition, out.Detail)
	require.Equal(t, "intercept", out.AMD.Verdict)
	require.Equal(t, "us", out.HangupBy)
}

// A short greeting: the detector decides on the beep itself, and the
// watcher (started on the last second of audio) still sees that beep end.
func TestVoicemailBeepHeardDuringDetection(t *testing.T) {
	t.Parallel()
	greet := loadWAV(t, "greet.wav")[:nsamples(1500*time.Millisecond)]
	head := concat(quiet(300*time.Millisecond), greet, quiet(200*time.Millisecond), tone(1000, 500*time.Millisecond, 12000))
	beepEnd := samplesDuration(len(head))
	h := newHarness(t, machineScript(withNoise(concat(head, quiet(20*time.Second)), 15)))
	c := baseCall()
	c.AMDProfile = ProfileVoicemailDrop
	c.VoicemailAudio = tone(440, time.Second, 4000)
	out := h.d.Dial(context.Background(), c)

	require.Equal(t, Voicemail, out.Disposition, out.Detail)
	require.Equal(t, "machine", out.AMD.Verdict)
	require.Equal(t, "beep", out.Voicemail.Trigger, "%+v, amd %+v", out.Voicemail, out.AMD)
	require.InDelta(t, beepEnd.Milliseconds(), out.Voicemail.BeepMS, 60)
	_, playStart, _, _, _ := h.drv.leg(t).snapshot()
	require.GreaterOrEqual(t, playStart, beepEnd)
	require.Less(t, playStart, beepEnd+time.Second, "the message follows the beep, not a long silence")
}
