package agents

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/predictive"
)

// waitPreview offers the contact to the queue's agents (the owner alone
// when available) and waits for an accept, which reserves the agent. With
// nobody to offer it to, it first waits for an available agent, up to
// deadline; an offer nobody accepts within its TTL ends the wait.
func (g *Gate) waitPreview(ctx context.Context, c dialer.Call, queue string, slot *callSlot, deadline time.Time) (waitResult, string) {
	info := PromptInfo{
		Contact: contactLabel(c), Script: c.Script,
		ContactID: c.ContactKey, CadenceID: c.Campaign, CallID: c.ID,
		Reserve: true, TTL: g.promptTTL,
	}
	var p *Prompt
	var offered time.Time
	res := g.wait(ctx, deadline, func(now time.Time) bool {
		var err error
		p, err = g.roster.promptFor(queue, c.Owner, info, now)
		offered = now
		return err == nil
	})
	if res != waitOK {
		return res, g.waitWhy(res, queue)
	}

	// Wake on any event of an offered agent (an accept makes the winner
	// reserved), on the prompt's expiry, on ctx and on Close. The prompt
	// itself, read under the Roster's lock, says who won.
	const ctxCase, closedCase, expiryCase = 0, 1, 2
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(g.closed)},
		{Dir: reflect.SelectRecv},
	}
	for _, id := range p.Offered {
		ch, cancel, err := g.roster.Subscribe(id)
		if err != nil {
			continue // removed meanwhile: it cannot accept
		}
		defer cancel()
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	var expiry <-chan time.Time
	for {
		now := g.clock.Now()
		expired := !now.Before(p.Expires)
		if h, won := g.roster.settlePrompt(p.ID, now, expired); won {
			slot.setHold(h)
			return waitOK, ""
		}
		if expired {
			return waitTimeout, fmt.Sprintf("no agent of %s accepted the preview within %v", queueName(queue), p.Expires.Sub(offered))
		}
		if expiry == nil {
			expiry = g.clock.After(p.Expires.Sub(now))
			cases[expiryCase].Chan = reflect.ValueOf(expiry)
		}
		chosen, _, ok := reflect.Select(cases)
		switch chosen {
		case ctxCase, closedCase:
			// Withdraw the offer; an accept that won the race is undone.
			if h, won := g.roster.settlePrompt(p.ID, g.clock.Now(), true); won {
				if g.roster.releaseHold(h, g.clock.Now()) {
					g.Notify()
				}
			}
			if chosen == ctxCase {
				return waitCancelled, "waiting for an agent to accept the preview in " + queueName(queue)
			}
			return waitClosed, "waiting for an agent to accept the preview in " + queueName(queue)
		case expiryCase:
			expiry = nil
		default:
			if !ok {
				cases[chosen].Chan = reflect.Value{} // subscription closed: ignore the case
			}
		}
	}
}

// campaignState tracks a campaign's predictive calls in flight (dialed
// without an agent, not yet answered by a person, not ended). Its mutex
// makes each decision and the launch it allows one step, so concurrent
// calls cannot all act on the same decision.
type campaignState struct {
	mu       sync.Mutex
	users    int                  // calls of the campaign in the gate; guarded by Gate.cmu
	inflight map[string]time.Time // call ID → dial time; guarded by mu
}

func (g *Gate) enterCampaign(name string) *campaignState {
	g.cmu.Lock()
	defer g.cmu.Unlock()
	cs := g.campaigns[name]
	if cs == nil {
		cs = &campaignState{inflight: make(map[string]time.Time)}
		g.campaigns[name] = cs
	}
	cs.users++
	return cs
}

func (g *Gate) leaveCampaign(name string) {
	g.cmu.Lock()
	defer g.cmu.Unlock()
	cs := g.campaigns[name]
	cs.users--
	if cs.users == 0 {
		delete(g.campaigns, name) // its calls are all done: nothing in flight
	}
}

// land removes a call from the campaign's in-flight set (a person
// answered, or the call ended); true when it was there.
func (cs *campaignState) land(id string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.inflight[id]; !ok {
		return false
	}
	delete(cs.inflight, id)
	return true
}

// waitPredictive launches a predictive call when the pacer's target of
// calls in flight for the campaign leaves room, or, when the pacer falls
// back to progressive, reserves an agent first (only while predictive calls
// in flight leave an available agent for this one).
func (g *Gate) waitPredictive(ctx context.Context, c dialer.Call, queue string, slot *callSlot, cs *campaignState, deadline time.Time) (waitResult, string) {
	reason := ""
	dialed := make([]time.Time, 0, 16)
	res := g.wait(ctx, deadline, func(now time.Time) bool {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		st := g.roster.Stats(queue, now, g.pacer.Window(c.Campaign))
		dialed = dialed[:0]
		for _, t := range cs.inflight {
			dialed = append(dialed, t)
		}
		d := g.pacer.Decide(c.Campaign, now, predictive.Predictive,
			predictive.Agents{Available: st.Available, SoonFree: st.SoonFree, SoonFreeSure: st.SoonFreeSure}, dialed)
		reason = d.Reason
		if d.Dial <= 0 {
			return false
		}
		if d.Mode == predictive.Predictive {
			cs.inflight[c.ID] = now
			return true
		}
		h, err := g.roster.reserveHold(queue, c.Owner, now)
		if err != nil {
			return false
		}
		slot.setHold(h)
		return true
	})
	if res == waitTimeout {
		return res, fmt.Sprintf("no predictive capacity in %s for campaign %s after %v (pacer: %s)", queueName(queue), c.Campaign, g.maxWaitFor(queue), reason)
	}
	return res, "waiting for predictive capacity in " + queueName(queue)
}
