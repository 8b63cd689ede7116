package engine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Position is where an enrollment stands in its cadence when an outcome
// arrives.
type Position struct {
	// Run is the 1-based run of the cadence (Runs.Total runs in all).
	Run int
	// Step is the 0-based index of the step whose action just finished.
	Step int
	// Attempt counts this step's attempts in this run, the one just
	// finished included (1 for the first attempt).
	Attempt int
	// RuleRetries counts retries already granted by each routing rule in this
	// step and run, keyed by RuleKey.
	RuleRetries map[string]int
	// RunStarted is when this run began (enrollment time for run 1); delays
	// "from enrollment" count from it.
	RunStarted time.Time
	// LastAttempt is when the attempt just finished started; retries keep
	// their minimum gap from it.
	LastAttempt time.Time
}

// DecisionKind is what routing decided.
type DecisionKind string

// Decisions.
const (
	// DecideSchedule: run Step (0-based) of Run, attempt Attempt, not before At.
	DecideSchedule DecisionKind = "schedule"
	// DecideStop: the enrollment ends (stop rule).
	DecideStop DecisionKind = "stop"
	// DecideComplete: the enrollment ends as converted.
	DecideComplete DecisionKind = "complete"
	// DecideDNC: the number goes on the do-not-call list; every enrollment of it stops.
	DecideDNC DecisionKind = "dnc"
	// DecideForward: the enrollment ends and the contact enrolls in Cadence.
	DecideForward DecisionKind = "forward"
	// DecideFinished: every run is done; After says what follows (idle, or
	// enroll into Cadence).
	DecideFinished DecisionKind = "finished"
)

// Decision is the routing result for one outcome.
type Decision struct {
	Kind DecisionKind
	// For DecideSchedule: the next action. At is the earliest instant by the
	// cadence's timing alone; the scheduler then moves it into the lawful
	// windows and past harassment limits.
	Run, Step, Attempt int
	At                 time.Time
	// RuleKey identifies the rule that granted a retry, so the caller can
	// count it in Position.RuleRetries.
	RuleKey string
	// Cadence is the target of forward, or of enroll after the last run.
	Cadence string
	// Reason explains the decision for the action log ("busy → retry in 4h
	// (1 of 2)", "no_answer → next step").
	Reason string
}

// retryableByStep lists the dispositions a call step's own Retry setting
// repeats when no rule says otherwise: the contact was not reached, through
// no fault of the number.
var retryableByStep = map[string]bool{"no_answer": true, "busy": true, "failed": true, "unknown": true, "abandoned": true}

// Route decides what follows an outcome. It is pure: the same definition,
// position, disposition, contact and time always give the same decision.
//
// Precedence: the step's own rules (first match), then the cadence-wide
// rules, then the call step's Retry setting for unreached outcomes, then the
// step's default, then "next". An "unknown" outcome (the call may have
// happened, e.g. a node died) routes like "no_answer" unless a rule names
// "unknown" itself.
func Route(def Definition, pos Position, disposition string, contact Fields, now time.Time) Decision {
	if pos.Step < 0 || pos.Step >= len(def.Steps) {
		return Decision{Kind: DecideStop, Reason: fmt.Sprintf("step %d no longer exists in this version", pos.Step+1)}
	}
	step := def.Steps[pos.Step]
	lookup := []string{disposition}
	if disposition == "unknown" {
		lookup = append(lookup, "no_answer")
	}
	for _, d := range lookup {
		for i, r := range step.Routing {
			if r.Disposition == d && matchAll(r.When, contact) {
				key := fmt.Sprintf("step%d.rule%d", pos.Step, i)
				if dec, ok := applyAction(def, pos, r.Action, key, disposition, now); ok {
					return dec
				}
				goto fallback // a retry rule that is used up falls to the default
			}
		}
		for i, r := range def.Routing {
			if r.Disposition == d && matchAll(r.When, contact) {
				key := fmt.Sprintf("cadence.rule%d", i)
				if dec, ok := applyAction(def, pos, r.Action, key, disposition, now); ok {
					return dec
				}
				goto fallback
			}
		}
	}
	if step.Call != nil && retryableByStep[disposition] && pos.Attempt <= step.Call.Retry.Attempts {
		at := maxTime(now, pos.LastAttempt.Add(step.Call.Retry.MinGap.D()))
		return Decision{Kind: DecideSchedule, Run: pos.Run, Step: pos.Step, Attempt: pos.Attempt + 1, At: at,
			Reason: fmt.Sprintf("%s → step retry %d of %d", disposition, pos.Attempt, step.Call.Retry.Attempts)}
	}
fallback:
	if step.Default != nil {
		if dec, ok := applyAction(def, pos, *step.Default, fmt.Sprintf("step%d.default", pos.Step), disposition, now); ok {
			return dec
		}
	}
	return next(def, pos, disposition+" → next step", now)
}

// applyAction turns one action into a decision; ok is false for a retry
// rule whose retries are used up.
func applyAction(def Definition, pos Position, a Action, key, disposition string, now time.Time) (Decision, bool) {
	switch a.Type {
	case ActionRetry:
		used := pos.RuleRetries[key]
		if used >= a.MaxTimes {
			return Decision{}, false
		}
		at := now.Add(a.After.D())
		if step := def.Steps[pos.Step]; step.Call != nil {
			at = maxTime(at, pos.LastAttempt.Add(step.Call.Retry.MinGap.D()))
		}
		return Decision{Kind: DecideSchedule, Run: pos.Run, Step: pos.Step, Attempt: pos.Attempt + 1, At: at, RuleKey: key,
			Reason: fmt.Sprintf("%s → retry in %s (%d of %d)", disposition, a.After, used+1, a.MaxTimes)}, true
	case ActionNext:
		return next(def, pos, disposition+" → next step", now), true
	case ActionGoto:
		target := a.Step - 1
		if target < 0 || target >= len(def.Steps) {
			return Decision{Kind: DecideStop, Reason: fmt.Sprintf("%s → goto step %d, which does not exist", disposition, a.Step)}, true
		}
		return Decision{Kind: DecideSchedule, Run: pos.Run, Step: target, Attempt: 1, At: stepDue(def, target, pos, now),
			Reason: fmt.Sprintf("%s → go to step %d", disposition, a.Step)}, true
	case ActionStop:
		return Decision{Kind: DecideStop, Reason: disposition + " → stop"}, true
	case ActionComplete:
		return Decision{Kind: DecideComplete, Reason: disposition + " → complete (converted)"}, true
	case ActionDNC:
		return Decision{Kind: DecideDNC, Reason: disposition + " → do not call"}, true
	case ActionForward:
		return Decision{Kind: DecideForward, Cadence: a.Cadence, Reason: fmt.Sprintf("%s → forward to cadence %s", disposition, a.Cadence)}, true
	}
	return Decision{Kind: DecideStop, Reason: fmt.Sprintf("%s → unknown action %q", disposition, a.Type)}, true
}

// next moves to the following step, or to the next run, or finishes.
func next(def Definition, pos Position, reason string, now time.Time) Decision {
	if pos.Step+1 < len(def.Steps) {
		return Decision{Kind: DecideSchedule, Run: pos.Run, Step: pos.Step + 1, Attempt: 1, At: stepDue(def, pos.Step+1, pos, now), Reason: reason}
	}
	total := max(def.Runs.Total, 1)
	if pos.Run < total {
		restart := now.Add(def.Runs.RestartDelay.D())
		nextRun := Position{Run: pos.Run + 1, RunStarted: restart}
		return Decision{Kind: DecideSchedule, Run: pos.Run + 1, Step: 0, Attempt: 1, At: stepDue(def, 0, nextRun, restart),
			Reason: fmt.Sprintf("%s; run %d of %d done, restarting", reason, pos.Run, total)}
	}
	d := Decision{Kind: DecideFinished, Reason: fmt.Sprintf("%s; all %d runs done", reason, total)}
	if def.Runs.After.Action == AfterEnroll {
		d.Cadence = def.Runs.After.Cadence
		d.Reason += ", enrolling into cadence " + d.Cadence
	}
	return d
}

// stepDue is when step i becomes due: its delay after the previous step
// (now), or after the run's start for "from enrollment" timing.
func stepDue(def Definition, i int, pos Position, now time.Time) time.Time {
	t := def.Steps[i].Timing
	if t.From == FromEnrollment && !pos.RunStarted.IsZero() {
		return maxTime(now, pos.RunStarted.Add(t.Delay.D()))
	}
	return now.Add(t.Delay.D())
}

// FirstDue is when an enrollment's first action is due.
func FirstDue(def Definition, enrolledAt time.Time) time.Time {
	if len(def.Steps) == 0 {
		return enrolledAt
	}
	return enrolledAt.Add(def.Steps[0].Timing.Delay.D())
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Fields looks up a contact field for routing conditions: "state",
// "timezone", "zip", "owner", "first_name", "last_name", "phone" or
// "fields.NAME". ok is false when the contact has no such value.
type Fields func(name string) (value string, ok bool)

// MapFields adapts a map to Fields.
func MapFields(m map[string]string) Fields {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok && v != ""
	}
}

func matchAll(cs []Condition, f Fields) bool {
	for _, c := range cs {
		if !c.Matches(f) {
			return false
		}
	}
	return true
}

// Matches reports whether the contact satisfies the condition. Comparisons
// ignore case; gt and lt compare numbers when both sides are numbers, else
// strings.
func (c Condition) Matches(f Fields) bool {
	if f == nil {
		f = func(string) (string, bool) { return "", false }
	}
	v, ok := f(c.Field)
	switch c.Op {
	case OpExists:
		return ok
	case OpEq:
		return ok && strings.EqualFold(v, c.Value)
	case OpNe:
		return !ok || !strings.EqualFold(v, c.Value)
	case OpIn:
		if !ok {
			return false
		}
		for _, w := range strings.Split(c.Value, ",") {
			if strings.EqualFold(strings.TrimSpace(w), v) {
				return true
			}
		}
		return false
	case OpContains:
		return ok && strings.Contains(strings.ToLower(v), strings.ToLower(c.Value))
	case OpGt, OpLt:
		if !ok {
			return false
		}
		cmp := compare(v, c.Value)
		if c.Op == OpGt {
			return cmp > 0
		}
		return cmp < 0
	}
	return false
}

func compare(a, b string) int {
	fa, ea := strconv.ParseFloat(strings.TrimSpace(a), 64)
	fb, eb := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if ea == nil && eb == nil {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}
