package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

// Prompts and contact owners (issue 8 §2). A first_to_answer prompt is
// offered to every available agent of a queue; the first to accept it
// through POST /v1/prompts/{id}/accept becomes the contact's owner, and
// every change of owner is recorded.

// promptView is a prompt as the agent UI shows it.
type promptView struct {
	ID      string    `json:"id"`
	Queue   string    `json:"queue,omitempty"`
	Contact string    `json:"contact,omitempty"`
	Script  string    `json:"script,omitempty"`
	Expires time.Time `json:"expires"`
}

func newPromptView(p agents.Prompt) promptView {
	return promptView{ID: p.ID, Queue: p.Queue, Contact: p.Info.Contact, Script: p.Info.Script, Expires: p.Expires}
}

// acceptBody is the body of POST /v1/prompts/{id}/accept.
type acceptBody struct {
	AgentID string `json:"agent_id"`
}

// acceptResult answers an accepted prompt: the agent (reserved when the
// prompt reserves, for preview dialing), the prompt, and the owner change
// it recorded, if any.
type acceptResult struct {
	Agent       agentView           `json:"agent"`
	Prompt      promptView          `json:"prompt"`
	OwnerChange *engine.OwnerChange `json:"owner_change,omitempty"`
}

// acceptPrompt: POST /v1/prompts/{id}/accept {"agent_id"}. agent_id may
// be left out with a key bound to an agent, and must be that agent if
// given. 404 for an unknown prompt or agent, 403 when the prompt was not
// offered to the agent or the key is bound to another agent, 409 when it was taken, expired, or the agent is no longer free.
// A first_to_answer owner prompt (one that names a contact and reserves no
// agent) makes the winner the contact's owner.
func (s *Server) acceptPrompt(req *request) (*reply, error) {
	var b acceptBody
	if err := decodeStrict(req.body, &b); err != nil {
		return nil, err
	}
	if b.AgentID == "" {
		// A key bound to an agent accepts for that agent.
		b.AgentID = req.key.AgentID
	}
	if b.AgentID == "" {
		return nil, fieldProblem("agent_id", "required: the agent accepting the prompt")
	}
	if err := s.actFor(req.Context(), req.key, "agent_id", b.AgentID); err != nil {
		return nil, err
	}
	roster, err := s.needRoster()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	now := s.now()
	a, p, err := roster.AcceptPrompt(id, b.AgentID, now)
	if err != nil {
		return nil, acceptError(err, id, b.AgentID)
	}
	res := acceptResult{Prompt: newPromptView(p)}
	if p.Info.ContactID != "" && !p.Info.Reserve {
		st, err := s.needAgentStore()
		if err != nil {
			return nil, err
		}
		ch, changed, err := st.SetContactOwner(req.Context(), p.Info.ContactID, a.ID, engine.OwnerReasonFirstToAnswer, p.Info.CadenceID, now)
		if err != nil {
			// The roster already gave the prompt to this agent: this is a
			// server fault, logged with both ids by errorReply.
			return nil, fmt.Errorf("prompt %s taken by %s: set owner of contact %s: %w", id, a.ID, p.Info.ContactID, err)
		}
		if changed {
			res.OwnerChange = &ch
		}
	}
	v := newAgentView(storedAgent(a))
	if s.agentStore != nil {
		if sa, err := s.agentStore.GetAgent(req.Context(), a.ID); err == nil {
			v = newAgentView(sa)
		}
	}
	res.Agent = s.withLive(v)
	return jsonReply(http.StatusOK, res)
}

// acceptError maps the roster's accept errors to statuses.
func acceptError(err error, promptID, agentID string) error {
	switch {
	case errors.Is(err, agents.ErrUnknownPrompt):
		return notFound("prompt", promptID)
	case errors.Is(err, agents.ErrUnknownAgent):
		return fieldProblem("agent_id", fmt.Sprintf("no agent %q", agentID))
	case errors.Is(err, agents.ErrNotOffered):
		return newProblem(http.StatusForbidden, "not-offered", fmt.Sprintf("prompt %q was not offered to agent %q", promptID, agentID))
	case errors.Is(err, agents.ErrAlreadyTaken):
		return newProblem(http.StatusConflict, "prompt-taken", fmt.Sprintf("prompt %q was already taken by another agent", promptID))
	case errors.Is(err, agents.ErrPromptExpired):
		return newProblem(http.StatusConflict, "prompt-expired", fmt.Sprintf("prompt %q has expired", promptID))
	case errors.Is(err, agents.ErrAgentBusy):
		return newProblem(http.StatusConflict, "agent-busy", fmt.Sprintf("agent %q is no longer available: %v", agentID, err))
	}
	return fmt.Errorf("accept prompt %s: %w", promptID, err)
}

// ownerBody is the body of PUT /v1/contacts/{id}/owner.
type ownerBody struct {
	// AgentID is the new owner; "" clears the owner.
	AgentID *string `json:"agent_id"`
}

// ownerResult answers PUT /v1/contacts/{id}/owner.
type ownerResult struct {
	ContactID string `json:"contact_id"`
	// Owner is the contact's owner now ("" for none).
	Owner string `json:"owner"`
	// Changed is false when the contact already had that owner (nothing
	// was recorded).
	Changed bool                `json:"changed"`
	Change  *engine.OwnerChange `json:"change,omitempty"`
}

// setContactOwner: PUT /v1/contacts/{id}/owner {"agent_id"} sets or (with
// "") clears the owner, recorded with reason "api".
func (s *Server) setContactOwner(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	var b ownerBody
	if err := decodeStrict(req.body, &b); err != nil {
		return nil, err
	}
	if b.AgentID == nil {
		return nil, fieldProblem("agent_id", `required: an agent id, or "" to clear the owner`)
	}
	agentID, id := *b.AgentID, req.PathValue("id")
	if agentID != "" {
		if _, err := st.GetAgent(req.Context(), agentID); errors.Is(err, engine.ErrNotFound) {
			return nil, fieldProblem("agent_id", fmt.Sprintf("no agent %q", agentID))
		} else if err != nil {
			return nil, fmt.Errorf("get agent %s: %w", agentID, err)
		}
	}
	ch, changed, err := st.SetContactOwner(req.Context(), id, agentID, engine.OwnerReasonAPI, "", s.now())
	if err != nil {
		return nil, storeError(err, "contact", id, "set contact owner")
	}
	res := ownerResult{ContactID: id, Owner: agentID, Changed: changed}
	if changed {
		res.Change = &ch
	}
	return jsonReply(http.StatusOK, res)
}

// ownerChanges: GET /v1/contacts/{id}/owner-changes lists the contact's
// owner changes, oldest first (one page: a contact changes owner rarely).
func (s *Server) ownerChanges(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	chs, err := st.OwnerChanges(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "contact", id, "list owner changes")
	}
	return pageReply(req.Request, chs, "")
}
