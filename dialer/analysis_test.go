package dialer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd"
)

func TestResolveVerdict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		profile string
		verdict amd.Verdict
		want    branch
	}{
		{"", amd.Human, branchHuman},
		{"", amd.Machine, branchMachine},
		{"", amd.Silence, branchSilence},
		{"", amd.Intercept, branchIntercept},
		{"", amd.Unsure, branchHuman},
		{ProfileHumanFirst, amd.Unsure, branchHuman},
		{ProfileVoicemailDrop, amd.Unsure, branchMachine},
		{ProfileVoicemailDrop, amd.Human, branchHuman},
		{ProfileHumanFirst, amd.Machine, branchMachine},
		{ProfileVoicemailDrop, amd.Silence, branchSilence},
		{"", amd.Verdict("weird"), branchHuman},
	} {
		require.Equal(t, tc.want, resolveVerdict(tc.profile, tc.verdict), "%q/%q", tc.profile, tc.verdict)
	}
}

func TestAnalysisStartsAtAnswerDespiteLoopLag(t *testing.T) {
	t.Parallel()
	params, err := amd.ProfileParams("")
	require.NoError(t, err)
	hello := withNoise(concat(hello16(t), quiet(3*time.Second)), 8)
	feed := func(a *analysis, pcm []int16) {
		for i := 0; i+frameLen <= len(pcm); i += frameLen {
			a.onAudio(pcm[i : i+frameLen])
		}
	}
	for _, lag := range []bool{false, true} {
		a := newAnalysis(params, "", false)
		feed(a, withNoise(tone(425, 500*time.Millisecond, 3000), 9)) // ringback in early media
		at := time.Now()
		if lag {
			// The loop sees the answer only after the "Hello?" arrived.
			feed(a, hello[:nsamples(600*time.Millisecond)])
			a.answered(at)
			feed(a, hello[nsamples(600*time.Millisecond):])
		} else {
			a.answered(at)
			feed(a, hello)
		}
		select {
		case r := <-a.verdictCh:
			require.Equal(t, amd.Human, r.Verdict, "lag %v: %+v", lag, r)
			require.Less(t, r.DecisionAt, 2500*time.Millisecond)
		default:
			t.Fatalf("lag %v: no verdict", lag)
		}
	}
}

func hello16(t *testing.T) []int16 {
	return concat(quiet(150*time.Millisecond), loadWAV(t, "hello.wav"))
}

func TestAnalysisFillsMissingAudio(t *testing.T) {
	t.Parallel()
	feed := func(a *analysis, pcm []int16) {
		for i := 0; i+frameLen <= len(pcm); i += frameLen {
			a.onAudio(pcm[i : i+frameLen])
		}
	}
	t.Run("human stops sending after hello", func(t *testing.T) {
		t.Parallel()
		params, err := amd.ProfileParams("")
		require.NoError(t, err)
		a := newAnalysis(params, "", false)
		at := time.Now()
		a.answered(at)
		feed(a, withNoise(hello16(t), 10))
		require.True(t, a.fill(at.Add(100*time.Millisecond)), "no gap yet: nothing to fill")
		require.Empty(t, a.verdictCh)
		a.fill(at.Add(4 * time.Second)) // no packets for seconds
		r := <-a.verdictCh
		require.Equal(t, amd.Human, r.Verdict, "%+v", r)
		require.False(t, a.fill(at.Add(5*time.Second)), "nothing listens after the verdict")
	})
	t.Run("mailbox stops sending after the beep", func(t *testing.T) {
		t.Parallel()
		params, err := amd.ProfileParams(ProfileVoicemailDrop)
		require.NoError(t, err)
		a := newAnalysis(params, ProfileVoicemailDrop, true)
		at := time.Now()
		a.answered(at)
		pcm, beepEnd := machineAudio(t, true)
		feed(a, pcm[:nsamples(beepEnd)])
		require.Equal(t, amd.Machine, (<-a.verdictCh).Verdict)
		require.Empty(t, a.dropCh, "the watcher cannot know the beep ended without audio")
		a.fill(at.Add(beepEnd + 2*time.Second))
		d := <-a.dropCh
		require.Equal(t, "beep", d.Reason)
		require.InDelta(t, beepEnd.Milliseconds(), d.BeepEnd.Milliseconds(), 60)
	})
}
