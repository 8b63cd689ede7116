package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/postgres/pgtest"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newPostgresStore returns a migrated Postgres store in a schema of its own,
// dropped at cleanup; it skips without a test database (make test sets one).
func newPostgresStore(t *testing.T) engine.ScheduleStore { return newPostgresStoreTB(t) }

func newPostgresStoreTB(t testing.TB) engine.ScheduleStore {
	t.Helper()
	s, _, _ := pgtest.Open(t, "cadenza_engine_", 4)
	return s
}

func newMemStore(t *testing.T) *sqlite.Store { return newMemStoreTB(t) }

func newMemStoreTB(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(t.Context()))
	return s
}

func oneCallDefinition() engine.Definition {
	return engine.Definition{Name: "one", TimeZone: "America/New_York", Runs: engine.Runs{Total: 1},
		Harassment: engine.Harassment{UseBusiness: true},
		Steps:      []engine.Step{{Name: "call", Type: engine.StepCall, Call: &engine.CallStep{Retry: engine.Retry{Attempts: 0}}}}}
}

// gatedDialer blocks every call until released, to observe drains.
type gatedDialer struct {
	started chan string
	release chan struct{}
}

func (d *gatedDialer) Dial(_ context.Context, c dialer.Call) dialer.Outcome {
	d.started <- c.To
	<-d.release
	return dialer.Outcome{Disposition: dialer.NoAnswer, Timings: dialer.Timings{InviteSent: time.Now()}}
}

// The loop claims due work on its own, Stop drains the call in flight
// (its outcome is recorded) and is idempotent.
func TestSchedulerStartStopDrains(t *testing.T) {
	ctx := t.Context()
	store := newMemStore(t)
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)) // 10:00 New York
	var mu sync.Mutex
	var events []engine.Event
	d := &gatedDialer{started: make(chan string, 1), release: make(chan struct{})}
	e, err := engine.New(engine.Options{Store: store, Now: clock.Now, Dialer: d, Lease: 30 * time.Millisecond,
		OnEvent: func(ev engine.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }})
	require.NoError(t, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(t, err)
	en, err := e.Enroll(ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
	require.NoError(t, err)

	s := e.NewScheduler(engine.SchedulerOptions{Poll: 5 * time.Millisecond, RescueEvery: time.Hour})
	require.NoError(t, s.Start(ctx))
	require.Error(t, s.Start(ctx), "a second start is refused")
	select {
	case to := <-d.started:
		require.Equal(t, "+12125550100", to)
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler never dialed")
	}
	// While the call lasts, the heartbeat keeps extending the lease from
	// the engine's clock.
	clock.Advance(time.Hour)
	require.Eventually(t, func() bool {
		a, err := store.ActionCandidate(ctx, firstAction(t, store, en.ContactID))
		return err == nil && a.Action.LeaseExpiresAt != nil && a.Action.LeaseExpiresAt.After(clock.Now())
	}, 10*time.Second, 5*time.Millisecond, "the lease follows the clock")
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a call was in flight")
	case <-time.After(20 * time.Millisecond):
	}
	close(d.release)
	<-stopped
	s.Stop()

	got, err := store.GetEnrollment(ctx, en.ID)
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentCompleted, got.Status, "the drained call's outcome was recorded")
	mu.Lock()
	defer mu.Unlock()
	var calls int
	for _, ev := range events {
		if ev.Type == engine.EventCall {
			calls++
			require.Equal(t, "no_answer", ev.Disposition)
		}
	}
	require.Equal(t, 1, calls)
}

// firstAction is the action of a contact's first attempt.
func firstAction(t *testing.T, store engine.ScheduleStore, contactID string) string {
	t.Helper()
	as, err := store.ContactAttempts(t.Context(), contactID, time.Time{})
	require.NoError(t, err)
	require.NotEmpty(t, as)
	return as[0].ActionID
}

func TestStopUnstartedScheduler(t *testing.T) {
	e, err := engine.New(engine.Options{Store: newMemStore(t)})
	require.NoError(t, err)
	e.NewScheduler(engine.SchedulerOptions{}).Stop()
}

// A completion with a stale fence is refused: the rescuer re-leased the row.
func TestStaleFenceConflict(t *testing.T) {
	ctx := t.Context()
	store := newMemStore(t)
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC))
	e, err := engine.New(engine.Options{Store: store, Now: clock.Now, Lease: time.Minute})
	require.NoError(t, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(t, err)
	_, err = e.Enroll(ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
	require.NoError(t, err)
	run := func(engine.ClaimCandidate) (engine.ClaimVerdict, error) {
		return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
	}
	claimed, err := store.Claim(ctx, engine.ClaimRequest{Owner: "a", Now: clock.Now(), Limit: 10, Lease: time.Minute}, run)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.NoError(t, store.MarkDialing(ctx, claimed[0].Action.ID, claimed[0].Fence, clock.Now()))
	clock.Advance(2 * time.Minute)
	returned, unknown, err := e.Rescue(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, returned)
	require.Equal(t, 1, unknown)
	err = store.Complete(ctx, engine.Completion{ActionID: claimed[0].Action.ID, Fence: claimed[0].Fence, Disposition: "human", Placed: true, Now: clock.Now()})
	require.ErrorIs(t, err, engine.ErrConflict)
	a, err := store.GetAction(ctx, claimed[0].Action.ID)
	require.NoError(t, err)
	require.Equal(t, "unknown", a.Disposition)
}

func TestEngineContactsAndDNC(t *testing.T) {
	ctx := t.Context()
	store := newMemStore(t)
	e, err := engine.New(engine.Options{Store: store})
	require.NoError(t, err)
	c, err := e.UpsertContact(ctx, engine.Contact{Phone: "(212) 555-0100", State: "ny"})
	require.NoError(t, err)
	require.Equal(t, "+12125550100", c.Phone)
	require.Equal(t, "NY", c.State)
	c2, err := e.UpsertContact(ctx, engine.Contact{Phone: "+1 212 555 0100", FirstName: "Ann"})
	require.NoError(t, err)
	require.Equal(t, c.ID, c2.ID, "upsert by E.164 phone")
	for _, tc := range []struct {
		c    engine.Contact
		want string
	}{
		{engine.Contact{Phone: "12"}, "phone:"},
		{engine.Contact{Phone: ""}, "phone: required"},
		{engine.Contact{Phone: "+12125550100", TimeZone: "Mars/Base"}, "timezone:"},
		{engine.Contact{Phone: "+12125550100", State: "Florida"}, "state:"},
	} {
		_, err := e.UpsertContact(ctx, tc.c)
		require.ErrorContains(t, err, tc.want)
	}
	_, err = e.AddDNC(ctx, "212-555-0100", "asked")
	require.NoError(t, err)
	ok, err := e.IsDNC(ctx, "+12125550100")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, e.RemoveDNC(ctx, "+12125550100"))
	require.ErrorIs(t, e.RemoveDNC(ctx, "+12125550100"), engine.ErrNotFound)
	require.ErrorContains(t, e.PostDisposition(ctx, "x", "maybe", time.Now()), "catalog")
}

// recordingDialer keeps the calls it was given.
type recordingDialer struct {
	mu    sync.Mutex
	calls []dialer.Call
}

func (d *recordingDialer) Dial(_ context.Context, c dialer.Call) dialer.Outcome {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, c)
	return dialer.Outcome{Disposition: dialer.Voicemail, Timings: dialer.Timings{InviteSent: time.Now()}}
}

// The call request carries the step's caller ID, AMD profile, connect
// destination and voicemail audio from the asset store.
func TestCallRequest(t *testing.T) {
	ctx := t.Context()
	store := newMemStore(t)
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC))
	_, err := store.CreateAsset(ctx, engine.Asset{Name: "vm-intro", DurationMS: 1, PCM: []byte{1, 0, 0xff, 0xff}}, clock.Now())
	require.NoError(t, err)
	d := &recordingDialer{}
	e, err := engine.New(engine.Options{Store: store, Now: clock.Now, Dialer: d, Trunk: "main"})
	require.NoError(t, err)
	def := oneCallDefinition()
	def.Queue = "sales"
	def.Steps[0].Call = &engine.CallStep{CallerID: engine.CallerID{Strategy: engine.CallerIDLocalPresence, Pool: "local"},
		Voicemail: engine.Voicemail{Enabled: true, Asset: "vm-intro"}, AMDProfile: "voicemail_drop",
		RingTimeout: engine.Duration(25 * time.Second), OnHuman: engine.OnHuman{Action: engine.HumanConnect}}
	cad, err := store.CreateCadence(ctx, def, engine.StatusActive, clock.Now())
	require.NoError(t, err)
	_, err = e.Enroll(ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+13055550100", State: "FL", TimeZone: "America/New_York"}})
	require.NoError(t, err)
	n, err := e.RunDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, d.calls, 1)
	c := d.calls[0]
	require.Equal(t, "+13055550100", c.To)
	require.Equal(t, "main", c.Trunk)
	require.Equal(t, "local", c.CallerIDPool)
	require.Equal(t, dialer.CallerIDLocalPresence, c.CallerIDStrategy)
	require.Equal(t, "FL", c.ContactState)
	require.Equal(t, "voicemail_drop", c.AMDProfile)
	require.Equal(t, 25*time.Second, c.RingTimeout)
	require.Equal(t, dialer.HumanAction{Kind: "connect", Destination: "queue:sales"}, c.OnHuman)
	require.Equal(t, []int16{1, -1}, c.VoicemailAudio)
	require.NotEmpty(t, c.ID)
}

// An enrollment due at once wakes the scheduler: with an hour-long poll the
// call still goes out right away.
func TestSchedulerWakesOnEnroll(t *testing.T) {
	ctx := t.Context()
	store := newMemStore(t)
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC))
	d := &recordingDialer{}
	e, err := engine.New(engine.Options{Store: store, Now: clock.Now, Dialer: d})
	require.NoError(t, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(t, err)
	s := e.NewScheduler(engine.SchedulerOptions{Poll: time.Hour, RescueEvery: time.Hour})
	require.NoError(t, s.Start(ctx))
	defer s.Stop()
	// The first call may go out on the loop's first claim; the second can
	// only go out because the enrollment woke the loop.
	for i, phone := range []string{"+12125550100", "+12125550101"} {
		_, err = e.Enroll(ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: phone, TimeZone: "America/New_York"}})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			d.mu.Lock()
			defer d.mu.Unlock()
			return len(d.calls) == i+1
		}, 10*time.Second, 2*time.Millisecond)
	}
}

// On Postgres, an action scheduled by another node wakes this node's
// scheduler through LISTEN/NOTIFY, long before its hour-long poll.
func TestSchedulerWakesAcrossNodes(t *testing.T) {
	ctx := t.Context()
	store := newPostgresStoreTB(t)
	waker, ok := store.(engine.Waker)
	require.True(t, ok)
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC))
	other, err := engine.New(engine.Options{Store: store, Now: clock.Now, Owner: "other"})
	require.NoError(t, err)
	d := &recordingDialer{}
	e, err := engine.New(engine.Options{Store: store, Now: clock.Now, Dialer: d, Waker: waker, Owner: "this"})
	require.NoError(t, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(t, err)
	enroll := func(phone string) {
		_, err := other.Enroll(ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: phone, TimeZone: "America/New_York"}})
		require.NoError(t, err)
	}
	enroll("+12125550100")
	s := e.NewScheduler(engine.SchedulerOptions{Poll: time.Hour, RescueEvery: time.Hour})
	require.NoError(t, s.Start(ctx))
	defer s.Stop()
	require.Eventually(t, func() bool { // the first claim of the loop; from now on it polls hourly
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.calls) == 1
	}, 10*time.Second, 2*time.Millisecond)
	// The listener may not be listening yet: enroll until a wake-up lands.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		enroll(fmt.Sprintf("+1212555%04d", 200+i))
		time.Sleep(50 * time.Millisecond) // let the wake-up land before trying again
		d.mu.Lock()
		n := len(d.calls)
		d.mu.Unlock()
		if n >= 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no wake-up from the other node")
	}
}

func TestCatalog(t *testing.T) {
	e, err := engine.New(engine.Options{Store: newMemStore(t)})
	require.NoError(t, err)
	require.Equal(t, engine.DefaultCatalog(), e.Catalog())
	codes := map[string]bool{}
	for _, d := range e.Catalog() {
		codes[d.Code] = true
	}
	for _, c := range []string{"converted", "not_interested", "do_not_call", "wrong_number", "appointment_set", "interested", "callback"} {
		require.True(t, codes[c], c)
	}
	for _, tc := range []struct {
		cat  []engine.AgentDisposition
		want string
	}{
		{[]engine.AgentDisposition{{Code: ""}}, "catalog[0].code: required"},
		{[]engine.AgentDisposition{{Code: "busy"}}, "system disposition"},
		{[]engine.AgentDisposition{{Code: "a"}, {Code: "a"}}, "catalog[1].code: \"a\" appears twice"},
	} {
		_, err := engine.New(engine.Options{Store: newMemStore(t), Catalog: tc.cat})
		require.ErrorContains(t, err, tc.want)
	}
}
