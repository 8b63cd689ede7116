package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine/compliance"
)

// Dialer places one call and reports its outcome; *dialer.Dialer is one.
type Dialer interface {
	Dial(ctx context.Context, c dialer.Call) dialer.Outcome
}

// Messenger sends one text message.
type Messenger interface {
	Send(ctx context.Context, to, text string) error
}

// Waker delivers wake-ups from other nodes: an action became due now
// somewhere (engine/postgres: LISTEN/NOTIFY). Listen blocks until ctx ends,
// calling wake for each.
type Waker interface {
	Listen(ctx context.Context, wake func()) error
}

// Errors of the engine's operations (besides the store's).
var (
	// ErrNotActive: the cadence does not enroll (draft, inactive, archived).
	ErrNotActive = errors.New("cadence is not active")
	// ErrDoNotCall: the number is on the do-not-call list.
	ErrDoNotCall = errors.New("number is on the do-not-call list")
)

// SMS dispositions: the engine's own vocabulary for text steps.
const (
	SMSSent   = "sent"
	SMSFailed = "failed"
)

// EventType classifies an Event.
type EventType string

// Event types: one per action outcome, block and enrollment change.
const (
	EventCall      EventType = "call"
	EventSMS       EventType = "sms"
	EventBlocked   EventType = "blocked"
	EventEnrolled  EventType = "enrolled"
	EventCompleted EventType = "completed"
	EventStopped   EventType = "stopped"
)

// Event is one line of the action log: what the engine did, when, to whom.
// The dry run prints them; tests assert on them.
type Event struct {
	At time.Time `json:"at"`
	// Local is At in the contact's (first candidate) zone; zero when unknown.
	Local      time.Time `json:"local,omitzero"`
	Type       EventType `json:"type"`
	Phone      string    `json:"phone"`
	ContactID  string    `json:"contact"`
	Enrollment string    `json:"enrollment"`
	Cadence    string    `json:"cadence"`
	ActionID   string    `json:"action,omitempty"`
	// Step is 1-based; 0 when the event is not about a step.
	Step    int `json:"step,omitempty"`
	Attempt int `json:"attempt,omitempty"`
	Run     int `json:"run,omitempty"`
	// Disposition is the outcome of a call or SMS, or an agent's code.
	Disposition string `json:"disposition,omitempty"`
	Code        string `json:"code,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// Next is when a blocked action may run, or when the next action is due.
	Next time.Time `json:"next,omitzero"`
}

// AgentDisposition is one code agents may post on an attempt.
type AgentDisposition struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	// Contact: the attempt reached the person.
	Contact bool `json:"contact"`
	// Conversion: the attempt achieved the cadence's goal.
	Conversion bool `json:"conversion"`
}

// DefaultCatalog is the agent disposition catalog used when none is
// configured; it carries the codes the example cadences route on.
func DefaultCatalog() []AgentDisposition {
	return []AgentDisposition{
		{Code: "interested", Label: "Interested", Contact: true},
		{Code: "not_interested", Label: "Not interested", Contact: true},
		{Code: "callback", Label: "Call back later", Contact: true},
		{Code: "converted", Label: "Converted", Contact: true, Conversion: true},
		{Code: "appointment_set", Label: "Appointment set", Contact: true, Conversion: true},
		{Code: "do_not_call", Label: "Do not call", Contact: true},
		{Code: "wrong_number", Label: "Wrong number"},
	}
}

// Options configure an Engine. Store is required; everything else has a
// default.
type Options struct {
	Store     ScheduleStore
	Dialer    Dialer
	Messenger Messenger
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Rules are the legal windows and state caps; compliance.DefaultRules when nil.
	Rules *compliance.Rules
	// Locator resolves contact zones; compliance.DefaultLocator when nil.
	Locator *compliance.Locator
	// BusinessZone reads cadence hours of cadences that name no zone;
	// America/New_York when nil.
	BusinessZone *time.Location
	// BusinessLimits are the business-wide harassment limits, which hold
	// for every cadence.
	BusinessLimits []compliance.Limit
	// Catalog is the agent disposition catalog; DefaultCatalog when empty.
	Catalog []AgentDisposition
	// Owner names this node in leases; "engine" when empty.
	Owner string
	// Lease is how long a claim lasts; it must outlast the longest call.
	// 10 minutes when 0.
	Lease time.Duration
	// BatchSize caps one claim; 50 when 0.
	BatchSize int
	// Concurrency caps the actions in flight at once; 8 when 0.
	Concurrency int
	// Trunk is the trunk calls go out on.
	Trunk string
	// HistoryWindow is how far back attempts are counted for limits; at
	// least the longest limit period, 31 days when 0.
	HistoryWindow time.Duration
	// OnEvent receives every event, synchronously; keep it fast.
	OnEvent func(Event)
	// Waker, when set, wakes this node's scheduler when another node
	// schedules an action due now; the poll remains the fallback.
	Waker Waker
	// Owners, when set, assigns contact owners on enrollment into a
	// cadence with a queue (owner.go); nil leaves owners as they are.
	Owners OwnerAssigner
	// SafeHarborAsset names the audio asset played when a person answers
	// a call that connects to an agent and none can take it within 2 s:
	// the recorded message the law requires on an abandoned call (seller,
	// callback number, how to opt out). Empty: hang up without one.
	SafeHarborAsset string
}

// Engine runs cadences: it enrolls contacts, plans every action at a lawful
// instant, claims due actions, hands them to the dialer or messenger and
// routes their outcomes. It is safe for concurrent use; several engines
// (nodes) may share one store.
type Engine struct {
	store  ScheduleStore
	dialer Dialer
	sms    Messenger
	// safeHarbor is Options.SafeHarborAsset.
	safeHarbor string
	now        func() time.Time
	log        *slog.Logger
	planner    Planner
	catalog    map[string]AgentDisposition
	catList    []AgentDisposition
	owner      string
	lease      time.Duration
	batch      int
	conc       int
	trunk      string
	history    time.Duration
	onEvent    func(Event)
	eventsMu   sync.Mutex
	// wake tells this node's scheduler that an action became due now
	// (an enrollment, a retry at once), so it need not wait for its poll.
	wake  chan struct{}
	waker Waker
	// owners assigns contact owners; agents records them (the store, when
	// it keeps agents).
	owners OwnerAssigner
	agents AgentStore
}

// New builds an engine.
func New(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("engine: store: required")
	}
	e := &Engine{store: o.Store, dialer: o.Dialer, sms: o.Messenger, now: o.Now, log: o.Logger, owner: o.Owner,
		lease: o.Lease, batch: o.BatchSize, conc: o.Concurrency, trunk: o.Trunk, history: o.HistoryWindow, onEvent: o.OnEvent,
		wake: make(chan struct{}, 1), waker: o.Waker, owners: o.Owners, safeHarbor: o.SafeHarborAsset}
	e.agents, _ = o.Store.(AgentStore)
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.log = e.log.With("component", "engine")
	if e.owner == "" {
		e.owner = "engine"
	}
	if e.lease <= 0 {
		e.lease = 10 * time.Minute
	}
	if e.batch <= 0 {
		e.batch = 50
	}
	if e.conc <= 0 {
		e.conc = 8
	}
	if e.history <= 0 {
		e.history = 31 * 24 * time.Hour
	}
	for i, l := range o.BusinessLimits {
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("engine: business_limits[%d].%w", i, err)
		}
		e.history = max(e.history, l.Period)
	}
	p := Planner{Rules: o.Rules, Locator: o.Locator, BusinessZone: o.BusinessZone, BusinessLimits: o.BusinessLimits}
	var err error
	if p.Rules == nil {
		if p.Rules, err = compliance.DefaultRules(); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	if p.Locator == nil {
		if p.Locator, err = compliance.DefaultLocator(); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	if p.BusinessZone == nil {
		if p.BusinessZone, err = time.LoadLocation("America/New_York"); err != nil {
			return nil, fmt.Errorf("engine: business zone: %w", err)
		}
	}
	e.planner = p
	cat := o.Catalog
	if len(cat) == 0 {
		cat = DefaultCatalog()
	}
	e.catalog = map[string]AgentDisposition{}
	for i, d := range cat {
		if d.Code == "" {
			return nil, fmt.Errorf("engine: catalog[%d].code: required", i)
		}
		if dialer.Disposition(d.Code).Valid() {
			return nil, fmt.Errorf("engine: catalog[%d].code: %q is a system disposition", i, d.Code)
		}
		if _, dup := e.catalog[d.Code]; dup {
			return nil, fmt.Errorf("engine: catalog[%d].code: %q appears twice", i, d.Code)
		}
		e.catalog[d.Code] = d
		e.catList = append(e.catList, d)
	}
	return e, nil
}

// Planner returns the engine's pure planner (windows, zones, limits).
func (e *Engine) Planner() Planner { return e.planner }

// Catalog returns the agent disposition catalog, in its configured order.
func (e *Engine) Catalog() []AgentDisposition { return slices.Clone(e.catList) }

// dueNow wakes the scheduler when an action was just scheduled at or
// before now.
func (e *Engine) dueNow(at time.Time) {
	if at.After(e.now()) {
		return
	}
	e.poke()
}

// Wake makes the scheduler look for due actions now rather than at its
// next poll: for a caller that knows actions became due without a write
// the engine saw, such as a simulated clock that jumped forward.
func (e *Engine) Wake() { e.poke() }

// poke wakes the scheduler without blocking.
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// emit hands an event to the observer, one at a time so the observer need
// not lock.
func (e *Engine) emit(ev Event) {
	if e.onEvent == nil {
		return
	}
	e.eventsMu.Lock()
	defer e.eventsMu.Unlock()
	e.onEvent(ev)
}

// event fills the contact and enrollment parts of an event.
func (e *Engine) event(typ EventType, at time.Time, c Contact, en Enrollment) Event {
	ev := Event{At: at.UTC(), Type: typ, Phone: c.Phone, ContactID: c.ID, Enrollment: en.ID, Cadence: en.CadenceID}
	if loc, err := e.planner.Locate(c); err == nil && len(loc.Zones) > 0 {
		ev.Local = at.In(loc.Zones[0])
	}
	return ev
}

// SimClock is a settable clock for simulations and tests.
type SimClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewSimClock starts a simulated clock at t.
func NewSimClock(t time.Time) *SimClock { return &SimClock{t: t} }

// Now reads the clock.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t; it never goes back.
func (c *SimClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// Advance moves the clock forward by d.
func (c *SimClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
