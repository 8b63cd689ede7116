package engine

import (
	"context"
	"time"
)

// Team groups agents for supervisors and reports (seed 001 "teams").
type Team struct {
	ID string `json:"id"`
	// Name is unique among teams (ErrConflict).
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Queue is a named pool of agents that works cadences: a cadence's Queue
// field names one, and so does a connect destination "queue:NAME".
type Queue struct {
	// Name is the queue's key: 1–64 of [a-z0-9_-], unique (ErrConflict).
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// WrapUp is the after-call work time of the queue's calls before the
	// agent is available again; zero means the server default (30 s).
	WrapUp Duration `json:"wrap_up,omitempty"`
	// MaxWait is how long an agent-gated call (preview, progressive) waits
	// for a free agent before it is put back to try later without counting
	// as an attempt; zero means the server default (2 min).
	MaxWait   Duration  `json:"max_wait,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Agent is a person who takes calls: their identity and where their phone
// is. Live state (available, on a call…) is not stored: it belongs to the
// node the agent is logged into (dialer/agents).
type Agent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// TeamID names the agent's team; "" for none. A team with agents
	// cannot be deleted (ErrInUse).
	TeamID string `json:"team_id,omitempty"`
	// Destination is where calls are bridged to: a sip:/sips: URI for the
	// SIP driver, or an Asterisk endpoint (PJSIP/agent-1) for ARI.
	Destination string `json:"destination"`
	// Queues lists the queues the agent takes calls from (each must exist).
	Queues    []string  `json:"queues"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AgentFilter narrows ListAgents.
type AgentFilter struct {
	TeamID string // "" for every team
	Queue  string // "" for every queue
	Page
}

// Owner-change reasons.
const (
	OwnerReasonRoundRobin    = "round_robin"
	OwnerReasonFirstToAnswer = "first_to_answer"
	OwnerReasonAPI           = "api"
)

// OwnerChange records one change of a contact's owner (seed 001: owner
// changes are recorded).
type OwnerChange struct {
	ID        string `json:"id"`
	ContactID string `json:"contact_id"`
	// From and To are agent IDs; "" means no owner.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Reason is one of the OwnerReason constants.
	Reason string `json:"reason"`
	// CadenceID is the cadence whose policy made the change, if any.
	CadenceID string    `json:"cadence_id,omitempty"`
	At        time.Time `json:"at"`
}

// AgentStore keeps teams, queues, agents and contact ownership. Both store
// drivers implement it; engine/storetest checks them alike. Create and
// Update check their input with the type's Validate (agent_validate.go), so
// bad input is an engine.FieldErrors naming the field.
type AgentStore interface {
	// CreateTeam stores a team (ID and times set by the store).
	CreateTeam(ctx context.Context, t Team, now time.Time) (Team, error)
	GetTeam(ctx context.Context, id string) (Team, error)
	ListTeams(ctx context.Context, p Page) (items []Team, next string, err error)
	// UpdateTeam replaces name and description of team t.ID.
	UpdateTeam(ctx context.Context, t Team, now time.Time) (Team, error)
	// DeleteTeam returns ErrInUse while an agent is in the team.
	DeleteTeam(ctx context.Context, id string) error

	// CreateQueue stores a queue (times set by the store).
	CreateQueue(ctx context.Context, q Queue, now time.Time) (Queue, error)
	GetQueue(ctx context.Context, name string) (Queue, error)
	ListQueues(ctx context.Context, p Page) (items []Queue, next string, err error)
	// UpdateQueue replaces description, wrap-up and max wait of queue q.Name.
	UpdateQueue(ctx context.Context, q Queue, now time.Time) (Queue, error)
	// DeleteQueue returns ErrInUse while an agent lists the queue.
	DeleteQueue(ctx context.Context, name string) error

	// CreateAgent stores an agent; ErrNotFound (wrapped, naming team_id or
	// the queue) when its team or one of its queues does not exist.
	CreateAgent(ctx context.Context, a Agent, now time.Time) (Agent, error)
	GetAgent(ctx context.Context, id string) (Agent, error)
	// ListAgents pages through agents, oldest first; a filter naming an
	// unknown team or queue lists nothing. Agent.Queues is never nil.
	ListAgents(ctx context.Context, f AgentFilter) (items []Agent, next string, err error)
	// UpdateAgent replaces every field of agent a.ID but the times.
	UpdateAgent(ctx context.Context, a Agent, now time.Time) (Agent, error)
	// DeleteAgent removes the agent and its queue memberships. Contacts it
	// owns keep its id as their owner, and their owner history stays: move
	// them with SetContactOwner if they should change hands.
	DeleteAgent(ctx context.Context, id string) error

	// SetContactOwner sets the contact's owner to agentID ("" clears it)
	// and records the change in the same transaction; setting the owner it
	// already has records nothing and returns ok=false. ErrNotFound for an
	// unknown contact or agent; FieldErrors ("reason") for a reason that is
	// not an OwnerReason constant.
	SetContactOwner(ctx context.Context, contactID, agentID, reason, cadenceID string, now time.Time) (OwnerChange, bool, error)
	// OwnerChanges lists a contact's owner changes, oldest first (in the
	// order they were made, so each From is the previous To); an empty
	// list for a contact never reassigned, ErrNotFound for an unknown one.
	// UpsertContact records a change too (OwnerReasonAPI) when it replaces a
	// known contact's owner with another; an upsert without owner keeps it.
	OwnerChanges(ctx context.Context, contactID string) ([]OwnerChange, error)
}
