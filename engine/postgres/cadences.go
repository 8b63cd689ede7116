package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cadenza-dialer/cadenza/engine"
)

// rowScanner is what pgx.Row and pgx.CollectableRow have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// getRow scans the one row of query; no row, or ok false (an id that
// cannot exist, never sent to the database), is engine.ErrNotFound. The
// caller names what it looked for in the error.
func getRow[T any](ctx context.Context, s *Store, ok bool, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	if !ok {
		var zero T
		return zero, engine.ErrNotFound
	}
	v, err := scan(s.pool.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		err = engine.ErrNotFound
	}
	return v, err
}

// collect scans every row and closes rows.
func collect[T any](rows pgx.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// CreateCadence stores a new cadence at version 1.
func (s *Store) CreateCadence(ctx context.Context, def engine.Definition, status engine.Status, now time.Time) (engine.Cadence, error) {
	if !status.Valid() {
		return engine.Cadence{}, fmt.Errorf("create cadence: %w", badStatus(status))
	}
	doc, err := json.Marshal(def)
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("create cadence: encode definition: %w", err)
	}
	id, err := newID()
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("create cadence: %w", err)
	}
	now = utc(now)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.q.InsertCadence, id, def.Name, string(status), now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.q.InsertVersion, id, 1, json.RawMessage(doc), now)
		return err
	})
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("create cadence: %w", err)
	}
	return engine.Cadence{ID: id, Status: status, Version: 1, CreatedAt: now, UpdatedAt: now, Definition: def}, nil
}

// scanCadence reads the columns of get_cadence and list_cadences.
func scanCadence(r rowScanner) (engine.Cadence, error) {
	var (
		c      engine.Cadence
		status string
		doc    []byte
	)
	if err := r.Scan(&c.ID, &status, &c.Version, &c.CreatedAt, &c.UpdatedAt, &doc); err != nil {
		return engine.Cadence{}, err
	}
	c.Status = engine.Status(status)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if err := json.Unmarshal(doc, &c.Definition); err != nil {
		return engine.Cadence{}, fmt.Errorf("decode definition of cadence %s: %w", c.ID, err)
	}
	return c, nil
}

// GetCadence returns the cadence with its current definition.
func (s *Store) GetCadence(ctx context.Context, id string) (engine.Cadence, error) {
	c, err := s.getCadence(ctx, s.pool, id)
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("get cadence %s: %w", id, err)
	}
	return c, nil
}

func (s *Store) getCadence(ctx context.Context, q dbtx, id string) (engine.Cadence, error) {
	if !validID(id) {
		return engine.Cadence{}, engine.ErrNotFound
	}
	c, err := scanCadence(q.QueryRow(ctx, s.q.GetCadence, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.Cadence{}, engine.ErrNotFound
	}
	return c, err
}

// ListCadences pages through the cadences, oldest first.
func (s *Store) ListCadences(ctx context.Context, f engine.CadenceFilter) ([]engine.Cadence, string, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", fmt.Errorf("list cadences: %w", badStatus(f.Status))
	}
	after, afterID, limit, err := pageArgs(f.Page)
	if err != nil {
		return nil, "", fmt.Errorf("list cadences: %w", err)
	}
	rows, err := s.pool.Query(ctx, s.q.ListCadences, string(f.Status), after, afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list cadences: %w", err)
	}
	items, err := collect(rows, scanCadence)
	if err != nil {
		return nil, "", fmt.Errorf("list cadences: %w", err)
	}
	items, next := trimPage(items, limit, func(c engine.Cadence) (time.Time, string) { return c.CreatedAt, c.ID })
	return items, next, nil
}

// lockCadence reads the current version of a live cadence with the given
// lock query (cadence_version or cadence_version_share).
func (s *Store) lockCadence(ctx context.Context, tx pgx.Tx, query, id string) (int, error) {
	if !validID(id) {
		return 0, engine.ErrNotFound
	}
	var current int
	err := tx.QueryRow(ctx, query, id).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, engine.ErrNotFound
	}
	return current, err
}

// UpdateCadence saves def as the next version, checking expectVersion when
// it is positive. The row lock makes read-check-write atomic, so concurrent
// saves on any number of nodes get consecutive versions.
func (s *Store) UpdateCadence(ctx context.Context, id string, def engine.Definition, expectVersion int, now time.Time) (engine.Cadence, error) {
	doc, err := json.Marshal(def)
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("update cadence %s: encode definition: %w", id, err)
	}
	now = utc(now)
	var c engine.Cadence
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		current, err := s.lockCadence(ctx, tx, s.q.CadenceVersion, id)
		if err != nil {
			return err
		}
		if expectVersion > 0 && expectVersion != current {
			return fmt.Errorf("%w: version is %d, not %d", engine.ErrConflict, current, expectVersion)
		}
		next := current + 1
		if _, err := tx.Exec(ctx, s.q.InsertVersion, id, next, json.RawMessage(doc), now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q.BumpCadence, id, next, def.Name, now); err != nil {
			return err
		}
		c, err = s.getCadence(ctx, tx, id)
		return err
	})
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("update cadence %s: %w", id, err)
	}
	return c, nil
}

// SetCadenceStatus changes the status; the version stays.
func (s *Store) SetCadenceStatus(ctx context.Context, id string, status engine.Status, now time.Time) (engine.Cadence, error) {
	if !status.Valid() {
		return engine.Cadence{}, fmt.Errorf("set cadence status: %w", badStatus(status))
	}
	if !validID(id) {
		return engine.Cadence{}, fmt.Errorf("set status of cadence %s: %w", id, engine.ErrNotFound)
	}
	now = utc(now)
	var c engine.Cadence
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.q.SetCadenceStatus, id, string(status), now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return engine.ErrNotFound
		}
		c, err = s.getCadence(ctx, tx, id)
		return err
	})
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("set status of cadence %s: %w", id, err)
	}
	return c, nil
}

// DeleteCadence hides the cadence and its versions. Its enrollments and
// actions stay as history; with force, active enrollments are stopped
// ("cadence deleted") and their scheduled actions cancelled first. The
// cadence row lock keeps new enrollments out meanwhile.
func (s *Store) DeleteCadence(ctx context.Context, id string, force bool, now time.Time) error {
	now = utc(now)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.lockCadence(ctx, tx, s.q.CadenceVersion, id); err != nil {
			return err
		}
		var active int
		if err := tx.QueryRow(ctx, s.q.CountActive, id).Scan(&active); err != nil {
			return err
		}
		if active > 0 && !force {
			return fmt.Errorf("%w: %d active enrollments", engine.ErrInUse, active)
		}
		if _, err := tx.Exec(ctx, s.q.StopCadenceEnrolls, id, now, engine.StopReasonCadenceDeleted); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q.CancelCadenceAction, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.q.SoftDeleteCadence, id, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete cadence %s: %w", id, err)
	}
	return nil
}

// scanVersion reads the columns of list_versions and get_version.
func scanVersion(r rowScanner) (engine.CadenceVersion, error) {
	var (
		v   engine.CadenceVersion
		doc []byte
	)
	if err := r.Scan(&v.CadenceID, &v.Version, &v.CreatedAt, &doc); err != nil {
		return engine.CadenceVersion{}, err
	}
	v.CreatedAt = v.CreatedAt.UTC()
	if err := json.Unmarshal(doc, &v.Definition); err != nil {
		return engine.CadenceVersion{}, fmt.Errorf("decode definition of cadence %s version %d: %w", v.CadenceID, v.Version, err)
	}
	return v, nil
}

// ListVersions returns every version, newest first.
func (s *Store) ListVersions(ctx context.Context, id string) ([]engine.CadenceVersion, error) {
	if !validID(id) {
		return nil, fmt.Errorf("list versions of cadence %s: %w", id, engine.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, s.q.ListVersions, id)
	if err != nil {
		return nil, fmt.Errorf("list versions of cadence %s: %w", id, err)
	}
	vs, err := collect(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("list versions of cadence %s: %w", id, err)
	}
	if len(vs) == 0 { // every live cadence has version 1
		return nil, fmt.Errorf("list versions of cadence %s: %w", id, engine.ErrNotFound)
	}
	return vs, nil
}

// GetVersion returns version n.
func (s *Store) GetVersion(ctx context.Context, id string, n int) (engine.CadenceVersion, error) {
	v, err := getRow(ctx, s, validID(id), scanVersion, s.q.GetVersion, id, n)
	if err != nil {
		return engine.CadenceVersion{}, fmt.Errorf("get version %d of cadence %s: %w", n, id, err)
	}
	return v, nil
}

// CadenceStats counts enrollments and completed actions of the cadence.
func (s *Store) CadenceStats(ctx context.Context, id string) (engine.CadenceStats, error) {
	var (
		st  engine.CadenceStats
		err = engine.ErrNotFound
	)
	if validID(id) {
		err = s.pool.QueryRow(ctx, s.q.CadenceStats, id).Scan(&st.Invocations, &st.LastTriggered, &st.TasksRun, &st.LastActionRan)
		if errors.Is(err, pgx.ErrNoRows) {
			err = engine.ErrNotFound
		}
	}
	if err != nil {
		return engine.CadenceStats{}, fmt.Errorf("stats of cadence %s: %w", id, err)
	}
	st.LastTriggered, st.LastActionRan = utcPtr(st.LastTriggered), utcPtr(st.LastActionRan)
	return st, nil
}

// ActiveEnrollments counts the cadence's active enrollments.
func (s *Store) ActiveEnrollments(ctx context.Context, cadenceID string) (int, error) {
	var (
		n   int
		err = engine.ErrNotFound
	)
	if validID(cadenceID) {
		err = s.pool.QueryRow(ctx, s.q.CountActive, cadenceID).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			err = engine.ErrNotFound
		}
	}
	if err != nil {
		return 0, fmt.Errorf("active enrollments of cadence %s: %w", cadenceID, err)
	}
	return n, nil
}
