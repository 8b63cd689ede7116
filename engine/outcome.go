package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// contactFields exposes a contact to routing conditions.
func contactFields(c Contact) Fields {
	return func(name string) (string, bool) {
		var v string
		switch name {
		case "phone":
			v = c.Phone
		case "first_name":
			v = c.FirstName
		case "last_name":
			v = c.LastName
		case "timezone":
			v = c.TimeZone
		case "state":
			v = c.State
		case "zip":
			v = c.Zip
		case "owner":
			v = c.Owner
		default:
			if f, ok := strings.CutPrefix(name, "fields."); ok {
				v = c.Fields[f]
			}
		}
		return v, v != ""
	}
}

// TemplateValues are the variables a script or text of step (0-based) may
// use for contact c, keyed as RenderScript wants them.
func TemplateValues(def Definition, step int, c Contact) map[string]string {
	vars := map[string]string{
		"contact.first_name": c.FirstName, "contact.last_name": c.LastName, "contact.phone": c.Phone,
		"contact.state": c.State, "contact.zip": c.Zip, "contact.timezone": c.TimeZone, "contact.owner": c.Owner,
		"owner.name": c.Owner, "cadence.name": def.Name,
	}
	for k, v := range c.Fields {
		vars["contact.fields."+k] = v
	}
	if step >= 0 && step < len(def.Steps) {
		s := def.Steps[step]
		vars["step.name"], vars["step.number"] = s.Name, strconv.Itoa(step+1)
		var own map[string]string
		if s.Call != nil {
			own = s.Call.Variables
		} else if s.SMS != nil {
			own = s.SMS.Variables
		}
		maps.Copy(vars, own)
	}
	return vars
}

// position is where a claimed action stands, for Route.
func position(c ClaimCandidate) Position {
	return Position{Run: max(c.Plan.Run, 1), Step: c.Action.Step - 1, Attempt: c.Action.Attempt,
		RuleRetries: c.Plan.RuleRetries, RunStarted: c.Plan.RunStarted, LastAttempt: c.StartedAt}
}

// tailFor turns a routing decision into the durable tail of an outcome,
// placing a next action at its lawful instant. into is a cadence to enroll
// the contact in once the outcome is durable (forward, or after the runs).
func (e *Engine) tailFor(c ClaimCandidate, dec Decision, now time.Time) (t Tail, into string, err error) {
	def := c.Definition
	switch dec.Kind {
	case DecideSchedule:
		step := def.Steps[dec.Step]
		plan := Plan{Run: dec.Run, RunStarted: c.Plan.RunStarted}
		if dec.Run != c.Plan.Run {
			plan.RunStarted = now.Add(def.Runs.RestartDelay.D())
		} else if dec.Step == c.Action.Step-1 && len(c.Plan.RuleRetries) > 0 {
			plan.RuleRetries = maps.Clone(c.Plan.RuleRetries)
		}
		if dec.RuleKey != "" {
			if plan.RuleRetries == nil {
				plan.RuleRetries = map[string]int{}
			}
			plan.RuleRetries[dec.RuleKey]++
		}
		pl, err := e.planner.Place(def, c.Contact, step.Type, dec.At, now)
		if err != nil {
			return Tail{}, "", err
		}
		if pl.Stop {
			return Tail{Finish: &Finish{Status: EnrollmentStopped, Reason: pl.Block.Reason}, Block: pl.Block}, "", nil
		}
		return Tail{Next: &NewAction{EnrollmentID: c.Enrollment.ID, Step: dec.Step + 1, Type: step.Type, Attempt: dec.Attempt,
			DueAt: pl.At, Plan: plan}, Block: pl.Block}, "", nil
	case DecideStop:
		return Tail{Finish: &Finish{Status: EnrollmentStopped, Reason: dec.Reason}}, "", nil
	case DecideComplete:
		return Tail{Finish: &Finish{Status: EnrollmentCompleted, Reason: dec.Reason}}, "", nil
	case DecideDNC:
		return Tail{DNC: true}, "", nil
	case DecideForward:
		return Tail{Finish: &Finish{Status: EnrollmentStopped, Reason: dec.Reason}}, dec.Cadence, nil
	case DecideFinished:
		return Tail{Finish: &Finish{Status: EnrollmentCompleted, Reason: dec.Reason}}, dec.Cadence, nil
	}
	return Tail{}, "", fmt.Errorf("route: unknown decision %q", dec.Kind)
}

// finishAttempt routes an outcome and writes it durably with its tail, then
// reports it and runs the follow-up enrollment, if any.
func (e *Engine) finishAttempt(ctx context.Context, ca ClaimedAction, disposition string, placed bool, detail string) error {
	c := ca.ClaimCandidate
	now := e.now()
	dec := Route(c.Definition, position(c), disposition, contactFields(c.Contact), now)
	tail, into, err := e.tailFor(c, dec, now)
	if err != nil {
		return fmt.Errorf("route action %s: %w", c.Action.ID, err)
	}
	err = e.store.Complete(ctx, Completion{ActionID: c.Action.ID, Fence: ca.Fence, Disposition: disposition, Placed: placed, Now: now, Tail: tail})
	if err != nil {
		return fmt.Errorf("complete action %s: %w", c.Action.ID, err)
	}
	typ := EventCall
	if c.Action.Type == StepSMS {
		typ = EventSMS
	}
	ev := e.event(typ, c.StartedAt, c.Contact, c.Enrollment)
	ev.ActionID, ev.Step, ev.Attempt, ev.Run, ev.Disposition, ev.Reason = c.Action.ID, c.Action.Step, c.Action.Attempt, c.Plan.Run, disposition, dec.Reason
	if detail != "" {
		ev.Reason = detail + "; " + ev.Reason
	}
	if tail.Next != nil {
		ev.Next = tail.Next.DueAt
		e.dueNow(tail.Next.DueAt)
	}
	e.emit(ev)
	e.reportTail(ctx, c, tail, now)
	if into != "" {
		e.enrollFollowUp(ctx, c.Contact, into, c.Enrollment.CadenceID)
	}
	return nil
}

// BlockNoAgent is the block code of a call that was put back because no
// agent of its queue could take it (dialer.Outcome.Requeue).
const BlockNoAgent = "no_agent"

// DispositionRequeued is recorded on an action whose call was never placed
// for want of an agent: the same attempt is scheduled again and nothing of
// it counts (no attempt, no limit, no routing).
const DispositionRequeued = "requeued"

// requeue puts a call that was not placed for want of an agent back in the
// schedule: the same step and attempt, after the dialer's delay, moved to
// the next lawful instant by the planner. Its attempt is forgotten (placed
// false), so it counts against no limit; the claim-time check runs again
// when it is due. The recorded block says why.
func (e *Engine) requeue(ctx context.Context, ca ClaimedAction, after time.Duration, detail string) error {
	c := ca.ClaimCandidate
	now := e.now()
	if detail == "" {
		detail = "no agent could take the call"
	}
	pl, err := e.planner.Place(c.Definition, c.Contact, c.Action.Type, now.Add(after), now)
	if err != nil {
		return fmt.Errorf("requeue action %s: %w", c.Action.ID, err)
	}
	block := &BlockRecord{ContactID: c.Contact.ID, At: now, Code: BlockNoAgent, Reason: detail, NextEligible: pl.At}
	var tail Tail
	if pl.Stop {
		block.Reason += "; " + pl.Block.Reason
		tail = Tail{Finish: &Finish{Status: EnrollmentStopped, Reason: pl.Block.Reason}, Block: block}
	} else {
		if pl.Block != nil {
			block.Reason += "; then " + pl.Block.Reason
		}
		plan := c.Plan
		plan.RuleRetries = maps.Clone(c.Plan.RuleRetries)
		tail = Tail{Block: block, Next: &NewAction{EnrollmentID: c.Enrollment.ID, Step: c.Action.Step, Type: c.Action.Type,
			Attempt: c.Action.Attempt, DueAt: pl.At, Plan: plan}}
	}
	err = e.store.Complete(ctx, Completion{ActionID: c.Action.ID, Fence: ca.Fence, Disposition: DispositionRequeued, Now: now, Tail: tail})
	if err != nil {
		return fmt.Errorf("requeue action %s: %w", c.Action.ID, err)
	}
	ev := e.event(EventBlocked, now, c.Contact, c.Enrollment)
	ev.ActionID, ev.Step, ev.Attempt, ev.Run = c.Action.ID, c.Action.Step, c.Action.Attempt, c.Plan.Run
	ev.Code, ev.Reason, ev.Next = BlockNoAgent, block.Reason, block.NextEligible
	e.emit(ev)
	if tail.Next != nil {
		e.dueNow(tail.Next.DueAt)
	}
	tail.Block = nil // reported above
	e.reportTail(ctx, c, tail, now)
	return nil
}

// reportTail emits the events of a tail: the block that moved the next
// action, and the end of the enrollment.
func (e *Engine) reportTail(_ context.Context, c ClaimCandidate, t Tail, now time.Time) {
	if t.Block != nil {
		ev := e.event(EventBlocked, now, c.Contact, c.Enrollment)
		ev.Code, ev.Reason, ev.Next = t.Block.Code, t.Block.Reason, t.Block.NextEligible
		if t.Next != nil {
			ev.Step, ev.Attempt, ev.Run = t.Next.Step, t.Next.Attempt, t.Next.Plan.Run
		}
		e.emit(ev)
	}
	switch {
	case t.DNC:
		ev := e.event(EventStopped, now, c.Contact, c.Enrollment)
		ev.Reason = "do not call: every enrollment of " + c.Contact.Phone + " stopped"
		e.emit(ev)
	case t.Finish != nil:
		typ := EventStopped
		if t.Finish.Status == EnrollmentCompleted {
			typ = EventCompleted
		}
		ev := e.event(typ, now, c.Contact, c.Enrollment)
		ev.Reason = t.Finish.Reason
		e.emit(ev)
	}
}

// enrollFollowUp enrolls a contact into the cadence a forward or the end of
// the runs names. It runs after the outcome is durable; a failure is
// reported as a block, never undoes the outcome.
func (e *Engine) enrollFollowUp(ctx context.Context, c Contact, cadenceID, from string) {
	if _, err := e.Enroll(ctx, EnrollRequest{CadenceID: cadenceID, ContactID: c.ID}); err != nil {
		e.log.Warn("follow-up enrollment failed", "from_cadence", from, "cadence", cadenceID, "contact", c.ID, "err", err)
		ev := e.event(EventBlocked, e.now(), c, Enrollment{CadenceID: cadenceID})
		ev.Code, ev.Reason = "enroll_failed", fmt.Sprintf("enroll into cadence %s: %v", cadenceID, err)
		e.emit(ev)
	}
}

// PostDisposition records an agent's disposition on an attempt (the action
// ID) and routes it like an outcome. A code that no routing rule of the
// attempt's step or cadence names is only recorded: it does not move the
// enrollment (the system outcome already did). A do-not-call decision
// applies even after the enrollment ended.
func (e *Engine) PostDisposition(ctx context.Context, attemptID, code string, now time.Time) error {
	if _, ok := e.catalog[code]; !ok {
		return fmt.Errorf("post disposition: code: %q is not in the disposition catalog", code)
	}
	c, err := e.store.ActionCandidate(ctx, attemptID)
	if err != nil {
		return fmt.Errorf("post disposition: %w", err)
	}
	if c.Action.State != ActionCompleted {
		return fmt.Errorf("post disposition: %w: attempt %s has no outcome yet", ErrConflict, attemptID)
	}
	var tail Tail
	var into string
	var dec Decision
	if hasRule(c.Definition, c.Action.Step-1, code, contactFields(c.Contact)) {
		dec = Route(c.Definition, position(c), code, contactFields(c.Contact), now)
		if tail, into, err = e.tailFor(c, dec, now); err != nil {
			return fmt.Errorf("post disposition: %w", err)
		}
		if c.Enrollment.Status != EnrollmentActive {
			tail, into = Tail{DNC: tail.DNC}, ""
		}
	}
	if err := e.store.ApplyAgentDisposition(ctx, attemptID, code, tail, now); err != nil {
		return fmt.Errorf("post disposition: %w", err)
	}
	typ := EventCall
	if c.Action.Type == StepSMS {
		typ = EventSMS
	}
	ev := e.event(typ, now, c.Contact, c.Enrollment)
	ev.ActionID, ev.Step, ev.Attempt, ev.Run, ev.Disposition = attemptID, c.Action.Step, c.Action.Attempt, c.Plan.Run, code
	ev.Code, ev.Reason = "agent", dec.Reason
	if tail.Next != nil {
		ev.Next = tail.Next.DueAt
	}
	e.emit(ev)
	e.reportTail(ctx, c, tail, now)
	if into != "" {
		e.enrollFollowUp(ctx, c.Contact, into, c.Enrollment.CadenceID)
	}
	return nil
}

// hasRule reports whether the step's or the cadence's routing names code
// for this contact.
func hasRule(def Definition, step int, code string, f Fields) bool {
	var rules []Rule
	if step >= 0 && step < len(def.Steps) {
		rules = append(rules, def.Steps[step].Routing...)
	}
	for _, r := range append(rules, def.Routing...) {
		if r.Disposition == code && matchAll(r.When, f) {
			return true
		}
	}
	return false
}

// systemDisposition normalizes what a dialer reported: anything outside
// the vocabulary is "unknown" (the call may have happened).
func systemDisposition(o dialer.Outcome) (string, bool) {
	if !o.Disposition.Valid() {
		return string(dialer.Unknown), true
	}
	placed := o.Placed() || o.Disposition.Connected() || o.Disposition == dialer.Unknown
	return string(o.Disposition), placed
}

// isConflict reports a lost lease.
func isConflict(err error) bool { return errors.Is(err, ErrConflict) }
