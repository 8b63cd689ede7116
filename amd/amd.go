// Package amd tells, from the first seconds of a call's audio, whether a
// person or an answering machine picked up, finds the machine's beep (or the
// end of its greeting) so a voicemail can be dropped at the right moment, and
// recognises Special Information Tones (carrier intercepts).
//
// Everything runs on 8 kHz 16-bit mono PCM, streamed in frames of any length;
// the per-frame paths allocate nothing. Timing follows the classic energy
// and word-counting scheme of Asterisk's app_amd (initial silence, greeting
// length, words, after-greeting silence), with three additions: an adaptive
// noise floor instead of a fixed silence threshold, a spectral tone detector
// (beeps and SIT), and profiles that move the human/machine trade-off.
// The evaluation harness (Evaluate) scores a detector on a labelled folder of
// WAV files; cmd/cadenza's "amd eval" and the package tests share it.
package amd

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Verdict is what the detector concluded about the far end.
type Verdict string

// Verdicts.
const (
	Human     Verdict = "human"
	Machine   Verdict = "machine"
	Silence   Verdict = "silence"   // nothing but silence or line noise
	Unsure    Verdict = "unsure"    // analysis time ran out without a clear answer
	Intercept Verdict = "intercept" // SIT tones: a carrier intercept (invalid number)
)

// Causes reported in Result.Cause.
const (
	CauseInitialSilence = "initial_silence"        // no speech within InitialSilence
	CauseLongGreeting   = "long_greeting"          // the greeting went on past Greeting
	CauseMaxWords       = "max_words"              // MaxWords words without a pause long enough for a human
	CauseMaxWordLength  = "max_word_length"        // one uninterrupted sound longer than MaxWordLength
	CauseBeep           = "beep"                   // a beep was heard during analysis
	CauseHuman          = "after_greeting_silence" // a short greeting followed by a silence: someone waiting for us
	CauseTotalAnalysis  = "total_analysis_time"    // TotalAnalysis reached
	CauseSIT            = "sit"                    // Special Information Tones
)

// Result is a detector's decision.
type Result struct {
	Verdict Verdict
	// Cause says which rule decided (one of the Cause* constants).
	Cause string
	// DecisionAt is the audio time, since the first sample fed, at which the
	// decision became available (the end of the frame that produced it).
	DecisionAt time.Duration
}

// Params tunes the detector and the beep watcher. Start from ProfileParams;
// the zero value is not usable. Durations are audio time from answer.
type Params struct {
	// InitialSilence: if nobody speaks within this time of the answer the
	// verdict is Silence (app_amd: initial_silence, 2.5 s, there → MACHINE).
	InitialSilence time.Duration
	// Greeting: a greeting whose speech (from its first word to its latest
	// sound) lasts longer than this is a machine (app_amd: greeting, 1.5 s).
	// People say "Hello?" in under a second and rarely speak for more than
	// about 2.5 s before waiting for the caller; recorded greetings run 3-16 s.
	Greeting time.Duration
	// AfterGreetingSilence: the silence after a greeting that makes it a
	// human (app_amd: after_greeting_silence, 0.8 s). Machines pause between
	// sentences for 0.2-0.6 s, so it must be longer than that. Once the
	// greeting has passed half of Greeting, 1.5 times this is needed: quiet
	// word endings get lost in line noise and lengthen a machine's pauses.
	AfterGreetingSilence time.Duration
	// ShortGreeting and ShortSilence make short answers fast: a greeting no
	// longer than ShortGreeting ("Hello?", "Yeah, hi") followed by
	// ShortSilence of silence is a human. Not in app_amd. Recorded
	// greetings seldom open with a phrase this short and a pause this long;
	// the ones that do are the main cause of machines judged human.
	ShortGreeting time.Duration
	ShortSilence  time.Duration
	// TotalAnalysis caps the analysis; reaching it gives TimeoutVerdict
	// (app_amd: total_analysis_time, 5 s → NOTSURE).
	TotalAnalysis time.Duration
	// TimeoutVerdict is the verdict at TotalAnalysis: Unsure, or the
	// profile's bias (Human for human_first, Machine for voicemail_drop).
	TimeoutVerdict Verdict
	// MinWordLength: a burst of sound shorter than this is not a word
	// (clicks, breaths; app_amd: min_word_length, 100 ms).
	MinWordLength time.Duration
	// BetweenWordsSilence: a gap at least this long ends a word
	// (app_amd: between_words_silence, 50 ms).
	BetweenWordsSilence time.Duration
	// MaxWords: this many words in the greeting make it a machine
	// (app_amd: maximum_number_of_words, 2 — too few for energy-based word
	// counting of connected speech, where syllables often split).
	MaxWords int
	// MaxWordLength: one word longer than this is a machine (music,
	// a tone; app_amd: maximum_word_length, 5 s).
	MaxWordLength time.Duration
	// SilenceThreshold is the lowest RMS amplitude (of 32768) a 10 ms block
	// must reach to count as sound, whatever the noise floor (app_amd:
	// silence_threshold, 256 as a mean absolute amplitude ≈ 290 RMS, which
	// misses quiet talkers; we default lower and rely on the noise floor).
	SilenceThreshold int
	// NoiseMargin: a block is sound when it is this many dB above the
	// adaptive noise floor (and above SilenceThreshold). The floor follows
	// the quietest blocks down at once and creeps up 1 dB/s, so steady line
	// noise is ignored. Not in app_amd.
	NoiseMargin float64

	// MinBeep and MaxBeep bound a beep's length (beeps in the wild run
	// 100-1,000 ms; 80 ms minimum leaves room for measurement).
	MinBeep, MaxBeep time.Duration
	// BeepMinHz and BeepMaxHz bound a beep's frequency.
	BeepMinHz, BeepMaxHz float64
	// BeepPurity is the share of the in-band energy a 16 ms window must
	// have within ±2 FFT bins (±125 Hz) of its peak to count as tonal:
	// a tone scores near 1, voiced speech with its many harmonics far less.
	BeepPurity float64
	// BeepContrast: on the spectrum summed over the tone, the peak must
	// stand this many dB above the strongest bin outside its lobe. Noise
	// averages into a flat floor well below a beep; a steady voiced sound
	// (a hummed "mm", a sustained vowel) keeps other harmonics within
	// about 15 dB.
	BeepContrast float64
	// DoubleBeepWait: after a beep ends, the watcher waits this long for a
	// second beep before answering (≤ 250 ms keeps the drop prompt).
	DoubleBeepWait time.Duration
	// EndSilence: with no beep, this much silence after the greeting's
	// last sound marks its end; the message starts after DropGuard more.
	EndSilence time.Duration
	DropGuard  time.Duration
	// MaxBeepWait: the watcher gives up and says "timeout" this long after
	// it was started.
	MaxBeepWait time.Duration
}

// Profiles holds the names ProfileParams accepts.
func Profiles() []string { return []string{"balanced", "human_first", "voicemail_drop"} }

// ProfileParams returns the parameters of a named profile: "balanced" (also
// ""), "human_first" (live-agent campaigns: as fast on short answers, more
// patient with long ones, and a human when analysis runs out, since hanging
// up on a person is the costly error), or "voicemail_drop" (message
// campaigns: shorter greetings and fewer words make a machine, a machine
// when analysis runs out).
//
// Defaults (balanced; human_first / voicemail_drop where they differ):
//
//	InitialSilence        2.5 s           silence before any word → Silence
//	Greeting              3.3 s (3.6/2.5) greeting longer than this → Machine
//	AfterGreetingSilence  0.7 s (0.6/0.9) silence after a greeting → Human
//	ShortGreeting         0.65 s          a greeting this short …
//	ShortSilence          0.25 s (-/0.45) … needs only this much silence
//	TotalAnalysis         5 s             then TimeoutVerdict: unsure (human/machine)
//	MinWordLength         100 ms          BetweenWordsSilence 50 ms
//	MaxWords              12 (16/9)       MaxWordLength 5 s
//	SilenceThreshold      60 (≈ -55 dBFS) NoiseMargin 6 dB over the adaptive floor
//	MinBeep, MaxBeep      80 ms, 2.5 s    BeepMinHz, BeepMaxHz 300, 2,500 Hz
//	BeepPurity            0.80            BeepContrast 16 dB
//	DoubleBeepWait        200 ms          EndSilence 1.2 s + DropGuard 0.2 s
//	MaxBeepWait           30 s
//
// These were set on the train part of amd/testdata/corpus (see gen.sh).
func ProfileParams(name string) (Params, error) {
	p := Params{
		InitialSilence:       2500 * time.Millisecond,
		Greeting:             3300 * time.Millisecond,
		AfterGreetingSilence: 700 * time.Millisecond,
		ShortGreeting:        650 * time.Millisecond,
		ShortSilence:         250 * time.Millisecond,
		TotalAnalysis:        5000 * time.Millisecond,
		TimeoutVerdict:       Unsure,
		MinWordLength:        100 * time.Millisecond,
		BetweenWordsSilence:  50 * time.Millisecond,
		MaxWords:             12,
		MaxWordLength:        5000 * time.Millisecond,
		SilenceThreshold:     60,
		NoiseMargin:          6,
		MinBeep:              80 * time.Millisecond,
		MaxBeep:              2500 * time.Millisecond,
		BeepMinHz:            300,
		BeepMaxHz:            2500,
		BeepPurity:           0.80,
		BeepContrast:         16,
		DoubleBeepWait:       200 * time.Millisecond,
		EndSilence:           1200 * time.Millisecond,
		DropGuard:            200 * time.Millisecond,
		MaxBeepWait:          30 * time.Second,
	}
	switch name {
	case "", "balanced":
	case "human_first":
		p.Greeting = 3600 * time.Millisecond
		p.AfterGreetingSilence = 600 * time.Millisecond
		p.TimeoutVerdict = Human
		p.MaxWords = 16
	case "voicemail_drop":
		p.Greeting = 2500 * time.Millisecond
		p.AfterGreetingSilence = 900 * time.Millisecond
		p.ShortSilence = 450 * time.Millisecond
		p.MaxWords = 9
		p.TimeoutVerdict = Machine
	default:
		return Params{}, fmt.Errorf("amd profile %q: unknown (valid: %s)", name, strings.Join(Profiles(), ", "))
	}
	return p, nil
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	var errs []error
	pos := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be > 0, got %v", name, d))
		}
	}
	pos("initial_silence", p.InitialSilence)
	pos("greeting", p.Greeting)
	pos("after_greeting_silence", p.AfterGreetingSilence)
	pos("short_silence", p.ShortSilence)
	pos("total_analysis", p.TotalAnalysis)
	pos("min_word_length", p.MinWordLength)
	pos("between_words_silence", p.BetweenWordsSilence)
	pos("max_word_length", p.MaxWordLength)
	pos("min_beep", p.MinBeep)
	pos("max_beep", p.MaxBeep)
	pos("end_silence", p.EndSilence)
	pos("max_beep_wait", p.MaxBeepWait)
	if p.ShortGreeting < 0 {
		errs = append(errs, fmt.Errorf("short_greeting: must be ≥ 0, got %v", p.ShortGreeting))
	}
	if p.DoubleBeepWait < 0 || p.DropGuard < 0 {
		errs = append(errs, errors.New("double_beep_wait, drop_guard: must be ≥ 0"))
	}
	if p.MaxWords < 1 {
		errs = append(errs, fmt.Errorf("max_words: must be ≥ 1, got %d", p.MaxWords))
	}
	if p.SilenceThreshold < 0 || p.SilenceThreshold > 32767 {
		errs = append(errs, fmt.Errorf("silence_threshold: must be in 0..32767, got %d", p.SilenceThreshold))
	}
	if p.NoiseMargin < 0 {
		errs = append(errs, fmt.Errorf("noise_margin: must be ≥ 0, got %v", p.NoiseMargin))
	}
	if p.BeepMinHz < 200 || p.BeepMaxHz > 3400 || p.BeepMinHz >= p.BeepMaxHz {
		errs = append(errs, fmt.Errorf("beep_min_hz, beep_max_hz: need 200 ≤ min < max ≤ 3400, got %v, %v", p.BeepMinHz, p.BeepMaxHz))
	}
	if p.BeepPurity <= 0 || p.BeepPurity >= 1 {
		errs = append(errs, fmt.Errorf("beep_purity: must be in (0,1), got %v", p.BeepPurity))
	}
	if p.BeepContrast < 0 {
		errs = append(errs, fmt.Errorf("beep_contrast: must be ≥ 0 dB, got %v", p.BeepContrast))
	}
	if p.MinBeep > p.MaxBeep {
		errs = append(errs, errors.New("min_beep: must be ≤ max_beep"))
	}
	switch p.TimeoutVerdict {
	case Human, Machine, Unsure:
	default:
		errs = append(errs, fmt.Errorf("timeout_verdict: must be human, machine or unsure, got %q", p.TimeoutVerdict))
	}
	return errors.Join(errs...)
}

// sortedKeys is a small helper for deterministic report output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
