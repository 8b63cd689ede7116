package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/cadenza-dialer/cadenza/engine"
)

// utc is how every time enters the database: UTC, whole microseconds, so
// that what is read back equals what was written.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// newID returns a time-ordered UUIDv7 string.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
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
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.InsertCadence, id, def.Name, string(status), micros(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q.InsertVersion, id, 1, string(doc), micros(now))
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
		c                  engine.Cadence
		status, doc        string
		created, updatedAt int64
	)
	if err := r.Scan(&c.ID, &status, &c.Version, &created, &updatedAt, &doc); err != nil {
		return engine.Cadence{}, err
	}
	c.Status = engine.Status(status)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updatedAt)
	if err := json.Unmarshal([]byte(doc), &c.Definition); err != nil {
		return engine.Cadence{}, fmt.Errorf("decode definition of cadence %s: %w", c.ID, err)
	}
	return c, nil
}

// GetCadence returns the cadence with its current definition.
func (s *Store) GetCadence(ctx context.Context, id string) (engine.Cadence, error) {
	c, err := s.getCadence(ctx, s.db, id)
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("get cadence %s: %w", id, err)
	}
	return c, nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) getCadence(ctx context.Context, q querier, id string) (engine.Cadence, error) {
	c, err := scanCadence(q.QueryRowContext(ctx, s.q.GetCadence, id))
	if errors.Is(err, sql.ErrNoRows) {
		return engine.Cadence{}, engine.ErrNotFound
	}
	return c, err
}

// ListCadences pages through the cadences, oldest first.
func (s *Store) ListCadences(ctx context.Context, f engine.CadenceFilter) ([]engine.Cadence, string, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", fmt.Errorf("list cadences: %w", badStatus(f.Status))
	}
	afterAt, afterID, limit, err := pageArgs(f.Page)
	if err != nil {
		return nil, "", fmt.Errorf("list cadences: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q.ListCadences, string(f.Status), afterAt, afterID, limit+1)
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

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// UpdateCadence saves def as the next version, checking expectVersion when
// it is positive. The write lock of the transaction makes read-check-write
// atomic, so concurrent saves get consecutive versions.
func (s *Store) UpdateCadence(ctx context.Context, id string, def engine.Definition, expectVersion int, now time.Time) (engine.Cadence, error) {
	doc, err := json.Marshal(def)
	if err != nil {
		return engine.Cadence{}, fmt.Errorf("update cadence %s: encode definition: %w", id, err)
	}
	now = utc(now)
	var c engine.Cadence
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var current int
		if err := tx.QueryRowContext(ctx, s.q.CadenceVersion, id).Scan(&current); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return engine.ErrNotFound
			}
			return err
		}
		if expectVersion > 0 && expectVersion != current {
			return fmt.Errorf("%w: version is %d, not %d", engine.ErrConflict, current, expectVersion)
		}
		next := current + 1
		if _, err := tx.ExecContext(ctx, s.q.InsertVersion, id, next, string(doc), micros(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.BumpCadence, id, next, def.Name, micros(now)); err != nil {
			return err
		}
		var err error
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
	now = utc(now)
	var c engine.Cadence
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.SetCadenceStatus, id, string(status), micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
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
// ("cadence deleted") and their scheduled actions cancelled first.
func (s *Store) DeleteCadence(ctx context.Context, id string, force bool, now time.Time) error {
	now = utc(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var active int
		if err := tx.QueryRowContext(ctx, s.q.CountActive, id).Scan(&active); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return engine.ErrNotFound
			}
			return err
		}
		if active > 0 && !force {
			return fmt.Errorf("%w: %d active enrollments", engine.ErrInUse, active)
		}
		if _, err := tx.ExecContext(ctx, s.q.StopCadenceEnrolls, id, micros(now), engine.StopReasonCadenceDeleted); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.CancelCadenceAction, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q.SoftDeleteCadence, id, micros(now))
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
		v       engine.CadenceVersion
		created int64
		doc     string
	)
	if err := r.Scan(&v.CadenceID, &v.Version, &created, &doc); err != nil {
		return engine.CadenceVersion{}, err
	}
	v.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(doc), &v.Definition); err != nil {
		return engine.CadenceVersion{}, fmt.Errorf("decode definition of cadence %s version %d: %w", v.CadenceID, v.Version, err)
	}
	return v, nil
}

// ListVersions returns every version, newest first.
func (s *Store) ListVersions(ctx context.Context, id string) ([]engine.CadenceVersion, error) {
	rows, err := s.db.QueryContext(ctx, s.q.ListVersions, id)
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
	v, err := getRow(ctx, s, scanVersion, s.q.GetVersion, id, n)
	if err != nil {
		return engine.CadenceVersion{}, fmt.Errorf("get version %d of cadence %s: %w", n, id, err)
	}
	return v, nil
}

// CadenceStats counts enrollments and completed actions of the cadence.
func (s *Store) CadenceStats(ctx context.Context, id string) (engine.CadenceStats, error) {
	var (
		st                 engine.CadenceStats
		lastTrig, lastDone sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, s.q.CadenceStats, id).Scan(&st.Invocations, &lastTrig, &st.TasksRun, &lastDone)
	if errors.Is(err, sql.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return engine.CadenceStats{}, fmt.Errorf("stats of cadence %s: %w", id, err)
	}
	st.LastTriggered, st.LastActionRan = fromNullMicros(lastTrig), fromNullMicros(lastDone)
	return st, nil
}

// ActiveEnrollments counts the cadence's active enrollments.
func (s *Store) ActiveEnrollments(ctx context.Context, cadenceID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q.CountActive, cadenceID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("active enrollments of cadence %s: %w", cadenceID, err)
	}
	return n, nil
}
