package amd

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCorpusTargets runs the evaluation over the labelled corpus
// (testdata/gen.sh) and holds the detector to the product targets.
func TestCorpusTargets(t *testing.T) {
	t.Parallel()
	rep, err := Evaluate("testdata/corpus", balanced(t))
	require.NoError(t, err)
	var text strings.Builder
	require.NoError(t, rep.WriteText(&text))
	t.Log("\n" + text.String())

	require.GreaterOrEqual(t, rep.Files, 150)
	require.GreaterOrEqual(t, rep.Accuracy, 0.97, "accuracy")
	require.LessOrEqual(t, rep.HumanAsMachineRate, 0.01, "humans judged machines")
	require.LessOrEqual(t, rep.LatencyMs["human"].P50, int64(1200), "human verdict median")
	require.Equal(t, rep.Confusion["sit"]["intercept"], rep.LatencyMs["sit"].N, "every SIT recognised")
	require.Equal(t, rep.Confusion["silence"]["silence"], rep.LatencyMs["silence"].N, "every dead line recognised")

	// Beeps: found on (nearly) every machine that has one and was judged a
	// machine, end within ±60 ms, message within 300 ms of the beep's end.
	b := rep.Beep
	require.GreaterOrEqual(t, float64(b.Found), 0.9*float64(b.WithBeep), "beeps found")
	require.Equal(t, b.Found, b.Within60, "beep end within ±60 ms")
	require.Zero(t, b.Late, "message more than 300 ms after the beep")
	require.Zero(t, b.Early, "message before the beep ended")
	require.LessOrEqual(t, b.DropAfterBeepMs.Max, int64(300))
	require.Zero(t, b.NoBeepEarly, "no-beep greeting cut short")

	// The held-out voices and seed were never looked at while tuning.
	held, ok := rep.Sets["holdout"]
	require.True(t, ok)
	require.GreaterOrEqual(t, held.Files, 35)
	require.GreaterOrEqual(t, held.Accuracy, 0.94, "held-out accuracy")
	require.Zero(t, held.HumanAsMachineRate)

	checkProfiles(t, rep)
}

// checkProfiles: the profiles move the trade-off the way they promise.
func checkProfiles(t *testing.T, rb Report) {
	hf, _ := ProfileParams("human_first")
	vd, _ := ProfileParams("voicemail_drop")
	rhf, err := Evaluate("testdata/corpus", hf)
	require.NoError(t, err)
	rvd, err := Evaluate("testdata/corpus", vd)
	require.NoError(t, err)
	t.Logf("accuracy: human_first %.3f, balanced %.3f, voicemail_drop %.3f", rhf.Accuracy, rb.Accuracy, rvd.Accuracy)
	t.Logf("human→machine: human_first %.3f, balanced %.3f, voicemail_drop %.3f", rhf.HumanAsMachineRate, rb.HumanAsMachineRate, rvd.HumanAsMachineRate)
	require.Zero(t, rhf.HumanAsMachineRate)
	require.LessOrEqual(t, rhf.LatencyMs["human"].P50, rb.LatencyMs["human"].P50)
	require.GreaterOrEqual(t, rvd.Confusion["machine"]["machine"], rb.Confusion["machine"]["machine"])
	require.GreaterOrEqual(t, rb.Confusion["machine"]["machine"], rhf.Confusion["machine"]["machine"])
	require.GreaterOrEqual(t, rvd.Accuracy, 0.9)
	require.GreaterOrEqual(t, rhf.Accuracy, 0.9)
}

// The dialer's path: NewBeepWatcher(p, DecisionAt) fed the frames after the
// verdict, without the detector's state. Beep timing must hold there too.
func TestCorpusBeepsWithNewBeepWatcher(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/corpus/labels.csv")
	require.NoError(t, err)
	labels, err := ReadLabels(f)
	f.Close()
	require.NoError(t, err)
	p := balanced(t)
	found, withBeep := 0, 0
	for _, l := range labels {
		if l.Label != "machine" || l.BeepEndMs < 0 {
			continue
		}
		pcm := loadCorpus(t, l.File)
		d := NewDetector(p)
		pos := 0
		var r Result
		for ok := false; !ok && pos < len(pcm); pos += EvalFrame {
			r, ok = d.Process(pcm[pos:min(pos+EvalFrame, len(pcm))])
		}
		if r.Verdict != Machine {
			continue
		}
		withBeep++
		w := NewBeepWatcher(p, r.DecisionAt)
		drop, ok := feed(concat(pcm[min(pos, len(pcm)):], zeros(3000)), EvalFrame, w.Process)
		require.True(t, ok, l.File)
		if drop.Reason != DropBeep {
			t.Logf("%s: no beep found (%s at %v)", l.File, drop.Reason, drop.At)
			continue
		}
		found++
		truth := ms(int(l.BeepEndMs))
		require.InDelta(t, float64(truth), float64(drop.BeepEnd), float64(ms(60)), l.File)
		require.GreaterOrEqual(t, drop.At, truth, l.File)
		require.LessOrEqual(t, drop.At, truth+ms(300), l.File)
	}
	t.Logf("beeps found %d of %d", found, withBeep)
	require.GreaterOrEqual(t, float64(found), 0.95*float64(withBeep))
}
