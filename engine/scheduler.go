package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// claim claims up to limit due actions at now and reports the blocks the
// claim decided (after the claim transaction committed).
func (e *Engine) claim(ctx context.Context, limit int) ([]ClaimedAction, error) {
	now := e.now()
	type decided struct {
		c ClaimCandidate
		v ClaimVerdict
	}
	// A store may run its claim transaction again (a deadlock victim), and
	// decide with it: keep the last verdict per action. A run needs nothing
	// more here (nil); a candidate is 870 bytes, kept only for the blocks
	// and stops reported below.
	var order []string
	verdicts := make(map[string]*decided, limit)
	claimed, err := e.store.Claim(ctx, ClaimRequest{Owner: e.owner, Now: now, Limit: limit, Lease: e.lease, HistorySince: now.Add(-e.history)},
		func(c ClaimCandidate) (ClaimVerdict, error) {
			v, err := e.planner.AtClaim(c, now)
			if err == nil {
				if _, seen := verdicts[c.Action.ID]; !seen {
					order = append(order, c.Action.ID)
				}
				var d *decided
				if v.Kind != VerdictRun {
					d = &decided{c, v}
				}
				verdicts[c.Action.ID] = d
			}
			return v, err
		})
	if err != nil {
		return nil, err
	}
	for _, id := range order {
		d := verdicts[id]
		if d == nil {
			continue // run
		}
		if d.v.Block != nil {
			ev := e.event(EventBlocked, now, d.c.Contact, d.c.Enrollment)
			ev.ActionID, ev.Step, ev.Attempt, ev.Run = d.c.Action.ID, d.c.Action.Step, d.c.Action.Attempt, d.c.Plan.Run
			ev.Code, ev.Reason, ev.Next = d.v.Block.Code, d.v.Block.Reason, d.v.Block.NextEligible
			e.emit(ev)
		}
		if d.v.Kind == VerdictStop && d.c.Enrollment.Status == EnrollmentActive {
			ev := e.event(EventStopped, now, d.c.Contact, d.c.Enrollment)
			ev.Reason = d.v.StopReason
			e.emit(ev)
		}
	}
	return claimed, nil
}

// process hands one claimed action to the dialer or the messenger and
// records its outcome. The dialing mark goes down first: once it is set, a
// lost lease means "unknown", never a second call. A call the dialer could
// not place for want of an agent (Outcome.Requeue) is not routed: it is put
// back as the same attempt (requeue).
func (e *Engine) process(ctx context.Context, ca ClaimedAction) error {
	c := ca.ClaimCandidate
	if err := e.store.MarkDialing(ctx, c.Action.ID, ca.Fence, e.now()); err != nil {
		if isConflict(err) {
			e.log.Warn("lease lost before hand-off", "action_id", c.Action.ID)
			return nil
		}
		return err
	}
	// The hand-off is not cancelled by a stopping scheduler: shutdown
	// drains calls in flight. The dialer caps every call's duration.
	hctx := context.WithoutCancel(ctx)
	stopBeat := e.heartbeat(hctx, ca)
	var disposition, detail string
	var placed bool
	var requeue time.Duration
	var optOut bool
	switch c.Action.Type {
	case StepCall:
		if e.dialer == nil {
			disposition, detail = string(dialer.Failed), "no dialer configured"
			break
		}
		c.Contact = e.ownerForAction(hctx, c)
		out := e.dialer.Dial(hctx, e.buildCall(hctx, c))
		disposition, placed = systemDisposition(out)
		detail = out.Detail
		c.Contact = e.ownerFromCall(hctx, c, out)
		if !placed {
			requeue = out.Requeue
		}
	case StepSMS:
		c.Contact = e.ownerForAction(hctx, c)
		disposition, placed, detail, optOut = e.sendSMS(hctx, c)
	default:
		disposition, detail = string(dialer.Failed), "unknown step type "+string(c.Action.Type)
	}
	stopBeat()
	ca.ClaimCandidate = c // with the owner the action went out from
	var err error
	if requeue > 0 {
		err = e.requeue(hctx, ca, requeue, detail)
	} else {
		err = e.finishAttempt(hctx, ca, disposition, placed, detail)
	}
	if isConflict(err) {
		e.log.Warn("lease lost before the outcome was recorded", "action_id", c.Action.ID, "disposition", disposition)
		err = nil
	}
	if optOut {
		// The gateway knows the person opted out (they replied STOP): the
		// law wants every channel to stop, so the number goes on the
		// do-not-call list, which stops all its enrollments.
		if _, derr := e.AddDNC(hctx, c.Contact.Phone, "sms opt-out reported by the gateway: "+detail); derr != nil {
			e.log.Error("add opted-out number to do-not-call", "action_id", c.Action.ID, "err", derr)
		}
	}
	return err
}

// heartbeat extends the lease of an action in flight every third of the
// lease, so that a long call is not taken for a dead node's. The returned
// func stops it and waits.
func (e *Engine) heartbeat(ctx context.Context, ca ClaimedAction) (stop func()) {
	// The goroutine keeps the id and the fence, not the 880-byte action.
	id, fence := ca.Action.ID, ca.Fence
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(e.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := e.store.ExtendLease(ctx, id, fence, e.now().Add(e.lease)); err != nil && ctx.Err() == nil {
					e.log.Warn("extend lease", "action_id", id, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// buildCall turns a call step into a dialer request.
func (e *Engine) buildCall(ctx context.Context, c ClaimCandidate) dialer.Call {
	call := dialer.Call{ID: c.Action.ID, To: c.Contact.Phone, Trunk: e.trunk, ContactKey: c.Contact.ID, ContactState: c.Contact.State,
		Variables: map[string]string{"enrollment": c.Enrollment.ID, "cadence": c.Enrollment.CadenceID}}
	step := c.Definition.Steps[c.Action.Step-1]
	if cs := step.Call; cs != nil {
		call.CallerIDPool, call.CallerIDStrategy = cs.CallerID.Pool, dialer.CallerIDStrategy(cs.CallerID.Strategy)
		if cs.CallerID.Strategy == CallerIDFixed {
			call.CallerID = cs.CallerID.Number
		}
		call.RingTimeout = cs.RingTimeout.D()
		call.AMDProfile = cs.AMDProfile
		call.OnHuman = dialer.HumanAction{Kind: string(cs.OnHuman.Action)}
		switch cs.OnHuman.Action {
		case HumanConnect:
			call.OnHuman.Destination = cs.ConnectDestination(c.Definition.Queue)
			call.SafeHarborAudio = e.audio(ctx, e.safeHarbor, c.Action.ID)
		case HumanMessage:
			call.OnHuman.Audio = e.audio(ctx, cs.OnHuman.Asset, c.Action.ID)
		}
		if cs.Voicemail.Enabled {
			call.VoicemailAudio = e.audio(ctx, cs.Voicemail.Asset, c.Action.ID)
		}
		// What the live-agent layer needs: whom to wait for, what to show
		// the agent, and whose contact it is.
		call.Mode = string(cs.ResolvedDialMode(c.Definition.Queue))
		call.Queue = cs.ConnectQueue(c.Definition.Queue)
		call.Campaign = c.Enrollment.CadenceID
		call.ContactName = contactName(c.Contact)
		call.Owner = c.Contact.Owner
		if cs.Script != "" {
			vars := withOwnerName(TemplateValues(c.Definition, c.Action.Step-1, c.Contact), e.ownerName(ctx, c.Contact.Owner))
			script, err := RenderScript(cs.Script, vars)
			if err != nil {
				// Validation keeps bad templates out; an old stored
				// version may still hold one. The agent gets it raw.
				e.log.Warn("render call script", "action_id", c.Action.ID, "err", err)
				script = cs.Script
			}
			call.Script = script
		}
	}
	return call
}

// contactName is how an agent sees the contact: first and last name, or
// the phone number when the contact has no name.
func contactName(c Contact) string {
	if n := strings.TrimSpace(strings.TrimSpace(c.FirstName) + " " + strings.TrimSpace(c.LastName)); n != "" {
		return n
	}
	return c.Phone
}

// audio loads an asset's samples; a missing asset is logged and the call
// goes on without the message (hang up on a machine, as without voicemail).
func (e *Engine) audio(ctx context.Context, name, actionID string) []int16 {
	if name == "" {
		return nil
	}
	a, err := e.store.GetAsset(ctx, name)
	if err != nil {
		e.log.Warn("audio asset unavailable", "asset", name, "action_id", actionID, "err", err)
		return nil
	}
	pcm := make([]int16, len(a.PCM)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(a.PCM[2*i:]))
	}
	return pcm
}

// sendSMS renders and sends a text step: the step's own text, a stored
// template (seed 001), or the template customized in the step (its text).
// optOut reports a gateway saying the recipient unsubscribed (replied
// STOP): the caller puts the number on the do-not-call list.
func (e *Engine) sendSMS(ctx context.Context, c ClaimCandidate) (disposition string, placed bool, detail string, optOut bool) {
	step := c.Definition.Steps[c.Action.Step-1]
	if e.sms == nil {
		return SMSFailed, false, "no messenger configured", false
	}
	if step.SMS == nil {
		return SMSFailed, false, "sms step without its sms settings", false
	}
	body := step.SMS.Text
	if step.SMS.Template != "" && !step.SMS.Customize {
		ts, ok := e.store.(SMSTemplateStore)
		if !ok {
			return SMSFailed, false, "stored SMS templates need a store that keeps them", false
		}
		t, err := ts.GetSMSTemplate(ctx, step.SMS.Template)
		if err != nil {
			return SMSFailed, false, fmt.Sprintf("sms template %q: %v", step.SMS.Template, err), false
		}
		body = t.Text
	}
	vars := withOwnerName(TemplateValues(c.Definition, c.Action.Step-1, c.Contact), e.ownerName(ctx, c.Contact.Owner))
	text, err := RenderScript(body, vars)
	if err != nil {
		return SMSFailed, false, err.Error(), false
	}
	if err := e.sms.Send(ctx, c.Contact.Phone, text); err != nil {
		var oo interface{ OptOut() bool }
		return SMSFailed, false, err.Error(), errors.As(err, &oo) && oo.OptOut()
	}
	return SMSSent, true, "", false
}

// RunDue claims and processes every action due now, Concurrency at a time,
// until nothing is due; it returns how many actions ran. Tests and the dry
// run drive the engine with it on a simulated clock.
func (e *Engine) RunDue(ctx context.Context) (int, error) {
	total := 0
	for range 10000 {
		claimed, err := e.claim(ctx, e.batch)
		if err != nil {
			return total, err
		}
		if len(claimed) == 0 {
			return total, nil
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(e.conc)
		for _, ca := range claimed {
			g.Go(func() error { return e.process(gctx, ca) })
		}
		if err := g.Wait(); err != nil {
			return total, err
		}
		total += len(claimed)
	}
	return total, errors.New("run due: too many rounds at one instant")
}

// Rescue returns expired leases: rows never handed to the dialer go back to
// the schedule; rows that were dialing are finished as "unknown" (routed
// like a no-answer, their attempt still counting), never redialed at once.
func (e *Engine) Rescue(ctx context.Context) (returned, unknown int, err error) {
	now := e.now()
	returned, doubt, err := e.store.Rescue(ctx, e.owner, now, e.lease, now.Add(-e.history))
	if err != nil {
		return 0, 0, err
	}
	for _, ca := range doubt {
		err := e.finishAttempt(ctx, ca, string(dialer.Unknown), true, "lease expired while dialing: the call may have happened")
		if err != nil && !isConflict(err) {
			return returned, unknown, err
		}
		unknown++
	}
	return returned, unknown, nil
}

// RunUntil plays the schedule on a simulated clock: it rescues, runs what is
// due, and moves the clock to the next due action, until nothing is due
// before end. The clock ends at end.
func (e *Engine) RunUntil(ctx context.Context, clock *SimClock, end time.Time) error {
	for {
		if _, _, err := e.Rescue(ctx); err != nil {
			return err
		}
		if _, err := e.RunDue(ctx); err != nil {
			return err
		}
		at, ok, err := e.store.NextDue(ctx)
		if err != nil {
			return err
		}
		if !ok || at.After(end) {
			clock.Set(end)
			return nil
		}
		clock.Set(at)
	}
}

// Owner is the lease owner name of this engine (for logs and tests).
func (e *Engine) Owner() string { return e.owner }

// String describes a verdict for logs.
func (v ClaimVerdict) String() string {
	switch v.Kind {
	case VerdictRun:
		return "run"
	case VerdictDefer:
		return fmt.Sprintf("defer to %s", v.DueAt.Format(time.RFC3339))
	case VerdictStop:
		return "stop: " + v.StopReason
	}
	return "unknown"
}
