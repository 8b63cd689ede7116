package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// summaryInt reads the first number after a summary row's label.
func summaryInt(t *testing.T, out, label string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + `\s+(\d+)`).FindStringSubmatch(out)
	require.NotNil(t, m, "summary row %q missing in:\n%s", label, out)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// TestDemoShortRun runs a short demo in-process (real SIP, RTP, AMD and
// voicemail drops against the simulator) and checks the printed summary
// against the simulator's own call log.
func TestDemoShortRun(t *testing.T) {
	// Not parallel: the leak check below must only see this test's goroutines.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	callLog := filepath.Join(t.TempDir(), "calls.jsonl")
	f := demoFlags{contacts: 10, speed: 120, lookahead: 6 * time.Hour, start: "2026-03-02T08:00:00-05:00",
		days: 21, http: "127.0.0.1:0", timeout: 2 * time.Minute, callLog: callLog}
	var out, logs bytes.Buffer
	var apiURL string
	res, err := runDemo(context.Background(), f, demoIO{out: &out, log: &logs, ready: func(url, _ string) { apiURL = url }})
	require.NoError(t, err, "stderr:\n%s", logs.String())
	text := out.String()
	require.Contains(t, text, "Cadenza demo: API http://127.0.0.1:")
	require.NotEmpty(t, apiURL)
	require.Contains(t, text, "Cadenza demo summary")

	// The contacts of the first ten rows: one on the do-not-call list, one
	// number not in service, one in Florida.
	var dncPhone, invalidPhone string
	state := map[string]string{}
	for _, c := range res.Contacts {
		p, err := engine.NormalizePhone(c.Phone)
		require.NoError(t, err)
		state[p] = c.State
		switch c.Note {
		case "dnc":
			dncPhone = p
		case "invalid":
			invalidPhone = p
		}
	}
	require.NotEmpty(t, dncPhone)
	require.NotEmpty(t, invalidPhone)

	// Attempts in the summary = INVITEs in the simulator's log.
	attempts := summaryInt(t, text, "call attempts")
	require.Positive(t, attempts)
	customers := 0
	for _, r := range res.SimCalls {
		if !isAgentLeg(r) {
			customers++
		}
	}
	require.Equal(t, attempts, customers)
	// --call-log wrote the simulator's records, one JSON object a line.
	logged, err := os.ReadFile(callLog)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(logged)), "\n")
	require.Len(t, lines, len(res.SimCalls))
	var first sim.CallRecord
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.NotEmpty(t, first.CallID)

	// The speed-to-lead contact's text is signed by its round-robin owner,
	// one of the demo's agents.
	require.NotEmpty(t, res.Texts, "the speed-to-lead contact gets a text")
	firstNames := map[string]bool{}
	for _, n := range demoAgentNames {
		firstNames[strings.Fields(n)[0]] = true
	}
	signed := regexp.MustCompile(`this is (\S+) from Acme Solar`)
	for _, txt := range res.Texts {
		m := signed.FindStringSubmatch(txt.Text)
		require.NotNil(t, m, "text to %s: %q", txt.To, txt.Text)
		require.True(t, firstNames[m[1]], "text to %s signed %q, not a demo agent", txt.To, m[1])
	}
	// People were put through to the simulated agents, audio both ways.
	require.Positive(t, res.Summary.Bridged)
	require.Equal(t, res.Summary.Bridged, res.Summary.AgentLegs)
	require.Equal(t, res.Summary.AgentLegs, res.Summary.AgentHeard)
	// The printed rates are the engine's analytics over the same attempts.
	require.Equal(t, attempts, res.Summary.Analytics.Attempts)
	require.Regexp(t, regexp.MustCompile(`contact rate\s+\d+\.\d % \(`+strconv.Itoa(res.Summary.Analytics.Contacts)+` contacts in `+strconv.Itoa(attempts)+` attempts`), text)

	// Voicemails in the summary = simulator records whose message started
	// after the beep had ended.
	afterBeep := 0
	byTo := map[string]int{}
	for _, r := range res.SimCalls {
		if isAgentLeg(r) {
			continue
		}
		byTo[r.To]++
		if r.Behavior == sim.Voicemail && r.MessageStartMS != nil && *r.MessageStartMS >= 0 {
			afterBeep++
		}
	}
	require.Positive(t, afterBeep, "the short demo should drop at least one voicemail")
	require.Equal(t, afterBeep, summaryInt(t, text, "voicemails dropped"))
	require.Contains(t, text, "started after the beep, 0 clipped")

	// Nobody called the do-not-call number.
	for to, n := range byTo {
		require.NotContains(t, to, dncPhone[2:], "%d calls to the do-not-call number", n)
	}
	require.Regexp(t, `refused: do-not-call 1`, text)

	// Every call at a lawful local time (the event's Local is the claim
	// instant in the contact's zone): 08:00-21:00, Florida 08:00-20:00.
	calls := 0
	for _, ev := range res.Events {
		if ev.Type != engine.EventCall || ev.Code == "agent" {
			continue
		}
		calls++
		require.False(t, ev.Local.IsZero(), "call to %s without a local time", ev.Phone)
		h := ev.Local.Hour()
		end := 21
		if state[ev.Phone] == "FL" {
			end = 20
		}
		require.True(t, h >= 8 && h < end, "call to %s at %s local", ev.Phone, ev.Local)
		require.NotEqual(t, time.Sunday, ev.Local.Weekday(), "neither cadence calls on Sundays: %s", ev.Local)
		if ev.Phone == invalidPhone {
			require.Equal(t, "invalid_number", ev.Disposition)
		}
	}
	require.Equal(t, attempts, calls, "every call event is a placed call")
}

func TestDemoFlagsValidate(t *testing.T) {
	t.Parallel()
	ok := demoFlags{contacts: 5, speed: 60, lookahead: time.Hour, start: "2026-03-02T08:00:00-05:00", days: 7, timeout: time.Minute}
	_, err := ok.validate()
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		mod  func(*demoFlags)
		want string
	}{
		{"contacts", func(f *demoFlags) { f.contacts = 0 }, "--contacts"},
		{"speed", func(f *demoFlags) { f.speed = 0.5 }, "--speed"},
		{"lookahead", func(f *demoFlags) { f.lookahead = -time.Second }, "--lookahead"},
		{"start", func(f *demoFlags) { f.start = "monday" }, "--start"},
		{"days", func(f *demoFlags) { f.days = 0 }, "--days"},
		{"timeout", func(f *demoFlags) { f.timeout = 0 }, "--timeout"},
	} {
		f := ok
		tc.mod(&f)
		_, err := f.validate()
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	_, err = loadDemoContacts(51)
	require.ErrorContains(t, err, "--contacts")
}

func TestLoadDemoContacts(t *testing.T) {
	t.Parallel()
	all, err := loadDemoContacts(0)
	require.NoError(t, err)
	require.Len(t, all, 50)
	notes := map[string]int{}
	seen := map[string]bool{}
	for _, c := range all {
		p, err := engine.NormalizePhone(c.Phone)
		require.NoError(t, err, c.Phone)
		require.False(t, seen[p], "duplicate %s", p)
		seen[p] = true
		require.Contains(t, []string{"five-step", "speed-to-lead"}, c.Cadence)
		notes[c.Note]++
	}
	require.Equal(t, 1, notes["dnc"])
	require.Equal(t, 1, notes["invalid"])
	first, err := loadDemoContacts(10)
	require.NoError(t, err)
	require.Equal(t, all[:10], first)
	_, err = demoPools()
	require.NoError(t, err)
	for _, name := range []string{"vm-intro", "vm-final"} {
		a, err := loadDemoAsset(name)
		require.NoError(t, err)
		require.Greater(t, a.DurationMS, int64(1000))
		require.Equal(t, len(a.PCM)/16, int(a.DurationMS), "2 bytes a sample, 8 samples a millisecond")
	}
}

// fakeClockSource is a settable real-time source for the warp clock.
type fakeClockSource struct{ t time.Time }

func (f *fakeClockSource) now() time.Time { return f.t }

func TestWarpClock(t *testing.T) {
	t.Parallel()
	src := &fakeClockSource{t: time.Unix(1000, 0)}
	start := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	c := newWarpClock(start, 60, src.now)
	require.Equal(t, start, c.Now())
	src.t = src.t.Add(2 * time.Second)
	require.Equal(t, start.Add(2*time.Minute), c.Now())
	c.JumpTo(start) // back: ignored
	require.Equal(t, start.Add(2*time.Minute), c.Now())
	c.JumpTo(start.Add(time.Hour))
	require.Equal(t, start.Add(time.Hour), c.Now())
	src.t = src.t.Add(time.Second)
	require.Equal(t, start.Add(time.Hour+time.Minute), c.Now())
}

// nextDueStore answers NextDue only; advance needs nothing else.
type nextDueStore struct {
	engine.ScheduleStore
	next time.Time
	ok   bool
}

func (s *nextDueStore) NextDue(context.Context) (time.Time, bool, error) { return s.next, s.ok, nil }

func TestWarpAdvance(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	horizon := start.Add(7 * 24 * time.Hour)
	for _, tc := range []struct {
		name     string
		next     time.Duration // from start; <0: nothing scheduled
		inflight []time.Duration
		want     warpStep
		clock    time.Duration // expected clock after, from start
	}{
		{"idle, nothing left", -1, nil, warpFinished, 0},
		{"idle, next later: jump", 20 * time.Hour, nil, warpJumped, 20 * time.Hour},
		{"idle, next due now: wait for the claim", 0, nil, warpWait, 0},
		{"idle, next after the horizon", 8 * 24 * time.Hour, nil, warpHorizon, 0},
		{"calls in flight, next within lookahead: jump", 2 * time.Hour, []time.Duration{0}, warpJumped, 2 * time.Hour},
		{"calls in flight, next beyond lookahead: flow", 5 * time.Hour, []time.Duration{0}, warpWait, 0},
		{"calls in flight, oldest decides", 3*time.Hour + time.Minute, []time.Duration{-time.Hour, 0}, warpWait, 0},
		{"calls in flight, nothing scheduled: flow", -1, []time.Duration{0}, warpWait, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inner := &nextDueStore{next: start.Add(tc.next), ok: tc.next >= 0}
			s := newTrackedStore(inner)
			for i, at := range tc.inflight {
				s.inflight[strconv.Itoa(i)] = start.Add(at)
			}
			src := &fakeClockSource{t: time.Unix(1000, 0)}
			c := newWarpClock(start, 60, src.now)
			got, err := s.advance(context.Background(), c, 3*time.Hour, horizon)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, start.Add(tc.clock), c.Now())
		})
	}
}
