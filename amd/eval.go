package amd

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/amd/audio"
)

// EvalFrame is the frame length the harness feeds: 20 ms, as RTP carries.
const EvalFrame = 160

// Classification is the outcome of running a detector (and, on a machine,
// the beep watcher) over one recording.
type Classification struct {
	Verdict    Verdict `json:"verdict"`
	Cause      string  `json:"cause"`
	DecisionMs int64   `json:"decision_ms"`
	// Set when the verdict is machine:
	DropReason  string  `json:"drop_reason,omitempty"`
	DropMs      int64   `json:"drop_ms,omitempty"`
	BeepStartMs int64   `json:"beep_start_ms,omitempty"`
	BeepEndMs   int64   `json:"beep_end_ms,omitempty"`
	BeepHz      float64 `json:"beep_hz,omitempty"`
}

// Classify runs the detector over pcm (8 kHz mono) in 20 ms frames, as a
// call would, and then the beep watcher if it is a machine. When the
// recording ends first, the line is taken to go silent.
func Classify(pcm []int16, p Params) Classification {
	d := NewDetector(p)
	var zero [EvalFrame]int16
	pos := 0
	next := func(limit time.Duration) []int16 {
		if pos < len(pcm) {
			f := pcm[pos:min(pos+EvalFrame, len(pcm))]
			pos += len(f)
			return f
		}
		if samplesDur(int64(pos)) >= limit {
			return nil
		}
		pos += EvalFrame
		return zero[:]
	}
	var (
		res Result
		ok  bool
	)
	for f := next(p.TotalAnalysis + time.Second); f != nil && !ok; f = next(p.TotalAnalysis + time.Second) {
		res, ok = d.Process(f)
	}
	if !ok {
		res = Result{Verdict: p.TimeoutVerdict, Cause: CauseTotalAnalysis, DecisionAt: samplesDur(int64(pos))}
	}
	c := Classification{Verdict: res.Verdict, Cause: res.Cause, DecisionMs: res.DecisionAt.Milliseconds()}
	if res.Verdict != Machine {
		return c
	}
	w := d.Watcher()
	limit := res.DecisionAt + p.MaxBeepWait
	for f := next(limit); f != nil; f = next(limit) {
		drop, done := w.Process(f)
		if !done {
			continue
		}
		c.DropReason, c.DropMs = drop.Reason, drop.At.Milliseconds()
		if drop.BeepEnd > 0 {
			c.BeepStartMs, c.BeepEndMs, c.BeepHz = drop.BeepStart.Milliseconds(), drop.BeepEnd.Milliseconds(), math.Round(drop.BeepHz)
		}
		break
	}
	return c
}

// ClassifyFile decodes a WAV file (see audio.DecodeWAV) and classifies it.
func ClassifyFile(path string, p Params) (Classification, error) {
	f, err := os.Open(path)
	if err != nil {
		return Classification{}, err
	}
	defer f.Close()
	pcm, err := audio.DecodeWAV(f)
	if err != nil {
		return Classification{}, fmt.Errorf("%s: %w", path, err)
	}
	return Classify(pcm, p), nil
}

// Label is one row of labels.csv.
type Label struct {
	File  string
	Label string // human | machine | silence | sit
	// BeepEndMs is the ground-truth end of the (last) beep, -1 if none.
	BeepEndMs int64
	// GreetingEndMs is the end of the machine's speech, -1 if unknown.
	GreetingEndMs int64
	Set           string
}

// expectedVerdict maps a label to the verdict it should get.
func expectedVerdict(label string) (Verdict, bool) {
	switch label {
	case "human":
		return Human, true
	case "machine":
		return Machine, true
	case "silence":
		return Silence, true
	case "sit":
		return Intercept, true
	}
	return "", false
}

// ReadLabels parses labels.csv: a header naming at least "file" and
// "label", optionally "beep_end_ms", "greeting_end_ms" and "set".
func ReadLabels(r io.Reader) ([]Label, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("labels: empty file")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"file", "label"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("labels: header has no %q column", need)
		}
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	ms := func(line int, row []string, name string) (int64, error) {
		s := get(row, name)
		if s == "" {
			return -1, nil
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("labels line %d: %s %q: want a whole number of ms", line, name, s)
		}
		return v, nil
	}
	var out []Label
	for i, row := range rows[1:] {
		line := i + 2
		l := Label{File: get(row, "file"), Label: get(row, "label"), Set: get(row, "set")}
		if l.File == "" {
			return nil, fmt.Errorf("labels line %d: file: empty", line)
		}
		if _, ok := expectedVerdict(l.Label); !ok {
			return nil, fmt.Errorf("labels line %d: label %q: want human, machine, silence or sit", line, l.Label)
		}
		if l.BeepEndMs, err = ms(line, row, "beep_end_ms"); err != nil {
			return nil, err
		}
		if l.GreetingEndMs, err = ms(line, row, "greeting_end_ms"); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// FileResult is one file's outcome in a Report.
type FileResult struct {
	File  string `json:"file"`
	Label string `json:"label"`
	Set   string `json:"set,omitempty"`
	Classification
	Correct bool `json:"correct"`
	// BeepErrorMs is found beep end − true beep end; DropAfterMs is the
	// drop time − true beep end (or − greeting end without a beep).
	BeepErrorMs *int64 `json:"beep_error_ms,omitempty"`
	DropAfterMs *int64 `json:"drop_after_ms,omitempty"`
}

// Percentiles of a latency distribution, ms.
type Percentiles struct {
	N   int   `json:"n"`
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
	Max int64 `json:"max"`
}

// SetReport scores one subset (for example the held-out voices).
type SetReport struct {
	Files              int     `json:"files"`
	Accuracy           float64 `json:"accuracy"`
	HumanAsMachineRate float64 `json:"human_as_machine_rate"`
}

// BeepReport scores beep timing on machines with a beep.
type BeepReport struct {
	WithBeep int `json:"with_beep"` // machine files that have a beep
	Found    int `json:"found"`     // … where the watcher reported one
	// AbsErrorMs: |found end − true end|; Within60 counts |error| ≤ 60 ms.
	AbsErrorMs  Percentiles `json:"abs_error_ms"`
	MeanErrorMs float64     `json:"mean_error_ms"`
	Within60    int         `json:"within_60ms"`
	// DropAfterBeepMs: message start − true beep end; Late counts > 300 ms
	// and Early < 0 (the message would be cut by the beep).
	DropAfterBeepMs Percentiles `json:"drop_after_beep_ms"`
	Late            int         `json:"late"`
	Early           int         `json:"early"`
	// NoBeep* score machines without a beep: drop time after the end of
	// the greeting, and how many dropped before it ended.
	NoBeep            int         `json:"no_beep"`
	NoBeepDropAfterMs Percentiles `json:"no_beep_drop_after_ms"`
	NoBeepEarly       int         `json:"no_beep_early"`
}

// Report is the outcome of Evaluate.
type Report struct {
	Profile            string                    `json:"profile,omitempty"`
	Files              int                       `json:"files"`
	Correct            int                       `json:"correct"`
	Accuracy           float64                   `json:"accuracy"`
	HumanAsMachineRate float64                   `json:"human_as_machine_rate"`
	Confusion          map[string]map[string]int `json:"confusion"`  // label → verdict → files
	LatencyMs          map[string]Percentiles    `json:"latency_ms"` // label → decision time
	Sets               map[string]SetReport      `json:"sets"`
	Beep               BeepReport                `json:"beep"`
	Results            []FileResult              `json:"results"`
}

// Evaluate classifies every file listed in dir/labels.csv with p and
// scores the verdicts and beep timing against the labels.
func Evaluate(dir string, p Params) (Report, error) {
	if err := p.Validate(); err != nil {
		return Report{}, fmt.Errorf("params: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		return Report{}, fmt.Errorf("evaluate: %w", err)
	}
	labels, err := ReadLabels(f)
	f.Close()
	if err != nil {
		return Report{}, fmt.Errorf("evaluate %s: %w", dir, err)
	}
	results := make([]FileResult, 0, len(labels))
	for _, l := range labels {
		c, err := ClassifyFile(filepath.Join(dir, l.File), p)
		if err != nil {
			return Report{}, fmt.Errorf("evaluate: %w", err)
		}
		r := FileResult{File: l.File, Label: l.Label, Set: l.Set, Classification: c}
		want, _ := expectedVerdict(l.Label)
		r.Correct = c.Verdict == want
		if l.Label == "machine" && c.Verdict == Machine {
			switch {
			case l.BeepEndMs >= 0 && c.BeepEndMs > 0:
				e, a := c.BeepEndMs-l.BeepEndMs, c.DropMs-l.BeepEndMs
				r.BeepErrorMs, r.DropAfterMs = &e, &a
			case l.BeepEndMs >= 0:
				a := c.DropMs - l.BeepEndMs
				r.DropAfterMs = &a
			case l.GreetingEndMs >= 0:
				a := c.DropMs - l.GreetingEndMs
				r.DropAfterMs = &a
			}
		}
		results = append(results, r)
	}
	return summarize(results, labels), nil
}

func summarize(results []FileResult, labels []Label) Report {
	rep := Report{
		Files:     len(results),
		Confusion: map[string]map[string]int{},
		LatencyMs: map[string]Percentiles{},
		Sets:      map[string]SetReport{},
		Results:   results,
	}
	lat := map[string][]int64{}
	type tally struct{ files, correct, humans, hm int }
	sets := map[string]*tally{}
	all := &tally{}
	var beepAbs, dropAfter, noBeepAfter []int64
	var errSum int64
	for i, r := range results {
		if rep.Confusion[r.Label] == nil {
			rep.Confusion[r.Label] = map[string]int{}
		}
		rep.Confusion[r.Label][string(r.Verdict)]++
		lat[r.Label] = append(lat[r.Label], r.DecisionMs)
		for _, t := range []*tally{all, setTally(sets, r.Set)} {
			t.files++
			if r.Correct {
				t.correct++
			}
			if r.Label == "human" {
				t.humans++
				if r.Verdict == Machine {
					t.hm++
				}
			}
		}
		l := labels[i]
		if l.Label != "machine" {
			continue
		}
		if l.BeepEndMs >= 0 {
			rep.Beep.WithBeep++
			if r.BeepErrorMs != nil {
				rep.Beep.Found++
				e := *r.BeepErrorMs
				errSum += e
				beepAbs = append(beepAbs, abs(e))
				if abs(e) <= 60 {
					rep.Beep.Within60++
				}
			}
			if r.DropAfterMs != nil {
				a := *r.DropAfterMs
				dropAfter = append(dropAfter, a)
				if a > 300 {
					rep.Beep.Late++
				}
				if a < 0 {
					rep.Beep.Early++
				}
			}
		} else {
			rep.Beep.NoBeep++
			if r.DropAfterMs != nil {
				noBeepAfter = append(noBeepAfter, *r.DropAfterMs)
				if *r.DropAfterMs < 0 {
					rep.Beep.NoBeepEarly++
				}
			}
		}
	}
	rep.Correct = all.correct
	rep.Accuracy = ratio(all.correct, all.files)
	rep.HumanAsMachineRate = ratio(all.hm, all.humans)
	for name, t := range sets {
		rep.Sets[name] = SetReport{Files: t.files, Accuracy: ratio(t.correct, t.files), HumanAsMachineRate: ratio(t.hm, t.humans)}
	}
	for k, v := range lat {
		rep.LatencyMs[k] = percentiles(v)
	}
	rep.Beep.AbsErrorMs = percentiles(beepAbs)
	if rep.Beep.Found > 0 {
		rep.Beep.MeanErrorMs = float64(errSum) / float64(rep.Beep.Found)
	}
	rep.Beep.DropAfterBeepMs = percentiles(dropAfter)
	rep.Beep.NoBeepDropAfterMs = percentiles(noBeepAfter)
	return rep
}

func setTally[T any](m map[string]*T, name string) *T {
	if name == "" {
		name = "all"
	}
	t := m[name]
	if t == nil {
		t = new(T)
		m[name] = t
	}
	return t
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// percentiles uses the nearest-rank method.
func percentiles(v []int64) Percentiles {
	if len(v) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	rank := func(q float64) int64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(i, 0)]
	}
	return Percentiles{N: len(s), P50: rank(0.50), P95: rank(0.95), Max: s[len(s)-1]}
}

// WriteText prints the report for people: confusion matrix, rates,
// latencies, beep timing, per-set accuracy and the misclassified files.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	verdicts := []Verdict{Human, Machine, Silence, Intercept, Unsure}
	fmt.Fprintf(&b, "files %d, profile %s\n\nconfusion (rows: label, columns: verdict)\n%-9s", r.Files, orDefault(r.Profile, "balanced"), "")
	for _, v := range verdicts {
		fmt.Fprintf(&b, "%10s", v)
	}
	b.WriteString("\n")
	for _, l := range []string{"human", "machine", "silence", "sit"} {
		row, ok := r.Confusion[l]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "%-9s", l)
		for _, v := range verdicts {
			fmt.Fprintf(&b, "%10d", row[string(v)])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\naccuracy %.1f%% (%d/%d), human→machine %.1f%%\n", 100*r.Accuracy, r.Correct, r.Files, 100*r.HumanAsMachineRate)
	for _, name := range sortedKeys(r.Sets) {
		s := r.Sets[name]
		fmt.Fprintf(&b, "  set %-8s %3d files, accuracy %.1f%%, human→machine %.1f%%\n", name, s.Files, 100*s.Accuracy, 100*s.HumanAsMachineRate)
	}
	b.WriteString("\ndecision latency from answer (ms)\n")
	for _, k := range sortedKeys(r.LatencyMs) {
		p := r.LatencyMs[k]
		fmt.Fprintf(&b, "  %-8s n=%-3d p50 %5d  p95 %5d  max %5d\n", k, p.N, p.P50, p.P95, p.Max)
	}
	be := r.Beep
	fmt.Fprintf(&b, "\nbeep: found %d of %d machines with a beep; end error |e| p50 %d p95 %d max %d ms, mean %+.1f ms, %d within ±60 ms\n",
		be.Found, be.WithBeep, be.AbsErrorMs.P50, be.AbsErrorMs.P95, be.AbsErrorMs.Max, be.MeanErrorMs, be.Within60)
	fmt.Fprintf(&b, "message start after beep end: p50 %d p95 %d max %d ms (%d late > 300 ms, %d early)\n",
		be.DropAfterBeepMs.P50, be.DropAfterBeepMs.P95, be.DropAfterBeepMs.Max, be.Late, be.Early)
	fmt.Fprintf(&b, "no-beep machines: %d, message start after greeting end p50 %d p95 %d ms (%d early)\n",
		be.NoBeep, be.NoBeepDropAfterMs.P50, be.NoBeepDropAfterMs.P95, be.NoBeepEarly)
	var wrong []string
	for _, x := range r.Results {
		if !x.Correct {
			wrong = append(wrong, fmt.Sprintf("  %s: %s → %s (%s at %d ms)", x.File, x.Label, x.Verdict, x.Cause, x.DecisionMs))
		}
	}
	if len(wrong) > 0 {
		b.WriteString("\nmisclassified\n" + strings.Join(wrong, "\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
