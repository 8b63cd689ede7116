package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

// Agents (issue 8 §1): who they are is kept by the AgentStore; their live
// state (available, on a call…) by the roster of this node, which the
// handlers keep in step with the store: creating an agent adds it logged
// out, editing it replaces its details without touching a call in
// progress, deleting it removes it (only while logged out).

// agentView is an agent as the API shows it: the stored agent and, when
// this node's roster holds it, its live state and since when.
type agentView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	TeamID      string    `json:"team_id,omitempty"`
	Destination string    `json:"destination"`
	Queues      []string  `json:"queues"`
	State       string    `json:"state,omitempty"`
	StateSince  time.Time `json:"state_since,omitzero"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

func newAgentView(a engine.Agent) agentView {
	v := agentView{ID: a.ID, Name: a.Name, TeamID: a.TeamID, Destination: a.Destination,
		Queues: a.Queues, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if v.Queues == nil {
		v.Queues = []string{}
	}
	return v
}

// withLive adds the roster's state, if the roster holds the agent.
func (s *Server) withLive(v agentView) agentView {
	if s.roster == nil {
		return v
	}
	if st, err := s.roster.Get(v.ID, s.now()); err == nil {
		v.State, v.StateSince = st.State.String(), st.Since
	}
	return v
}

// rosterAgent converts a stored agent for the roster.
func rosterAgent(a engine.Agent) agents.Agent {
	return agents.Agent{ID: a.ID, Name: a.Name, Team: a.TeamID, Destination: a.Destination, Queues: a.Queues}
}

// storedAgent converts a roster agent back, for agents only the roster
// knows (times are zero and left out of the JSON).
func storedAgent(a agents.Agent) engine.Agent {
	return engine.Agent{ID: a.ID, Name: a.Name, TeamID: a.Team, Destination: a.Destination, Queues: a.Queues}
}

// needRoster returns the live roster, or the 503 saying there is none.
func (s *Server) needRoster() (*agents.Roster, error) {
	if s.roster == nil {
		return nil, unavailable("live agents are not running on this server: agent state, events and prompts need the dialer's roster")
	}
	return s.roster, nil
}

// liveAgent returns the roster's status of agent id. An agent the store
// has but the roster lacks (created through another node) is added,
// logged out, first; 404 when neither knows it.
func (s *Server) liveAgent(ctx context.Context, id string) (agents.Status, error) {
	r, err := s.needRoster()
	if err != nil {
		return agents.Status{}, err
	}
	st, err := r.Get(id, s.now())
	if !errors.Is(err, agents.ErrUnknownAgent) {
		return st, err
	}
	if s.agentStore == nil {
		return agents.Status{}, notFound("agent", id)
	}
	a, err := s.agentStore.GetAgent(ctx, id)
	if err != nil {
		return agents.Status{}, storeError(err, "agent", id, "get agent")
	}
	if err := r.Add(rosterAgent(a)); err != nil && !errors.Is(err, agents.ErrDuplicate) {
		return agents.Status{}, fmt.Errorf("add agent %s to the roster: %w", id, err)
	}
	return r.Get(id, s.now())
}

// checkAgentRefs turns a missing team or queue into a 422 naming the
// field, before the store reports it as a bare not-found.
func checkAgentRefs(ctx context.Context, st engine.AgentStore, a engine.Agent) error {
	var errs engine.FieldErrors
	if a.TeamID != "" {
		if _, err := st.GetTeam(ctx, a.TeamID); errors.Is(err, engine.ErrNotFound) {
			errs = append(errs, engine.FieldError{Path: "team_id", Message: fmt.Sprintf("no team %q", a.TeamID)})
		} else if err != nil {
			return fmt.Errorf("get team: %w", err)
		}
	}
	for i, q := range a.Queues {
		if _, err := st.GetQueue(ctx, q); errors.Is(err, engine.ErrNotFound) {
			errs = append(errs, engine.FieldError{Path: fmt.Sprintf("queues[%d]", i), Message: fmt.Sprintf("no queue %q", q)})
		} else if err != nil {
			return fmt.Errorf("get queue: %w", err)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// agentSaveError maps a create or update failure: a team or queue deleted
// since checkAgentRefs is still the client's 422, not a 404 of the agent.
func agentSaveError(err error, id, op string) error {
	if errors.Is(err, engine.ErrNotFound) && id == "" {
		return fieldProblem("body", fmt.Sprintf("refers to a team or queue that does not exist: %v", err))
	}
	return storeError(err, "agent", id, op)
}

// createAgent: POST /v1/agents {"name", "destination", "team_id"?,
// "queues"?}. The new agent joins the roster logged out.
func (s *Server) createAgent(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	var a engine.Agent
	if err := decodeStrict(req.body, &a); err != nil {
		return nil, err
	}
	if a.ID != "" {
		return nil, fieldProblem("id", "is set by the server")
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := checkAgentRefs(req.Context(), st, a); err != nil {
		return nil, err
	}
	a, err = st.CreateAgent(req.Context(), a, s.now())
	if err != nil {
		return nil, agentSaveError(err, "", "create agent")
	}
	if s.roster != nil {
		if err := s.roster.Add(rosterAgent(a)); err != nil && !errors.Is(err, agents.ErrDuplicate) {
			return nil, fmt.Errorf("add agent %s to the roster: %w", a.ID, err)
		}
	}
	return jsonReply(http.StatusCreated, s.withLive(newAgentView(a)))
}

// listAgents: GET /v1/agents[?team_id=][&queue=], each with its live state.
func (s *Server) listAgents(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	q := req.URL.Query()
	page, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	as, next, err := st.ListAgents(req.Context(), engine.AgentFilter{TeamID: q.Get("team_id"), Queue: q.Get("queue"), Page: page})
	if err != nil {
		return nil, listError(err, page, "list agents")
	}
	items := make([]agentView, 0, len(as))
	for _, a := range as {
		items = append(items, s.withLive(newAgentView(a)))
	}
	return pageReply(req.Request, items, next)
}

// getAgent: GET /v1/agents/{id}, with live state and state_since when the
// roster holds the agent. Without a store, the roster alone answers.
func (s *Server) getAgent(req *request) (*reply, error) {
	id := req.PathValue("id")
	if s.agentStore == nil {
		st, err := s.liveAgent(req.Context(), id)
		if err != nil {
			return nil, rosterError(err, id)
		}
		return jsonReply(http.StatusOK, s.withLive(newAgentView(storedAgent(st.Agent))))
	}
	a, err := s.agentStore.GetAgent(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "agent", id, "get agent")
	}
	return jsonReply(http.StatusOK, s.withLive(newAgentView(a)))
}

// updateAgent: PUT /v1/agents/{id} replaces name, team, destination and
// queues; it accepts what GET returned (state and times are ignored). A
// call in progress is not disturbed (agents.Roster.Update).
func (s *Server) updateAgent(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	var v agentView
	if err := decodeStrict(req.body, &v); err != nil {
		return nil, err
	}
	if err := checkBodyID("id", v.ID, id); err != nil {
		return nil, err
	}
	a := engine.Agent{ID: id, Name: v.Name, TeamID: v.TeamID, Destination: v.Destination, Queues: v.Queues}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := checkAgentRefs(req.Context(), st, a); err != nil {
		return nil, err
	}
	unlock, err := s.lockAgent(req.Context(), id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	a, err = st.UpdateAgent(req.Context(), a, s.now())
	if err != nil {
		return nil, agentSaveError(err, id, "update agent")
	}
	if s.roster != nil {
		ra := rosterAgent(a)
		err := s.roster.Update(ra)
		if errors.Is(err, agents.ErrUnknownAgent) {
			err = s.roster.Add(ra)
		}
		if err != nil && !errors.Is(err, agents.ErrDuplicate) {
			return nil, fmt.Errorf("update agent %s in the roster: %w", id, err)
		}
	}
	return jsonReply(http.StatusOK, s.withLive(newAgentView(a)))
}

// deleteAgent: DELETE /v1/agents/{id}; 409 while the agent is logged in
// (it may be on a call: log it out first).
func (s *Server) deleteAgent(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	unlock, err := s.lockAgent(req.Context(), id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Leave the roster first: Remove checks "logged out" and removes in one
	// step, so no login can slip in between. Put the agent back if the
	// store then fails.
	var removed *agents.Agent
	if s.roster != nil {
		if cur, err := s.roster.Get(id, s.now()); err == nil {
			if cur.State != agents.LoggedOut {
				return nil, conflict(fmt.Sprintf("agent %q is %s: log it out before deleting it", id, cur.State))
			}
			if err := s.roster.Remove(id); err != nil {
				return nil, conflict(fmt.Sprintf("agent %q: %v", id, err))
			}
			removed = &cur.Agent
		}
	}
	if err := st.DeleteAgent(req.Context(), id); err != nil {
		if removed != nil {
			if rerr := s.roster.Add(*removed); rerr != nil && !errors.Is(rerr, agents.ErrDuplicate) {
				err = errors.Join(err, fmt.Errorf("put agent back in the roster: %w", rerr))
			}
		}
		return nil, storeError(err, "agent", id, "delete agent")
	}
	return noContent()
}

// lockAgent serializes this node's edits of one agent, so the store and
// the roster see concurrent updates and deletes in the same order.
func (s *Server) lockAgent(ctx context.Context, id string) (func(), error) {
	unlock, err := s.locks.lock(ctx, "agent:"+id)
	if err != nil {
		return nil, fmt.Errorf("lock agent %s: %w", id, err)
	}
	return unlock, nil
}

// stateBody is the body of PUT /v1/agents/{id}/state.
type stateBody struct {
	State string `json:"state"`
}

// setAgentState: PUT /v1/agents/{id}/state {"state"}; a key bound to
// another agent is a 403 naming id (actFor). An agent may log in
// or end its wrap-up or pause ("available"), pause, or log out; the other
// states belong to calls. Asking for the state the agent is in changes
// nothing (PUT is idempotent); a transition the table forbids is a 409
// naming both states.
func (s *Server) setAgentState(req *request) (*reply, error) {
	id := req.PathValue("id")
	if err := s.actFor(req.Context(), req.key, "id", id); err != nil {
		return nil, err
	}
	var b stateBody
	if err := decodeStrict(req.body, &b); err != nil {
		return nil, err
	}
	if b.State == "" {
		return nil, fieldProblem("state", "required: available, paused or logged_out")
	}
	to, err := agents.ParseState(b.State)
	if err != nil {
		return nil, fieldProblem("state", fmt.Sprintf("unknown state %q: want available, paused or logged_out", b.State))
	}
	switch to {
	case agents.Available, agents.Paused, agents.LoggedOut:
	default:
		return nil, fieldProblem("state", fmt.Sprintf("%s is set by calls, not by request: want available, paused or logged_out", to))
	}
	cur, err := s.liveAgent(req.Context(), id)
	if err != nil {
		return nil, rosterError(err, id)
	}
	if cur.State != to {
		now := s.now()
		switch {
		case to == agents.Available && cur.State == agents.LoggedOut:
			err = s.roster.Login(id, now)
		case to == agents.Available: // end wrap-up early, or resume
			err = s.roster.Available(id, now)
		case to == agents.Paused:
			err = s.roster.Pause(id, now)
		default:
			err = s.roster.Logout(id, now)
		}
		if err != nil {
			return nil, rosterError(err, id)
		}
	}
	return s.agentReply(req.Context(), id)
}

// agentReply renders agent id with its live state: the stored agent when
// there is a store, else the roster's.
func (s *Server) agentReply(ctx context.Context, id string) (*reply, error) {
	if s.agentStore != nil {
		a, err := s.agentStore.GetAgent(ctx, id)
		if err == nil {
			return jsonReply(http.StatusOK, s.withLive(newAgentView(a)))
		}
		if !errors.Is(err, engine.ErrNotFound) {
			return nil, fmt.Errorf("get agent %s: %w", id, err)
		}
	}
	st, err := s.liveAgent(ctx, id)
	if err != nil {
		return nil, rosterError(err, id)
	}
	return jsonReply(http.StatusOK, s.withLive(newAgentView(storedAgent(st.Agent))))
}

// rosterError maps a roster error: an illegal transition is a 409 naming
// both states, an unknown agent a 404; problems pass through.
func rosterError(err error, id string) error {
	var te *agents.TransitionError
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &te):
		c := conflict(fmt.Sprintf("agent %q cannot go from %s to %s", id, te.From, te.To))
		c.Errors = []engine.FieldError{{Path: "state", Message: fmt.Sprintf("cannot go from %s to %s", te.From, te.To)}}
		return c
	case errors.Is(err, agents.ErrUnknownAgent):
		return notFound("agent", id)
	}
	return fmt.Errorf("agent %s: %w", id, err)
}

// LoadAgents puts every stored queue's wrap-up and every stored agent into
// the roster, for the server's start: new agents join logged out, agents
// the roster already holds get their details updated and keep their state.
func LoadAgents(ctx context.Context, st engine.AgentStore, r *agents.Roster) error {
	err := pageAll(ctx, func(ctx context.Context, p engine.Page) (string, error) {
		qs, next, err := st.ListQueues(ctx, p)
		for _, q := range qs {
			r.SetWrapUp(q.Name, q.WrapUp.D())
		}
		return next, err
	})
	if err != nil {
		return fmt.Errorf("load queues: %w", err)
	}
	err = pageAll(ctx, func(ctx context.Context, p engine.Page) (string, error) {
		as, next, err := st.ListAgents(ctx, engine.AgentFilter{Page: p})
		if err != nil {
			return "", err
		}
		for _, a := range as {
			ra := rosterAgent(a)
			err := r.Update(ra)
			if errors.Is(err, agents.ErrUnknownAgent) {
				err = r.Add(ra)
			}
			if err != nil {
				return "", fmt.Errorf("agent %s: %w", a.ID, err)
			}
		}
		return next, nil
	})
	if err != nil {
		return fmt.Errorf("load agents: %w", err)
	}
	return nil
}
