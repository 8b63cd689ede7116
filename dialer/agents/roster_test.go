package agents

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newRoster(t *testing.T, opts Options, ids ...string) *Roster {
	t.Helper()
	r, err := NewRoster(opts)
	require.NoError(t, err)
	for _, id := range ids {
		require.NoError(t, r.Add(Agent{ID: id, Name: "Agent " + id, Team: "t1", Destination: "sip:" + id + "@pbx", Queues: []string{"sales"}}))
	}
	return r
}

func state(t *testing.T, r *Roster, id string, now time.Time) State {
	t.Helper()
	st, err := r.Get(id, now)
	require.NoError(t, err)
	return st.State
}

func TestTransitionTable(t *testing.T) {
	t.Parallel()
	legal := map[[2]State]bool{
		{LoggedOut, Available}: true,
		{Available, LoggedOut}: true, {Available, Reserved}: true, {Available, Paused}: true,
		{Reserved, Available}: true, {Reserved, OnCall}: true,
		{OnCall, WrapUp}:    true,
		{WrapUp, LoggedOut}: true, {WrapUp, Available}: true, {WrapUp, Paused}: true,
		{Paused, LoggedOut}: true, {Paused, Available}: true,
	}
	for _, from := range States() {
		for _, to := range States() {
			require.Equalf(t, legal[[2]State{from, to}], CanTransition(from, to), "%s → %s", from, to)
		}
	}
	require.False(t, CanTransition(numStates, Available))
}

func TestStateNames(t *testing.T) {
	t.Parallel()
	for _, s := range States() {
		got, err := ParseState(s.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	require.Equal(t, []string{"logged_out", "available", "reserved", "on_call", "wrap_up", "paused"}, stateNames[:])
	_, err := ParseState("busy")
	require.ErrorContains(t, err, `state: unknown "busy"`)
}

func TestIllegalTransitionsNameFromAndTo(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{}, "a")
	cases := []struct {
		name string
		op   func() error
		from State
		to   State
	}{
		{"resume logged out", func() error { return r.Resume("a", t0) }, LoggedOut, Available},
		{"connect logged out", func() error { return r.Connect("a", ConnectInfo{}, t0) }, LoggedOut, OnCall},
		{"hangup logged out", func() error { return r.Hangup("a", t0) }, LoggedOut, WrapUp},
		{"release logged out", func() error { return r.Release("a", t0) }, LoggedOut, Available},
		{"pause logged out", func() error { return r.Pause("a", t0) }, LoggedOut, Paused},
	}
	for _, c := range cases {
		err := c.op()
		var te *TransitionError
		require.ErrorAsf(t, err, &te, c.name)
		require.Equal(t, c.from, te.From, c.name)
		require.Equal(t, c.to, te.To, c.name)
		require.ErrorContains(t, err, fmt.Sprintf("agent a: illegal transition %s → %s", c.from, c.to))
	}
	// A reserved or on-call agent can neither log out nor pause nor free itself.
	require.NoError(t, r.Login("a", t0))
	_, err := r.Reserve("sales", t0)
	require.NoError(t, err)
	require.ErrorContains(t, r.Logout("a", t0), "reserved → logged_out")
	require.ErrorContains(t, r.Pause("a", t0), "reserved → paused")
	require.ErrorContains(t, r.Available("a", t0), "reserved → available")
	require.NoError(t, r.Connect("a", ConnectInfo{}, t0))
	require.ErrorContains(t, r.Logout("a", t0), "on_call → logged_out")
	require.ErrorContains(t, r.Release("a", t0), "on_call → available")
}

func TestAgentValidation(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{})
	for _, c := range []struct {
		a    Agent
		want string
	}{
		{Agent{Name: "n", Destination: "d"}, "id: must not be empty"},
		{Agent{ID: "x", Destination: "d"}, "name: must not be empty"},
		{Agent{ID: "x", Name: "n"}, "destination: must not be empty"},
		{Agent{ID: "x", Name: "n", Destination: "d", Queues: []string{"q", " "}}, "queues[1]: must not be empty"},
	} {
		require.ErrorContains(t, r.Add(c.a), c.want)
	}
	require.NoError(t, r.Add(Agent{ID: "x", Name: "n", Destination: "d"}))
	require.ErrorIs(t, r.Add(Agent{ID: "x", Name: "n", Destination: "d"}), ErrDuplicate)
	_, err := r.Get("nobody", t0)
	require.ErrorIs(t, err, ErrUnknownAgent)
	_, err = NewRoster(Options{HandleAlpha: 2})
	require.ErrorContains(t, err, "handle_alpha")
	_, err = NewRoster(Options{EventBuffer: -1})
	require.ErrorContains(t, err, "event_buffer")
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{DefaultWrapUp: 20 * time.Second}, "a")
	now := t0
	require.NoError(t, r.Login("a", now))
	require.NoError(t, r.Pause("a", now))
	require.Equal(t, Paused, state(t, r, "a", now))
	require.NoError(t, r.Resume("a", now))
	a, err := r.Reserve("sales", now)
	require.NoError(t, err)
	require.Equal(t, "a", a.ID)
	require.NoError(t, r.Release("a", now)) // call failed
	_, err = r.Reserve("sales", now)
	require.NoError(t, err)
	require.NoError(t, r.Connect("a", ConnectInfo{Contact: "Ada"}, now))
	require.NoError(t, r.Hangup("a", now.Add(time.Minute)))
	require.Equal(t, WrapUp, state(t, r, "a", now.Add(time.Minute)))
	require.NoError(t, r.Available("a", now.Add(70*time.Second))) // wrap-up ended early
	require.NoError(t, r.Logout("a", now.Add(80*time.Second)))
	require.Equal(t, LoggedOut, state(t, r, "a", now.Add(80*time.Second)))
	require.NoError(t, r.Remove("a"))
	_, err = r.Get("a", now)
	require.ErrorIs(t, err, ErrUnknownAgent)
}

func TestWrapUpTimeout(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{DefaultWrapUp: 30 * time.Second, WrapUp: map[string]time.Duration{"support": 90 * time.Second, "fast": -1}}, "a")
	require.NoError(t, r.Add(Agent{ID: "b", Name: "B", Destination: "sip:b", Queues: []string{"support"}}))
	require.NoError(t, r.Add(Agent{ID: "c", Name: "C", Destination: "sip:c", Queues: []string{"fast"}}))
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, r.Login(id, t0))
	}
	for _, q := range []string{"sales", "support", "fast"} {
		a, err := r.Reserve(q, t0)
		require.NoError(t, err)
		require.NoError(t, r.Connect(a.ID, ConnectInfo{}, t0))
		require.NoError(t, r.Hangup(a.ID, t0.Add(time.Minute)))
	}
	end := t0.Add(time.Minute)
	require.Equal(t, Available, state(t, r, "c", end), "negative wrap-up: available at once")
	next, ok := r.NextDeadline()
	require.True(t, ok)
	require.Equal(t, end.Add(30*time.Second), next)

	ch, cancel, err := r.Subscribe("a")
	require.NoError(t, err)
	defer cancel()
	r.Tick(end.Add(29 * time.Second))
	require.Equal(t, WrapUp, state(t, r, "a", end.Add(29*time.Second)))
	r.Tick(end.Add(45 * time.Second)) // late tick: the change is dated at the deadline
	ev := <-ch
	require.Equal(t, EventState, ev.Kind)
	require.Equal(t, WrapUp, ev.From)
	require.Equal(t, Available, ev.To)
	require.Equal(t, end.Add(30*time.Second), ev.At)
	require.Equal(t, WrapUp, state(t, r, "b", end.Add(89*time.Second)), "per-queue wrap-up")
	require.Equal(t, Available, state(t, r, "b", end.Add(90*time.Second)))
	_, ok = r.NextDeadline()
	require.False(t, ok)
}

func TestReservationExpires(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{ReservationTimeout: time.Minute}, "a")
	require.NoError(t, r.Login("a", t0))
	_, err := r.Reserve("", t0)
	require.NoError(t, err)
	require.Equal(t, Reserved, state(t, r, "a", t0.Add(59*time.Second)))
	require.Equal(t, Available, state(t, r, "a", t0.Add(time.Minute)))
	require.ErrorContains(t, r.Connect("a", ConnectInfo{}, t0.Add(time.Minute)), "available → on_call")
}

func TestReserveLongestIdle(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{DefaultWrapUp: -1}, "a", "b", "c", "d")
	require.NoError(t, r.Add(Agent{ID: "e", Name: "E", Destination: "sip:e", Queues: []string{"other"}}))
	// Log in in the order c, a, e, d; b stays out.
	for i, id := range []string{"c", "a", "e", "d"} {
		require.NoError(t, r.Login(id, t0.Add(time.Duration(i)*time.Second)))
	}
	now := t0.Add(time.Minute)
	var got []string
	for range 3 {
		a, err := r.Reserve("sales", now)
		require.NoError(t, err)
		got = append(got, a.ID)
	}
	require.Equal(t, []string{"c", "a", "d"}, got, "longest idle first, other queues skipped")
	_, err := r.Reserve("sales", now)
	require.ErrorIs(t, err, ErrNoAgent)

	// Each agent takes a call; they free up in the order d, c, a. The next
	// reservations follow that order, however the IDs sort.
	for i, id := range []string{"d", "c", "a"} {
		require.NoError(t, r.Connect(id, ConnectInfo{}, now))
		require.NoError(t, r.Hangup(id, now.Add(time.Duration(10+i)*time.Second)))
	}
	now = now.Add(time.Minute)
	got = got[:0]
	for range 3 {
		a, err := r.Reserve("sales", now)
		require.NoError(t, err)
		got = append(got, a.ID)
	}
	require.Equal(t, []string{"d", "c", "a"}, got)

	// Ties go to the smaller ID; "" reserves from any queue.
	r2 := newRoster(t, Options{}, "y", "x")
	require.NoError(t, r2.Login("y", t0))
	require.NoError(t, r2.Login("x", t0))
	a, err := r2.Reserve("", t0)
	require.NoError(t, err)
	require.Equal(t, "x", a.ID)
}

func TestReserveAgent(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{}, "a", "b")
	require.NoError(t, r.Login("a", t0))
	a, err := r.ReserveAgent("a", "sales", t0)
	require.NoError(t, err)
	require.Equal(t, "a", a.ID)
	_, err = r.ReserveAgent("a", "sales", t0)
	require.ErrorIs(t, err, ErrAgentBusy)
	_, err = r.ReserveAgent("b", "sales", t0)
	require.ErrorIs(t, err, ErrAgentBusy)
	_, err = r.ReserveAgent("zz", "sales", t0)
	require.ErrorIs(t, err, ErrUnknownAgent)
}

func TestRoundRobinRotation(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{}, "a", "b", "c")
	require.NoError(t, r.Add(Agent{ID: "z", Name: "Z", Destination: "sip:z", Queues: []string{"other"}}))
	_, err := r.AssignRoundRobin("sales", t0)
	require.ErrorIs(t, err, ErrNoAgent, "nobody logged in")
	for _, id := range []string{"a", "b", "c", "z"} {
		require.NoError(t, r.Login(id, t0))
	}
	pick := func(q string) string {
		a, err := r.AssignRoundRobin(q, t0)
		require.NoError(t, err)
		return a.ID
	}
	require.Equal(t, []string{"a", "b", "c", "a"}, []string{pick("sales"), pick("sales"), pick("sales"), pick("sales")})
	// Busy agents still get owners; logged-out ones are skipped; the
	// rotation continues after the last one assigned.
	_, err = r.Reserve("sales", t0)
	require.NoError(t, err)
	require.NoError(t, r.Logout("c", t0))
	require.Equal(t, []string{"b", "a", "b"}, []string{pick("sales"), pick("sales"), pick("sales")})
	require.Equal(t, "z", pick("other"), "rotation is per queue")
	require.NoError(t, r.Login("c", t0))
	require.Equal(t, "c", pick("sales"))

	owner, ok := r.ExistingOwner("b")
	require.True(t, ok)
	require.Equal(t, "b", owner.ID)
	_, ok = r.ExistingOwner("gone")
	require.False(t, ok)
	_, ok = r.ExistingOwner("")
	require.False(t, ok)
}

func TestFirstToAnswerRace(t *testing.T) {
	t.Parallel()
	const n = 16
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("a%02d", i)
	}
	r := newRoster(t, Options{}, ids...)
	for _, id := range ids {
		require.NoError(t, r.Login(id, t0))
	}
	p, err := r.Prompt("sales", PromptInfo{Contact: "Ada", Script: "hello", Reserve: true}, t0)
	require.NoError(t, err)
	require.Equal(t, ids, p.Offered)

	var wg sync.WaitGroup
	results := make([]error, n)
	start := make(chan struct{})
	for i, id := range ids {
		wg.Go(func() {
			<-start
			_, results[i] = r.Accept(p.ID, id, t0.Add(time.Second))
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	winner := ""
	for i, err := range results {
		if err == nil {
			winners++
			winner = ids[i]
			continue
		}
		require.ErrorIs(t, err, ErrAlreadyTaken)
	}
	require.Equal(t, 1, winners)
	require.Equal(t, Reserved, state(t, r, winner, t0.Add(time.Second)), "preview prompt reserves the winner")
	for _, id := range ids {
		if id != winner {
			require.Equal(t, Available, state(t, r, id, t0.Add(time.Second)))
		}
	}
}

func TestPromptErrorsAndExpiry(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{PromptTTL: 10 * time.Second}, "a", "b", "c")
	_, err := r.Prompt("sales", PromptInfo{}, t0)
	require.ErrorIs(t, err, ErrNoAgent)
	require.NoError(t, r.Login("a", t0))
	require.NoError(t, r.Login("b", t0))
	subA, cancelA, err := r.Subscribe("a")
	require.NoError(t, err)
	defer cancelA()

	p, err := r.Prompt("sales", PromptInfo{Contact: "Ada"}, t0)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, p.Offered)
	ev := <-subA
	require.Equal(t, EventPrompt, ev.Kind)
	require.Equal(t, p.ID, ev.Prompt.ID)

	_, err = r.Accept(p.ID, "c", t0)
	require.ErrorIs(t, err, ErrNotOffered)
	_, err = r.Accept("p-999", "a", t0)
	require.ErrorIs(t, err, ErrUnknownPrompt)
	_, err = r.Accept(p.ID, "a", t0.Add(10*time.Second))
	require.ErrorIs(t, err, ErrPromptExpired)
	ev = <-subA
	require.Equal(t, EventPromptClosed, ev.Kind)
	require.Contains(t, ev.Text, "expired")
	r.Tick(t0.Add(time.Hour))
	_, err = r.Accept(p.ID, "a", t0.Add(time.Hour))
	require.ErrorIs(t, err, ErrUnknownPrompt, "tombstone purged")

	// Ownership-only prompt: the winner keeps its state.
	p, err = r.Prompt("sales", PromptInfo{Contact: "Bob", TTL: time.Minute}, t0.Add(time.Hour))
	require.NoError(t, err)
	won, err := r.Accept(p.ID, "b", t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, "b", won.ID)
	require.Equal(t, Available, state(t, r, "b", t0.Add(time.Hour)))
	ev = <-subA
	require.Equal(t, EventPrompt, ev.Kind)
	ev = <-subA
	require.Equal(t, EventPromptClosed, ev.Kind)
	require.Contains(t, ev.Text, "taken by b")

	// Reserving prompt: an agent who went busy meanwhile cannot take it.
	p, err = r.Prompt("sales", PromptInfo{Reserve: true}, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.NoError(t, r.Pause("a", t0.Add(2*time.Hour)))
	_, err = r.Accept(p.ID, "a", t0.Add(2*time.Hour))
	require.ErrorIs(t, err, ErrAgentBusy)
	_, err = r.Accept(p.ID, "b", t0.Add(2*time.Hour))
	require.NoError(t, err, "prompt stayed open for the others")
	_, err = r.Prompt("sales", PromptInfo{TTL: -time.Second}, t0)
	require.ErrorContains(t, err, "ttl")
}

func TestConnectingEvent(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{}, "a")
	ch, cancel, err := r.Subscribe("a")
	require.NoError(t, err)
	defer cancel()
	require.NoError(t, r.Login("a", t0))
	_, err = r.Reserve("sales", t0)
	require.NoError(t, err)
	require.NoError(t, r.Connect("a", ConnectInfo{CallID: "att-1", Contact: "Ada Lovelace", Script: "Hi Ada, …"}, t0))
	var kinds []string
	var conn Event
	for range 4 {
		ev := <-ch
		kinds = append(kinds, string(ev.Kind)+":"+ev.To.String())
		if ev.Kind == EventConnecting {
			conn = ev
		}
	}
	require.Equal(t, []string{"state:available", "state:reserved", "connecting:logged_out", "state:on_call"}, kinds)
	require.Equal(t, "connecting you to Ada Lovelace, script: Hi Ada, …", conn.Text)
	require.Equal(t, "att-1", conn.CallID)
	require.Equal(t, "a", conn.AgentID)
}

func TestSubscriptionNeverBlocks(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{EventBuffer: 4, DefaultWrapUp: -1}, "a")
	ch, cancel, err := r.Subscribe("a")
	require.NoError(t, err)
	// Nobody reads: 100 pause/resume cycles make 200 events into a buffer of 4.
	require.NoError(t, r.Login("a", t0))
	for i := range 100 {
		now := t0.Add(time.Duration(i) * time.Second)
		require.NoError(t, r.Pause("a", now))
		require.NoError(t, r.Resume("a", now))
	}
	require.Equal(t, uint64(197), r.DroppedEvents())
	var got []Event
	for range 4 {
		got = append(got, <-ch)
	}
	// The newest four survive, and they say how many were dropped before them.
	last := got[3]
	require.Equal(t, Paused, last.From)
	require.Equal(t, Available, last.To)
	require.Equal(t, uint64(197), last.Dropped)
	cancel()
	cancel() // idempotent
	_, open := <-ch
	require.False(t, open)
	require.NoError(t, r.Pause("a", t0.Add(time.Hour)), "no subscriber left, no panic")

	_, _, err = r.Subscribe("nobody")
	require.ErrorIs(t, err, ErrUnknownAgent)
}

func TestSubscriptionConcurrentReaders(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{EventBuffer: 8, DefaultWrapUp: -1}, "a")
	require.NoError(t, r.Login("a", t0))
	ch, cancel, err := r.Subscribe("a")
	require.NoError(t, err)
	var wg sync.WaitGroup
	received := 0
	wg.Go(func() {
		for range ch {
			received++
		}
	})
	for i := range 2000 {
		now := t0.Add(time.Duration(i) * time.Second)
		require.NoError(t, r.Pause("a", now))
		require.NoError(t, r.Resume("a", now))
	}
	cancel()
	wg.Wait()
	require.Equal(t, uint64(4000), uint64(received)+r.DroppedEvents(), "every event delivered or counted")
}

func TestRemoveClosesSubscriptions(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{}, "a")
	ch, cancel, err := r.Subscribe("a")
	require.NoError(t, err)
	require.NoError(t, r.Remove("a"))
	_, open := <-ch
	require.False(t, open)
	cancel() // after removal: harmless
	r2 := newRoster(t, Options{}, "b")
	require.NoError(t, r2.Login("b", t0))
	require.ErrorContains(t, r2.Remove("b"), "must be logged out")
}

func TestStatsAndFreeEstimates(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{DefaultWrapUp: 20 * time.Second, InitialHandle: 3 * time.Minute}, "a", "b", "c", "d", "e")
	for _, id := range []string{"a", "b", "c", "d"} {
		require.NoError(t, r.Login(id, t0))
	}
	require.NoError(t, r.Pause("d", t0))
	// a and b connect at t0; b hangs up after a minute; c stays available.
	for _, id := range []string{"a", "b"} {
		require.NoError(t, reserveAgent(r, id, t0))
		require.NoError(t, r.Connect(id, ConnectInfo{}, t0))
	}
	require.NoError(t, r.Hangup("b", t0.Add(time.Minute))) // b: wrap-up until t0+80s; mean handle moves towards 60 s
	now := t0.Add(70 * time.Second)
	s := r.Stats("sales", now, 15*time.Second)
	require.Equal(t, Stats{Available: 1, OnCall: 1, WrapUp: 1, Paused: 1, LoggedIn: 4, SoonFree: 1, SoonFreeSure: 1, MeanHandle: s.MeanHandle}, s)
	wantMean := 180 - 0.05*120 // one 60 s call with α = 0.05
	require.InDelta(t, wantMean, s.MeanHandle.Seconds(), 1e-6)
	est := r.FreeEstimates("sales", now)
	require.Len(t, est, 2)
	require.Equal(t, "b", est[0].AgentID)
	require.Equal(t, t0.Add(80*time.Second), est[0].FreeAt)
	require.Equal(t, "a", est[1].AgentID)
	require.Equal(t, t0.Add(s.MeanHandle+20*time.Second), est[1].FreeAt)
	// An overdue call is expected to end now at the earliest.
	late := t0.Add(10 * time.Minute)
	est = r.FreeEstimates("sales", late)
	require.Equal(t, late.Add(20*time.Second), est[0].FreeAt)
	s = r.Stats("sales", late, 20*time.Second)
	require.Equal(t, 1, s.SoonFree, "the overdue call, estimated")
	require.Zero(t, s.SoonFreeSure)
}

func reserveAgent(r *Roster, id string, now time.Time) error {
	_, err := r.ReserveAgent(id, "sales", now)
	return err
}

func TestStateTimesAndOccupancy(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{DefaultWrapUp: 30 * time.Second}, "a")
	require.NoError(t, r.Login("a", t0))
	require.NoError(t, r.Pause("a", t0.Add(10*time.Minute)))
	require.NoError(t, r.Resume("a", t0.Add(20*time.Minute)))
	_, err := r.Reserve("sales", t0.Add(21*time.Minute))
	require.NoError(t, err)
	require.NoError(t, r.Connect("a", ConnectInfo{}, t0.Add(21*time.Minute+30*time.Second)))
	require.NoError(t, r.Hangup("a", t0.Add(30*time.Minute)))
	times := r.StateTimes(t0.Add(40 * time.Minute))
	require.Equal(t, 20*time.Minute+30*time.Second, times[Available]) // 10 + 1 before the call, 9.5 after wrap-up
	require.Equal(t, 10*time.Minute, times[Paused])
	require.Equal(t, 30*time.Second, times[Reserved])
	require.Equal(t, 8*time.Minute+30*time.Second, times[OnCall])
	require.Equal(t, 30*time.Second, times[WrapUp])
	occ := Occupancy(times)
	working := times[Available] + times[Reserved] + times[OnCall] + times[WrapUp]
	require.InDelta(t, float64(times[OnCall])/float64(working), occ, 1e-12)
	require.Zero(t, Occupancy(map[State]time.Duration{Paused: time.Hour}))
}
