package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/compliance"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
)

// randomDialer answers calls with random dispositions.
type randomDialer struct {
	mu  sync.Mutex
	rng *rand.Rand
	now func() time.Time
}

func (d *randomDialer) Dial(_ context.Context, c dialer.Call) dialer.Outcome {
	d.mu.Lock()
	disp := dialer.Dispositions[d.rng.IntN(len(dialer.Dispositions)-1)] // never "unknown" from a live dialer
	requeue := time.Duration(0)
	if d.rng.IntN(8) == 0 { // no agent: not placed, try again later without counting
		disp, requeue = dialer.Failed, time.Duration(1+d.rng.IntN(90))*time.Minute
	}
	d.mu.Unlock()
	out := dialer.Outcome{CallID: c.ID, To: c.To, Disposition: disp, Requeue: requeue, Detail: "no agent"}
	if disp != dialer.Failed {
		out.Timings.InviteSent = d.now()
	}
	return out
}

var propZones = []struct{ tz, state, phone, zip string }{
	{"America/New_York", "NY", "212", ""}, {"America/New_York", "FL", "305", ""}, {"America/New_York", "MD", "410", ""},
	{"America/Chicago", "TX", "214", ""}, {"America/Denver", "CO", "303", ""}, {"America/Phoenix", "AZ", "602", ""},
	{"America/Los_Angeles", "CA", "415", ""}, {"America/Anchorage", "AK", "907", ""}, {"Pacific/Honolulu", "HI", "808", ""},
	// No zone field: from the ZIP, or from the area code alone.
	{"", "", "212", "33101"}, {"", "", "808", ""}, {"", "", "602", ""},
}

func randomDefinition(rng *rand.Rand, i int) engine.Definition {
	pick := func(ds ...string) engine.Duration {
		d, _ := engine.ParseDuration(ds[rng.IntN(len(ds))])
		return d
	}
	def := engine.Definition{Name: fmt.Sprintf("random %d", i), TimeZone: "America/New_York",
		Runs:       engine.Runs{Total: 1 + rng.IntN(2), RestartDelay: pick("0s", "4h", "1d"), After: engine.AfterRuns{Action: engine.AfterIdle}},
		Harassment: engine.Harassment{UseBusiness: true}}
	switch rng.IntN(3) {
	case 0:
		def.CadenceHours = []engine.Window{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}}
	case 1:
		def.CadenceHours = []engine.Window{{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Start: "07:00", End: "23:00"}}
	}
	if rng.IntN(2) == 0 {
		def.TargetHours = []engine.Window{{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat"}, Start: "10:00", End: "18:00"}}
	}
	if rng.IntN(3) == 0 {
		def.Harassment = engine.Harassment{Calls: &engine.Limit{Max: 1 + rng.IntN(3), Period: pick("4h", "1d", "2d")}}
	}
	n := 1 + rng.IntN(4)
	for s := range n {
		st := engine.Step{Name: fmt.Sprintf("step %d", s+1), Type: engine.StepCall, Timing: engine.Timing{Delay: pick("0s", "30m", "1h", "4h", "1d"), From: engine.FromPrevious}}
		if rng.IntN(4) == 0 {
			st.Type, st.SMS = engine.StepSMS, &engine.SMSStep{Text: "Hi {{contact.first_name}}"}
		} else {
			st.Call = &engine.CallStep{CallerID: engine.CallerID{Strategy: engine.CallerIDRandom, Pool: "main"},
				Retry: engine.Retry{Attempts: rng.IntN(3), MinGap: pick("0s", "1h", "2h")}}
			acts := []engine.Action{{Type: engine.ActionNext}, {Type: engine.ActionRetry, After: pick("10m", "1h"), MaxTimes: 2},
				{Type: engine.ActionGoto, Step: 1 + rng.IntN(n)}, {Type: engine.ActionStop}, {Type: engine.ActionDNC}}
			for _, d := range []string{"busy", "no_answer", "human", "machine", "invalid_number"} {
				if rng.IntN(2) == 0 {
					a := acts[rng.IntN(len(acts)-1)]
					if d == "invalid_number" && rng.IntN(2) == 0 {
						a = acts[len(acts)-1]
					}
					st.Routing = append(st.Routing, engine.Rule{Disposition: d, Action: a})
				}
			}
		}
		def.Steps = append(def.Steps, st)
	}
	return def
}

// TestPropertyRandomWeeks plays random cadences for contacts in every US
// zone over DST weeks, with two schedulers claiming from one store at the
// same time, and checks the invariants with independent computations.
func TestPropertyRandomWeeks(t *testing.T) {
	t.Parallel()
	propertyRuns(t, func(t *testing.T) engine.ScheduleStore {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "prop.db"))
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		require.NoError(t, s.Migrate(t.Context()))
		return s
	})
}

// TestPropertyRandomWeeksPostgres runs the same weeks on PostgreSQL, where
// the two schedulers really claim in parallel (SKIP LOCKED, contact locks).
func TestPropertyRandomWeeksPostgres(t *testing.T) {
	t.Parallel()
	propertyRuns(t, newPostgresStore)
}

func propertyRuns(t *testing.T, newStore func(t *testing.T) engine.ScheduleStore) {
	starts := []time.Time{
		time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),   // over spring forward
		time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC), // over fall back
		time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC),
	}
	for i, start := range starts {
		t.Run(start.Format("2006-01-02"), func(t *testing.T) {
			t.Parallel()
			propertyRun(t, uint64(i+1), start, newStore(t))
		})
	}
}

type propOp struct {
	at      time.Time
	contact int
	cadence int
	dnc     bool
}

func propertyRun(t *testing.T, seed uint64, start time.Time, store engine.ScheduleStore) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(seed, 42))
	clock := engine.NewSimClock(start)

	var mu sync.Mutex
	var events []engine.Event
	business := []compliance.Limit{{Max: 3, Period: 24 * time.Hour, Scope: compliance.ScopeCalls, Source: "business"},
		{Max: 2, Period: 24 * time.Hour, Scope: compliance.ScopeSMS, Source: "business"}}
	newEngine := func(owner string) *engine.Engine {
		e, err := engine.New(engine.Options{Store: store, Now: clock.Now, Owner: owner, BusinessLimits: business, Concurrency: 4,
			Dialer: &randomDialer{rng: rand.New(rand.NewPCG(seed, uint64(len(owner)))), now: clock.Now}, Messenger: &engine.AcceptingMessenger{},
			OnEvent: func(ev engine.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }})
		require.NoError(t, err)
		return e
	}
	e1, e2 := newEngine("node-a"), newEngine("node-bb")

	const nCadences, nContacts = 4, 24
	var cads []engine.Cadence
	for i := range nCadences {
		c, err := store.CreateCadence(ctx, randomDefinition(rng, i), engine.StatusActive, start)
		require.NoError(t, err)
		cads = append(cads, c)
	}
	var contacts []engine.Contact
	for i := range nContacts {
		z := propZones[i%len(propZones)]
		c, err := e1.UpsertContact(ctx, engine.Contact{Phone: fmt.Sprintf("+1%s555%04d", z.phone, 100+i), FirstName: "P",
			TimeZone: z.tz, State: z.state, Zip: z.zip})
		require.NoError(t, err)
		contacts = append(contacts, c)
	}
	var ops []propOp
	for ci := range contacts {
		for _, k := range rng.Perm(nCadences)[:1+rng.IntN(2)] {
			ops = append(ops, propOp{at: start.Add(time.Duration(rng.IntN(72*60)) * time.Minute), contact: ci, cadence: k})
		}
		if rng.IntN(6) == 0 {
			ops = append(ops, propOp{at: start.Add(time.Duration(rng.IntN(7*24*60)) * time.Minute), contact: ci, dnc: true})
		}
	}
	slices.SortFunc(ops, func(a, b propOp) int { return a.at.Compare(b.at) })
	dncAt := map[string]time.Time{}
	crashed := 0
	end := start.Add(10 * 24 * time.Hour)
	for {
		next := end
		if at, ok, err := store.NextDue(ctx); err != nil {
			t.Fatal(err)
		} else if ok && at.Before(next) {
			next = at
		}
		if len(ops) > 0 && ops[0].at.Before(next) {
			next = ops[0].at
		}
		if !next.Before(end) {
			break
		}
		clock.Set(next)
		for len(ops) > 0 && !ops[0].at.After(clock.Now()) {
			op := ops[0]
			ops = ops[1:]
			c := contacts[op.contact]
			if op.dnc {
				_, err := e1.AddDNC(ctx, c.Phone, "opt-out")
				require.NoError(t, err)
				if _, ok := dncAt[c.Phone]; !ok {
					dncAt[c.Phone] = clock.Now()
				}
				continue
			}
			_, err := e1.Enroll(ctx, engine.EnrollRequest{CadenceID: cads[op.cadence].ID, ContactID: c.ID})
			if err != nil && !strings.Contains(err.Error(), "do-not-call") && !strings.Contains(err.Error(), "already") {
				t.Fatalf("enroll: %v", err)
			}
		}
		// Now and then a third node claims one due action (with the real
		// claim-time rules) and dies, before or after the hand-off; the
		// engines' rescuers must clean up without a second call.
		if rng.IntN(8) == 0 {
			now := clock.Now()
			dead, err := store.Claim(ctx, engine.ClaimRequest{Owner: "dead", Now: now, Limit: 1, Lease: 10 * time.Minute, HistorySince: now.Add(-31 * 24 * time.Hour)},
				func(c engine.ClaimCandidate) (engine.ClaimVerdict, error) { return e1.Planner().AtClaim(c, now) })
			require.NoError(t, err)
			if len(dead) == 1 && rng.IntN(2) == 0 {
				require.NoError(t, store.MarkDialing(ctx, dead[0].Action.ID, dead[0].Fence, now))
				crashed++
			}
		}
		for _, e := range []*engine.Engine{e1, e2} {
			_, _, err := e.Rescue(ctx)
			require.NoError(t, err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, e := range []*engine.Engine{e1, e2} {
			wg.Go(func() { _, errs[i] = e.RunDue(ctx) })
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
	}

	// Rows a dead node still holds come back once their lease expires.
	clock.Set(end.Add(11 * time.Minute))
	_, _, err := e2.Rescue(ctx)
	require.NoError(t, err)

	// Independent checks.
	p := e1.Planner()
	defs := map[string]engine.Definition{}
	for _, c := range cads {
		defs[c.ID] = c.Definition
	}
	byID := map[string]engine.Contact{}
	for _, c := range contacts {
		byID[c.ID] = c
	}
	for _, ev := range events {
		if ev.Type == engine.EventStopped && strings.HasPrefix(ev.Reason, "do not call") {
			if at, ok := dncAt[ev.Phone]; !ok || ev.At.Before(at) {
				dncAt[ev.Phone] = ev.At
			}
		}
	}
	seen := map[string]bool{}
	placed, windowChecks, unknown := 0, 0, 0
	for _, ev := range events {
		if (ev.Type != engine.EventCall && ev.Type != engine.EventSMS) || ev.Code == "agent" {
			continue
		}
		require.False(t, seen[ev.ActionID], "action %s ran twice", ev.ActionID)
		seen[ev.ActionID] = true
		if ev.Disposition != string(dialer.Failed) {
			placed++
		}
		if ev.Disposition == string(dialer.Unknown) {
			unknown++
		}
		c := byID[ev.ContactID]
		loc, err := p.Locate(c)
		require.NoError(t, err)
		in, err := p.Inputs(defs[ev.Cadence], loc, engine.StepType(ev.Type))
		require.NoError(t, err)
		ok, err := compliance.Allowed(ev.At, in)
		require.NoError(t, err)
		require.True(t, ok, "%s to %s at %s outside its windows", ev.Type, ev.Phone, ev.Local)
		windowChecks++
		if at, ok := dncAt[ev.Phone]; ok {
			require.False(t, ev.At.After(at), "%s to %s at %s after its DNC at %s", ev.Type, ev.Phone, ev.At, at)
		}
	}
	// Recount the recorded attempts against every limit that applied.
	attempts := 0
	enrollCadence := map[string]string{}
	for _, ev := range events {
		enrollCadence[ev.Enrollment] = ev.Cadence
	}
	for _, c := range contacts {
		as, err := store.ContactAttempts(ctx, c.ID, time.Time{})
		require.NoError(t, err)
		attempts += len(as)
		loc, err := p.Locate(c)
		require.NoError(t, err)
		for _, a := range as {
			require.True(t, seen[a.ActionID], "attempt %s has no event", a.ActionID)
			limits, err := p.Limits(defs[enrollCadence[a.EnrollmentID]], loc)
			require.NoError(t, err)
			for _, l := range limits {
				if !l.Scope.Has(compliance.Channel(a.Channel)) {
					continue
				}
				n := 0
				for _, b := range as {
					if l.Scope.Has(compliance.Channel(b.Channel)) && b.At.After(a.At.Add(-l.Period)) && !b.At.After(a.At) {
						n++
					}
				}
				require.LessOrEqual(t, n, l.Max, "contact %s: %d attempts in %s up to %s, limit %s", c.Phone, n, l.Period, a.At, l)
			}
		}
	}
	requeued := 0
	for _, ev := range events {
		if ev.Type == engine.EventBlocked && ev.Code == engine.BlockNoAgent {
			requeued++
		}
	}
	require.Positive(t, requeued, "some calls were put back for want of an agent")
	require.Equal(t, placed, attempts, "recorded attempts vs placed events")
	require.Equal(t, crashed, unknown, "every call lost with its node ends as unknown, once")
	require.Greater(t, windowChecks, 50, "the run placed enough actions to mean something")
	t.Logf("seed %d: %d events, %d actions checked, %d attempts, %d crashes while dialing", seed, len(events), windowChecks, attempts, crashed)
}
