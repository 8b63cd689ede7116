package dialer

import (
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/amd"
)

// Human action kinds (Call.OnHuman.Kind).
const (
	HumanConnect = "connect" // bridge to OnHuman.Destination (needs a Connector)
	HumanMessage = "message" // play OnHuman.Audio, then hang up
)

// AMD profile names with a policy of their own; any other name (including
// "" and "balanced") follows the balanced policy.
const (
	ProfileHumanFirst    = "human_first"
	ProfileVoicemailDrop = "voicemail_drop"
)

// branch is what the call does after the detector's verdict.
type branch int

const (
	branchHuman     branch = iota + 1 // run the human action
	branchMachine                     // drop the voicemail, or hang up at once without one
	branchSilence                     // nobody spoke: hang up, disposition machine
	branchIntercept                   // SIT / operator intercept: hang up, invalid_number
)

// resolveVerdict maps a detector verdict to a branch under a profile.
//
// Choices (documented in the package, tested in TestResolveVerdict):
//   - unsure → human, except under voicemail_drop, where it is a machine. A
//     person hung up on by AMD is an abandoned call in law, so only the
//     profile that declares machines its target takes the risk.
//   - silence → hang up, disposition machine: the line answered (it is a
//     connected call, not no_answer) but nobody greeted us. We do not drop a
//     message into dead air, which may be a silent person.
//   - an unknown verdict is treated like unsure.
func resolveVerdict(profile string, v amd.Verdict) branch {
	switch v {
	case amd.Human:
		return branchHuman
	case amd.Machine:
		return branchMachine
	case amd.Silence:
		return branchSilence
	case amd.Intercept:
		return branchIntercept
	}
	if profile == ProfileVoicemailDrop {
		return branchMachine
	}
	return branchHuman
}

// phase is where the callee's audio goes.
type phase int

const (
	phaseEarly phase = iota // before answer: SIT detection on early media
	phaseAMD                // after answer: the machine detector
	phaseBeep               // machine with a message to leave: the beep watcher
	phaseOff                // nothing listens any more
)

// analysis runs the audio side of one call inline on the driver's audio
// goroutine (a detector costs microseconds per frame) and signals the call's
// select loop through one-slot channels, so OnAudio never blocks.
type analysis struct {
	params    amd.Params
	profile   string
	voicemail bool // a message is to be left on a machine

	mu      sync.Mutex
	phase   phase
	sit     *amd.SITDetector
	det     *amd.Detector
	watcher *amd.BeepWatcher
	heard   time.Duration // audio time fed since answer
	// recent holds the last frames heard before the loop saw the answer,
	// with their arrival times, so the detector starts exactly at the
	// answer however late the loop gets to it (see answered); then, with a
	// message to leave, the last second of detection audio, which the beep
	// watcher starts on (see startWatch).
	recent     []stampedFrame
	recentNext int
	// startWall is the wall-clock time of the answer, audio time 0; fill
	// compares the two clocks.
	startWall time.Time
	silence   [160]int16

	sitCh     chan struct{}   // SIT heard in early media
	verdictCh chan amd.Result // the detector decided
	dropCh    chan amd.Drop   // time to play the message
}

func newAnalysis(params amd.Params, profile string, voicemail bool) *analysis {
	return &analysis{
		params:    params,
		profile:   profile,
		voicemail: voicemail,
		sit:       amd.NewSITDetector(),
		sitCh:     make(chan struct{}, 1),
		verdictCh: make(chan amd.Result, 1),
		dropCh:    make(chan amd.Drop, 1),
	}
}

// onAudio is the Leg's OnAudio callback: it never blocks and keeps no
// reference to samples.
func (a *analysis) onAudio(samples []int16) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.phase {
	case phaseEarly:
		a.remember(samples)
		if a.sit.Process(samples) {
			a.phase = phaseOff
			a.sitCh <- struct{}{} // one-slot channel, sent once: never blocks
		}
	case phaseAMD:
		a.detect(samples)
	case phaseBeep:
		a.watch(samples)
	}
}

// watch feeds the beep watcher; the caller holds mu.
func (a *analysis) watch(samples []int16) {
	a.heard += samplesDuration(len(samples))
	if d, ok := a.watcher.Process(samples); ok {
		a.phase = phaseOff
		a.dropCh <- d
	}
}

// detect feeds the machine detector; the caller holds mu.
func (a *analysis) detect(samples []int16) {
	if a.voicemail {
		a.remember(samples) // for the beep watcher's replay
	}
	a.heard += samplesDuration(len(samples))
	r, ok := a.det.Process(samples)
	if !ok {
		return
	}
	a.phase = phaseOff
	// Start the beep watch in the same frame the verdict came in, so no
	// audio between the verdict and the loop's reaction is missed.
	if a.voicemail && resolveVerdict(a.profile, r.Verdict) == branchMachine {
		a.startWatch(r.DecisionAt)
	}
	a.recent, a.recentNext = nil, 0
	a.verdictCh <- r // one-slot channel, sent once: never blocks
}

// startWatch starts the beep watcher on the last second of audio rather
// than at the verdict: the detector often decides on the beep itself (or
// just before it), and a watcher started mid-beep would miss it and fall
// back to waiting for silence. The caller holds mu.
func (a *analysis) startWatch(decision time.Duration) {
	recent, next := a.recent, a.recentNext
	a.recent, a.recentNext = nil, 0
	var replay time.Duration
	for _, f := range recent {
		replay += samplesDuration(len(f.pcm))
	}
	replay = min(replay, decision)
	a.watcher = amd.NewBeepWatcher(a.params, decision-replay)
	a.phase = phaseBeep
	for i := range recent {
		if d, ok := a.watcher.Process(recent[(next+i)%len(recent)].pcm); ok {
			a.phase = phaseOff
			a.dropCh <- d
			return
		}
	}
}

// recentFrames bounds the audio kept from before the loop saw the answer:
// 50 frames (1 s of 20 ms packets). A loop that lags more than that loses
// the start of the greeting, not the call.
const recentFrames = 50

type stampedFrame struct {
	at  time.Time
	pcm []int16
}

// remember keeps a copy of a pre-answer frame; the caller holds mu.
func (a *analysis) remember(samples []int16) {
	if a.recent == nil {
		a.recent = make([]stampedFrame, 0, recentFrames)
	}
	now := time.Now()
	if len(a.recent) < recentFrames {
		a.recent = append(a.recent, stampedFrame{at: now, pcm: append([]int16(nil), samples...)})
		return
	}
	f := &a.recent[a.recentNext]
	f.at, f.pcm = now, append(f.pcm[:0], samples...)
	a.recentNext = (a.recentNext + 1) % recentFrames
}

// answered moves from SIT detection to machine detection. at is when the
// far end answered (the driver's event time): frames that arrived since
// are replayed into the detector, so its clock starts at the answer even
// when the call's loop got to the event late. An implausible at (another
// clock, or in the future) means no replay.
func (a *analysis) answered(at time.Time) {
	det := amd.NewDetector(a.params)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.phase != phaseEarly {
		return
	}
	a.det = det
	a.phase = phaseAMD
	recent, next := a.recent, a.recentNext
	a.recent, a.recentNext = nil, 0
	now := time.Now()
	a.startWall = now
	if at.After(now) || now.Sub(at) > 2*time.Second {
		return
	}
	a.startWall = at
	for i := range recent {
		f := recent[(next+i)%len(recent)]
		if f.at.Before(at) {
			continue
		}
		switch a.phase {
		case phaseAMD:
			a.detect(f.pcm)
		case phaseBeep:
			a.watch(f.pcm)
		default:
			return
		}
	}
}

// Gaps in the far end's audio: some endpoints send no RTP at all while
// they are silent (silence suppression without comfort noise, a mailbox
// recording after its beep). The detectors count audio time, so without
// packets they would wait forever. fill feeds silence for a gap once the
// audio clock lags the wall clock by fillAfter, up to fillKeep behind it so
// ordinary jitter never inserts silence.
//
// While machine detection listens the lag allowed is longer (fillAfterAMD):
// a verdict does not hinge on 100 ms, but silence inserted for audio that
// is merely late (a busy node falls behind its sockets) shifts the hello
// and can turn a person into a machine. After the verdict, the beep watch
// keeps the short lag: the message must start within 300 ms of the beep.
const (
	fillAfter    = 100 * time.Millisecond
	fillAfterAMD = 300 * time.Millisecond
	fillKeep     = 40 * time.Millisecond
	// fillInterval is how often the call's loop calls fill.
	fillInterval = 20 * time.Millisecond
)

// fill feeds silence for missing audio up to now (wall clock). It reports
// whether a detector is still listening (false: the loop can stop calling).
func (a *analysis) fill(now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.phase != phaseAMD && a.phase != phaseBeep {
		return false
	}
	gap := now.Sub(a.startWall) - a.heard
	if gap < fillAfter || (a.phase == phaseAMD && gap < fillAfterAMD) {
		return true
	}
	for n := gap - fillKeep; n >= 20*time.Millisecond; n -= 20 * time.Millisecond {
		switch a.phase {
		case phaseAMD:
			a.detect(a.silence[:])
		case phaseBeep:
			a.watch(a.silence[:])
		default:
			return false
		}
	}
	return a.phase == phaseAMD || a.phase == phaseBeep
}

// giveUpAMD ends machine detection without a verdict (the wall-clock
// backstop). It returns false when a verdict got in first; it is then
// waiting in verdictCh.
func (a *analysis) giveUpAMD() (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.phase != phaseAMD {
		return 0, false
	}
	a.phase = phaseOff
	return a.heard, true
}

// giveUpBeep ends the beep wait (the wall-clock backstop). It returns false
// when a drop got in first; it is then waiting in dropCh.
func (a *analysis) giveUpBeep() (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.phase != phaseBeep {
		return 0, false
	}
	a.phase = phaseOff
	return a.heard, true
}

// stop ends all listening.
func (a *analysis) stop() {
	a.mu.Lock()
	a.phase = phaseOff
	a.mu.Unlock()
}

// samplesDuration is the length of n samples at 8 kHz.
func samplesDuration(n int) time.Duration {
	return time.Duration(n) * time.Second / 8000
}
