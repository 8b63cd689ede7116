package main

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
)

// demoTally collects the engine's events and the dialer's outcomes for the
// live view and the summary. Safe for concurrent use.
type demoTally struct {
	mu       sync.Mutex
	enrolled int
	refused  map[string]int // enrollment refused, by reason
	finished int            // enrollments completed or stopped
	disp     map[string]int // call dispositions
	blocks   map[string]int // blocks by code
	sms      int
	events   []engine.Event
	contacts map[string]*demoContactStats // by contact ID
	agent    []string                     // human attempts waiting for the simulated agent
	last     string                       // the latest event, for the live view
	// Dialer side: outcomes by call ID (the engine's action ID).
	outcomes map[string]dialer.Outcome
	dialing  int
}

// demoContactStats follows one contact through the demo.
type demoContactStats struct {
	phone    string
	attempts int // calls placed
	// reachedAt is the number of attempts it took to reach a person; 0
	// while nobody answered.
	reachedAt int
	converted bool
}

func newDemoTally() *demoTally {
	return &demoTally{refused: map[string]int{}, disp: map[string]int{}, blocks: map[string]int{},
		contacts: map[string]*demoContactStats{}, outcomes: map[string]dialer.Outcome{}}
}

func (t *demoTally) contact(ev engine.Event) *demoContactStats {
	c := t.contacts[ev.ContactID]
	if c == nil {
		c = &demoContactStats{phone: ev.Phone}
		t.contacts[ev.ContactID] = c
	}
	return c
}

// onEvent records one engine event.
func (t *demoTally) onEvent(ev engine.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, ev)
	t.last = formatDemoEvent(ev)
	switch ev.Type {
	case engine.EventEnrolled:
		t.enrolled++
		t.contact(ev)
	case engine.EventCompleted, engine.EventStopped:
		if ev.Enrollment != "" {
			t.finished++
		}
	case engine.EventBlocked:
		t.blocks[ev.Code]++
	case engine.EventSMS:
		if ev.Disposition == engine.SMSSent {
			t.sms++
		}
	case engine.EventCall:
		if ev.Code == "agent" {
			return // the simulated agent's disposition, counted where it is posted
		}
		t.disp[ev.Disposition]++
		c := t.contact(ev)
		if o, ok := t.outcomes[ev.ActionID]; ok && o.Placed() {
			c.attempts++
		}
		if ev.Disposition == string(dialer.Human) {
			if c.reachedAt == 0 {
				c.reachedAt = c.attempts
			}
			t.agent = append(t.agent, ev.ActionID)
		}
	}
}

// refuse records an enrollment the engine refused (do-not-call…).
func (t *demoTally) refuse(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refused[reason]++
}

// dialStarted and dialEnded follow the calls on the wire.
func (t *demoTally) dialStarted() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dialing++
}

func (t *demoTally) dialEnded(callID string, o dialer.Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dialing--
	t.outcomes[callID] = o
}

// takeAgentWork hands the human attempts waiting for the simulated agent.
func (t *demoTally) takeAgentWork() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.agent
	t.agent = nil
	return w
}

// converted marks the contact of an attempt as converted.
func (t *demoTally) converted(actionID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ev := range t.events {
		if ev.ActionID == actionID && ev.Type == engine.EventCall {
			t.contact(ev).converted = true
			return
		}
	}
}

// demoSnapshot is what the live view draws.
type demoSnapshot struct {
	enrolled, finished, dialing, placed, sms int
	disp, blocks                             map[string]int
	last                                     string
}

func (t *demoTally) snapshot() demoSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := demoSnapshot{enrolled: t.enrolled, finished: t.finished, dialing: t.dialing, sms: t.sms, last: t.last,
		disp: map[string]int{}, blocks: map[string]int{}}
	for k, v := range t.disp {
		s.disp[k] = v
	}
	for k, v := range t.blocks {
		s.blocks[k] = v
	}
	for _, o := range t.outcomes {
		if o.Placed() {
			s.placed++
		}
	}
	return s
}

// demoAgent stands in for the sales agents: every call a person answered
// gets an agent disposition, in a fixed rotation, so that the conversion
// numbers and the agent-disposition routing have something to show.
type demoAgent struct {
	codes []string
	n     int
}

func newDemoAgent() *demoAgent {
	return &demoAgent{codes: []string{"interested", "converted", "not_interested", "callback", "converted"}}
}

// work posts the dispositions of the waiting human attempts.
func (a *demoAgent) work(ctx context.Context, eng *engine.Engine, tally *demoTally, now func() time.Time) error {
	conv := map[string]bool{}
	for _, d := range eng.Catalog() {
		conv[d.Code] = d.Conversion
	}
	for _, id := range tally.takeAgentWork() {
		code := a.codes[a.n%len(a.codes)]
		a.n++
		if err := eng.PostDisposition(ctx, id, code, now()); err != nil {
			return err
		}
		if conv[code] {
			tally.converted(id)
		}
	}
	return nil
}

// sortedCounts renders counts in descending order, then by name.
func sortedCounts(m map[string]int) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		if v > 0 {
			out = append(out, kv{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].v != out[j].v {
			return out[i].v > out[j].v
		}
		return out[i].k < out[j].k
	})
	return out
}

type kv struct {
	k string
	v int
}
