package dialer

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/dialer/pacing"
)

// This file holds the scripted test doubles of the orchestration tests: a
// pacer, a caller-ID picker and a driver whose legs play a script (ring,
// answer, stream real audio frames, hang up) against the real amd package.

// speed is how much faster than real time scripted legs stream audio and
// play messages: a 20 ms frame every 1 ms. The orchestration reacts in
// microseconds, so audio positions stay meaningful.
const speed = 20

const frameLen = 160 // 20 ms at 8 kHz

// recorder keeps the order of the steps of a call across the doubles.
type recorder struct {
	mu    sync.Mutex
	steps []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.steps = append(r.steps, s)
	r.mu.Unlock()
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.steps)
}

// fakePacer grants at once, fails, or blocks until ctx ends.
type fakePacer struct {
	rec   *recorder
	err   error
	block bool

	mu     sync.Mutex
	held   int
	paused map[string]time.Time
}

func (p *fakePacer) Acquire(ctx context.Context, key string) (pacing.Slot, error) {
	p.rec.add("acquire")
	if p.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	p.mu.Lock()
	p.held++
	p.mu.Unlock()
	return &fakeSlot{p: p}, nil
}

func (p *fakePacer) PauseUntil(_ context.Context, key string, t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused == nil {
		p.paused = map[string]time.Time{}
	}
	p.paused[key] = t
	return nil
}

func (p *fakePacer) heldSlots() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

type fakeSlot struct {
	p    *fakePacer
	once sync.Once
}

func (s *fakeSlot) Release() {
	s.once.Do(func() {
		s.p.rec.add("release")
		s.p.mu.Lock()
		s.p.held--
		s.p.mu.Unlock()
	})
}

type fakePicker struct {
	rec    *recorder
	number string
	err    error
	mu     sync.Mutex
	got    []callerid.Request
}

func (p *fakePicker) Pick(_ context.Context, req callerid.Request) (string, error) {
	p.rec.add("pick")
	p.mu.Lock()
	p.got = append(p.got, req)
	p.mu.Unlock()
	return p.number, p.err
}

// fakeDriver starts a fakeLeg running script for every call.
type fakeDriver struct {
	rec    *recorder
	script func(l *fakeLeg)
	err    error

	mu   sync.Mutex
	legs []*fakeLeg
	reqs []OriginateRequest
}

func (d *fakeDriver) Originate(_ context.Context, req OriginateRequest) (Leg, error) {
	d.rec.add("originate")
	d.mu.Lock()
	d.reqs = append(d.reqs, req)
	d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	l := &fakeLeg{
		req:       req,
		rec:       d.rec,
		events:    make(chan Event, 16),
		done:      make(chan struct{}),
		playStart: -1,
	}
	l.res.Timings.InviteSent = time.Now()
	d.mu.Lock()
	d.legs = append(d.legs, l)
	d.mu.Unlock()
	go d.script(l)
	return l, nil
}

func (d *fakeDriver) leg(t *testing.T) *fakeLeg {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	require.Len(t, d.legs, 1)
	return d.legs[0]
}

var errLegEnded = errors.New("leg ended")

// fakeLeg is a scripted call. The script goroutine drives the far end with
// ring, answer, feed and farHangup; the dialer drives our end.
type fakeLeg struct {
	req    OriginateRequest
	rec    *recorder
	events chan Event
	done   chan struct{}

	mu        sync.Mutex
	ended     bool
	answered  bool
	res       LegResult
	fed       time.Duration // far-end audio streamed since answer
	playStart time.Duration // fed when Play began; -1 before
	played    time.Duration // our audio sent so far
	plays     int
	hangups   int
}

func (l *fakeLeg) Events() <-chan Event  { return l.events }
func (l *fakeLeg) Done() <-chan struct{} { return l.done }

func (l *fakeLeg) Result() LegResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res
}

func (l *fakeLeg) Hangup(context.Context) error {
	l.mu.Lock()
	l.hangups++
	first := l.hangups == 1
	answered := l.answered
	l.mu.Unlock()
	if first {
		l.rec.add("hangup")
	}
	if answered {
		l.end(func(r *LegResult) { r.HangupBy = "us" })
	} else {
		l.end(func(r *LegResult) {
			r.Disposition, r.SIPCode, r.SIPReason, r.Detail = NoAnswer, 487, "Request Terminated", "cancelled by us"
		})
	}
	return nil
}

func (l *fakeLeg) Play(ctx context.Context, samples []int16) (time.Duration, error) {
	l.mu.Lock()
	if l.plays == 0 {
		l.playStart = l.fed
	}
	l.plays++
	l.mu.Unlock()
	l.rec.add("play")
	var played time.Duration
	for i := 0; i < len(samples); i += frameLen {
		select {
		case <-ctx.Done():
			return played, ctx.Err()
		case <-l.done:
			return played, errLegEnded
		case <-time.After(20 * time.Millisecond / speed):
		}
		played += samplesDuration(min(frameLen, len(samples)-i))
		l.mu.Lock()
		l.played = played
		l.mu.Unlock()
	}
	return played, nil
}

func (l *fakeLeg) send(t EventType) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.events <- Event{Type: t, At: time.Now()} // buffered beyond any script's needs
}

func (l *fakeLeg) ring() {
	l.mu.Lock()
	l.res.Timings.FirstRing = time.Now()
	l.mu.Unlock()
	l.send(EventRinging)
}

func (l *fakeLeg) progress() { l.send(EventProgress) }

func (l *fakeLeg) answer() {
	l.mu.Lock()
	l.answered = true
	l.res.Answered = true
	l.res.SIPCode, l.res.SIPReason = 200, "OK"
	l.res.Timings.Answered = time.Now()
	l.mu.Unlock()
	l.send(EventAnswered)
}

// feed streams samples to OnAudio in 20 ms frames at speed; it returns false
// once the leg has ended.
func (l *fakeLeg) feed(samples []int16) bool {
	buf := make([]int16, frameLen)
	for i := 0; i < len(samples); i += frameLen {
		select {
		case <-l.done:
			return false
		case <-time.After(20 * time.Millisecond / speed):
		}
		n := copy(buf, samples[i:min(i+frameLen, len(samples))])
		l.req.OnAudio(buf[:n])
		clear(buf) // the driver reuses its buffer: the dialer must not keep it
		l.mu.Lock()
		if l.answered {
			l.fed += samplesDuration(n)
		}
		l.mu.Unlock()
	}
	return true
}

// feedUntilEnd streams quiet line noise until the leg ends (or a minute).
func (l *fakeLeg) feedUntilEnd() {
	l.feed(noise(time.Minute, 30, 99))
}

func (l *fakeLeg) farHangup() {
	l.end(func(r *LegResult) { r.HangupBy = "far_end" })
}

// reject ends an unanswered leg with a final response.
func (l *fakeLeg) reject(d Disposition, code int, reason string, retryAfter time.Duration) {
	l.end(func(r *LegResult) {
		r.Disposition, r.SIPCode, r.SIPReason, r.RetryAfter = d, code, reason, retryAfter
	})
}

func (l *fakeLeg) end(set func(*LegResult)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.ended = true
	set(&l.res)
	l.res.Timings.Hangup = time.Now()
	l.events <- Event{Type: EventHangup, At: time.Now()}
	close(l.events)
	close(l.done)
}

func (l *fakeLeg) snapshot() (fed, playStart, played time.Duration, plays, hangups int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fed, l.playStart, l.played, l.plays, l.hangups
}

// --- audio ---------------------------------------------------------------

func loadWAV(t testing.TB, name string) []int16 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	pcm, err := audio.DecodeWAV(f)
	require.NoError(t, err)
	return pcm
}

func nsamples(d time.Duration) int { return int(d * 8000 / time.Second) }

// noise is white noise with an RMS of about rms, reproducible by seed.
func noise(d time.Duration, rms float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]int16, nsamples(d))
	for i := range out {
		out[i] = int16(r.NormFloat64() * rms)
	}
	return out
}

// tone is a sine at hz with 4 ms ramps, peak amplitude amp.
func tone(hz float64, d time.Duration, amp float64) []int16 {
	n := nsamples(d)
	ramp := nsamples(4 * time.Millisecond)
	out := make([]int16, n)
	for i := range out {
		g := 1.0
		if i < ramp {
			g = float64(i) / float64(ramp)
		} else if n-i < ramp {
			g = float64(n-i) / float64(ramp)
		}
		out[i] = int16(amp * g * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return out
}

// mix adds line noise under a signal so that "silence" is never digital zero.
func withNoise(s []int16, seed uint64) []int16 {
	n := noise(samplesDuration(len(s)), 30, seed)
	out := make([]int16, len(s))
	for i := range s {
		out[i] = int16(max(math.MinInt16, min(math.MaxInt16, int(s[i])+int(n[i]))))
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

func quiet(d time.Duration) []int16 { return make([]int16, nsamples(d)) }

// sitTones are the three SIT tones (913.8, 1370.6, 1776.7 Hz).
func sitTones() []int16 {
	return concat(
		tone(913.8, 274*time.Millisecond, 8000),
		tone(1370.6, 274*time.Millisecond, 8000),
		tone(1776.7, 380*time.Millisecond, 8000),
		quiet(500*time.Millisecond),
	)
}
