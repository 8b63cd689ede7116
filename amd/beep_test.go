package amd

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// greeting is a stretch of speech-like sound with pauses, 2.6 s long.
func greeting() []int16 {
	return concat(vowel(110, 900, 6000), zeros(300), vowel(140, 700, 6000), zeros(250), vowel(125, 450, 6000))
}

func TestBeepWatcherFindsBeeps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		hz     float64
		beepMs int
		amp    float64
		noise  float64
	}{
		{350, 200, 6000, 0},
		{2300, 300, 6000, 0},
		{700, 430, 3000, 0},
		{1000, 90, 8000, 0}, // short
		{1600, 1000, 4000, 300},
		{2500, 120, 3000, 400},
		{440, 500, 2000, 300},
	}
	for _, tc := range cases {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			g := greeting()
			const gap = 350
			pcm := concat(g, zeros(gap), sine(tc.hz, tc.beepMs, tc.amp), zeros(2000))
			if tc.noise > 0 {
				pcm = mix(pcm, noise(uint64(tc.hz), len(pcm)*1000/sampleRate, tc.noise))
			}
			start := 1500 * time.Millisecond // audio already analysed by the detector
			w := NewBeepWatcher(balanced(t), start)
			drop, ok := feed(pcm, EvalFrame, w.Process)
			require.True(t, ok)
			require.Equal(t, DropBeep, drop.Reason, "%v Hz %d ms", tc.hz, tc.beepMs)
			beepStart := start + samplesDur(int64(len(g))) + ms(gap)
			beepEnd := beepStart + ms(tc.beepMs)
			require.InDelta(t, float64(beepEnd), float64(drop.BeepEnd), float64(ms(30)), "beep end")
			require.InDelta(t, float64(beepStart), float64(drop.BeepStart), float64(ms(30)), "beep start")
			require.InDelta(t, tc.hz, drop.BeepHz, math.Max(10, tc.hz*0.01))
			require.GreaterOrEqual(t, drop.At, beepEnd)
			require.LessOrEqual(t, drop.At, beepEnd+ms(300), "the message starts promptly after the beep")
		})
	}
}

// Two beeps in a row: the message waits for the second.
func TestBeepWatcherDoubleBeep(t *testing.T) {
	t.Parallel()
	g := greeting()
	pcm := concat(g, zeros(300), sine(850, 150, 6000), zeros(120), sine(850, 150, 6000), zeros(2000))
	drop, ok := feed(pcm, EvalFrame, NewBeepWatcher(balanced(t), 0).Process)
	require.True(t, ok)
	require.Equal(t, DropBeep, drop.Reason)
	second := samplesDur(int64(len(g))) + ms(300+150+120)
	require.InDelta(t, float64(second), float64(drop.BeepStart), float64(ms(30)))
	require.InDelta(t, float64(second+ms(150)), float64(drop.BeepEnd), float64(ms(30)))
	require.LessOrEqual(t, drop.At, drop.BeepEnd+ms(300))
}

// Without a beep the greeting's end is a sustained silence, plus a guard.
func TestBeepWatcherNoBeep(t *testing.T) {
	t.Parallel()
	p := balanced(t)
	for _, bed := range []float64{0, 200} {
		g := greeting()
		pcm := concat(g, zeros(4000))
		if bed > 0 {
			pcm = mix(pcm, noise(9, len(pcm)*1000/sampleRate, bed))
		}
		drop, ok := feed(pcm, EvalFrame, NewBeepWatcher(p, 0).Process)
		require.True(t, ok)
		require.Equal(t, DropSilence, drop.Reason)
		end := samplesDur(int64(len(g)))
		require.InDelta(t, float64(end+p.EndSilence+p.DropGuard), float64(drop.At), float64(ms(80)), "noise %v", bed)
		require.Zero(t, drop.BeepEnd)
	}
}

func TestBeepWatcherTimeout(t *testing.T) {
	t.Parallel()
	p := balanced(t)
	p.MaxBeepWait = 3 * time.Second
	var talk []int16
	for range 10 {
		talk = concat(talk, vowel(120, 500, 6000), zeros(200))
	}
	drop, ok := feed(talk, EvalFrame, NewBeepWatcher(p, time.Second).Process)
	require.True(t, ok)
	require.Equal(t, DropTimeout, drop.Reason)
	require.Equal(t, 4*time.Second, drop.At)
}

// A detector that decided on a beep hands the tone on: the watcher sees the
// whole beep, with the detector's time base.
func TestDetectorWatcherCarriesTheBeep(t *testing.T) {
	t.Parallel()
	pcm := concat(zeros(500), sine(1200, 500, 8000), zeros(2000))
	d := NewDetector(balanced(t))
	i := 0
	var r Result
	for ok := false; !ok; i += EvalFrame {
		r, ok = d.Process(pcm[i : i+EvalFrame])
	}
	require.Equal(t, CauseBeep, r.Cause)
	require.Less(t, r.DecisionAt, ms(700), "decided while the beep sounds")
	drop, ok := feed(pcm[i:], EvalFrame, d.Watcher().Process)
	require.True(t, ok)
	require.Equal(t, DropBeep, drop.Reason)
	require.InDelta(t, float64(ms(500)), float64(drop.BeepStart), float64(ms(30)))
	require.InDelta(t, float64(ms(1000)), float64(drop.BeepEnd), float64(ms(30)))
	require.LessOrEqual(t, drop.At, ms(1300))
}

// NewBeepWatcher started while a beep sounds takes the rest of it.
func TestBeepWatcherToneInProgress(t *testing.T) {
	t.Parallel()
	beep := sine(1200, 400, 8000)
	rest := concat(beep[msSamples(340):], zeros(1500)) // 60 ms left
	drop, ok := feed(rest, EvalFrame, NewBeepWatcher(balanced(t), ms(840)).Process)
	require.True(t, ok)
	require.Equal(t, DropBeep, drop.Reason)
	require.InDelta(t, float64(ms(900)), float64(drop.BeepEnd), float64(ms(30)))
}

func TestSITDetector(t *testing.T) {
	t.Parallel()
	full := concat(zeros(300), sit(6000), zeros(500))
	cases := []struct {
		name string
		pcm  []int16
		want bool
	}{
		{"SIT", full, true},
		{"SIT in noise", mix(full, noise(5, len(full)*1000/sampleRate, 600)), true},
		{"SIT, first tone clipped", concat(sine(1370.6, 274, 6000), sine(1776.7, 380, 6000), zeros(300)), true},
		{"high variant", concat(sine(985.2, 380, 6000), sine(1428.5, 380, 6000), sine(1776.7, 380, 6000)), true},
		{"one SIT tone", concat(sine(913.8, 1000, 6000), zeros(500)), false},
		{"wrong order", concat(sine(1776.7, 380, 6000), sine(1370.6, 274, 6000), sine(913.8, 274, 6000), zeros(300)), false},
		{"beep", concat(sine(1000, 500, 6000), zeros(500)), false},
		{"speech", concat(vowel(120, 1500, 6000), zeros(300)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewSITDetector()
			got := false
			for i := 0; i < len(tc.pcm); i += EvalFrame {
				got = s.Process(tc.pcm[i:min(i+EvalFrame, len(tc.pcm))])
			}
			require.Equal(t, tc.want, got)
			if tc.want {
				require.True(t, s.Process(zeros(20)), "sticky")
			}
		})
	}
}
