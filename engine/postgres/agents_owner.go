package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cadenza-dialer/cadenza/engine"
)

// CreateAgent stores an agent with its queues, which must exist, as must
// its team (wrapped ErrNotFound naming the field).
func (s *Store) CreateAgent(ctx context.Context, a engine.Agent, now time.Time) (engine.Agent, error) {
	if err := a.Validate(); err != nil {
		return engine.Agent{}, fmt.Errorf("create agent: %w", err)
	}
	var err error
	if a.ID, err = newID(); err != nil {
		return engine.Agent{}, fmt.Errorf("create agent: %w", err)
	}
	a.CreatedAt, a.UpdatedAt = utc(now), utc(now)
	a.Queues = append([]string{}, a.Queues...)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.checkAgentRefs(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q.InsertAgent, a.ID, a.Name, nullUUID(a.TeamID), a.Destination, a.CreatedAt); err != nil {
			return err
		}
		return s.insertAgentQueues(ctx, tx, a)
	})
	if err != nil {
		return engine.Agent{}, fmt.Errorf("create agent: %w", err)
	}
	return a, nil
}

// nullUUID passes "" as NULL (a nullable uuid foreign key).
func nullUUID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// checkAgentRefs reports the first of a's team and queues that does not
// exist, as ErrNotFound wrapped with the field's path. The rows found stay
// share-locked to the end of the transaction, so they cannot be deleted
// before the agent naming them is written.
func (s *Store) checkAgentRefs(ctx context.Context, tx pgx.Tx, a engine.Agent) error {
	if a.TeamID != "" {
		n := 0
		if validID(a.TeamID) {
			if err := tx.QueryRow(ctx, s.q.TeamExists, a.TeamID).Scan(&n); err != nil {
				return err
			}
		}
		if n == 0 {
			return fmt.Errorf("team_id: team %q: %w", a.TeamID, engine.ErrNotFound)
		}
	}
	for i, name := range a.Queues {
		var n int
		if err := tx.QueryRow(ctx, s.q.QueueExists, name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("queues[%d]: queue %q: %w", i, name, engine.ErrNotFound)
		}
	}
	return nil
}

// insertAgentQueues stores a's queues in their order.
func (s *Store) insertAgentQueues(ctx context.Context, tx pgx.Tx, a engine.Agent) error {
	for i, name := range a.Queues {
		if _, err := tx.Exec(ctx, s.q.InsertAgentQueue, a.ID, name, i, a.CreatedAt); err != nil {
			return err
		}
	}
	return nil
}

func scanAgent(r rowScanner) (engine.Agent, error) {
	var a engine.Agent
	if err := r.Scan(&a.ID, &a.Name, &a.TeamID, &a.Destination, &a.CreatedAt, &a.UpdatedAt, &a.Queues); err != nil {
		return engine.Agent{}, err
	}
	if a.Queues == nil {
		a.Queues = []string{}
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

// GetAgent returns an agent with its queues.
func (s *Store) GetAgent(ctx context.Context, id string) (engine.Agent, error) {
	a, err := getRow(ctx, s, validID(id), scanAgent, s.q.GetAgent, id)
	if err != nil {
		return engine.Agent{}, fmt.Errorf("get agent %s: %w", id, err)
	}
	return a, nil
}

// ListAgents pages through agents, oldest first, narrowed to a team and/or
// a queue. An unknown team or queue lists nothing.
func (s *Store) ListAgents(ctx context.Context, f engine.AgentFilter) ([]engine.Agent, string, error) {
	after, afterID, limit, err := pageArgs(f.Page)
	if err != nil {
		return nil, "", fmt.Errorf("list agents: %w", err)
	}
	if f.TeamID != "" && !validID(f.TeamID) {
		return nil, "", nil // no team has that id
	}
	var rows pgx.Rows
	switch {
	case f.Queue != "":
		rows, err = s.pool.Query(ctx, s.q.ListAgentsByQueue, f.Queue, nullUUID(f.TeamID), after, afterID, limit+1)
	case f.TeamID != "":
		rows, err = s.pool.Query(ctx, s.q.ListAgentsByTeam, f.TeamID, after, afterID, limit+1)
	default:
		rows, err = s.pool.Query(ctx, s.q.ListAgents, after, afterID, limit+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list agents: %w", err)
	}
	items, err := collect(rows, scanAgent)
	if err != nil {
		return nil, "", fmt.Errorf("list agents: %w", err)
	}
	items, next := trimPage(items, limit, func(a engine.Agent) (time.Time, string) { return a.CreatedAt, a.ID })
	return items, next, nil
}

// UpdateAgent replaces every field of agent a.ID but the times; its team
// and queues must exist, as for CreateAgent.
func (s *Store) UpdateAgent(ctx context.Context, a engine.Agent, now time.Time) (engine.Agent, error) {
	if err := a.Validate(); err != nil {
		return engine.Agent{}, fmt.Errorf("update agent %s: %w", a.ID, err)
	}
	a.UpdatedAt = utc(now)
	a.Queues = append([]string{}, a.Queues...)
	err := engine.ErrNotFound
	if validID(a.ID) {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			err := tx.QueryRow(ctx, s.q.LockAgent, a.ID).Scan(&a.CreatedAt)
			if errors.Is(err, pgx.ErrNoRows) {
				return engine.ErrNotFound
			}
			if err != nil {
				return err
			}
			a.CreatedAt = a.CreatedAt.UTC()
			if err := s.checkAgentRefs(ctx, tx, a); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.q.UpdateAgent, a.ID, a.Name, nullUUID(a.TeamID), a.Destination, a.UpdatedAt); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.q.DeleteAgentQueues, a.ID); err != nil {
				return err
			}
			return s.insertAgentQueues(ctx, tx, a)
		})
	}
	if err != nil {
		return engine.Agent{}, fmt.Errorf("update agent %s: %w", a.ID, err)
	}
	return a, nil
}

// DeleteAgent removes an agent and its queue memberships. Contacts it owns
// keep it as their owner (engine.Contact.Owner is history as much as
// routing): reassign them with SetContactOwner if they should move.
func (s *Store) DeleteAgent(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, s.q.DeleteAgent, id); err != nil {
		return fmt.Errorf("delete agent %s: %w", id, err)
	}
	return nil
}

// SetContactOwner sets a contact's owner and records the change in the same
// transaction. The contact row is locked first, so concurrent changes of
// one contact run one after the other and each recorded From is the To of
// the change before it.
func (s *Store) SetContactOwner(ctx context.Context, contactID, agentID, reason, cadenceID string, now time.Time) (engine.OwnerChange, bool, error) {
	wrap := func(err error) (engine.OwnerChange, bool, error) {
		return engine.OwnerChange{}, false, fmt.Errorf("set owner of contact %s: %w", contactID, err)
	}
	if !engine.ValidOwnerReason(reason) {
		return wrap(badOwnerReason(reason))
	}
	if !validID(contactID) {
		return wrap(fmt.Errorf("contact %s: %w", contactID, engine.ErrNotFound))
	}
	if agentID != "" && !validID(agentID) {
		return wrap(fmt.Errorf("agent %s: %w", agentID, engine.ErrNotFound))
	}
	var (
		ch      engine.OwnerChange
		changed bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var owner string
		err := tx.QueryRow(ctx, s.q.LockContactOwner, contactID).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("contact %s: %w", contactID, engine.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if agentID != "" {
			var n int
			if err := tx.QueryRow(ctx, s.q.AgentExists, agentID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("agent %s: %w", agentID, engine.ErrNotFound)
			}
		}
		if owner == agentID {
			return nil
		}
		id, err := newID()
		if err != nil {
			return err
		}
		ch = engine.OwnerChange{ID: id, ContactID: contactID, From: owner, To: agentID, Reason: reason, CadenceID: cadenceID, At: utc(now)}
		if _, err := tx.Exec(ctx, s.q.SetContactOwner, contactID, agentID, ch.At); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, s.q.InsertOwnerChange, ch.ID, ch.ContactID, ch.From, ch.To, ch.Reason, ch.CadenceID, ch.At)
		changed = err == nil
		return err
	})
	if err != nil {
		return wrap(err)
	}
	return ch, changed, nil
}

// badOwnerReason is the error for a reason that is not an OwnerReason.
func badOwnerReason(r string) error {
	return fieldErr("reason", fmt.Sprintf("unknown reason %q; want %s, %s or %s", r,
		engine.OwnerReasonRoundRobin, engine.OwnerReasonFirstToAnswer, engine.OwnerReasonAPI))
}

// OwnerChanges lists a contact's owner changes in the order they were made;
// ErrNotFound for an unknown contact.
func (s *Store) OwnerChanges(ctx context.Context, contactID string) ([]engine.OwnerChange, error) {
	if !validID(contactID) {
		return nil, fmt.Errorf("owner changes of contact %s: %w", contactID, engine.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, s.q.OwnerChanges, contactID)
	if err != nil {
		return nil, fmt.Errorf("owner changes of contact %s: %w", contactID, err)
	}
	out, err := collect(rows, func(r rowScanner) (engine.OwnerChange, error) {
		var c engine.OwnerChange
		err := r.Scan(&c.ID, &c.ContactID, &c.From, &c.To, &c.Reason, &c.CadenceID, &c.At)
		c.At = c.At.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("owner changes of contact %s: %w", contactID, err)
	}
	if len(out) == 0 {
		var n int
		if err := s.pool.QueryRow(ctx, s.q.ContactExists, contactID).Scan(&n); err != nil {
			return nil, fmt.Errorf("owner changes of contact %s: %w", contactID, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("owner changes of contact %s: %w", contactID, engine.ErrNotFound)
		}
		out = []engine.OwnerChange{}
	}
	return out, nil
}
