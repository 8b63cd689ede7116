package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cadenza-dialer/cadenza/amd"
	"github.com/cadenza-dialer/cadenza/dialer/callerid"
)

// callRun is one call's lifecycle: it is created by Dial, runs one select
// loop, hangs up before it lets go of the leg, and produces one Outcome.
// Only the loop's goroutine touches its fields, except analysis (which has
// its own lock) and the action goroutine (which reports through act).
type callRun struct {
	d      *Dialer
	c      Call
	drv    Driver
	params amd.Params
	out    Outcome
	log    *slog.Logger

	an  *analysis
	leg Leg
	// base carries the caller's context values, never its cancellation:
	// teardown (hang-up, pause) runs under it with a timeout.
	base context.Context

	answered   bool
	answeredAt time.Time
	// disp and detail are the verdict on an answered call (or an override,
	// such as SIT in early media, on an unanswered one).
	disp   Disposition
	detail string
	// hungUp is set once we asked the leg to end; hangupWhy says why.
	hungUp    bool
	hangupWhy string

	act       chan actionResult // the running action reports here (one slot)
	actCancel context.CancelFunc
	acting    bool
	vm        *VoicemailResult
	vmLen     time.Duration

	// timers of the loop; nil channels never fire.
	ringC, amdC, beepC, maxC, teardownC, fillC <-chan time.Time
	timers                                     []*time.Timer
	fillTicker                                 *time.Ticker
}

// actionResult is what a voicemail drop, a human message or a connect
// attempt reports back to the loop.
type actionResult struct {
	kind   string // voicemail | message | connect
	played time.Duration
	err    error
	at     time.Time
}

// Why we hung up, where the outcome's detail mentions it.
const (
	whyMaxDuration = "max duration reached"
	whyShutdown    = "dialer shutdown"
	whyCancelled   = "cancelled"
)

// Reasons for calls not placed (metric label values, bounded).
const (
	reasonStopping  = "stopping"
	reasonInvalid   = "invalid"
	reasonPacing    = "pacing"
	reasonCallerID  = "caller_id"
	reasonOriginate = "originate"
	reasonCancelled = "cancelled"
)

func (cr *callRun) timer(d time.Duration) <-chan time.Time {
	t := time.NewTimer(d)
	cr.timers = append(cr.timers, t)
	return t.C
}

func (cr *callRun) run(ctx context.Context) Outcome {
	d := cr.d
	cr.base = context.WithoutCancel(ctx)
	// Before the call is placed, Stop (drain) abandons it: nothing was spent.
	pre, cancelPre := context.WithCancel(ctx)
	defer cancelPre()
	unhook := context.AfterFunc(d.stopCtx, cancelPre)
	defer unhook()

	slot, err := d.opts.Pacer.Acquire(pre, cr.c.Trunk)
	if err == nil && slot == nil {
		err = errors.New("pacer granted no slot")
	}
	if err != nil {
		return cr.preFailure(ctx, reasonPacing, DetailPacingUnavailable, err)
	}
	// The slot is held until the leg has ended (or was never placed).
	defer slot.Release()

	from := cr.c.CallerID
	if from == "" {
		from, err = d.opts.CallerIDs.Pick(pre, callerid.Request{
			Pool:         cr.c.CallerIDPool,
			Strategy:     string(cr.c.CallerIDStrategy),
			Fixed:        cr.c.CallerID,
			To:           cr.c.To,
			ContactKey:   cr.c.ContactKey,
			ContactState: cr.c.ContactState,
		})
		if err != nil {
			return cr.preFailure(ctx, reasonCallerID, "caller id", err)
		}
	}
	cr.out.CallerID = from
	if err := pre.Err(); err != nil {
		return cr.preFailure(ctx, reasonCancelled, DetailCancelled, err)
	}

	cr.an = newAnalysis(cr.params, cr.c.AMDProfile, len(cr.c.VoicemailAudio) > 0)
	// The leg lives until the loop is done with it, whatever happens to the
	// caller's ctx: the loop hangs up first, then lets go.
	legCtx, cancelLeg := context.WithCancel(cr.base)
	defer cancelLeg()
	// Past the drain timeout nothing may hold Stop up, not even a driver
	// stuck in Originate (no goroutine: AfterFunc on a cancel context).
	defer context.AfterFunc(d.hardStop, cancelLeg)()
	ringTimeout := d.ringTimeout(cr.c)
	leg, err := cr.drv.Originate(legCtx, OriginateRequest{
		CallID:      cr.c.ID,
		Trunk:       cr.c.Trunk,
		To:          cr.c.To,
		From:        from,
		RingTimeout: ringTimeout,
		Variables:   cr.c.Variables,
		OnAudio:     cr.an.onAudio,
	})
	if err != nil {
		cr.an.stop()
		return cr.preFailure(ctx, reasonOriginate, "originate", err)
	}
	cr.leg = leg
	cr.out.Timings.InviteSent = d.now()
	trunk := d.metrics.trunkLabel(cr.c.Trunk)
	d.metrics.started.WithLabelValues(trunk).Inc()
	d.metrics.active.WithLabelValues(trunk).Inc()
	defer d.metrics.active.WithLabelValues(trunk).Dec()

	// Backstop for a driver that never ends a ringing leg.
	cr.ringC = cr.timer(ringTimeout + 10*time.Second)
	cr.loop(ctx)
	for _, t := range cr.timers {
		t.Stop()
	}
	cr.stopFill()
	return cr.finish()
}

func (cr *callRun) stopFill() {
	if cr.fillTicker != nil {
		cr.fillTicker.Stop()
	}
	cr.fillC = nil
}

// preFailure ends a call that was never placed.
func (cr *callRun) preFailure(ctx context.Context, reason, what string, err error) Outcome {
	switch {
	case cr.d.stopCtx.Err() != nil && ctx.Err() == nil:
		return cr.d.notPlaced(cr.out, Failed, reasonStopping, DetailNotRunning+": dialer stopping, call not placed")
	case ctx.Err() != nil:
		return cr.d.notPlaced(cr.out, Failed, reasonCancelled, fmt.Sprintf("%s: %v", DetailCancelled, context.Cause(ctx)))
	}
	cr.log.Warn("call not placed", "stage", reason, "err", err)
	return cr.d.notPlaced(cr.out, Failed, reason, fmt.Sprintf("%s: %v", what, err))
}

// loop is the call's one select loop. It returns when the leg is over, or
// when it did not end within the teardown timeout after our hang-up.
func (cr *callRun) loop(ctx context.Context) {
	d := cr.d
	events := cr.leg.Events()
	done := cr.leg.Done()
	ctxDone := ctx.Done()
	hardStop := d.hardStop.Done()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			cr.onEvent(ev)
		case <-done:
			return
		case <-cr.an.sitCh:
			cr.disp, cr.detail = InvalidNumber, "SIT tone in early media"
			cr.hangup("sit")
		case r := <-cr.an.verdictCh:
			cr.onVerdict(r)
		case drop := <-cr.an.dropCh:
			cr.startVoicemail(drop)
		case res := <-cr.act:
			cr.onActionDone(res)
		case <-cr.ringC:
			cr.ringC = nil
			if !cr.answered {
				cr.hangup("ring timeout (dialer backstop)")
			}
		case <-cr.amdC:
			cr.amdC = nil
			if heard, ok := cr.an.giveUpAMD(); ok {
				cr.onVerdict(amd.Result{Verdict: amd.Silence, Cause: "no audio (amd timeout)", DecisionAt: heard})
			}
		case <-cr.beepC:
			cr.beepC = nil
			if heard, ok := cr.an.giveUpBeep(); ok {
				cr.startVoicemail(amd.Drop{Reason: "timeout", At: heard})
			}
		case now := <-cr.fillC:
			if !cr.an.fill(now) {
				cr.stopFill()
			}
		case <-cr.maxC:
			cr.maxC = nil
			cr.hangup(whyMaxDuration)
		case <-ctxDone:
			ctxDone = nil
			cr.hangup(whyCancelled)
		case <-hardStop:
			hardStop = nil
			cr.hangup(whyShutdown)
		case <-cr.teardownC:
			cr.log.Error("leg did not end after hang-up", "teardown_timeout", d.opts.TeardownTimeout)
			return
		}
	}
}

func (cr *callRun) onEvent(ev Event) {
	at := ev.At
	if at.IsZero() {
		at = cr.d.now()
	}
	switch ev.Type {
	case EventRinging, EventProgress:
		if cr.out.Timings.FirstRing.IsZero() {
			cr.out.Timings.FirstRing = at
		}
	case EventAnswered:
		if cr.answered {
			return
		}
		cr.answered = true
		cr.answeredAt = at
		cr.out.Timings.Answered = at
		cr.ringC = nil
		cr.maxC = cr.timer(cr.d.maxDuration(cr.c))
		if cr.hungUp {
			return // answered while we were cancelling: hang-up follows
		}
		cr.an.answered(ev.At)
		cr.amdC = cr.timer(cr.d.opts.AMDTimeout)
		cr.fillTicker = time.NewTicker(fillInterval)
		cr.fillC = cr.fillTicker.C
	}
}

// onVerdict acts on the detector's verdict (or the timeout's stand-in).
func (cr *callRun) onVerdict(r amd.Result) {
	cr.amdC = nil
	now := cr.d.now()
	cr.out.Timings.AMDVerdict = now
	cr.out.AMD = &AMDResult{Verdict: string(r.Verdict), Cause: r.Cause, DecisionMS: r.DecisionAt.Milliseconds()}
	cr.d.metrics.observeVerdict(string(r.Verdict), r.DecisionAt)
	cr.log.Debug("amd verdict", "verdict", r.Verdict, "cause", r.Cause, "decision", r.DecisionAt)
	if cr.hungUp {
		return
	}
	switch resolveVerdict(cr.c.AMDProfile, r.Verdict) {
	case branchHuman:
		cr.disp = Human
		cr.human()
	case branchMachine:
		cr.disp = Machine
		if len(cr.c.VoicemailAudio) == 0 {
			cr.detail = "machine: no voicemail message, hung up"
			cr.hangup("machine")
			return
		}
		cr.detail = "machine: no message left (no beep before the call ended)"
		cr.beepC = cr.timer(cr.d.opts.BeepTimeout)
	case branchSilence:
		cr.disp, cr.detail = Machine, "silence: nobody spoke, hung up"
		cr.hangup("silence")
	case branchIntercept:
		cr.disp, cr.detail = InvalidNumber, "intercept (SIT) after answer"
		cr.hangup("intercept")
	}
}

// human runs the step's human action. This is the extension point of issue
// 8: "connect" goes to the Connector when there is one.
func (cr *callRun) human() {
	h := cr.c.OnHuman
	switch {
	case h.Kind == HumanMessage && len(h.Audio) > 0:
		cr.detail = "human: message"
		cr.startAction("message", func(ctx context.Context) actionResult {
			played, err := cr.leg.Play(ctx, h.Audio)
			return actionResult{played: played, err: err}
		})
	case h.Kind == HumanConnect && cr.d.opts.Connector != nil:
		cr.detail = "human: connecting"
		cr.startAction("connect", func(ctx context.Context) actionResult {
			// The legal window: a person must reach an agent within 2 s.
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return actionResult{err: cr.d.opts.Connector.Connect(cctx, cr.leg, cr.c)}
		})
	case h.Kind == HumanConnect:
		cr.detail = "human: connect not available (no connector), hung up"
		cr.hangup("human")
	case h.Kind == HumanMessage:
		cr.detail = "human: no message audio, hung up"
		cr.hangup("human")
	default:
		cr.detail = "human: hung up (detection only)"
		cr.hangup("human")
	}
}

// startVoicemail plays the message once the beep watcher (or its backstop)
// says the greeting is over. The watcher only reports after the beep has
// ended, so the message is never clipped by it.
func (cr *callRun) startVoicemail(drop amd.Drop) {
	cr.beepC = nil
	if cr.hungUp || cr.acting {
		return
	}
	now := cr.d.now()
	cr.vm = &VoicemailResult{Trigger: drop.Reason, StartMS: now.Sub(cr.answeredAt).Milliseconds()}
	if drop.Reason == "beep" {
		cr.vm.BeepMS = drop.BeepEnd.Milliseconds()
	}
	cr.vmLen = samplesDuration(len(cr.c.VoicemailAudio))
	cr.log.Debug("voicemail drop", "trigger", drop.Reason, "at", drop.At, "beep_end", drop.BeepEnd, "beep_hz", drop.BeepHz, "since_answer", now.Sub(cr.answeredAt))
	audio := cr.c.VoicemailAudio
	cr.startAction("voicemail", func(ctx context.Context) actionResult {
		played, err := cr.leg.Play(ctx, audio)
		return actionResult{played: played, err: err}
	})
}

func (cr *callRun) startAction(kind string, f func(context.Context) actionResult) {
	ctx, cancel := context.WithCancel(cr.base)
	cr.actCancel = cancel
	cr.acting = true
	cr.act = make(chan actionResult, 1)
	ch := cr.act
	go func() {
		r := f(ctx)
		r.kind = kind
		r.at = cr.d.now()
		ch <- r
	}()
}

func (cr *callRun) onActionDone(r actionResult) {
	cr.acting = false
	cr.act = nil
	cr.actCancel()
	switch r.kind {
	case "voicemail":
		vm := cr.vm
		vm.SecondsPlayed = r.played.Seconds()
		// One 20 ms frame of slack: a driver may round the last packet.
		vm.Complete = r.err == nil && r.played >= cr.vmLen-20*time.Millisecond
		if !vm.Complete && !cr.hungUp {
			// Play stops early only when the call ended (or media failed)
			// and we had not hung up: the far end went first.
			vm.FarEndHungUpFirst = true
		}
		if r.played > 0 {
			cr.disp = Voicemail
			cr.detail = fmt.Sprintf("voicemail: %.1fs of %.1fs played after %s", r.played.Seconds(), cr.vmLen.Seconds(), vm.Trigger)
		} else {
			cr.detail = "machine: message not played"
		}
		cr.d.metrics.voicemail.WithLabelValues(cr.d.metrics.trunkLabel(cr.c.Trunk), vm.Trigger, vmResult(vm)).Inc()
		cr.hangup("voicemail left")
	case "message":
		cr.detail = fmt.Sprintf("human: message played (%.1fs)", r.played.Seconds())
		cr.hangup("message played")
	case "connect":
		if r.err != nil {
			cr.disp = Abandoned
			cr.detail = fmt.Sprintf("abandoned: connect: %v", r.err)
			if len(cr.c.SafeHarborAudio) > 0 && !cr.hungUp && !isClosed(cr.leg.Done()) {
				// The law's recorded message on an abandoned call, then hang up.
				audio := cr.c.SafeHarborAudio
				cr.startAction("safe_harbor", func(ctx context.Context) actionResult {
					played, err := cr.leg.Play(ctx, audio)
					return actionResult{played: played, err: err}
				})
				return
			}
			cr.hangup("connect failed")
			return
		}
		cr.out.ConnectedMS = max(r.at.Sub(cr.answeredAt).Milliseconds(), 1)
		cr.detail = "human: connected"
		// The bridge runs until someone hangs up or max duration.
	case "safe_harbor":
		cr.out.SafeHarborMS = r.played.Milliseconds()
		cr.detail += fmt.Sprintf("; safe-harbor message played (%.1fs)", r.played.Seconds())
		cr.hangup("safe-harbor message played")
	}
}

func vmResult(vm *VoicemailResult) string {
	switch {
	case vm.Complete:
		return "complete"
	case vm.SecondsPlayed > 0:
		return "partial"
	}
	return "not_played"
}

// hangup ends the leg once: it stops a running action first, then sends
// CANCEL or BYE under a context that outlives the caller's. The loop then
// waits for the leg to end, at most TeardownTimeout.
func (cr *callRun) hangup(why string) {
	if cr.hungUp || isClosed(cr.leg.Done()) {
		return // already ending, or the far end ended it
	}
	cr.hungUp = true
	cr.hangupWhy = why
	cr.an.stop()
	if cr.actCancel != nil {
		cr.actCancel()
	}
	ctx, cancel := context.WithTimeout(cr.base, cr.d.opts.TeardownTimeout)
	defer cancel()
	if err := cr.leg.Hangup(ctx); err != nil && !errors.Is(err, context.Canceled) {
		cr.log.Warn("hang up", "why", why, "err", err)
	}
	cr.teardownC = cr.timer(cr.d.opts.TeardownTimeout)
}

// finish combines the leg's signalling result with what the loop decided.
func (cr *callRun) finish() Outcome {
	d := cr.d
	cr.an.stop()
	legDone := isClosed(cr.leg.Done())
	if cr.acting {
		// The leg is over, so the action ends promptly; wait for what it
		// played (a message cut by the far end is still reported).
		cr.actCancel()
		select {
		case r := <-cr.act:
			cr.onActionDone(r)
		case <-time.After(d.opts.TeardownTimeout):
			cr.log.Error("action did not stop after the leg ended")
		}
	}
	res := cr.leg.Result()
	out := cr.out
	out.SIPCode, out.SIPReason, out.Q850Cause, out.RetryAfter = res.SIPCode, res.SIPReason, res.Q850Cause, res.RetryAfter
	mergeTimings(&out.Timings, res.Timings)
	if out.Timings.Hangup.IsZero() {
		out.Timings.Hangup = d.now()
	}
	answered := cr.answered || res.Answered
	switch {
	case !legDone:
		out.Disposition, out.Detail = Unknown, "leg did not end after hang-up"
	case answered && res.Disposition == Unknown:
		// The driver lost the answered leg (e.g. Asterisk restarted): what
		// happened after is unknown, whatever AMD had said.
		out.Disposition = Unknown
		out.Detail = joinDetail(res.Detail, "answered leg lost")
		if cr.disp != "" {
			out.Detail += "; was " + string(cr.disp)
		}
	case answered:
		out.Disposition, out.Detail = cr.disp, cr.detail
		if out.Disposition == "" {
			// Hung up before the detector spoke: most likely a person
			// (machines do not hang up within seconds). Reporting human
			// is also the cautious choice for contact limits.
			out.Disposition = Human
			if cr.hungUp {
				out.Detail = "hung up before the amd verdict: " + cr.hangupWhy
			} else {
				out.Detail = "far end hung up before the amd verdict"
			}
		}
		out.HangupBy = res.HangupBy
		if out.HangupBy == "" {
			out.HangupBy = "far_end"
			if cr.hungUp {
				out.HangupBy = "us"
			}
		}
		if cr.hungUp && (cr.hangupWhy == whyMaxDuration || cr.hangupWhy == whyShutdown || cr.hangupWhy == whyCancelled) {
			out.Detail += "; " + cr.hangupWhy
		}
	case cr.disp != "":
		out.Disposition, out.Detail = cr.disp, cr.detail // SIT in early media
	default:
		out.Disposition, out.Detail = res.Disposition, res.Detail
		if out.Disposition == "" {
			out.Disposition = Failed
			if out.Detail == "" {
				out.Detail = "leg ended without a result"
			}
		}
		if cr.hungUp {
			out.Detail = joinDetail(out.Detail, "hung up: "+cr.hangupWhy)
		}
	}
	out.Voicemail = cr.vm

	if res.RetryAfter > 0 && res.SIPCode == 503 {
		pause := min(res.RetryAfter, d.opts.MaxPause)
		pctx, cancel := context.WithTimeout(cr.base, d.opts.TeardownTimeout)
		if err := d.opts.Pacer.PauseUntil(pctx, cr.c.Trunk, d.now().Add(pause)); err != nil {
			cr.log.Warn("pause trunk after 503", "retry_after", pause, "err", err)
		}
		cancel()
	}
	d.metrics.observeEnd(out)
	cr.log.Debug("call ended", "disposition", out.Disposition, "sip_code", out.SIPCode, "detail", out.Detail)
	return out
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// mergeTimings prefers the driver's timestamps (taken on the wire) over the
// loop's (taken when it saw the event).
func mergeTimings(dst *Timings, src Timings) {
	for _, p := range []struct{ d, s *time.Time }{
		{&dst.InviteSent, &src.InviteSent},
		{&dst.FirstRing, &src.FirstRing},
		{&dst.Answered, &src.Answered},
		{&dst.Hangup, &src.Hangup},
	} {
		if !p.s.IsZero() {
			*p.d = *p.s
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Placed reports whether a call went out (an INVITE or originate was sent).
// An unplaced outcome costs the contact nothing and may be retried.
func (o Outcome) Placed() bool { return !o.Timings.InviteSent.IsZero() }
