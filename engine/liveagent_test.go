package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
)

// scriptDialer keeps every call it is given and answers from a script
// of outcomes (the last repeats); by default a placed no-answer.
type scriptDialer struct {
	mu       sync.Mutex
	calls    []dialer.Call
	outcomes []dialer.Outcome
	now      func() time.Time
}

func (d *scriptDialer) Dial(_ context.Context, c dialer.Call) dialer.Outcome {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.calls)
	d.calls = append(d.calls, c)
	out := dialer.Outcome{Disposition: dialer.NoAnswer}
	if len(d.outcomes) > 0 {
		out = d.outcomes[min(n, len(d.outcomes)-1)]
	}
	if out.Disposition != dialer.Failed {
		out.Timings.InviteSent = d.now()
	}
	return out
}

func (d *scriptDialer) Calls() []dialer.Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]dialer.Call(nil), d.calls...)
}

// liveAgentEnv is an engine on an in-memory SQLite store at Monday 10:00
// New York, with a recording dialer.
type liveAgentEnv struct {
	ctx    context.Context
	store  *sqlite.Store
	clock  *engine.SimClock
	dialer *scriptDialer
	sms    *engine.AcceptingMessenger
	eng    *engine.Engine
	mu     sync.Mutex
	events []engine.Event
}

func newLiveAgentEnv(t *testing.T, owners engine.OwnerAssigner) *liveAgentEnv {
	t.Helper()
	env := &liveAgentEnv{ctx: t.Context(), store: newMemStore(t), clock: engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC))}
	env.dialer, env.sms = &scriptDialer{now: env.clock.Now}, &engine.AcceptingMessenger{}
	var err error
	env.eng, err = engine.New(engine.Options{Store: env.store, Now: env.clock.Now, Dialer: env.dialer, Messenger: env.sms,
		Owners: owners, OnEvent: func(ev engine.Event) { env.mu.Lock(); env.events = append(env.events, ev); env.mu.Unlock() }})
	require.NoError(t, err)
	return env
}

func (env *liveAgentEnv) eventsOf(typ engine.EventType) []engine.Event {
	env.mu.Lock()
	defer env.mu.Unlock()
	var out []engine.Event
	for _, ev := range env.events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// cadence stores def as an active cadence.
func (env *liveAgentEnv) cadence(t *testing.T, def engine.Definition) engine.Cadence {
	t.Helper()
	c, err := env.store.CreateCadence(env.ctx, def, engine.StatusActive, env.clock.Now())
	require.NoError(t, err)
	return c
}

// liveDefinition is one call step with a script, on queue (may be "").
func liveDefinition(queue string, on engine.OnHuman, mode engine.DialMode) engine.Definition {
	def := oneCallDefinition()
	def.Queue = queue
	def.Steps[0].Call.Script = "Hi {{contact.first_name}}, {{offer}} (step {{step.number}})"
	def.Steps[0].Call.Variables = map[string]string{"offer": "20% off"}
	def.Steps[0].Call.OnHuman = on
	def.Steps[0].Call.DialMode = mode
	return def
}

// TestBuildCallLiveAgentFields: the dialer gets the resolved dial mode, the
// queue of the connect, the cadence as campaign, the contact's name, the
// rendered script and the contact's owner.
func TestBuildCallLiveAgentFields(t *testing.T) {
	t.Parallel()
	ada := engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York", FirstName: "Ada", LastName: " Lovelace "}
	connect := engine.OnHuman{Action: engine.HumanConnect}
	tests := []struct {
		name               string
		def                engine.Definition
		contact            engine.Contact
		mode, queue, cname string
	}{
		{"progressive by default to the cadence queue", liveDefinition("sales", connect, ""), ada, "progressive", "sales", "Ada Lovelace"},
		{"predictive to a queue destination", liveDefinition("", engine.OnHuman{Action: engine.HumanConnect, Destination: "queue:closers"}, engine.DialPredictive),
			ada, "predictive", "closers", "Ada Lovelace"},
		{"preview", liveDefinition("sales", connect, engine.DialPreview), ada, "preview", "sales", "Ada Lovelace"},
		{"agentless by default to a SIP URI", liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect, Destination: "sip:ai@bots.example.com"}, ""),
			ada, "agentless", "", "Ada Lovelace"},
		{"agentless by default with a message", liveDefinition("sales", engine.OnHuman{Action: engine.HumanMessage, Asset: "msg"}, ""),
			ada, "agentless", "", "Ada Lovelace"},
		{"agentless to a queue takes whoever is free", liveDefinition("sales", connect, engine.DialAgentless), ada, "agentless", "sales", "Ada Lovelace"},
		{"no name: the phone", liveDefinition("sales", connect, ""), engine.Contact{Phone: "+12125550101", TimeZone: "America/New_York"},
			"progressive", "sales", "+12125550101"},
		{"last name only", liveDefinition("sales", connect, ""), engine.Contact{Phone: "+12125550102", TimeZone: "America/New_York", LastName: "Hopper"},
			"progressive", "sales", "Hopper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newLiveAgentEnv(t, nil)
			cad := env.cadence(t, tc.def)
			ct := tc.contact
			ct.Owner = "agent-7"
			_, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &ct})
			require.NoError(t, err)
			_, err = env.eng.RunDue(env.ctx)
			require.NoError(t, err)
			calls := env.dialer.Calls()
			require.Len(t, calls, 1)
			c := calls[0]
			require.Equal(t, tc.mode, c.Mode)
			require.Equal(t, tc.queue, c.Queue)
			require.Equal(t, cad.ID, c.Campaign)
			require.Equal(t, tc.cname, c.ContactName)
			require.Equal(t, "agent-7", c.Owner)
			require.Equal(t, "Hi "+tc.contact.FirstName+", 20% off (step 1)", c.Script)
		})
	}
}

// TestRequeueDoesNotCount: a call the dialer could not place for want of
// an agent is put back as the same attempt, recorded as a no_agent block,
// and counts neither as an attempt (limits, analytics) nor as a call event.
func TestRequeueDoesNotCount(t *testing.T) {
	t.Parallel()
	env := newLiveAgentEnv(t, nil)
	env.dialer.outcomes = []dialer.Outcome{
		{Disposition: dialer.Failed, Requeue: 2 * time.Minute, Detail: `no agent of queue "sales" within 2m0s`},
		{Disposition: dialer.Human},
	}
	def := liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, "")
	def.Harassment = engine.Harassment{Calls: &engine.Limit{Max: 1, Period: engine.Duration(24 * time.Hour)}}
	cad := env.cadence(t, def)
	start := env.clock.Now()
	en, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
	require.NoError(t, err)
	require.NoError(t, env.eng.RunUntil(env.ctx, env.clock, start.Add(time.Hour)))

	calls := env.dialer.Calls()
	require.Len(t, calls, 2, "asked to dial twice")
	require.NotEqual(t, calls[0].ID, calls[1].ID, "the requeued attempt is a new action row")

	blocked := env.eventsOf(engine.EventBlocked)
	require.Len(t, blocked, 1)
	b := blocked[0]
	require.Equal(t, engine.BlockNoAgent, b.Code)
	require.Equal(t, `no agent of queue "sales" within 2m0s`, b.Reason)
	require.Equal(t, start.Add(2*time.Minute), b.Next)
	require.Equal(t, 1, b.Step)
	require.Equal(t, 1, b.Attempt)

	callEvents := env.eventsOf(engine.EventCall)
	require.Len(t, callEvents, 1, "only the placed call is reported as a call")
	require.Equal(t, 1, callEvents[0].Attempt, "the put-back call is still attempt 1")
	require.Equal(t, start.Add(2*time.Minute), callEvents[0].At)

	attempts, err := env.store.ContactAttempts(env.ctx, en.ContactID, start.Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, attempts, 1, "the one-call limit was not spent by the requeue")
	require.Equal(t, calls[1].ID, attempts[0].ActionID)

	blocks, err := env.store.ContactBlocks(env.ctx, en.ContactID)
	require.NoError(t, err)
	require.Len(t, blocks, 1)
	require.Equal(t, engine.BlockNoAgent, blocks[0].Code)
	require.Equal(t, calls[1].ID, blocks[0].ActionID, "the block names the action it moved")
	require.True(t, blocks[0].NextEligible.Equal(start.Add(2*time.Minute)))

	first, err := env.store.GetAction(env.ctx, calls[0].ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCompleted, first.State)
	require.Equal(t, engine.DispositionRequeued, first.Disposition)

	an, err := env.store.Analytics(env.ctx, engine.AnalyticsFilter{CadenceID: cad.ID}, engine.DefaultCatalog())
	require.NoError(t, err)
	require.Equal(t, 1, an.Attempts, "analytics count the placed call only")
	require.Equal(t, 1, an.Contacts)
	stats, err := env.store.CadenceStats(env.ctx, cad.ID)
	require.NoError(t, err)
	require.Equal(t, 1, stats.TasksRun, "a requeue is not a task run")
	require.True(t, stats.LastActionRan.Equal(start.Add(2*time.Minute)), "last action ran: %v", stats.LastActionRan)
}

// A Requeue on a call that was placed is ignored: the outcome routes as
// usual (the dialer must never ask to redial a call that happened).
func TestRequeueIgnoredWhenPlaced(t *testing.T) {
	t.Parallel()
	env := newLiveAgentEnv(t, nil)
	env.dialer.outcomes = []dialer.Outcome{{Disposition: dialer.NoAnswer, Requeue: time.Minute}}
	cad := env.cadence(t, liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, ""))
	start := env.clock.Now()
	_, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
	require.NoError(t, err)
	require.NoError(t, env.eng.RunUntil(env.ctx, env.clock, start.Add(time.Hour)))
	require.Len(t, env.dialer.Calls(), 1)
	require.Empty(t, env.eventsOf(engine.EventBlocked))
	require.Len(t, env.eventsOf(engine.EventCall), 1)
	require.Len(t, env.eventsOf(engine.EventCompleted), 1)
}

// fakeOwners is an OwnerAssigner over a fixed rotation.
type fakeOwners struct {
	mu      sync.Mutex
	agents  []string // the rotation; empty: nobody logged in
	next    int
	rrCalls int
	prompts []ownerPrompt
}

type ownerPrompt struct{ queue, contactID, cadenceID, contact, script string }

func (f *fakeOwners) RoundRobin(queue string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rrCalls++
	if queue != "sales" || len(f.agents) == 0 {
		return "", errors.New("no agent logged in")
	}
	id := f.agents[f.next%len(f.agents)]
	f.next++
	return id, nil
}

func (f *fakeOwners) PromptOwner(queue, contactID, cadenceID, contact, script string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prompts = append(f.prompts, ownerPrompt{queue, contactID, cadenceID, contact, script})
	return nil
}

func (f *fakeOwners) setAgents(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.agents = ids
}

// ownerEnv adds the sales queue and two of its agents to a live-agent env.
func ownerEnv(t *testing.T, owners *fakeOwners) (*liveAgentEnv, []string) {
	t.Helper()
	var oa engine.OwnerAssigner // a nil *fakeOwners would be a non-nil interface
	if owners != nil {
		oa = owners
	}
	env := newLiveAgentEnv(t, oa)
	_, err := env.store.CreateQueue(env.ctx, engine.Queue{Name: "sales"}, env.clock.Now())
	require.NoError(t, err)
	var ids []string
	for _, name := range []string{"Ann", "Bob Lee"} {
		a, err := env.store.CreateAgent(env.ctx, engine.Agent{Name: name, Destination: "sip:" + strings.Fields(name)[0] + "@pbx.example.com", Queues: []string{"sales"}}, env.clock.Now())
		require.NoError(t, err)
		ids = append(ids, a.ID)
	}
	return env, ids
}

func (env *liveAgentEnv) owner(t *testing.T, contactID string) string {
	t.Helper()
	c, err := env.store.GetContact(env.ctx, contactID)
	require.NoError(t, err)
	return c.Owner
}

// Round robin gives each enrolled contact the queue's next agent, records
// why, and later calls go out with that owner.
func TestOwnerRoundRobin(t *testing.T) {
	t.Parallel()
	owners := &fakeOwners{}
	env, ids := ownerEnv(t, owners)
	owners.setAgents(ids...)
	def := liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, "")
	def.Steps[0].Call.Script = "Hi {{contact.first_name}}, this is {{owner.name}}"
	def.Owner = engine.OwnerPolicy{Assign: engine.OwnerRoundRobin}
	cad := env.cadence(t, def)

	var contacts []string
	for _, phone := range []string{"+12125550100", "+12125550101"} {
		en, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: phone, TimeZone: "America/New_York"}})
		require.NoError(t, err)
		contacts = append(contacts, en.ContactID)
	}
	require.Equal(t, ids[0], env.owner(t, contacts[0]))
	require.Equal(t, ids[1], env.owner(t, contacts[1]))
	changes, err := env.store.OwnerChanges(env.ctx, contacts[0])
	require.NoError(t, err)
	require.Len(t, changes, 1)
	require.Equal(t, engine.OwnerReasonRoundRobin, changes[0].Reason)
	require.Equal(t, cad.ID, changes[0].CadenceID)
	require.Equal(t, ids[0], changes[0].To)

	_, err = env.eng.RunDue(env.ctx)
	require.NoError(t, err)
	byPhone := map[string]dialer.Call{}
	for _, c := range env.dialer.Calls() {
		byPhone[c.To] = c
	}
	require.Equal(t, ids[0], byPhone["+12125550100"].Owner)
	require.Equal(t, ids[1], byPhone["+12125550101"].Owner)
	require.Equal(t, "Hi , this is Ann", byPhone["+12125550100"].Script, "{{owner.name}} is the agent's name")
	require.Equal(t, "Hi , this is Bob Lee", byPhone["+12125550101"].Script)
	require.Equal(t, 2, owners.rrCalls, "no second pick once owned")
}

// Texts come from the owner too: {{owner.name}} is the assigned agent.
func TestOwnerNameInTexts(t *testing.T) {
	t.Parallel()
	owners := &fakeOwners{}
	env, ids := ownerEnv(t, owners)
	owners.setAgents(ids[1])
	def := liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, "")
	def.Steps = []engine.Step{{Name: "text", Type: engine.StepSMS, SMS: &engine.SMSStep{Text: "Hi {{contact.first_name}}, {{owner.first_name}} ({{owner.name}}) here."}}}
	cad := env.cadence(t, def)
	_, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID,
		Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York", FirstName: "Ada"}})
	require.NoError(t, err)
	_, err = env.eng.RunDue(env.ctx)
	require.NoError(t, err)
	require.Equal(t, []engine.SentMessage{{To: "+12125550100", Text: "Hi Ada, Bob (Bob Lee) here."}}, env.sms.Sent())
}

// Use existing: a contact that has an owner keeps it; without the toggle a
// new enrollment assigns the next agent.
func TestOwnerUseExisting(t *testing.T) {
	t.Parallel()
	for _, useExisting := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[useExisting], func(t *testing.T) {
			t.Parallel()
			owners := &fakeOwners{}
			env, ids := ownerEnv(t, owners)
			owners.setAgents(ids[0])
			def := liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, "")
			def.Owner = engine.OwnerPolicy{Assign: engine.OwnerRoundRobin, UseExisting: useExisting}
			cad := env.cadence(t, def)
			ct, err := env.eng.UpsertContact(env.ctx, engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"})
			require.NoError(t, err)
			_, _, err = env.store.SetContactOwner(env.ctx, ct.ID, ids[1], engine.OwnerReasonAPI, "", env.clock.Now())
			require.NoError(t, err)

			_, err = env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, ContactID: ct.ID})
			require.NoError(t, err)
			_, err = env.eng.RunDue(env.ctx)
			require.NoError(t, err)
			want, rr := ids[1], 0
			if !useExisting {
				want, rr = ids[0], 1
			}
			require.Equal(t, want, env.owner(t, ct.ID))
			require.Equal(t, rr, owners.rrCalls)
			require.Equal(t, want, env.dialer.Calls()[0].Owner)
		})
	}
}

// With no agent to pick at enrollment the contact stays unowned, and its
// next call or text tries again.
func TestOwnerRoundRobinRetriesAtTheNextAction(t *testing.T) {
	t.Parallel()
	owners := &fakeOwners{}
	env, ids := ownerEnv(t, owners)
	def := liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, "")
	def.Steps[0].Timing = engine.Timing{Delay: engine.Duration(time.Hour)}
	cad := env.cadence(t, def)
	start := env.clock.Now()
	en, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
	require.NoError(t, err)
	require.Empty(t, env.owner(t, en.ContactID), "nobody to assign")
	require.Equal(t, 1, owners.rrCalls)

	owners.setAgents(ids[1])
	require.NoError(t, env.eng.RunUntil(env.ctx, env.clock, start.Add(2*time.Hour)))
	require.Equal(t, ids[1], env.owner(t, en.ContactID))
	calls := env.dialer.Calls()
	require.Len(t, calls, 1)
	require.Equal(t, ids[1], calls[0].Owner, "the call goes out from the owner just assigned")
	changes, err := env.store.OwnerChanges(env.ctx, en.ContactID)
	require.NoError(t, err)
	require.Len(t, changes, 1)
	require.Equal(t, engine.OwnerReasonRoundRobin, changes[0].Reason)
}

// First to answer prompts the queue's agents with the contact and the
// first call's script; the owner is recorded later, by whoever takes the
// accept, so the engine neither assigns nor retries.
func TestOwnerFirstToAnswerPrompts(t *testing.T) {
	t.Parallel()
	owners := &fakeOwners{}
	env, ids := ownerEnv(t, owners)
	owners.setAgents(ids...)
	def := liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, "")
	def.Owner = engine.OwnerPolicy{Assign: engine.OwnerFirstToAnswer}
	cad := env.cadence(t, def)
	en, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID,
		Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York", FirstName: "Ada", LastName: "Lovelace"}})
	require.NoError(t, err)
	require.Equal(t, []ownerPrompt{{"sales", en.ContactID, cad.ID, "Ada Lovelace", "Hi Ada, 20% off (step 1)"}}, owners.prompts)
	_, err = env.eng.RunDue(env.ctx)
	require.NoError(t, err)
	require.Empty(t, env.owner(t, en.ContactID))
	require.Zero(t, owners.rrCalls)
	require.Len(t, env.dialer.Calls(), 1)
}

// Owner assignment is off without an assigner, and for cadences without a
// queue.
func TestOwnerAssignmentOff(t *testing.T) {
	t.Parallel()
	t.Run("no assigner", func(t *testing.T) {
		t.Parallel()
		env, _ := ownerEnv(t, nil)
		cad := env.cadence(t, liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, ""))
		en, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
		require.NoError(t, err)
		_, err = env.eng.RunDue(env.ctx)
		require.NoError(t, err)
		require.Empty(t, env.owner(t, en.ContactID))
	})
	t.Run("no queue", func(t *testing.T) {
		t.Parallel()
		owners := &fakeOwners{}
		env, ids := ownerEnv(t, owners)
		owners.setAgents(ids...)
		cad := env.cadence(t, liveDefinition("", engine.OnHuman{Action: engine.HumanConnect, Destination: "sip:desk@pbx.example.com"}, ""))
		en, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
		require.NoError(t, err)
		_, err = env.eng.RunDue(env.ctx)
		require.NoError(t, err)
		require.Empty(t, env.owner(t, en.ContactID))
		require.Zero(t, owners.rrCalls)
		require.Empty(t, owners.prompts)
	})
}

// First to answer, when nobody took the offer: the first agent a call of
// the contact reaches becomes its owner, recorded once; a call that reached
// no person (or no agent) makes nobody the owner.
func TestOwnerFirstToAnswerFromTheCall(t *testing.T) {
	t.Parallel()
	owners := &fakeOwners{}
	env, ids := ownerEnv(t, owners)
	env.dialer.outcomes = []dialer.Outcome{
		{Disposition: dialer.NoAnswer},
		{Disposition: dialer.Human, Agent: ids[1]},
		{Disposition: dialer.Human, Agent: ids[0]},
	}
	def := liveDefinition("sales", engine.OnHuman{Action: engine.HumanConnect}, "")
	def.Owner = engine.OwnerPolicy{Assign: engine.OwnerFirstToAnswer}
	def.Steps[0].Call.Retry = engine.Retry{Attempts: 2, MinGap: engine.Duration(time.Hour)}
	def.Harassment = engine.Harassment{Calls: &engine.Limit{Max: 10, Period: engine.Duration(24 * time.Hour)}}
	cad := env.cadence(t, def)
	start := env.clock.Now()
	en, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
	require.NoError(t, err)
	require.NoError(t, env.eng.RunUntil(env.ctx, env.clock, start.Add(30*time.Minute)))
	require.Empty(t, env.owner(t, en.ContactID), "a no-answer makes nobody the owner")
	require.NoError(t, env.eng.RunUntil(env.ctx, env.clock, start.Add(6*time.Hour)))
	require.Equal(t, ids[1], env.owner(t, en.ContactID))
	changes, err := env.store.OwnerChanges(env.ctx, en.ContactID)
	require.NoError(t, err)
	require.Len(t, changes, 1)
	require.Equal(t, engine.OwnerReasonFirstToAnswer, changes[0].Reason)
}
