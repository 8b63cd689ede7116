package predictive_test

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/dialer/predictive"
)

// The simulation: a discrete-event model of one predictive campaign on a
// simulated clock, at call level (an event per answer, hang-up, wrap-up end,
// shift change), with the real agents.Roster and predictive.Pacer.
//
//   - 30 days, dialing 09:00–17:00; the agent count changes through the day
//     and from day to day (e.g. 8 → 20 → 12).
//   - Each dial reaches a person with a probability that changes by period
//     (15 % days 1–10, 35 % days 11–20, 20 % days 21–30) and by time of day
//     (×1, ×1.4, ×0.8); a machine with 25 %; otherwise it rings out.
//   - People and machines answer after 5–25 s (uniform); AMD needs 3 s on a
//     machine; unanswered calls ring 25 s.
//   - A person answered on a predictive call takes the longest-idle free
//     agent; with none free within 2 s the call is abandoned (and recorded).
//     Progressive calls (the pacer's fallback) reserve their agent first.
//   - Handle time 30 s + Exp(150 s) (mean 3 min), wrap-up 20 s.
//   - Not modelled: AMD's own delay on people (the verdict is taken at
//     answer), busy/failed calls, pauses, trunk limits.

type simParams struct {
	seed   uint64
	days   int
	cfg    predictive.Config
	est    predictive.Estimates
	shifts [][3]int // agents per part of the day (hours 0–2, 2–5, 5–8), cycled by day
	window float64  // multiplies the pacer's window (0: 1)
}

type simResult struct {
	dailyRolling  []float64 // 30-day rate at each day's close
	dailyOcc      []float64 // each day's own occupancy (agents.HandleOccupancy of that day's state times)
	maxRolling    float64   // max of dailyRolling
	maxAnyTime    float64   // max 30-day rate right after any record, once ≥ 100 live answers
	occupancy     float64   // (on call + wrap-up) ÷ working (logged in, not paused): agents.HandleOccupancy
	talk          float64   // on call ÷ working: agents.Occupancy
	dials         int
	live          int
	abandoned     int
	workingHours  float64
	progressiveAt int // decisions that fell back to progressive
	decisions     int
	times         map[agents.State]time.Duration
}

func (r simResult) dialsPerAgentHour() float64 { return float64(r.dials) / r.workingHours }

type evKind int

const (
	evAnswer   evKind = iota // a call is answered (person) or classified (machine, after AMD)
	evRingOut                // an unanswered call gives up
	evHangup                 // an agent's call ends
	evAbandon                // a waiting person's 2 s are over
	evTick                   // the roster has a deadline (wrap-up end)
	evShift                  // the agent count changes
	evDayEnd                 // stop dialing
	evDayClose               // in-flight calls are over: agents log out, the day's figures are taken
)

type call struct {
	human, machine bool
	dialed         time.Time
	agent          string // reserved agent (progressive) or connected agent
	reserved       bool
	waiting        bool
	slot           int // index in sim.inFlight while ringing (predictive)
}

type event struct {
	at   time.Time
	seq  int
	kind evKind
	c    *call
	n    int // evShift: agent count; evDayClose: day index
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if c := q[i].at.Compare(q[j].at); c != 0 {
		return c < 0
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

const (
	simCampaign = "cad-sim"
	simQueue    = "q"
	ringTimeout = 25 * time.Second
	amdTime     = 3 * time.Second
	connectMax  = 2 * time.Second
	wrapUp      = 20 * time.Second
)

type sim struct {
	t      *testing.T
	p      simParams
	rng    *rand.Rand
	now    time.Time
	q      eventQueue
	seq    int
	roster *agents.Roster
	pacer  *predictive.Pacer

	agentIDs  []string
	loggedIn  map[string]bool                // logged in and not leaving
	leaving   map[string]bool                // log out when the current call ends
	waiting   []*call                        // people answered, no agent yet (FIFO)
	inFlight  []*call                        // predictive calls not yet answered or rung out
	dialTime  []time.Time                    // scratch for Decide
	prevTimes map[agents.State]time.Duration // state times at the previous day's close
	free      []*event                       // handled events, reused (fewer allocations: the race detector makes them costly)
	dialing   bool
	tickAt    time.Time
	dirty     bool // the roster changed: its next deadline may have too
	day       int
	res       simResult
}

func runSim(t *testing.T, p simParams) simResult {
	t.Helper()
	roster, err := agents.NewRoster(agents.Options{DefaultWrapUp: wrapUp})
	require.NoError(t, err)
	pacer, err := predictive.NewPacer(p.cfg, p.est, predictive.NewLedger(), nil)
	require.NoError(t, err)
	s := &sim{t: t, p: p, rng: rand.New(rand.NewPCG(p.seed, 0x5eed)), roster: roster, pacer: pacer,
		loggedIn: map[string]bool{}, leaving: map[string]bool{}}
	maxAgents := 0
	for _, sh := range p.shifts {
		maxAgents = max(maxAgents, sh[0], sh[1], sh[2])
	}
	for i := range maxAgents {
		id := fmt.Sprintf("a%02d", i+1)
		require.NoError(t, roster.Add(agents.Agent{ID: id, Name: "Agent " + id, Team: "sim",
			Destination: "sip:" + id + "@sim", Queues: []string{simQueue}}))
		s.agentIDs = append(s.agentIDs, id)
	}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for d := range p.days {
		open := start.AddDate(0, 0, d).Add(9 * time.Hour)
		sh := p.shifts[d%len(p.shifts)]
		s.push(open, evShift, nil, sh[0])
		s.push(open.Add(2*time.Hour), evShift, nil, sh[1])
		s.push(open.Add(5*time.Hour), evShift, nil, sh[2])
		s.push(open.Add(8*time.Hour), evDayEnd, nil, d)
		s.push(open.Add(8*time.Hour+ringTimeout+amdTime+time.Second), evDayClose, nil, d)
	}
	for s.q.Len() > 0 {
		e := heap.Pop(&s.q).(*event)
		s.now = e.at
		if e.kind == evTick {
			// Roster methods apply due deadlines themselves; Tick only
			// matters on the deadline (and the sim has no subscribers).
			s.roster.Tick(s.now)
			s.dirty = true
		}
		s.handle(e)
		*e = event{}
		s.free = append(s.free, e)
		s.serveWaiting()
		s.pump()
		s.scheduleTick()
	}
	times := roster.StateTimes(s.now)
	s.res.occupancy = agents.HandleOccupancy(times)
	s.res.talk = agents.Occupancy(times)
	s.res.times = times
	var working time.Duration
	for st, d := range times {
		if st.Working() {
			working += d
		}
	}
	s.res.workingHours = working.Hours()
	for _, r := range s.res.dailyRolling {
		s.res.maxRolling = max(s.res.maxRolling, r)
	}
	return s.res
}

func (s *sim) push(at time.Time, k evKind, c *call, n int) {
	s.seq++
	var e *event
	if n := len(s.free); n > 0 {
		e = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		e = new(event)
	}
	*e = event{at: at, seq: s.seq, kind: k, c: c, n: n}
	heap.Push(&s.q, e)
}

func (s *sim) humanRate() float64 {
	base := 0.15
	switch {
	case s.day >= 20:
		base = 0.20
	case s.day >= 10:
		base = 0.35
	}
	h := s.now.Hour()
	switch {
	case h >= 15:
		return base * 0.8
	case h >= 12:
		return base * 1.4
	}
	return base
}

func (s *sim) handle(e *event) {
	switch e.kind {
	case evShift:
		s.dialing = true
		s.setAgents(e.n)
	case evDayEnd:
		s.dialing = false
	case evDayClose:
		s.setAgents(0)
		require.Empty(s.t, s.inFlight, "calls still dialing at close")
		require.Empty(s.t, s.waiting, "people still waiting at close")
		_, _, r := s.pacer.Ledger().Rate(simCampaign, s.now)
		s.res.dailyRolling = append(s.res.dailyRolling, r)
		times := s.roster.StateTimes(s.now)
		day := make(map[agents.State]time.Duration, len(times))
		for st, d := range times {
			day[st] = d - s.prevTimes[st]
		}
		s.prevTimes = times
		s.res.dailyOcc = append(s.res.dailyOcc, agents.HandleOccupancy(day))
		s.day = e.n + 1
	case evAnswer:
		c := e.c
		s.pacer.ObserveDial(simCampaign, predictive.DialOutcome{Human: c.human, Answered: true, TimeToAnswer: s.now.Sub(c.dialed) - s.amdDelay(c)})
		if !c.reserved {
			s.land(c)
		}
		if !c.human { // machine: AMD done, hang up; a reserved agent is free again
			if c.reserved {
				s.release(c.agent)
			}
			return
		}
		if c.reserved {
			s.connect(c, c.agent)
			return
		}
		if a, err := s.roster.Reserve(simQueue, s.now); err == nil {
			s.connect(c, a.ID)
			return
		}
		c.waiting = true
		s.waiting = append(s.waiting, c)
		s.push(s.now.Add(connectMax), evAbandon, c, 0)
	case evRingOut:
		c := e.c
		s.pacer.ObserveDial(simCampaign, predictive.DialOutcome{})
		if c.reserved {
			s.release(c.agent)
		} else {
			s.land(c)
		}
	case evAbandon:
		c := e.c
		if !c.waiting {
			return
		}
		c.waiting = false
		for i, w := range s.waiting {
			if w == c {
				s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
				break
			}
		}
		s.record(true)
	case evHangup:
		s.dirty = true
		require.NoError(s.t, s.roster.Hangup(e.c.agent, s.now))
		if s.leaving[e.c.agent] {
			delete(s.leaving, e.c.agent)
			require.NoError(s.t, s.roster.Logout(e.c.agent, s.now))
		}
	case evTick:
	}
}

func (s *sim) amdDelay(c *call) time.Duration {
	if c.machine {
		return amdTime
	}
	return 0
}

func (s *sim) record(abandoned bool) {
	s.res.live++
	if abandoned {
		s.res.abandoned++
	}
	s.pacer.RecordLive(simCampaign, s.now, abandoned)
	if _, l, r := s.pacer.Ledger().Rate(simCampaign, s.now); l >= 100 {
		s.res.maxAnyTime = max(s.res.maxAnyTime, r)
	}
}

func (s *sim) connect(c *call, agentID string) {
	c.agent = agentID
	s.dirty = true
	require.NoError(s.t, s.roster.Connect(agentID, agents.ConnectInfo{Contact: "sim contact", Script: "sim"}, s.now))
	s.record(false)
	handle := 30*time.Second + time.Duration(s.rng.ExpFloat64()*150*float64(time.Second))
	s.push(s.now.Add(handle), evHangup, c, 0)
}

func (s *sim) release(agentID string) {
	s.dirty = true
	require.NoError(s.t, s.roster.Release(agentID, s.now))
	if s.leaving[agentID] {
		delete(s.leaving, agentID)
		require.NoError(s.t, s.roster.Logout(agentID, s.now))
	}
}

// serveWaiting gives agents freed by this event to people waiting, oldest first.
func (s *sim) serveWaiting() {
	for len(s.waiting) > 0 {
		a, err := s.roster.Reserve(simQueue, s.now)
		if err != nil {
			return
		}
		c := s.waiting[0]
		s.waiting = s.waiting[1:]
		c.waiting = false
		s.connect(c, a.ID)
	}
}

// setAgents logs agents in or out until n are logged in (and not leaving).
// Busy agents leave when their call ends.
func (s *sim) setAgents(n int) {
	s.dirty = true
	cur := len(s.loggedIn)
	for _, id := range s.agentIDs {
		if cur >= n {
			break
		}
		if s.loggedIn[id] {
			continue
		}
		if s.leaving[id] { // still on a call: just stay
			delete(s.leaving, id)
		} else {
			require.NoError(s.t, s.roster.Login(id, s.now))
		}
		s.loggedIn[id] = true
		cur++
	}
	for i := len(s.agentIDs) - 1; i >= 0 && cur > n; i-- {
		id := s.agentIDs[i]
		if !s.loggedIn[id] {
			continue
		}
		delete(s.loggedIn, id)
		cur--
		st, err := s.roster.Get(id, s.now)
		require.NoError(s.t, err)
		switch st.State {
		case agents.Available, agents.WrapUp:
			require.NoError(s.t, s.roster.Logout(id, s.now))
		default:
			s.leaving[id] = true
		}
	}
}

// pump asks the pacer what to dial and dials it.
func (s *sim) pump() {
	if !s.dialing {
		return
	}
	w := s.pacer.Window(simCampaign)
	if s.p.window > 0 {
		w = time.Duration(float64(w) * s.p.window)
	}
	st := s.roster.Stats(simQueue, s.now, w)
	s.dialTime = s.dialTime[:0]
	for _, c := range s.inFlight {
		s.dialTime = append(s.dialTime, c.dialed)
	}
	ag := predictive.Agents{Available: st.Available, SoonFree: st.SoonFree, SoonFreeSure: st.SoonFreeSure}
	d := s.pacer.Decide(simCampaign, s.now, predictive.Predictive, ag, s.dialTime)
	s.res.decisions++
	if d.Mode == predictive.Progressive {
		s.res.progressiveAt++
		for range d.Dial {
			a, err := s.roster.Reserve(simQueue, s.now)
			if err != nil {
				return
			}
			s.dirty = true
			s.dial(&call{reserved: true, agent: a.ID})
		}
		return
	}
	for range d.Dial {
		c := &call{slot: len(s.inFlight)}
		s.inFlight = append(s.inFlight, c)
		s.dial(c)
	}
}

// land removes a predictive call from the in-flight list (swap with last).
func (s *sim) land(c *call) {
	last := s.inFlight[len(s.inFlight)-1]
	s.inFlight[c.slot] = last
	last.slot = c.slot
	s.inFlight = s.inFlight[:len(s.inFlight)-1]
}

func (s *sim) dial(c *call) {
	s.res.dials++
	c.dialed = s.now
	u := s.rng.Float64()
	ring := 5*time.Second + time.Duration(s.rng.Float64()*20*float64(time.Second))
	switch h := s.humanRate(); {
	case u < h:
		c.human = true
		s.push(s.now.Add(ring), evAnswer, c, 0)
	case u < h+0.25:
		c.machine = true
		s.push(s.now.Add(ring+amdTime), evAnswer, c, 0)
	default:
		s.push(s.now.Add(ringTimeout), evRingOut, c, 0)
	}
}

func (s *sim) scheduleTick() {
	if !s.dirty {
		return
	}
	s.dirty = false
	next, ok := s.roster.NextDeadline()
	if !ok || next.Equal(s.tickAt) {
		return
	}
	s.tickAt = next
	s.push(next, evTick, nil, 0)
}

var defaultShifts = [][3]int{{8, 20, 12}, {12, 16, 10}, {10, 20, 14}, {20, 12, 8}, {6, 10, 16}}

// simScenario is one 30-day run of TestSimulation30Days.
type simScenario struct {
	name   string
	seed   uint64
	shifts [][3]int
	race   bool // also run under the race detector (each run costs ~10× there)
}

// simScenarios: the agent count changes within every day (three parts) and
// from day to day in all of them, around the pool size named.
var simScenarios = []simScenario{
	{name: "6–20 agents (default shifts)", seed: 1, shifts: defaultShifts, race: true},
	{name: "≈10 agents (8–12)", seed: 3, shifts: [][3]int{{8, 12, 10}, {10, 10, 12}, {12, 8, 10}}},
	{name: "≈20 agents (16–24)", seed: 4, shifts: [][3]int{{16, 24, 20}, {20, 20, 24}, {24, 16, 20}}},
	{name: "≈40 agents (36–44)", seed: 5, shifts: [][3]int{{36, 44, 40}, {40, 40, 44}, {44, 36, 40}}},
}

// TestSimulation30Days runs 30 simulated days of predictive dialing per
// scenario with the default configuration and checks the bounds:
// the rolling 30-day abandonment at every day's close (and right after
// every live answer once the window holds 100) stays ≤ 3 %, and the 30-day
// agent occupancy is ≥ 80 %.
//
// Occupancy is agents.HandleOccupancy, the contact-center definition:
// (talk + wrap-up) ÷ working time (available + reserved + on call + wrap-up).
// Talk-only occupancy (agents.Occupancy) is logged too. In this model it is
// ~77–81 % and almost flat in the abandonment rate: at 2.3–3 % it moves by
// less than half a point (curve_test.go runs an aggressive configuration).
// What is left of idle time comes from the 5–25 s spread of answer times and
// from which dials reach a person, not from pacing too cautiously.
//
// Under the race detector only the scenarios marked race run (time).
func TestSimulation30Days(t *testing.T) {
	t.Parallel()
	cfg, err := predictive.Config{}.WithDefaults()
	require.NoError(t, err)
	for _, sc := range simScenarios {
		t.Run(sc.name, func(t *testing.T) {
			if raceDetector && !sc.race {
				t.Skip("left out under the race detector: run without -race")
			}
			t.Parallel()
			res := runSim(t, simParams{seed: sc.seed, days: 30, shifts: sc.shifts})
			logResult(t, sc.name, res)
			for d, r := range res.dailyRolling {
				t.Logf("day %2d: rolling 30-day abandonment %.3f %%, the day's occupancy %.2f %%", d+1, 100*r, 100*res.dailyOcc[d])
			}
			require.Len(t, res.dailyRolling, 30)
			for d, r := range res.dailyRolling {
				require.LessOrEqualf(t, r, cfg.Limit, "day %d rolling abandonment", d+1)
			}
			require.LessOrEqual(t, res.maxAnyTime, cfg.Limit, "30-day rate right after any live answer")
			require.LessOrEqual(t, res.maxRolling, cfg.MaxBatchRate, "a window of batches planned at ≤ MaxBatchRate")
			require.GreaterOrEqual(t, res.occupancy, 0.80, "30-day agent occupancy")
			require.Less(t, res.progressiveAt, res.decisions/100, "progressive fallback only while warming up")

			// HandleOccupancy is (on call + wrap-up) ÷ the working states.
			var working time.Duration
			for _, st := range []agents.State{agents.Available, agents.Reserved, agents.OnCall, agents.WrapUp} {
				working += res.times[st]
			}
			require.InDelta(t, float64(res.times[agents.OnCall]+res.times[agents.WrapUp])/float64(working), res.occupancy, 1e-12)
			require.Less(t, res.talk, res.occupancy)
		})
	}
}

func logResult(t *testing.T, name string, res simResult) {
	t.Helper()
	t.Logf("%s: dials %d, live %d, abandoned %d (%.3f %% over all 30 days)", name, res.dials, res.live, res.abandoned,
		100*float64(res.abandoned)/float64(max(res.live, 1)))
	t.Logf("%s: max rolling 30-day abandonment at a day's close %.3f %%, at any record (≥ 100 live) %.3f %%",
		name, 100*res.maxRolling, 100*res.maxAnyTime)
	t.Logf("%s: occupancy %.2f %% (talk only %.2f %%), dials per working agent-hour %.1f, progressive decisions %d of %d",
		name, 100*res.occupancy, 100*res.talk, res.dialsPerAgentHour(), res.progressiveAt, res.decisions)
}
