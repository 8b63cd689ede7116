package amd

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd/audio"
)

// loadCorpus decodes one corpus file.
func loadCorpus(tb testing.TB, name string) []int16 {
	tb.Helper()
	f, err := os.Open("testdata/corpus/" + name)
	require.NoError(tb, err)
	defer f.Close()
	pcm, err := audio.DecodeWAV(f)
	require.NoError(tb, err)
	return pcm
}

// benchFile is a machine greeting with speech, pauses and a beep: every
// hop runs the FFT and the tone tracker.
const benchFile = "train-machine-054.wav"

// BenchmarkDetectorFrame measures one 20 ms frame through the detector
// (reset whenever it decides, so the rules keep running).
func BenchmarkDetectorFrame(b *testing.B) {
	pcm := loadCorpus(b, benchFile)
	p, _ := ProfileParams("balanced")
	d := NewDetector(p)
	pos := 0
	b.ReportAllocs()
	cpu0, ok := processCPU()
	b.ResetTimer()
	for b.Loop() {
		if pos+EvalFrame > len(pcm) {
			pos = 0
		}
		if _, done := d.Process(pcm[pos : pos+EvalFrame]); done {
			d.Reset()
		}
		pos += EvalFrame
	}
	reportCPU(b, cpu0, ok)
}

// reportCPU adds "cpu-ns/op": process CPU time per frame, which stays
// honest when other work shares the machine and stretches wall time.
func reportCPU(b *testing.B, cpu0 time.Duration, ok bool) {
	if cpu1, ok1 := processCPU(); ok && ok1 && b.N > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkBeepWatcherFrame measures one 20 ms frame through the watcher.
func BenchmarkBeepWatcherFrame(b *testing.B) {
	pcm := loadCorpus(b, benchFile)
	p, _ := ProfileParams("balanced")
	w := NewBeepWatcher(p, 0)
	pos := 0
	b.ReportAllocs()
	cpu0, ok := processCPU()
	b.ResetTimer()
	for b.Loop() {
		if pos+EvalFrame > len(pcm) {
			pos = 0
		}
		if _, done := w.Process(pcm[pos : pos+EvalFrame]); done {
			w = NewBeepWatcher(p, 0)
		}
		pos += EvalFrame
	}
	reportCPU(b, cpu0, ok)
}

// The per-frame paths must not allocate: a dialer runs one detector per
// live call, 50 frames a second each.
func TestProcessAllocatesNothing(t *testing.T) {
	pcm := loadCorpus(t, benchFile)
	p, _ := ProfileParams("balanced")
	d := NewDetector(p)
	w := NewBeepWatcher(p, 0)
	s := NewSITDetector()
	pos := 0
	allocs := testing.AllocsPerRun(500, func() {
		if pos+EvalFrame > len(pcm) {
			pos = 0
		}
		f := pcm[pos : pos+EvalFrame]
		if _, done := d.Process(f); done {
			d.Reset()
		}
		w.Process(f)
		s.Process(f)
		pos += EvalFrame
	})
	require.Zero(t, allocs)
}
