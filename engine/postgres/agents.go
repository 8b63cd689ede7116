package postgres

// Teams, queues, agents and contact owners: the stored side of live agents
// (engine.AgentStore). Live state — who is available, who is on a call — is
// not here; it belongs to the node an agent is logged into.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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
	_, err = s.pool.Exec(ctx, s.q.InsertTeam, t.ID, t.Name, t.Description, t.CreatedAt)
	if pgCode(err) == uniqueViolation {
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
	var t engine.Team
	if err := r.Scan(&t.ID, &t.Name, &t.Description, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return engine.Team{}, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// GetTeam returns a team.
func (s *Store) GetTeam(ctx context.Context, id string) (engine.Team, error) {
	t, err := getRow(ctx, s, validID(id), scanTeam, s.q.GetTeam, id)
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
	err := engine.ErrNotFound
	if validID(t.ID) {
		err = s.pool.QueryRow(ctx, s.q.UpdateTeam, t.ID, t.Name, t.Description, t.UpdatedAt).Scan(&t.CreatedAt)
		t.CreatedAt = t.CreatedAt.UTC()
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = engine.ErrNotFound
	case pgCode(err) == uniqueViolation:
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
	if pgCode(err) == foreignKeyViolation {
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
	_, err := s.pool.Exec(ctx, s.q.InsertQueue, q.Name, q.Description, int64(q.WrapUp), int64(q.MaxWait), q.CreatedAt)
	if pgCode(err) == uniqueViolation {
		err = fmt.Errorf("%w: queue %q exists", engine.ErrConflict, q.Name)
	}
	if err != nil {
		return engine.Queue{}, fmt.Errorf("create queue: %w", err)
	}
	return q, nil
}

func scanQueue(r rowScanner) (engine.Queue, error) {
	var (
		q               engine.Queue
		wrapUp, maxWait int64
	)
	if err := r.Scan(&q.Name, &q.Description, &wrapUp, &maxWait, &q.CreatedAt, &q.UpdatedAt); err != nil {
		return engine.Queue{}, err
	}
	q.WrapUp, q.MaxWait = engine.Duration(wrapUp), engine.Duration(maxWait)
	q.CreatedAt, q.UpdatedAt = q.CreatedAt.UTC(), q.UpdatedAt.UTC()
	return q, nil
}

// GetQueue returns a queue by name.
func (s *Store) GetQueue(ctx context.Context, name string) (engine.Queue, error) {
	q, err := getRow(ctx, s, true, scanQueue, s.q.GetQueue, name)
	if err != nil {
		return engine.Queue{}, fmt.Errorf("get queue %q: %w", name, err)
	}
	return q, nil
}

// ListQueues pages through queues, oldest first (then by name).
func (s *Store) ListQueues(ctx context.Context, p engine.Page) ([]engine.Queue, string, error) {
	after, afterName, limit, err := namePageArgs(p)
	if err != nil {
		return nil, "", fmt.Errorf("list queues: %w", err)
	}
	rows, err := s.pool.Query(ctx, s.q.ListQueues, after, afterName, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list queues: %w", err)
	}
	items, err := collect(rows, scanQueue)
	if err != nil {
		return nil, "", fmt.Errorf("list queues: %w", err)
	}
	items, next := trimPage(items, limit, func(q engine.Queue) (time.Time, string) { return q.CreatedAt, q.Name })
	return items, next, nil
}

// namePageArgs is pageArgs for a list keyed by (created_at, name) rather
// than (created_at, uuid): the first page starts after the empty name.
func namePageArgs(p engine.Page) (after pgtype.Timestamptz, afterName string, limit int, err error) {
	after, _, limit, err = pageArgs(engine.Page{Limit: p.Limit})
	if err != nil || p.After == "" {
		return after, "", limit, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(p.After)
	if err != nil {
		return pgtype.Timestamptz{}, "", 0, badCursor()
	}
	at, name, ok := strings.Cut(string(raw), "|")
	v, err := strconv.ParseInt(at, 10, 64)
	if !ok || name == "" || err != nil {
		return pgtype.Timestamptz{}, "", 0, badCursor()
	}
	return pgtype.Timestamptz{Time: time.UnixMicro(v).UTC(), Valid: true}, name, limit, nil
}

// UpdateQueue replaces the description, wrap-up and max wait of queue q.Name.
func (s *Store) UpdateQueue(ctx context.Context, q engine.Queue, now time.Time) (engine.Queue, error) {
	if err := q.Validate(); err != nil {
		return engine.Queue{}, fmt.Errorf("update queue %q: %w", q.Name, err)
	}
	q.UpdatedAt = utc(now)
	err := s.pool.QueryRow(ctx, s.q.UpdateQueue, q.Name, q.Description, int64(q.WrapUp), int64(q.MaxWait), q.UpdatedAt).Scan(&q.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return engine.Queue{}, fmt.Errorf("update queue %q: %w", q.Name, err)
	}
	q.CreatedAt = q.CreatedAt.UTC()
	return q, nil
}

// DeleteQueue removes a queue no agent lists; ErrInUse while one does.
// Cadences naming the queue are not checked: they are definitions, and
// their calls find no agent until the queue is created again.
func (s *Store) DeleteQueue(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, s.q.DeleteQueue, name)
	switch {
	case pgCode(err) == foreignKeyViolation:
		err = fmt.Errorf("%w: agents take calls from the queue; take it off their queues first", engine.ErrInUse)
	case err == nil && tag.RowsAffected() == 0:
		err = engine.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete queue %q: %w", name, err)
	}
	return nil
}
