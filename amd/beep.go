package amd

import (
	"math"
	"time"
)

// SIT frequencies (ANSI T1.401 / Telcordia): the first tone is 913.8 or
// 985.2 Hz, the second 1,370.6 or 1,428.5 Hz, the third 1,776.7 Hz, each 274
// or 380 ms, back to back.
const sitTolerance = 30 // Hz, covers the front end's estimate error

func near(hz, want float64) bool { return math.Abs(hz-want) <= sitTolerance }
func sitLow(hz float64) bool     { return near(hz, 913.8) || near(hz, 985.2) }
func sitMid(hz float64) bool     { return near(hz, 1370.6) || near(hz, 1428.5) }
func sitHigh(hz float64) bool    { return near(hz, 1776.7) }

// sitFollows: tone b may be the SIT tone after tone a.
func sitFollows(a, b float64) bool { return sitLow(a) && sitMid(b) || sitMid(a) && sitHigh(b) }

// A SIT segment lasts 274 or 380 ms; accept 150-480 ms of tonal hops.
const sitMinHops, sitMaxHops = 15, 48

// sitGapHops is the largest gap between two SIT tones, in hops (they are
// contiguous; the window straddling the change is not tonal).
const sitGapHops = 4

// sitMatcher recognises the SIT sequence from tone segments: a low tone
// (optional: early media may clip it), a middle one, then at least 150 ms of
// the high one.
type sitMatcher struct {
	last     segment
	lastKind int // 0 none, 1 low, 2 middle
}

func (m *sitMatcher) step(ended segment, hasEnded bool, cur segment, running bool) bool {
	if hasEnded {
		kind := 0
		if n := ended.hops(); n >= sitMinHops && n <= sitMaxHops {
			switch {
			case sitLow(ended.hz):
				kind = 1
			case sitMid(ended.hz) && (m.lastKind == 0 || m.lastKind == 1 && ended.firstHop-m.last.lastHop <= sitGapHops):
				kind = 2
			}
		}
		m.last, m.lastKind = ended, kind
	}
	return running && m.lastKind == 2 && sitHigh(cur.hz) && cur.hops() >= sitMinHops &&
		cur.firstHop-m.last.lastHop <= sitGapHops
}

// SITDetector looks for Special Information Tones in early media (before
// answer), where a carrier plays them ahead of an intercept message.
type SITDetector struct {
	fe    frontEnd
	tones toneTracker
	sit   sitMatcher
	hop   int64
	found bool
}

// NewSITDetector returns a detector with the default tone purity.
func NewSITDetector() *SITDetector {
	s := &SITDetector{}
	s.fe.purity = 0.8
	return s
}

// Process analyses a frame and returns true once the three tones were
// heard; it stays true.
func (s *SITDetector) Process(frame []int16) bool {
	if s.found {
		return true
	}
	for _, v := range frame {
		if !s.fe.push(v) {
			continue
		}
		ended, hasEnded := s.tones.step(s.hop, s.fe.analyse(), &s.fe.power)
		s.hop++
		cur, running := s.tones.current()
		if s.sit.step(ended, hasEnded, cur, running) {
			s.found = true
			return true
		}
	}
	return false
}

// Drop tells the dialer when to start a voicemail message.
type Drop struct {
	// Reason is "beep" (right after the beep, or the second of two),
	// "silence" (no beep; the greeting ended in sustained silence) or
	// "timeout" (MaxBeepWait passed).
	Reason string
	// At is the audio time, on the detector's time base (since answer),
	// at which to start playing: the end of the frame that decided.
	At time.Duration
	// BeepStart, BeepEnd and BeepHz describe the (last) beep, if any.
	BeepStart, BeepEnd time.Duration
	BeepHz             float64
}

// Drop reasons.
const (
	DropBeep    = "beep"
	DropSilence = "silence"
	DropTimeout = "timeout"
)

// BeepWatcher follows a machine's greeting after the verdict and says when
// to drop the message. Not safe for concurrent use.
type BeepWatcher struct {
	p     Params
	start time.Duration
	fe    frontEnd
	vad   vad
	tones toneTracker
	hop   int64
	fed   int64
	// startHop is the watcher's first hop (MaxBeepWait counts from it);
	// with inProgress, a tone running then was already sounding when the
	// watcher started, so its head was not seen.
	startHop   int64
	inProgress bool

	minBeep, maxBeep, doubleWait, quiet, maxWait int64

	silence   int64
	beep      segment
	haveBeep  bool
	waitUntil int64

	done bool
	drop Drop
}

// NewBeepWatcher returns a watcher whose times count from start, the audio
// time already elapsed when its first frame begins (normally the
// detector's Result.DecisionAt).
func NewBeepWatcher(p Params, start time.Duration) *BeepWatcher {
	w := &BeepWatcher{
		p:          p,
		start:      start,
		vad:        newVAD(p),
		minBeep:    minBeepHops(p),
		maxBeep:    hopsOf(p.MaxBeep),
		doubleWait: hopsOf(p.DoubleBeepWait),
		quiet:      hopsOf(p.EndSilence + p.DropGuard),
		maxWait:    hopsOf(p.MaxBeepWait),
		inProgress: true,
	}
	w.fe.purity = p.BeepPurity
	return w
}

// Process analyses a frame; it returns true once it is time to play. The
// answer is then sticky.
func (w *BeepWatcher) Process(frame []int16) (Drop, bool) {
	if w.done {
		return w.drop, true
	}
	w.fed += int64(len(frame))
	for _, s := range frame {
		if !w.fe.push(s) {
			continue
		}
		if reason, ok := w.step(w.fe.analyse()); ok {
			w.done = true
			w.drop = Drop{Reason: reason, At: w.start + samplesDur(w.fed)}
			if w.haveBeep {
				w.drop.BeepStart = w.start + segStart(w.beep)
				w.drop.BeepEnd = w.start + segEnd(w.beep)
				w.drop.BeepHz = w.beep.hz
			}
			return w.drop, true
		}
	}
	return Drop{}, false
}

func (w *BeepWatcher) step(h hopInfo) (string, bool) {
	hop := w.hop
	w.hop++
	ended, hasEnded := w.tones.step(hop, h, &w.fe.power)
	_, running := w.tones.current()
	if hasEnded {
		w.consider(ended)
	}
	if w.vad.sound(h) || running {
		w.silence = 0
	} else {
		w.silence++
	}
	switch {
	case w.haveBeep && !running && hop >= w.waitUntil:
		return DropBeep, true
	case !w.haveBeep && w.silence >= w.quiet:
		return DropSilence, true
	case hop+1-w.startHop >= w.maxWait:
		return DropTimeout, true
	}
	return "", false
}

// consider takes a tone that ended at hop and keeps it if it is a beep.
func (w *BeepWatcher) consider(s segment) {
	ok := isBeepSegment(w.p, s, w.minBeep, w.maxBeep)
	if !ok && w.inProgress && s.firstHop <= w.startHop+1 {
		// A tone already sounding when the watcher started is likely the
		// beep the detector just heard, its head unseen: a shorter rest
		// will do if it is very clean (a voiced murmur under way when the
		// greeting was judged must not pass).
		clean := s
		clean.firstHop = s.lastHop - w.minBeep + 1 // as if long enough
		ok = s.hops() >= 3 && s.contrast >= w.p.BeepContrast+shortBeepContrast &&
			isBeepSegment(w.p, clean, w.minBeep, w.maxBeep)
	}
	if ok {
		w.beep, w.haveBeep = s, true
		w.waitUntil = s.lastHop + w.doubleWait
	}
}
