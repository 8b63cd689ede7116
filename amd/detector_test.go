package amd

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func balanced(t testing.TB) Params {
	t.Helper()
	p, err := ProfileParams("balanced")
	require.NoError(t, err)
	return p
}

func TestProfileParams(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "balanced", "human_first", "voicemail_drop"} {
		p, err := ProfileParams(name)
		require.NoError(t, err, name)
		require.NoError(t, p.Validate(), name)
	}
	hf, _ := ProfileParams("human_first")
	vd, _ := ProfileParams("voicemail_drop")
	b, _ := ProfileParams("")
	require.Equal(t, Human, hf.TimeoutVerdict)
	require.Equal(t, Machine, vd.TimeoutVerdict)
	require.Equal(t, Unsure, b.TimeoutVerdict)
	require.Greater(t, hf.Greeting, b.Greeting, "human_first waits longer before calling a greeting a machine")
	require.Less(t, vd.Greeting, b.Greeting)

	_, err := ProfileParams("aggressive")
	require.ErrorContains(t, err, `"aggressive"`)
	require.ErrorContains(t, err, "balanced, human_first, voicemail_drop")
}

func TestParamsValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		field string
		edit  func(*Params)
	}{
		{"initial_silence", func(p *Params) { p.InitialSilence = 0 }},
		{"greeting", func(p *Params) { p.Greeting = -time.Second }},
		{"max_words", func(p *Params) { p.MaxWords = 0 }},
		{"silence_threshold", func(p *Params) { p.SilenceThreshold = 40000 }},
		{"noise_margin", func(p *Params) { p.NoiseMargin = -1 }},
		{"beep_min_hz", func(p *Params) { p.BeepMinHz, p.BeepMaxHz = 2000, 1000 }},
		{"beep_purity", func(p *Params) { p.BeepPurity = 1.5 }},
		{"beep_contrast", func(p *Params) { p.BeepContrast = -3 }},
		{"min_beep", func(p *Params) { p.MinBeep = 3 * time.Second }},
		{"timeout_verdict", func(p *Params) { p.TimeoutVerdict = Silence }},
		{"max_beep_wait", func(p *Params) { p.MaxBeepWait = 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			t.Parallel()
			p := balanced(t)
			tc.edit(&p)
			require.ErrorContains(t, p.Validate(), tc.field)
		})
	}
}

func TestDetectorVerdicts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		pcm      []int16
		verdict  Verdict
		cause    string
		from, to time.Duration // DecisionAt range
	}{
		{"dead air", noise(1, 4000, 30), Silence, CauseInitialSilence, 2500 * time.Millisecond, 2520 * time.Millisecond},
		{"loud steady line noise is not speech", noise(2, 4000, 1000), Silence, CauseInitialSilence, 2500 * time.Millisecond, 2520 * time.Millisecond},
		{"beep", concat(zeros(300), sine(1200, 400, 8000), zeros(1000)), Machine, CauseBeep, 380 * time.Millisecond, 440 * time.Millisecond},
		// 1,000 Hz is within reach of SIT's 985.2 Hz: judged when it ends.
		{"beep at a SIT frequency", concat(zeros(300), sine(1000, 400, 8000), zeros(1000)), Machine, CauseBeep, 700 * time.Millisecond, 760 * time.Millisecond},
		{"beep in noise", mix(concat(zeros(300), sine(600, 400, 3000), zeros(1000)), noise(3, 1700, 300)), Machine, CauseBeep, 380 * time.Millisecond, 460 * time.Millisecond},
		{"SIT", concat(zeros(200), sit(6000), zeros(2000)), Intercept, CauseSIT, 900 * time.Millisecond, 1050 * time.Millisecond},
		{"short answer", concat(zeros(400), vowel(120, 450, 6000), zeros(3000)), Human, CauseHuman, 1050 * time.Millisecond, 1200 * time.Millisecond},
		{"short answer in noise", mix(concat(zeros(400), vowel(180, 450, 5000), zeros(3000)), noise(4, 3850, 400)), Human, CauseHuman, 1050 * time.Millisecond, 1250 * time.Millisecond},
		{"long greeting", concat(zeros(300), vowel(110, 1200, 6000), zeros(250), vowel(130, 1000, 6000), zeros(300), vowel(120, 1500, 6000), zeros(2000)),
			Machine, CauseLongGreeting, 3550 * time.Millisecond, 3700 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := NewDetector(balanced(t))
			r, ok := feed(tc.pcm, EvalFrame, d.Process)
			require.True(t, ok, "no decision")
			require.Equal(t, tc.verdict, r.Verdict, "cause %s", r.Cause)
			require.Equal(t, tc.cause, r.Cause)
			require.GreaterOrEqual(t, r.DecisionAt, tc.from)
			require.LessOrEqual(t, r.DecisionAt, tc.to)
		})
	}
}

// Voiced sounds are rich in harmonics and glide in pitch; whatever the
// pitch, they must not be taken for a beep.
func TestVowelsAreNotBeeps(t *testing.T) {
	t.Parallel()
	for _, f0 := range []float64{85, 110, 150, 210, 260} {
		d := NewDetector(balanced(t))
		r, ok := feed(concat(zeros(300), vowel(f0, 2500, 8000), zeros(2000)), EvalFrame, d.Process)
		require.True(t, ok)
		require.NotEqual(t, CauseBeep, r.Cause, "f0 %v", f0)
		w := NewBeepWatcher(balanced(t), 0)
		drop, ok := feed(concat(vowel(f0, 2500, 8000), zeros(2000)), EvalFrame, w.Process)
		require.True(t, ok)
		require.Equal(t, DropSilence, drop.Reason, "f0 %v", f0)
	}
}

func TestDetectorRules(t *testing.T) {
	t.Parallel()
	// Bursts of 300 ms with 200 ms gaps: too short a pause for a human's
	// turn, so only the word and time limits can decide.
	var bursts []int16
	for i := range 12 {
		bursts = concat(bursts, vowel(100+float64(10*i), 300, 6000), zeros(200))
	}
	cases := []struct {
		name    string
		edit    func(*Params)
		pcm     []int16
		verdict Verdict
		cause   string
	}{
		{"max words", func(p *Params) { p.MaxWords = 3 }, bursts, Machine, CauseMaxWords},
		{"max word length", func(p *Params) { p.MaxWordLength = time.Second; p.Greeting = 10 * time.Second },
			concat(zeros(200), vowel(120, 3000, 6000)), Machine, CauseMaxWordLength},
		{"timeout unsure", func(p *Params) { p.Greeting, p.TotalAnalysis = 10*time.Second, 3*time.Second }, bursts, Unsure, CauseTotalAnalysis},
		{"timeout human", func(p *Params) {
			p.Greeting, p.TotalAnalysis, p.TimeoutVerdict = 10*time.Second, 3*time.Second, Human
		}, bursts, Human, CauseTotalAnalysis},
		{"timeout machine", func(p *Params) {
			p.Greeting, p.TotalAnalysis, p.TimeoutVerdict = 10*time.Second, 3*time.Second, Machine
		}, bursts, Machine, CauseTotalAnalysis},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := balanced(t)
			tc.edit(&p)
			require.NoError(t, p.Validate())
			r, ok := feed(tc.pcm, EvalFrame, NewDetector(p).Process)
			require.True(t, ok)
			require.Equal(t, tc.verdict, r.Verdict)
			require.Equal(t, tc.cause, r.Cause)
		})
	}
}

// The verdict does not depend on how the audio is cut into frames; the
// decision time moves by less than one frame.
func TestDetectorFrameSizes(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"train-human-000.wav", "train-machine-054.wav", "train-sit-116.wav"} {
		pcm := loadCorpus(t, file)
		ref, ok := feed(pcm, EvalFrame, NewDetector(balanced(t)).Process)
		require.True(t, ok, file)
		for _, n := range []int{1, 7, 80, 240, 333, 1600} {
			r, ok := feed(pcm, n, NewDetector(balanced(t)).Process)
			require.True(t, ok)
			require.Equal(t, ref.Verdict, r.Verdict, "%s frame %d", file, n)
			require.Equal(t, ref.Cause, r.Cause, "%s frame %d", file, n)
			tol := samplesDur(int64(max(n, EvalFrame)))
			require.InDelta(t, float64(ref.DecisionAt), float64(r.DecisionAt), float64(tol), "%s frame %d", file, n)
		}
	}
}

func TestDetectorStickyAndReset(t *testing.T) {
	t.Parallel()
	pcm := concat(zeros(300), sine(1000, 400, 8000), zeros(1000))
	d := NewDetector(balanced(t))
	first, ok := feed(pcm, EvalFrame, d.Process)
	require.True(t, ok)
	again, ok := d.Process(zeros(20))
	require.True(t, ok)
	require.Equal(t, first, again)

	d.Reset()
	r, ok := d.Process(zeros(20))
	require.False(t, ok)
	require.Equal(t, Result{}, r)
	r, ok = feed(pcm, EvalFrame, d.Process)
	require.True(t, ok)
	require.Equal(t, first.Verdict, r.Verdict)
	require.Equal(t, first.DecisionAt+20*time.Millisecond, r.DecisionAt, "time counts from the first sample fed after Reset")
}
