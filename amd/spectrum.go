package amd

import "math"

// The front end works in 10 ms hops (80 samples at 8 kHz). For every hop it
// measures the hop's energy and the spectrum of the last 16 ms (128 samples,
// Hann window, 62.5 Hz bins) through a real FFT done as a 64-point complex
// FFT, which is cheap enough to run on every hop.
const (
	sampleRate = 8000
	hopLen     = 80
	winLen     = 128
	half       = winLen / 2 // complex FFT size
	nBins      = half + 1
	binHz      = float64(sampleRate) / winLen
	hopDur     = 10 // ms

	// In-band bins for purity: 250-3,440 Hz (the telephone band).
	bandLo, bandHi = 4, 55
	// Peak search: 250-2,560 Hz covers beeps and SIT.
	peakLo, peakHi = 4, 41
)

// fftTables are computed once per process and never written after, like the
// G.711 tables in package audio.
type fftTables struct {
	hann     [winLen]float64
	bitrev   [half]int
	cos, sin [half / 2]float64 // twiddles of the 64-point FFT
	wcos     [nBins]float64    // twiddles of the real-FFT split
	wsin     [nBins]float64
}

var tables = buildTables()

func buildTables() *fftTables {
	t := &fftTables{}
	for i := range winLen {
		t.hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/winLen)
	}
	bits := 0
	for 1<<bits < half {
		bits++
	}
	for i := range half {
		r := 0
		for b := range bits {
			if i&(1<<b) != 0 {
				r |= 1 << (bits - 1 - b)
			}
		}
		t.bitrev[i] = r
	}
	for k := range half / 2 {
		a := -2 * math.Pi * float64(k) / half
		t.cos[k], t.sin[k] = math.Cos(a), math.Sin(a)
	}
	for k := range nBins {
		a := -2 * math.Pi * float64(k) / winLen
		t.wcos[k], t.wsin[k] = math.Cos(a), math.Sin(a)
	}
	return t
}

// minToneDB: hops quieter than this (dBFS RMS) skip the spectrum; no beep
// worth waiting for is that faint, and silence then costs next to nothing.
const minToneDB = -55

// hopInfo is what the front end learns from one hop.
type hopInfo struct {
	energyDB float64 // RMS of the hop's 80 new samples, dBFS
	tonal    bool    // the window is one pure tone
	freq     float64 // its frequency, Hz (valid when tonal)
	purity   float64
}

// frontEnd buffers samples into hops and analyses each hop. It allocates
// nothing after construction.
type frontEnd struct {
	win    [winLen]float64 // the last 128 samples, oldest first
	fill   int             // new samples in the current hop
	hopSq  float64         // sum of squares of the current hop
	re, im [half]float64
	power  [nBins]float64
	purity float64 // minimum purity for a tonal hop
}

// push adds one sample; it returns true when a hop is complete (then call
// analyse).
func (f *frontEnd) push(s int16) bool {
	v := float64(s)
	f.win[winLen-hopLen+f.fill] = v
	f.hopSq += v * v
	f.fill++
	return f.fill == hopLen
}

// analyse measures the completed hop and slides the window by one hop.
func (f *frontEnd) analyse() hopInfo {
	var h hopInfo
	ms := f.hopSq / hopLen
	h.energyDB = -100
	if ms > 0 {
		h.energyDB = 10*math.Log10(ms) - 90.309 // re 32768²
	}
	if h.energyDB > minToneDB {
		f.spectrum()
		h.tonal, h.freq, h.purity = f.tone()
	}
	copy(f.win[:winLen-hopLen], f.win[hopLen:])
	f.fill = 0
	f.hopSq = 0
	return h
}

// spectrum fills f.power with |X[k]|² of the windowed 128 samples.
func (f *frontEnd) spectrum() {
	t := tables
	// Pack even samples in re, odd in im, in bit-reversed order.
	for n := range half {
		r := t.bitrev[n]
		f.re[r] = f.win[2*n] * t.hann[2*n]
		f.im[r] = f.win[2*n+1] * t.hann[2*n+1]
	}
	// The first two stages have trivial twiddles (1 and -i).
	for a := 0; a < half; a += 4 {
		r0, i0 := f.re[a]+f.re[a+1], f.im[a]+f.im[a+1]
		r1, i1 := f.re[a]-f.re[a+1], f.im[a]-f.im[a+1]
		r2, i2 := f.re[a+2]+f.re[a+3], f.im[a+2]+f.im[a+3]
		r3, i3 := f.re[a+2]-f.re[a+3], f.im[a+2]-f.im[a+3]
		f.re[a], f.im[a] = r0+r2, i0+i2
		f.re[a+2], f.im[a+2] = r0-r2, i0-i2
		// (r3 + i i3)·(-i) = i3 - i r3
		f.re[a+1], f.im[a+1] = r1+i3, i1-r3
		f.re[a+3], f.im[a+3] = r1-i3, i1+r3
	}
	for size := 8; size <= half; size <<= 1 {
		hs := size / 2
		step := half / size
		for start := 0; start < half; start += size {
			for j := range hs {
				wr, wi := t.cos[j*step], t.sin[j*step]
				a, b := start+j, start+j+hs
				xr := f.re[b]*wr - f.im[b]*wi
				xi := f.re[b]*wi + f.im[b]*wr
				f.re[b], f.im[b] = f.re[a]-xr, f.im[a]-xi
				f.re[a] += xr
				f.im[a] += xi
			}
		}
	}
	// Split the packed transform into the real signal's spectrum.
	for k := range nBins {
		k1, k2 := k%half, (half-k)%half
		zr, zi := f.re[k1], f.im[k1]
		cr, ci := f.re[k2], -f.im[k2] // conj(Z[M-k])
		er, ei := (zr+cr)/2, (zi+ci)/2
		// O = (Z - conj)/(2i) = -i (Z - conj)/2
		or, oi := (zi-ci)/2, -(zr-cr)/2
		wr, wi := t.wcos[k], t.wsin[k]
		xr := er + or*wr - oi*wi
		xi := ei + or*wi + oi*wr
		f.power[k] = xr*xr + xi*xi
	}
}

// tone reports whether the spectrum is one pure tone: the five bins around
// the peak (the Hann main lobe) hold at least f.purity of the in-band
// energy. The frequency comes from parabolic interpolation of the log
// magnitudes around the peak.
func (f *frontEnd) tone() (bool, float64, float64) {
	p := &f.power
	total := 0.0
	for k := bandLo; k <= bandHi; k++ {
		total += p[k]
	}
	if total <= 0 {
		return false, 0, 0
	}
	peak := peakLo
	for k := peakLo + 1; k <= peakHi; k++ {
		if p[k] > p[peak] {
			peak = k
		}
	}
	lobe := p[peak-1] + p[peak] + p[peak+1]
	purity := lobe / total
	if purity < f.purity {
		return false, 0, purity
	}
	a := math.Log(p[peak-1] + 1e-9)
	b := math.Log(p[peak] + 1e-9)
	c := math.Log(p[peak+1] + 1e-9)
	d := 0.0
	if den := a - 2*b + c; den != 0 {
		d = 0.5 * (a - c) / den
	}
	return true, (float64(peak) + d) * binHz, purity
}

// segment is a run of tonal hops at one frequency.
type segment struct {
	firstHop, lastHop int64 // hop indexes (inclusive)
	hz                float64
	// levelSpread is the range of hop energies (dB) inside the run, its
	// first and last hops (which straddle the edges) left out: beeps are
	// flat, voiced speech swells and fades.
	levelSpread float64
	// contrast is the power of the peak bin over the strongest other
	// in-band bin (3 or more bins away), dB, on the spectrum summed over
	// the run: noise averages out into a flat floor, while the other
	// harmonics of a voiced sound stay.
	contrast float64
}

func (s segment) hops() int { return int(s.lastHop-s.firstHop) + 1 }

// maxLevelSpread is the largest level range a beep may show, dB.
const maxLevelSpread = 5

// shortBeepContrast is the extra contrast (dB) asked of a tone one hop
// shorter than the minimum: a 90 ms beep in noise may lose both edge
// windows, and only a very clean tone may make up for the missing hop.
const shortBeepContrast = 8

// isBeepSegment reports whether a tone run is a beep: long enough, not too
// long, in the beep band, with a steady level and a clean spectrum.
func isBeepSegment(p Params, s segment, minHops, maxHops int64) bool {
	n := int64(s.hops())
	if n > maxHops || !inBeepBand(p, s.hz) || s.levelSpread > maxLevelSpread {
		return false
	}
	switch {
	case n >= minHops:
		return s.contrast >= p.BeepContrast
	case n == minHops-1:
		return s.contrast >= p.BeepContrast+shortBeepContrast
	}
	return false
}

// A run of tonal hops ends when its frequency estimates would spread over
// more than 1 % (8 Hz at least): a beep holds its pitch, while the
// harmonics of voiced speech glide. Noise near the tone makes the estimate
// jitter by a few Hz, so the bound cannot be much tighter.
const (
	maxFreqSpreadHz = 8
	maxFreqSpread   = 0.01
)

// toneTracker joins tonal hops of a steady frequency into segments. One
// non-tonal hop inside a run is forgiven (noise bursts).
type toneTracker struct {
	run        bool
	seg        segment
	sum        float64 // sum of frequencies in the run
	n          int
	missing    int
	fmin, fmax float64
	emin, emax float64 // energy range over the inner hops
	prevE      float64 // energy of the previous tonal hop
	prevInner  bool    // whether that hop was an inner one
	acc        [nBins]float64
}

func (t *toneTracker) accumulate(p *[nBins]float64) {
	for k := bandLo; k <= bandHi; k++ {
		t.acc[k] += p[k]
	}
}

// step takes one hop; it returns a completed segment, if one ended.
func (t *toneTracker) step(hop int64, h hopInfo, p *[nBins]float64) (segment, bool) {
	var done segment
	ended := false
	if t.run {
		lo, hi := min(t.fmin, h.freq), max(t.fmax, h.freq)
		if h.tonal && hi-lo <= max(maxFreqSpreadHz, maxFreqSpread*lo) {
			if t.prevInner {
				t.emin, t.emax = min(t.emin, t.prevE), max(t.emax, t.prevE)
			}
			t.prevE, t.prevInner = h.energyDB, true
			t.seg.lastHop = hop
			t.sum += h.freq
			t.n++
			t.fmin, t.fmax = lo, hi
			t.missing = 0
			t.accumulate(p)
			return segment{}, false
		}
		if !h.tonal && t.missing == 0 {
			t.missing++
			return segment{}, false
		}
		done, _ = t.current()
		ended = true
		t.run = false
	}
	if h.tonal {
		t.run = true
		t.seg = segment{firstHop: hop, lastHop: hop, hz: h.freq}
		t.sum, t.n, t.missing = h.freq, 1, 0
		t.fmin, t.fmax = h.freq, h.freq
		t.emin, t.emax = 0, -200
		t.prevE, t.prevInner = h.energyDB, false
		t.acc = [nBins]float64{}
		t.accumulate(p)
	}
	return done, ended
}

// current returns the run in progress.
func (t *toneTracker) current() (segment, bool) {
	if !t.run {
		return segment{}, false
	}
	s := t.seg
	s.hz = t.sum / float64(t.n)
	if t.emax >= t.emin {
		s.levelSpread = t.emax - t.emin
	}
	peak := int(math.Round(s.hz / binHz))
	peak = min(max(peak, bandLo), bandHi)
	other := 1e-12
	for k := bandLo; k <= bandHi; k++ {
		if (k < peak-2 || k > peak+2) && t.acc[k] > other {
			other = t.acc[k]
		}
	}
	lobe := max(t.acc[peak], t.acc[max(peak-1, bandLo)], t.acc[min(peak+1, bandHi)])
	s.contrast = 10 * math.Log10(lobe/other+1e-12)
	return s, true
}
