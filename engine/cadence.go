// Package engine holds the cadence model and everything that turns it into calls
// and messages at lawful moments: definitions and their versions, templates,
// import/export, enrollments, the durable scheduler, time windows, harassment
// limits, do-not-call, disposition routing and analytics. It owns the Store
// interface that its drivers (engine/postgres, engine/sqlite) implement, and it
// never imports a telephony driver: the dialer is reached through a small
// consumer interface.
package engine

import (
	"strings"
	"time"
)

// Status is the lifecycle state of a cadence. Only active cadences enroll
// contacts and run actions.
type Status string

// The cadence statuses of seed 000 ("Active, Draft, or Archived") plus the
// inactive toggle of seed 001.
const (
	StatusDraft    Status = "draft"
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
	StatusArchived Status = "archived"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusDraft, StatusActive, StatusInactive, StatusArchived:
		return true
	}
	return false
}

// Cadence is a stored cadence: its identity, lifecycle and the definition of
// its current version. Every save of the definition creates a new immutable
// version; enrollments pin the version they started on.
type Cadence struct {
	ID        string    `json:"id"`
	Status    Status    `json:"status"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Definition
}

// Definition is the editable part of a cadence: what export writes and import
// reads. Field order here is the order of the exported JSON document.
type Definition struct {
	// Name titles the cadence; required, at most 200 characters.
	Name string `json:"name"`
	// Description adds context for internal users.
	Description string `json:"description,omitempty"`
	// TimeZone is the business IANA time zone that CadenceHours are read in;
	// empty means the server's configured business zone.
	TimeZone string `json:"time_zone,omitempty"`
	// CadenceHours limits when the cadence runs, in the business zone
	// (seed 001 "Cadence Hours", seed 000 "Time Restrictions"). Empty: any time.
	CadenceHours []Window `json:"cadence_hours,omitempty"`
	// TargetHours limits when a contact is called or texted, in the contact's
	// own zone (seed 001 "Target Hours"). Empty: any time. The legal calling
	// window applies in addition, always.
	TargetHours []Window `json:"target_hours,omitempty"`
	// Runs says how many times the whole sequence runs and what follows.
	Runs Runs `json:"runs"`
	// AllowReenrollment lets a contact that already went through the cadence
	// be enrolled again (seed 001).
	AllowReenrollment bool `json:"allow_reenrollment"`
	// Queue names the queue whose agents work the cadence (seed 001); empty
	// for agentless cadences.
	Queue string `json:"queue,omitempty"`
	// Owner says how the contact owner is assigned (seed 001).
	Owner OwnerPolicy `json:"owner"`
	// Harassment limits calls and texts per contact (seed 001).
	Harassment Harassment `json:"harassment"`
	// Steps are the ordered actions; at least one, no hard upper limit.
	Steps []Step `json:"steps"`
	// Routing holds cadence-wide disposition rules (seed 001's "Dispositions"
	// section: stop or forward on an agent disposition). They apply after the
	// current step's own rules and before its default.
	Routing []Rule `json:"routing,omitempty"`
}

// Weekday names used in windows.
const (
	Mon = "mon"
	Tue = "tue"
	Wed = "wed"
	Thu = "thu"
	Fri = "fri"
	Sat = "sat"
	Sun = "sun"
)

// Window is a weekly time window: on each of Days, from Start (inclusive) to
// End (exclusive), local wall-clock times "HH:MM". End "24:00" means midnight
// at the end of the day. A window never crosses midnight; use two windows.
type Window struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
}

// Runs is seed 000's "Cadence Runs & Transitions" and "After Completing All
// Runs".
type Runs struct {
	// Total is how many times the steps run; at least 1.
	Total int `json:"total"`
	// RestartDelay is the wait between the end of one run and the next.
	RestartDelay Duration `json:"restart_delay,omitempty"`
	// After says what happens once every run is done.
	After AfterRuns `json:"after"`
}

// AfterRunsAction is what happens to an enrollment after its last run.
type AfterRunsAction string

// After all runs: stay idle, or enroll into another cadence.
const (
	AfterIdle   AfterRunsAction = "idle"
	AfterEnroll AfterRunsAction = "enroll"
)

// AfterRuns is the transition after the last run.
type AfterRuns struct {
	Action AfterRunsAction `json:"action"`
	// Cadence is the ID of the cadence to enroll into when Action is "enroll".
	Cadence string `json:"cadence,omitempty"`
}

// OwnerAssign is how the contact owner is chosen (seed 001).
type OwnerAssign string

// Owner assignment modes.
const (
	OwnerRoundRobin    OwnerAssign = "round_robin"
	OwnerFirstToAnswer OwnerAssign = "first_to_answer"
)

// OwnerPolicy is seed 001's "Assign Contact Owner" and "Use Contact Owner".
type OwnerPolicy struct {
	Assign OwnerAssign `json:"assign"`
	// UseExisting keeps the contact's existing owner, overriding Assign.
	UseExisting bool `json:"use_existing"`
}

// Harassment is a cadence's harassment rules (seed 001).
type Harassment struct {
	// UseBusiness applies the business-wide rules from the server config;
	// Calls and SMS must then be empty.
	UseBusiness bool `json:"use_business"`
	// Calls caps calls to one contact per rolling period.
	Calls *Limit `json:"calls,omitempty"`
	// SMS caps text messages to one contact per rolling period.
	SMS *Limit `json:"sms,omitempty"`
}

// Limit is "at most Max in any rolling Period".
type Limit struct {
	Max    int      `json:"max"`
	Period Duration `json:"period"`
}

// StepType is the channel of a step.
type StepType string

// Step types.
const (
	StepCall StepType = "call"
	StepSMS  StepType = "sms"
)

// TimingFrom is what a step's delay counts from.
type TimingFrom string

// Seed 000 counts the delay after the previous step; seed 001 counts "After"
// from enrollment.
const (
	FromPrevious   TimingFrom = "previous_step"
	FromEnrollment TimingFrom = "enrollment"
)

// Step is one action of a cadence.
type Step struct {
	// Name labels the step (e.g. "Call Step 1").
	Name string `json:"name"`
	// Type is call or sms; exactly the matching one of Call and SMS is set.
	Type StepType `json:"type"`
	// Timing says when the step is due.
	Timing Timing `json:"timing"`
	// Call configures a call step.
	Call *CallStep `json:"call,omitempty"`
	// SMS configures a text-message step.
	SMS *SMSStep `json:"sms,omitempty"`
	// Routing maps dispositions to actions, first match wins.
	Routing []Rule `json:"routing,omitempty"`
	// Default is the action when no rule matches; absent means "next".
	Default *Action `json:"default,omitempty"`
}

// Timing is when a step becomes due.
type Timing struct {
	Delay Duration   `json:"delay"`
	From  TimingFrom `json:"from"`
}

// CallerIDStrategy chooses the presented number from a pool.
type CallerIDStrategy string

// Caller-ID strategies.
const (
	CallerIDRandom        CallerIDStrategy = "random"
	CallerIDRotating      CallerIDStrategy = "rotating"
	CallerIDLocalPresence CallerIDStrategy = "local_presence"
	CallerIDSticky        CallerIDStrategy = "sticky"
	CallerIDFixed         CallerIDStrategy = "fixed"
)

// CallerID is a call step's caller-ID choice.
type CallerID struct {
	Strategy CallerIDStrategy `json:"strategy"`
	// Pool names a configured caller-ID pool; required except for fixed.
	Pool string `json:"pool,omitempty"`
	// Number is the E.164 number for the fixed strategy.
	Number string `json:"number,omitempty"`
}

// Voicemail is seed 000's "Leave Voicemail If Detected".
type Voicemail struct {
	Enabled bool `json:"enabled"`
	// Asset is the ID or name of an uploaded audio asset to play after the
	// beep; required when Enabled.
	Asset string `json:"asset,omitempty"`
}

// Retry is seed 001's call retry: how many more attempts, and the minimum gap
// between attempts.
type Retry struct {
	Attempts int      `json:"attempts"`
	MinGap   Duration `json:"min_gap,omitempty"`
}

// HumanAction is what a call does when a human answers.
type HumanAction string

// On a human answer: connect to a destination (agent, queue, AI endpoint), or
// play a message and hang up.
const (
	HumanConnect HumanAction = "connect"
	HumanMessage HumanAction = "message"
)

// OnHuman configures the human-answer branch of a call step.
type OnHuman struct {
	Action HumanAction `json:"action"`
	// Destination is a SIP URI, "queue:NAME" or an Asterisk endpoint for connect.
	Destination string `json:"destination,omitempty"`
	// Asset is the audio asset played for message.
	Asset string `json:"asset,omitempty"`
}

// CallStep configures a call.
type CallStep struct {
	// Script is shown to the agent or AI; {{contact.first_name}}-style
	// variables are filled in per contact.
	Script string `json:"script,omitempty"`
	// Variables are extra values for the script, used as {{name}} (seed 000's
	// "dynamic variables").
	Variables map[string]string `json:"variables,omitempty"`
	CallerID  CallerID          `json:"caller_id"`
	Voicemail Voicemail         `json:"voicemail"`
	Retry     Retry             `json:"retry"`
	// RingTimeout is how long the call rings before it is a no-answer; the
	// law wants at least 15 s, which is the floor and the default.
	RingTimeout Duration `json:"ring_timeout,omitempty"`
	// AMDProfile names an answering-machine detection profile
	// (human_first, balanced, voicemail_drop); empty means balanced.
	AMDProfile string `json:"amd_profile,omitempty"`
	// DialMode says how the call waits for agents (issue 8); empty means
	// progressive when a human is connected to a queue, agentless
	// otherwise (see ResolvedDialMode).
	DialMode DialMode `json:"dial_mode,omitempty"`
	OnHuman  OnHuman  `json:"on_human"`
}

// DialMode is how a call step uses the agents of its queue.
type DialMode string

// Dial modes: agentless calls need no agent (a voicemail drop, a message,
// an AI or IVR endpoint; a connect to a queue takes whoever is free, or
// the safe-harbor message); preview lets an agent accept the contact
// before the call is placed; progressive places a call only with an agent
// reserved for it (1:1); predictive places more calls than free agents,
// paced by the answer rate and the abandonment budget.
const (
	DialAgentless   DialMode = "agentless"
	DialPreview     DialMode = "preview"
	DialProgressive DialMode = "progressive"
	DialPredictive  DialMode = "predictive"
)

// Valid reports whether m is a known dial mode ("" is not one).
func (m DialMode) Valid() bool {
	switch m {
	case DialAgentless, DialPreview, DialProgressive, DialPredictive:
		return true
	}
	return false
}

// AgentGated reports whether a call in mode m waits for an agent of its
// queue: preview, progressive and predictive.
func (m DialMode) AgentGated() bool {
	return m == DialPreview || m == DialProgressive || m == DialPredictive
}

// ConnectQueue is the queue whose agents take a human who answers this
// call: NAME of an on_human "queue:NAME" destination, or the cadence's
// queue when the destination is empty; "" when the human is not connected
// to a queue (a message, a SIP URI, an endpoint).
func (c *CallStep) ConnectQueue(cadenceQueue string) string {
	if c.OnHuman.Action != "" && c.OnHuman.Action != HumanConnect {
		return ""
	}
	if name, ok := strings.CutPrefix(c.ConnectDestination(cadenceQueue), "queue:"); ok {
		return name
	}
	return ""
}

// ResolvedDialMode is the step's dial mode with the default filled in:
// progressive when a human is connected to a queue, agentless otherwise.
func (c *CallStep) ResolvedDialMode(cadenceQueue string) DialMode {
	switch {
	case c.DialMode != "":
		return c.DialMode
	case c.ConnectQueue(cadenceQueue) != "":
		return DialProgressive
	}
	return DialAgentless
}

// SMSStep configures a text message.
type SMSStep struct {
	// Template names a stored SMS template.
	Template string `json:"template,omitempty"`
	// Customize replaces the template's text with Text.
	Customize bool `json:"customize,omitempty"`
	// Text is the message, with {{contact.first_name}}-style variables;
	// required when there is no template or Customize is on.
	Text string `json:"text,omitempty"`
	// Variables are extra values for the template.
	Variables map[string]string `json:"variables,omitempty"`
}

// ActionType is what routing does after an outcome.
type ActionType string

// Routing actions.
const (
	ActionRetry    ActionType = "retry"
	ActionNext     ActionType = "next"
	ActionGoto     ActionType = "goto"
	ActionStop     ActionType = "stop"
	ActionForward  ActionType = "forward"
	ActionDNC      ActionType = "dnc"
	ActionComplete ActionType = "complete"
)

// Action is the effect of a routing rule.
type Action struct {
	Type ActionType `json:"type"`
	// After is the wait before a retry.
	After Duration `json:"after,omitempty"`
	// MaxTimes caps retries by this rule; after that the step's default applies.
	MaxTimes int `json:"max_times,omitempty"`
	// Step is the 1-based step number for goto.
	Step int `json:"step,omitempty"`
	// Cadence is the ID of the cadence to forward to.
	Cadence string `json:"cadence,omitempty"`
}

// Rule routes one disposition, optionally only when the contact matches every
// condition (seed 000's "Advanced" conditional routing).
type Rule struct {
	// Disposition is a system disposition (busy, no_answer, …) or an agent
	// disposition code from the catalog.
	Disposition string      `json:"disposition"`
	When        []Condition `json:"when,omitempty"`
	Action      Action      `json:"action"`
}

// ConditionOp compares a contact field with a value.
type ConditionOp string

// Condition operators.
const (
	OpEq       ConditionOp = "eq"
	OpNe       ConditionOp = "ne"
	OpIn       ConditionOp = "in"
	OpContains ConditionOp = "contains"
	OpExists   ConditionOp = "exists"
	OpGt       ConditionOp = "gt"
	OpLt       ConditionOp = "lt"
)

// Condition tests a contact field: "state", "timezone", "zip", "owner",
// "first_name", "last_name", "phone" or "fields.NAME".
type Condition struct {
	Field string      `json:"field"`
	Op    ConditionOp `json:"op"`
	// Value is the operand; a comma-separated list for "in"; unused by "exists".
	Value string `json:"value,omitempty"`
}
