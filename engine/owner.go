package engine

import (
	"context"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// Contact owners (seed 001 "Assign Contact Owner" and "Use Contact Owner").
// A cadence with a queue gives each contact it enrolls an owner among the
// queue's agents, and later calls and texts go out from that owner
// (buildCall sets dialer.Call.Owner from the contact):
//
//   - use_existing, and the contact already has an owner: it is kept;
//   - round_robin: OwnerAssigner.RoundRobin picks the next agent and the
//     store records the change (OwnerReasonRoundRobin). When no agent can be
//     picked the contact stays unowned, and each later call or text of the
//     enrollment tries again until one is;
//   - first_to_answer: OwnerAssigner.PromptOwner offers the contact to the
//     queue's available agents; whoever accepts first becomes the owner,
//     recorded by the API that takes the accept (OwnerReasonFirstToAnswer).
//     When nobody took the offer, the first agent a call of the contact is
//     connected to becomes the owner.
//
// Without Options.Owners nothing is assigned. Round robin also needs a store
// that implements AgentStore, where owner changes are recorded.

// OwnerAssigner chooses contact owners among the agents of a queue.
// cmd/cadenza adapts the live agent roster (dialer/agents) to it.
type OwnerAssigner interface {
	// RoundRobin returns the next owner for a contact of queue; an error
	// (nobody of the queue logged in) leaves the contact unowned for now.
	RoundRobin(queue string) (agentID string, err error)
	// PromptOwner offers the contact to every available agent of queue;
	// the first to accept becomes its owner. contact (the name agents
	// see) and script are shown to them.
	PromptOwner(queue, contactID, cadenceID, contact, script string) error
}

// assignOwner applies the cadence's owner policy to a contact that was just
// enrolled, and returns the contact with its owner. Failures are logged:
// an owner is never a reason to refuse an enrollment.
func (e *Engine) assignOwner(ctx context.Context, def Definition, cadenceID string, c Contact, now time.Time) Contact {
	if e.owners == nil || def.Queue == "" || (def.Owner.UseExisting && c.Owner != "") {
		return c
	}
	if def.Owner.Assign == OwnerFirstToAnswer {
		script := firstCallScript(def, c, e.ownerName(ctx, c.Owner))
		if err := e.owners.PromptOwner(def.Queue, c.ID, cadenceID, contactName(c), script); err != nil {
			e.log.Info("first-to-answer owner prompt not sent", "cadence", cadenceID, "contact", c.ID, "queue", def.Queue, "err", err)
		}
		return c
	}
	return e.roundRobinOwner(ctx, def.Queue, cadenceID, c, now)
}

// ownerForAction is the contact of a claimed call or text, with an owner
// assigned now when its round-robin cadence could not give it one before.
func (e *Engine) ownerForAction(ctx context.Context, c ClaimCandidate) Contact {
	def := c.Definition
	if e.owners == nil || e.agents == nil || def.Queue == "" || c.Contact.Owner != "" ||
		(def.Owner.Assign != "" && def.Owner.Assign != OwnerRoundRobin) {
		return c.Contact
	}
	// The claim read the contact before this moment: an enrollment that
	// was still assigning may have given it an owner since.
	if fresh, err := e.store.GetContact(ctx, c.Contact.ID); err == nil && fresh.Owner != "" {
		ct := c.Contact
		ct.Owner = fresh.Owner
		return ct
	}
	return e.roundRobinOwner(ctx, def.Queue, c.Enrollment.CadenceID, c.Contact, e.now())
}

// ownerFromCall makes the agent a person was connected to the owner of a
// first-to-answer cadence's contact that has none yet: nobody accepted the
// offer made at enrollment (none was available, or it expired), so the
// first agent who actually answered for the contact takes it.
func (e *Engine) ownerFromCall(ctx context.Context, c ClaimCandidate, out dialer.Outcome) Contact {
	def := c.Definition
	if e.agents == nil || out.Agent == "" || out.Disposition != dialer.Human || c.Contact.Owner != "" ||
		def.Queue == "" || def.Owner.Assign != OwnerFirstToAnswer {
		return c.Contact
	}
	if _, _, err := e.agents.SetContactOwner(ctx, c.Contact.ID, out.Agent, OwnerReasonFirstToAnswer, c.Enrollment.CadenceID, e.now()); err != nil {
		e.log.Warn("record first-to-answer owner", "contact", c.Contact.ID, "agent", out.Agent, "err", err)
		return c.Contact
	}
	ct := c.Contact
	ct.Owner = out.Agent
	return ct
}

// roundRobinOwner asks for the queue's next agent and records it as the
// contact's owner.
func (e *Engine) roundRobinOwner(ctx context.Context, queue, cadenceID string, c Contact, now time.Time) Contact {
	if e.agents == nil {
		return c
	}
	id, err := e.owners.RoundRobin(queue)
	if err != nil || id == "" {
		e.log.Info("no round-robin owner yet", "cadence", cadenceID, "contact", c.ID, "queue", queue, "err", err)
		return c
	}
	if _, _, err := e.agents.SetContactOwner(ctx, c.ID, id, OwnerReasonRoundRobin, cadenceID, now); err != nil {
		e.log.Warn("record round-robin owner", "cadence", cadenceID, "contact", c.ID, "agent", id, "err", err)
		return c
	}
	c.Owner = id
	return c
}

// firstCallScript is the first call step's script rendered for c: what a
// first-to-answer prompt shows the agents.
func firstCallScript(def Definition, c Contact, ownerName string) string {
	for i, s := range def.Steps {
		if s.Call == nil || s.Call.Script == "" {
			continue
		}
		script, err := RenderScript(s.Call.Script, withOwnerName(TemplateValues(def, i, c), ownerName))
		if err != nil {
			return s.Call.Script
		}
		return script
	}
	return ""
}

// ownerName is the name of the contact's owner agent, for {{owner.name}};
// "" when there is no owner or the store keeps no agents (TemplateValues
// then falls back to the owner's ID).
func (e *Engine) ownerName(ctx context.Context, agentID string) string {
	if agentID == "" || e.agents == nil {
		return ""
	}
	a, err := e.agents.GetAgent(ctx, agentID)
	if err != nil {
		return ""
	}
	return a.Name
}

// withOwnerName puts the owner agent's name in {{owner.name}} when known,
// and its first and last words in {{owner.first_name}} and
// {{owner.last_name}} (an agent has one name field).
func withOwnerName(vars map[string]string, name string) map[string]string {
	if name = strings.TrimSpace(name); name != "" {
		vars["owner.name"] = name
		first, last, _ := strings.Cut(name, " ")
		vars["owner.first_name"], vars["owner.last_name"] = first, strings.TrimSpace(last)
	}
	return vars
}
