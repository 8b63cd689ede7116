package amd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// The packed real FFT agrees with a plain DFT of the windowed samples.
func TestSpectrumMatchesDFT(t *testing.T) {
	t.Parallel()
	var fe frontEnd
	x := concat(vowel(130, 10, 5000), noise(11, 10, 2000))[:winLen]
	for i, v := range x {
		fe.win[i] = float64(v)
	}
	fe.spectrum()
	for k := range nBins {
		re, im := 0.0, 0.0
		for n := range winLen {
			w := fe.win[n] * tables.hann[n]
			a := -2 * math.Pi * float64(k*n) / winLen
			re += w * math.Cos(a)
			im += w * math.Sin(a)
		}
		want := re*re + im*im
		require.InDelta(t, want, fe.power[k], 1e-6*want+1e-3, "bin %d", k)
	}
}

// A pure tone is tonal at its frequency; noise and silence are not.
func TestFrontEndTone(t *testing.T) {
	t.Parallel()
	for _, hz := range []float64{300, 441, 1000, 1776.7, 2500} {
		fe := frontEnd{purity: 0.8}
		var h hopInfo
		for i, s := range sine(hz, 100, 8000) {
			if fe.push(s) && i > winLen {
				h = fe.analyse()
			} else if fe.fill == hopLen {
				fe.analyse()
			}
		}
		require.True(t, h.tonal, "%v Hz", hz)
		require.InDelta(t, hz, h.freq, 6, "%v Hz", hz)
		require.Greater(t, h.purity, 0.95)
	}
	fe := frontEnd{purity: 0.8}
	for _, s := range noise(3, 100, 3000) {
		if fe.push(s) {
			require.False(t, fe.analyse().tonal)
		}
	}
	fe = frontEnd{purity: 0.8}
	for _, s := range zeros(100) {
		if fe.push(s) {
			h := fe.analyse()
			require.False(t, h.tonal)
			require.Equal(t, -100.0, h.energyDB)
		}
	}
}
