package amd

import (
	"math"
	"time"
)

// hopsOf converts a duration to whole 10 ms hops, rounding up.
func hopsOf(d time.Duration) int64 {
	return int64((d + hopDur*time.Millisecond - 1) / (hopDur * time.Millisecond))
}

// hopTime is the audio time at the end of hop h.
func hopTime(h int64) time.Duration { return time.Duration(h+1) * hopDur * time.Millisecond }

// Turning a tonal run into the tone's start and end: a hop's 16 ms window
// is centred 8 ms before the hop ends; the corrections beyond that (a
// window turns tonal when the tone fills a good part of it, and stays
// tonal, thanks to the forgiven hop, a little after) were measured on the
// corpus's ground truth and checked by TestBeepWatcherFindsBeeps.
const (
	segStartOffset = -8*time.Millisecond - 6*time.Millisecond
	segEndOffset   = -8*time.Millisecond + 27*time.Millisecond
)

func segStart(s segment) time.Duration { return hopTime(s.firstHop) + segStartOffset }
func segEnd(s segment) time.Duration   { return hopTime(s.lastHop) + segEndOffset }

// noiseFloor follows the quietest hops: down at once, up by 1 dB/s, so a
// steady hiss or hum sets the bar for "sound" instead of a fixed threshold.
type noiseFloor struct {
	db   float64
	init bool
}

const floorRisePerHop = 0.01 // dB per 10 ms = 1 dB/s

func (n *noiseFloor) update(e float64) {
	switch {
	case !n.init:
		n.db, n.init = e, true
	case e < n.db:
		n.db = e
	default:
		n.db += floorRisePerHop
	}
}

// vad turns hop energies into sound/silence with the adaptive floor.
type vad struct {
	floor  noiseFloor
	minDB  float64 // SilenceThreshold in dBFS
	margin float64
}

func newVAD(p Params) vad {
	minDB := -100.0
	if p.SilenceThreshold > 0 {
		minDB = 20 * math.Log10(float64(p.SilenceThreshold)/32768)
	}
	return vad{minDB: minDB, margin: p.NoiseMargin}
}

// sound reports whether a hop is sound (speech, tones or noise bursts),
// then lets the floor learn from it.
func (v *vad) sound(h hopInfo) bool {
	thr := max(v.floor.db+v.margin, v.minDB)
	s := v.floor.init && h.energyDB > thr
	v.floor.update(h.energyDB)
	return s
}

// burstHops is the shortest burst of sound that may start a greeting.
const burstHops = 5

// Detector classifies a call's first seconds as human, machine, silence or
// a carrier intercept. Feed it the callee's audio from the moment of answer;
// it is not safe for concurrent use.
type Detector struct {
	p     Params
	fe    frontEnd
	vad   vad
	tones toneTracker
	sit   sitMatcher
	hop   int64 // hops analysed so far
	fed   int64 // samples fed so far

	// limits in hops
	initialSilence, greeting, afterSilence, shortGreeting, shortSilence,
	total, minWord, betweenWords, maxWordLen, minBeep, maxBeep int64

	inWord        bool
	wordStart     int64
	wordCounted   bool
	words         int
	greetingStart int64 // first hop of the greeting; -1 before its first word
	// firstBurst is the start of the earliest burst of sound (≥ 50 ms)
	// not followed by a long silence, -1 if none: in noise the first
	// syllables often come through as fragments too short for a word, and
	// they belong to the greeting.
	firstBurst  int64
	lastSound   int64
	silence     int64   // hops since the last sound
	pendingBeep bool    // a beep at a SIT frequency waits to see what follows
	tail        segment // a tone that ended after the decision, in the deciding frame
	tailOK      bool

	done   bool
	result Result
}

// NewDetector returns a detector for p. Params must be valid (see
// Params.Validate); ProfileParams always is.
func NewDetector(p Params) *Detector {
	d := &Detector{}
	d.init(p)
	return d
}

// Reset makes the detector ready for a new call with the same parameters,
// without allocating.
func (d *Detector) Reset() { d.init(d.p) }

func (d *Detector) init(p Params) {
	*d = Detector{
		p:              p,
		vad:            newVAD(p),
		initialSilence: hopsOf(p.InitialSilence),
		greeting:       hopsOf(p.Greeting),
		afterSilence:   hopsOf(p.AfterGreetingSilence),
		shortGreeting:  hopsOf(p.ShortGreeting),
		shortSilence:   hopsOf(p.ShortSilence),
		total:          hopsOf(p.TotalAnalysis),
		minWord:        hopsOf(p.MinWordLength),
		betweenWords:   hopsOf(p.BetweenWordsSilence),
		maxWordLen:     hopsOf(p.MaxWordLength),
		minBeep:        minBeepHops(p),
		maxBeep:        hopsOf(p.MaxBeep),
		greetingStart:  -1,
		firstBurst:     -1,
	}
	d.fe.purity = p.BeepPurity
}

// minBeepHops is how many tonal hops make a beep of at least MinBeep: a
// tone of length L makes about L/10 ms tonal hops (see isBeepSegment for
// one fewer).
func minBeepHops(p Params) int64 { return max(hopsOf(p.MinBeep), 3) }

// Process analyses one frame (any length, 8 kHz 16-bit mono). It returns
// true once a decision is made; the result is then sticky and every later
// call returns it again.
func (d *Detector) Process(frame []int16) (Result, bool) {
	if d.done {
		return d.result, true
	}
	d.fed += int64(len(frame))
	for i, s := range frame {
		if !d.fe.push(s) {
			continue
		}
		if v, c, ok := d.step(d.fe.analyse()); ok {
			d.done = true
			d.result = Result{Verdict: v, Cause: c, DecisionAt: samplesDur(d.fed)}
			d.follow(frame[i+1:])
			return d.result, true
		}
	}
	return Result{}, false
}

// follow keeps the front end, tone tracker and silence count going over
// the rest of the deciding frame, so that Watcher continues seamlessly.
func (d *Detector) follow(rest []int16) {
	for _, s := range rest {
		if !d.fe.push(s) {
			continue
		}
		h := d.fe.analyse()
		if ended, ok := d.tones.step(d.hop, h, &d.fe.power); ok {
			d.tail, d.tailOK = ended, true
		}
		d.hop++
		if d.vad.sound(h) {
			d.silence = 0
		} else {
			d.silence++
		}
	}
}

// Watcher returns a beep watcher that carries on from this detector's
// state after a verdict: it knows a tone already under way (the beep that
// decided, or one starting as the greeting did) and the noise floor, and
// shares the time base (Drop times count from the first sample fed to the
// detector). Feed it the frames after the one that decided. Prefer it to
// NewBeepWatcher when the detector is at hand.
func (d *Detector) Watcher() *BeepWatcher {
	w := NewBeepWatcher(d.p, 0)
	w.fe, w.vad, w.tones = d.fe, d.vad, d.tones
	w.hop, w.fed, w.silence = d.hop, d.fed, d.silence
	w.startHop, w.inProgress = d.hop, false // the tracker saw every tone whole
	if d.tailOK {
		w.consider(d.tail)
	}
	return w
}

func samplesDur(n int64) time.Duration { return time.Duration(n) * time.Second / sampleRate }

// step runs the rules on one hop.
func (d *Detector) step(h hopInfo) (Verdict, string, bool) {
	hop := d.hop
	d.hop++

	// Tones first: SIT, then beeps.
	ended, hasEnded := d.tones.step(hop, h, &d.fe.power)
	cur, running := d.tones.current()
	if d.sit.step(ended, hasEnded, cur, running) {
		return Intercept, CauseSIT, true
	}
	if hasEnded && d.pendingBeep {
		d.pendingBeep = false
		// The run at a SIT frequency ended; unless the next SIT tone
		// follows at once, it was a beep.
		if !(running && cur.firstHop-ended.lastHop <= sitGapHops && sitFollows(ended.hz, cur.hz)) && d.isBeep(ended) {
			return Machine, CauseBeep, true
		}
	}
	if running && !d.pendingBeep && isBeepSegment(d.p, cur, d.minBeep, d.maxBeep) {
		if sitLow(cur.hz) || sitMid(cur.hz) || sitHigh(cur.hz) {
			d.pendingBeep = true
		} else {
			return Machine, CauseBeep, true
		}
	}

	// Words and greeting, app_amd style.
	if d.vad.sound(h) {
		if !d.inWord {
			d.inWord, d.wordStart, d.wordCounted = true, hop, false
		}
		d.lastSound, d.silence = hop, 0
		if d.firstBurst < 0 && hop-d.wordStart+1 >= burstHops {
			d.firstBurst = d.wordStart
		}
		if !d.wordCounted && hop-d.wordStart+1 >= d.minWord {
			d.wordCounted = true
			d.words++
			if d.greetingStart < 0 {
				d.greetingStart = d.wordStart
				if d.firstBurst >= 0 {
					d.greetingStart = d.firstBurst
				}
			}
		}
		if hop-d.wordStart+1 >= d.maxWordLen {
			return Machine, CauseMaxWordLength, true
		}
	} else {
		d.silence++
		if d.inWord && d.silence >= d.betweenWords {
			d.inWord = false
		}
		if d.greetingStart < 0 && d.silence >= d.afterSilence {
			d.firstBurst = -1
		}
	}
	if d.greetingStart >= 0 {
		if d.words >= d.p.MaxWords {
			return Machine, CauseMaxWords, true
		}
		extent := d.lastSound - d.greetingStart + 1
		if extent >= d.greeting {
			return Machine, CauseLongGreeting, true
		}
		// The silence that ends a greeting grows with the greeting: a
		// person who said "Hello?" waits at once, one who spoke for a while
		// has finished a sentence, while a machine only pauses between its
		// sentences (0.2-0.6 s) and loses quiet word endings in the noise.
		need := d.afterSilence
		switch {
		case extent <= d.shortGreeting:
			need = d.shortSilence
		case 2*extent > d.greeting:
			need = d.afterSilence * 3 / 2
		}
		if !d.inWord && d.silence >= need && !running {
			return Human, CauseHuman, true
		}
	} else if hop+1 >= d.initialSilence && !running && !d.inWord {
		return Silence, CauseInitialSilence, true
	}
	if hop+1 >= d.total {
		return d.p.TimeoutVerdict, CauseTotalAnalysis, true
	}
	return "", "", false
}

func (d *Detector) isBeep(s segment) bool { return isBeepSegment(d.p, s, d.minBeep, d.maxBeep) }

// inBeepBand allows 3 % beyond the configured band for the estimate's
// error (a 2,500 Hz beep may read 2,504 Hz).
func inBeepBand(p Params, hz float64) bool {
	return hz >= p.BeepMinHz*0.97 && hz <= p.BeepMaxHz*1.03
}
