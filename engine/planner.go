package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/engine/compliance"
)

// Block codes the engine adds to compliance's window and limit codes.
const (
	BlockNoZone     = "no_zone"
	BlockNoTime     = "no_allowed_time"
	BlockDNC        = "dnc"
	BlockInactive   = "cadence_inactive"
	BlockStepAbsent = "step_absent"
	BlockInFlight   = "in_flight"
)

// inFlightRecheck is how long an action waits while another action to the
// same contact is in flight: one contact is never reached twice at once,
// and the first outcome (a do-not-call, a stop) is known before the next.
const inFlightRecheck = time.Minute

// inactiveRecheck is how long an action of a paused (inactive or draft)
// cadence waits before it is looked at again.
const inactiveRecheck = time.Hour

// Planner decides when an action may happen. It is pure: it reads its
// tables and its arguments, never a clock or a store.
type Planner struct {
	Rules          *compliance.Rules
	Locator        *compliance.Locator
	BusinessZone   *time.Location
	BusinessLimits []compliance.Limit
}

// ComplianceWindows converts engine windows to compliance windows (the
// types have the same fields).
func ComplianceWindows(ws []Window) []compliance.Window {
	out := make([]compliance.Window, len(ws))
	for i, w := range ws {
		out[i] = compliance.Window(w)
	}
	return out
}

// zone loads a cadence's time zone, from the locator's loaded zones when
// it is one of them.
func (p Planner) zone(name string) (*time.Location, error) {
	if p.Locator != nil {
		return p.Locator.Zone(name)
	}
	return time.LoadLocation(name)
}

// Locate resolves a contact's candidate zones and states.
func (p Planner) Locate(c Contact) (compliance.Location, error) {
	return p.Locator.Locate(compliance.ContactLocation{Phone: c.Phone, TimeZone: c.TimeZone, State: c.State, ZIP: c.Zip})
}

// Inputs builds the window inputs of one action.
func (p Planner) Inputs(def Definition, loc compliance.Location, ch StepType) (compliance.Inputs, error) {
	cad, err := compliance.ParseWindows(ComplianceWindows(def.CadenceHours))
	if err != nil {
		return compliance.Inputs{}, fmt.Errorf("cadence_hours%w", err)
	}
	target, err := compliance.ParseWindows(ComplianceWindows(def.TargetHours))
	if err != nil {
		return compliance.Inputs{}, fmt.Errorf("target_hours%w", err)
	}
	zone := p.BusinessZone
	if def.TimeZone != "" {
		if zone, err = p.zone(def.TimeZone); err != nil {
			return compliance.Inputs{}, fmt.Errorf("time_zone: %q is not an IANA time zone", def.TimeZone)
		}
	}
	return compliance.Inputs{Channel: compliance.Channel(ch), CadenceHours: cad, BusinessZone: zone, TargetHours: target,
		Contact: loc, Rules: p.Rules}, nil
}

// Limits are the harassment limits for a contact in a cadence: the
// business's, the cadence's own (unless it uses the business rules) and
// those of the contact's states; the strictest wins.
func (p Planner) Limits(def Definition, loc compliance.Location) ([]compliance.Limit, error) {
	var cad []compliance.Limit
	if !def.Harassment.UseBusiness {
		if l := def.Harassment.Calls; l != nil {
			cad = append(cad, compliance.Limit{Max: l.Max, Period: l.Period.D(), Scope: compliance.ScopeCalls, Source: "cadence"})
		}
		if l := def.Harassment.SMS; l != nil {
			cad = append(cad, compliance.Limit{Max: l.Max, Period: l.Period.D(), Scope: compliance.ScopeSMS, Source: "cadence"})
		}
	}
	return compliance.EffectiveLimits(p.BusinessLimits, cad, p.Rules.StateRulesFor(loc.States))
}

// Placement is where the planner put an action.
type Placement struct {
	// At is the lawful instant (zero when the action cannot be placed).
	At time.Time
	// Block explains why At is later than asked, or why there is no At.
	Block *BlockRecord
	// Stop is true when the action can never run (no zone, no allowed time).
	Stop bool
}

// Place puts an action planned for earliest at the first instant every
// window allows (limits are checked at claim time, when the history is
// known for certain). now is when the decision is made (the block's time).
func (p Planner) Place(def Definition, c Contact, ch StepType, earliest, now time.Time) (Placement, error) {
	loc, err := p.Locate(c)
	if err != nil {
		return unlocatable(c, now, err), nil
	}
	in, err := p.Inputs(def, loc, ch)
	if err != nil {
		return Placement{}, err
	}
	t, b, err := compliance.NextAllowed(earliest, in)
	if err != nil {
		return p.unplaceable(c, now, err)
	}
	pl := Placement{At: t}
	if b != nil {
		pl.Block = &BlockRecord{ContactID: c.ID, At: now, Code: string(b.Code), Reason: b.Reason, NextEligible: t}
	}
	return pl, nil
}

// unlocatable stops an action whose contact has no usable zone (none
// known, or an invalid time zone field): nothing can be called lawfully.
func unlocatable(c Contact, now time.Time, err error) Placement {
	return Placement{Stop: true, Block: &BlockRecord{ContactID: c.ID, At: now, Code: BlockNoZone, Reason: err.Error()}}
}

// unplaceable turns "no allowed time" into a stop with a recorded reason;
// other errors are returned.
func (p Planner) unplaceable(c Contact, now time.Time, err error) (Placement, error) {
	if errors.Is(err, compliance.ErrNoAllowedTime) {
		return Placement{Stop: true, Block: &BlockRecord{ContactID: c.ID, At: now, Code: BlockNoTime, Reason: err.Error()}}, nil
	}
	return Placement{}, err
}

// AtClaim decides on a due action at claim time, given the contact's
// history: run it now, move it (with the block recorded), or stop.
func (p Planner) AtClaim(c ClaimCandidate, now time.Time) (ClaimVerdict, error) {
	ct := c.Contact
	block := func(code, reason string, next time.Time) *BlockRecord {
		return &BlockRecord{ContactID: ct.ID, At: now, Code: code, Reason: reason, NextEligible: next}
	}
	switch {
	case c.Enrollment.Status != EnrollmentActive:
		return ClaimVerdict{Kind: VerdictStop, StopReason: "enrollment " + string(c.Enrollment.Status)}, nil
	case c.DNC:
		return ClaimVerdict{Kind: VerdictStop, StopReason: "number on the do-not-call list",
			Block: block(BlockDNC, ct.Phone+" is on the do-not-call list", time.Time{})}, nil
	case c.CadenceStatus == StatusArchived:
		return ClaimVerdict{Kind: VerdictStop, StopReason: "cadence archived"}, nil
	case c.CadenceStatus != StatusActive:
		next := now.Add(inactiveRecheck)
		return ClaimVerdict{Kind: VerdictDefer, DueAt: next,
			Block: block(BlockInactive, "cadence is "+string(c.CadenceStatus)+"; looked at again later", next)}, nil
	case c.Action.Step < 1 || c.Action.Step > len(c.Definition.Steps):
		return ClaimVerdict{Kind: VerdictStop, StopReason: fmt.Sprintf("step %d does not exist", c.Action.Step),
			Block: block(BlockStepAbsent, fmt.Sprintf("step %d does not exist in version %d", c.Action.Step, c.Enrollment.CadenceVersion), time.Time{})}, nil
	}
	for _, a := range c.History {
		if a.Disposition == "" && a.ActionID != c.Action.ID {
			next := now.Add(inFlightRecheck)
			return ClaimVerdict{Kind: VerdictDefer, DueAt: next,
				Block: block(BlockInFlight, "another action to this contact is in flight", next)}, nil
		}
	}
	loc, err := p.Locate(ct)
	if err != nil {
		pl := unlocatable(ct, now, err)
		return ClaimVerdict{Kind: VerdictStop, StopReason: pl.Block.Reason, Block: pl.Block}, nil
	}
	in, err := p.Inputs(c.Definition, loc, c.Action.Type)
	if err != nil {
		return ClaimVerdict{}, err
	}
	limits, err := p.Limits(c.Definition, loc)
	if err != nil {
		return ClaimVerdict{}, err
	}
	events := make([]compliance.Event, len(c.History))
	for i, a := range c.History {
		events[i] = compliance.Event{At: a.At, Channel: compliance.Channel(a.Channel)}
	}
	t, b, err := compliance.NextEligible(now, events, limits, in)
	if err != nil {
		pl, err := p.unplaceable(ct, now, err)
		if err != nil {
			return ClaimVerdict{}, err
		}
		return ClaimVerdict{Kind: VerdictStop, StopReason: pl.Block.Reason, Block: pl.Block}, nil
	}
	if b == nil && !t.After(now) {
		return ClaimVerdict{Kind: VerdictRun}, nil
	}
	code, reason := BlockNoTime, "not allowed now"
	if b != nil {
		code, reason = string(b.Code), b.Reason
	}
	if !strings.Contains(reason, "next eligible") {
		reason += "; next eligible " + t.In(loc.Zones[0]).Format(time.RFC3339)
	}
	return ClaimVerdict{Kind: VerdictDefer, DueAt: t, Block: block(code, reason, t)}, nil
}
