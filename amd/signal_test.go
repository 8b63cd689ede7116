package amd

import (
	"math"
	"math/rand/v2"
)

// Synthetic signals for the unit tests, all 8 kHz.

func msSamples(ms int) int { return ms * sampleRate / 1000 }

// sine returns ms of a tone at peak amplitude amp, with 4 ms ramps.
func sine(hz float64, ms int, amp float64) []int16 {
	n := msSamples(ms)
	ramp := msSamples(4)
	out := make([]int16, n)
	for i := range out {
		g := 1.0
		if i < ramp {
			g = float64(i) / float64(ramp)
		} else if n-1-i < ramp {
			g = float64(n-1-i) / float64(ramp)
		}
		out[i] = int16(g * amp * math.Sin(2*math.Pi*hz*float64(i)/sampleRate))
	}
	return out
}

// noise returns ms of deterministic white noise of RMS rms.
func noise(seed uint64, ms int, rms float64) []int16 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]int16, msSamples(ms))
	for i := range out {
		out[i] = int16(max(-32767, min(32767, r.NormFloat64()*rms)))
	}
	return out
}

// vowel returns ms of a voiced-speech-like sound: harmonics of a pitch that
// glides from f0 by ±8 % (intonation) under a formant-shaped envelope and a
// syllabic swell. Such sounds must never pass for a beep.
func vowel(f0 float64, ms int, amp float64) []int16 {
	n := msSamples(ms)
	out := make([]int16, n)
	phase := 0.0
	var gain [64]float64
	for i := range out {
		t := float64(i) / float64(n)
		f := f0 * (1 + 0.08*math.Sin(2*math.Pi*1.5*t))
		phase += 2 * math.Pi * f / sampleRate
		if i%40 == 0 { // the pitch moves slowly: refresh the gains every 5 ms
			for h := 1; h < len(gain); h++ {
				hz := float64(h) * f
				// formants near 700 and 1,200 Hz, band-limited like a phone line
				d1, d2 := (hz-700)/250, (hz-1200)/300
				gain[h] = 1/(1+d1*d1) + 0.6/(1+d2*d2) + 0.05
				if hz < 300 {
					gain[h] *= 0.2
				}
			}
		}
		v := 0.0
		for h := 1; h < len(gain) && float64(h)*f < 3400; h++ {
			v += gain[h] * math.Sin(float64(h)*phase)
		}
		env := 0.5 + 0.5*math.Sin(math.Pi*t)
		out[i] = int16(amp * env * v / 2)
	}
	return out
}

func zeros(ms int) []int16 { return make([]int16, msSamples(ms)) }

// mix adds b into a (same length or shorter).
func mix(a, b []int16) []int16 {
	out := append([]int16(nil), a...)
	for i := range min(len(a), len(b)) {
		out[i] = int16(max(-32768, min(32767, int(a[i])+int(b[i]))))
	}
	return out
}

func concat(parts ...[]int16) []int16 {
	var out []int16
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sit returns the three Special Information Tones (low variant).
func sit(amp float64) []int16 {
	return concat(sine(913.8, 274, amp), sine(1370.6, 274, amp), sine(1776.7, 380, amp))
}

// feed runs frames of n samples through process until it reports done.
func feed[T any](pcm []int16, n int, process func([]int16) (T, bool)) (T, bool) {
	var (
		r  T
		ok bool
	)
	for i := 0; i < len(pcm) && !ok; i += n {
		r, ok = process(pcm[i:min(i+n, len(pcm))])
	}
	return r, ok
}
