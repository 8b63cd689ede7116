package dialer

import (
	"context"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/amd"
)

// BenchmarkAnalysisFrame is the cost the dialer adds on the driver's audio
// goroutine per 20 ms frame during detection (lock, phase switch, detector).
func BenchmarkAnalysisFrame(b *testing.B) {
	params, err := amd.ProfileParams("")
	if err != nil {
		b.Fatal(err)
	}
	pcm := withNoise(concat(loadWAV(b, "greet.wav"), quiet(time.Second)), 11)
	frames := len(pcm) / frameLen
	a := newAnalysis(params, "", false)
	a.answered(time.Now())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := i % frames
		a.onAudio(pcm[j*frameLen : (j+1)*frameLen])
		if len(a.verdictCh) > 0 || j == frames-1 {
			b.StopTimer()
			select {
			case <-a.verdictCh:
			default:
			}
			a = newAnalysis(params, "", false)
			a.answered(time.Now())
			b.StartTimer()
		}
	}
}

// BenchmarkDialSignallingOnly is the orchestration's own cost per call
// (pacing, caller ID, originate, loop, outcome, metrics) on a leg that is
// refused at once.
func BenchmarkDialSignallingOnly(b *testing.B) {
	rec := &recorder{}
	drv := &fakeDriver{rec: rec, script: func(l *fakeLeg) { l.reject(Busy, 486, "Busy Here", 0) }}
	d, err := New(Options{
		Drivers:   map[string]Driver{trunkName: drv},
		Pacer:     &fakePacer{rec: rec},
		CallerIDs: &fakePicker{rec: rec, number: ourNumber},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer d.Stop()
	c := baseCall()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if out := d.Dial(context.Background(), c); out.Disposition != Busy {
				b.Errorf("disposition %s", out.Disposition)
			}
		}
	})
	b.StopTimer()
	rec.mu.Lock()
	rec.steps = nil
	rec.mu.Unlock()
}
