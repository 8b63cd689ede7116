package sqlite

// Teams, queues, agents and contact owners: the stored side of live agents
// (engine.AgentStore). Live state — who is available, who is on a call — is
// not here; it belongs to the node an agent is logged into.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

var _ engine.AgentStore = (*Store)(nil)

// CreateTeam stores a team; its name must be unused (ErrConflict).
func (s *Store) CreateTeam(ctx context.Context, t engine.Team, now time.Time) (engine.Team, error) {
	if err := t.Validate(); err != nil {
		return engine.Team{}, fmt.Errorf("create team: %w", err)
	}
	var err error
	if t.ID, err = newID(); err != nil {
		return engine.Team{}, fmt.Errorf("create team: %w", err)
	}
	t.CreatedAt, t.UpdatedAt = utc(now), utc(now)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.InsertTeam, t.ID, t.Name, t.Description, micros(t.CreatedAt))
		return err
	})
	if isUnique(err) {
		err = teamTaken(t.Name)
	}
	if err != nil {
		return engine.Team{}, fmt.Errorf("create team: %w", err)
	}
	return t, nil
}

func teamTaken(name string) error {
	return fmt.Errorf("%w: team name %q is taken", engine.ErrConflict, name)
}

func scanTeam(r rowScanner) (engine.Team, error) {
	var (
		t                engine.Team
		created, updated int64
	)
	if err := r.Scan(&t.ID, &t.Name, &t.Description, &created, &updated); err != nil {
		return engine.Team{}, err
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, nil
}

// GetTeam returns a team.
func (s *Store) GetTeam(ctx context.Context, id string) (engine.Team, error) {
	t, err := getRow(ctx, s, scanTeam, s.q.GetTeam, id)
	if err != nil {
		return engine.Team{}, fmt.Errorf("get team %s: %w", id, err)
	}
	return t, nil
}

// ListTeams pages through teams, oldest first.
func (s *Store) ListTeams(ctx context.Context, p engine.Page) ([]engine.Team, string, error) {
	return listPage(ctx, s, "teams", s.q.ListTeams, p, scanTeam, func(t engine.Team) (time.Time, string) { return t.CreatedAt, t.ID })
}

// UpdateTeam replaces the name and description of team t.ID.
func (s *Store) UpdateTeam(ctx context.Context, t engine.Team, now time.Time) (engine.Team, error) {
	if err := t.Validate(); err != nil {
		return engine.Team{}, fmt.Errorf("update team %s: %w", t.ID, err)
	}
	t.UpdatedAt = utc(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, s.q.UpdateTeam, t.ID, t.Name, t.Description, micros(t.UpdatedAt)).Scan(&created)
		t.CreatedAt = fromMicros(created)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = engine.ErrNotFound
	case isUnique(err):
		err = teamTaken(t.Name)
	}
	if err != nil {
		return engine.Team{}, fmt.Errorf("update team %s: %w", t.ID, err)
	}
	return t, nil
}

// DeleteTeam removes a team without agents; ErrInUse while it has some.
func (s *Store) DeleteTeam(ctx context.Context, id string) error {
	err := s.deleteOne(ctx, s.q.DeleteTeam, id)
	if isForeignKey(err) {
		err = fmt.Errorf("%w: the team has agents; move or delete them first", engine.ErrInUse)
	}
	if err != nil {
		return fmt.Errorf("delete team %s: %w", id, err)
	}
	return nil
}

// CreateQueue stores a queue; its name must be unused (ErrConflict).
func (s *Store) CreateQueue(ctx context.Context, q engine.Queue, now time.Time) (engine.Queue, error) {
	if err := q.Validate(); err != nil {
		return engine.Queue{}, fmt.Errorf("create queue: %w", err)
	}
	q.CreatedAt, q.UpdatedAt = utc(now), utc(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.InsertQueue, q.Name, q.Description, int64(q.WrapUp), int64(q.MaxWait), micros(q.CreatedAt))
		return err
	})
	if isUnique(err) {
		err = fmt.Errorf("%w: queue %q exists", engine.ErrConflict, q.Name)
	}
	if err != nil {
		return engine.Queue{}, fmt.Errorf("create queue: %w", err)
	}
	return q, nil
}

func scanQueue(r rowScanner) (engine.Queue, error) {
	var (
		q                engine.Queue
		wrapUp, maxWait  int64
		created, updated int64
	)
	if err := r.Scan(&q.Name, &q.Description, &wrapUp, &maxWait, &created, &updated); err != nil {
		return engine.Queue{}, err
	}
	q.WrapUp, q.MaxWait = engine.Duration(wrapUp), engine.Duration(maxWait)
	q.CreatedAt, q.UpdatedAt = fromMicros(created), fromMicros(updated)
	return q, nil
}

// GetQueue returns a queue by name.
func (s *Store) GetQueue(ctx context.Context, name string) (engine.Queue, error) {
	q, err := getRow(ctx, s, scanQueue, s.q.GetQueue, name)
	if err != nil {
		return engine.Queue{}, fmt.Errorf("get queue %q: %w", name, err)
	}
	return q, nil
}

// ListQueues pages through queues, oldest first (then by name).
func (s *Store) ListQueues(ctx context.Context, p engine.Page) ([]engine.Queue, string, error) {
	return listPage(ctx, s, "queues", s.q.ListQueues, p, scanQueue, func(q engine.Queue) (time.Time, string) { return q.CreatedAt, q.Name })
}

// UpdateQueue replaces the description, wrap-up and max wait of queue q.Name.
func (s *Store) UpdateQueue(ctx context.Context, q engine.Queue, now time.Time) (engine.Queue, error) {
	if err := q.Validate(); err != nil {
		return engine.Queue{}, fmt.Errorf("update queue %q: %w", q.Name, err)
	}
	q.UpdatedAt = utc(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, s.q.UpdateQueue, q.Name, q.Description, int64(q.WrapUp), int64(q.MaxWait),
			micros(q.UpdatedAt)).Scan(&created)
		q.CreatedAt = fromMicros(created)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return engine.Queue{}, fmt.Errorf("update queue %q: %w", q.Name, err)
	}
	return q, nil
}

// DeleteQueue removes a queue no agent lists; ErrInUse while one does.
// Cadences naming the queue are not checked: they are definitions, and
// their calls find no agent until the queue is created again.
func (s *Store) DeleteQueue(ctx context.Context, name string) error {
	err := s.deleteOne(ctx, s.q.DeleteQueue, name)
	if isForeignKey(err) {
		err = fmt.Errorf("%w: agents take calls from the queue; take it off their queues first", engine.ErrInUse)
	}
	if err != nil {
		return fmt.Errorf("delete queue %q: %w", name, err)
	}
	return nil
}

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
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkAgentRefs(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.InsertAgent, a.ID, a.Name, nullString(a.TeamID), a.Destination, micros(a.CreatedAt)); err != nil {
			return err
		}
		return s.insertAgentQueues(ctx, tx, a)
	})
	if err != nil {
		return engine.Agent{}, fmt.Errorf("create agent: %w", err)
	}
	return a, nil
}

// checkAgentRefs reports the first of a's team and queues that does not
// exist, as ErrNotFound wrapped with the field's path.
func (s *Store) checkAgentRefs(ctx context.Context, tx *sql.Tx, a engine.Agent) error {
	if a.TeamID != "" {
		var n int
		if err := tx.QueryRowContext(ctx, s.q.TeamExists, a.TeamID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("team_id: team %q: %w", a.TeamID, engine.ErrNotFound)
		}
	}
	for i, name := range a.Queues {
		var n int
		if err := tx.QueryRowContext(ctx, s.q.QueueExists, name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("queues[%d]: queue %q: %w", i, name, engine.ErrNotFound)
		}
	}
	return nil
}

// insertAgentQueues stores a's queues in their order.
func (s *Store) insertAgentQueues(ctx context.Context, tx *sql.Tx, a engine.Agent) error {
	for i, name := range a.Queues {
		if _, err := tx.ExecContext(ctx, s.q.InsertAgentQueue, a.ID, name, i, micros(a.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// nullString stores "" as NULL (a nullable foreign key).
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func scanAgent(r rowScanner) (engine.Agent, error) {
	var (
		a                engine.Agent
		created, updated int64
		queues           string
	)
	if err := r.Scan(&a.ID, &a.Name, &a.TeamID, &a.Destination, &created, &updated, &queues); err != nil {
		return engine.Agent{}, err
	}
	a.Queues = []string{}
	if err := json.Unmarshal([]byte(queues), &a.Queues); err != nil {
		return engine.Agent{}, fmt.Errorf("decode queues of agent %s: %w", a.ID, err)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// GetAgent returns an agent with its queues.
func (s *Store) GetAgent(ctx context.Context, id string) (engine.Agent, error) {
	a, err := getRow(ctx, s, scanAgent, s.q.GetAgent, id)
	if err != nil {
		return engine.Agent{}, fmt.Errorf("get agent %s: %w", id, err)
	}
	return a, nil
}

// ListAgents pages through agents, oldest first, narrowed to a team and/or
// a queue. An unknown team or queue lists nothing.
func (s *Store) ListAgents(ctx context.Context, f engine.AgentFilter) ([]engine.Agent, string, error) {
	afterAt, afterID, limit, err := pageArgs(f.Page)
	if err != nil {
		return nil, "", fmt.Errorf("list agents: %w", err)
	}
	var rows *sql.Rows
	switch {
	case f.Queue != "":
		rows, err = s.db.QueryContext(ctx, s.q.ListAgentsByQueue, f.Queue, f.TeamID, afterAt, afterID, limit+1)
	case f.TeamID != "":
		rows, err = s.db.QueryContext(ctx, s.q.ListAgentsByTeam, f.TeamID, afterAt, afterID, limit+1)
	default:
		rows, err = s.db.QueryContext(ctx, s.q.ListAgents, afterAt, afterID, limit+1)
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q.AgentExists, a.ID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return engine.ErrNotFound
		}
		if err := s.checkAgentRefs(ctx, tx, a); err != nil {
			return err
		}
		var created int64
		err := tx.QueryRowContext(ctx, s.q.UpdateAgent, a.ID, a.Name, nullString(a.TeamID), a.Destination,
			micros(a.UpdatedAt)).Scan(&created)
		if err != nil {
			return err
		}
		a.CreatedAt = fromMicros(created)
		if _, err := tx.ExecContext(ctx, s.q.DeleteAgentQueues, a.ID); err != nil {
			return err
		}
		return s.insertAgentQueues(ctx, tx, a)
	})
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
// transaction. BEGIN IMMEDIATE serializes it with every other write, so
// each recorded From is the To of the change before it.
func (s *Store) SetContactOwner(ctx context.Context, contactID, agentID, reason, cadenceID string, now time.Time) (engine.OwnerChange, bool, error) {
	if !engine.ValidOwnerReason(reason) {
		return engine.OwnerChange{}, false, fmt.Errorf("set owner of contact %s: %w", contactID, badOwnerReason(reason))
	}
	var (
		ch      engine.OwnerChange
		changed bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, s.q.ContactOwner, contactID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("contact %s: %w", contactID, engine.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if agentID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, s.q.AgentExists, agentID).Scan(&n); err != nil {
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
		if _, err := tx.ExecContext(ctx, s.q.SetContactOwner, contactID, agentID, micros(ch.At)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q.InsertOwnerChange, ch.ID, ch.ContactID, ch.From, ch.To, ch.Reason, ch.CadenceID, micros(ch.At))
		changed = err == nil
		return err
	})
	if err != nil {
		return engine.OwnerChange{}, false, fmt.Errorf("set owner of contact %s: %w", contactID, err)
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
	rows, err := s.db.QueryContext(ctx, s.q.OwnerChanges, contactID)
	if err != nil {
		return nil, fmt.Errorf("owner changes of contact %s: %w", contactID, err)
	}
	out, err := collect(rows, func(r rowScanner) (engine.OwnerChange, error) {
		var (
			c  engine.OwnerChange
			at int64
		)
		err := r.Scan(&c.ID, &c.ContactID, &c.From, &c.To, &c.Reason, &c.CadenceID, &at)
		c.At = fromMicros(at)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("owner changes of contact %s: %w", contactID, err)
	}
	if len(out) == 0 {
		var owner string
		err := s.db.QueryRowContext(ctx, s.q.ContactOwner, contactID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			err = engine.ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("owner changes of contact %s: %w", contactID, err)
		}
		out = []engine.OwnerChange{}
	}
	return out, nil
}
