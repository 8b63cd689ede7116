package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// UpsertContact creates the contact, or updates the one with the same phone.
// An empty Owner keeps the stored owner; another owner replaces it and the
// change is recorded (OwnerReasonAPI) in the same transaction, which BEGIN
// IMMEDIATE serializes with SetContactOwner.
func (s *Store) UpsertContact(ctx context.Context, c engine.Contact, now time.Time) (engine.Contact, error) {
	if c.Phone == "" {
		return engine.Contact{}, fmt.Errorf("upsert contact: %w", fieldErr("phone", "required"))
	}
	fields := c.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	doc, err := json.Marshal(fields)
	if err != nil {
		return engine.Contact{}, fmt.Errorf("upsert contact: encode fields: %w", err)
	}
	id, err := newID()
	if err != nil {
		return engine.Contact{}, fmt.Errorf("upsert contact: %w", err)
	}
	var out engine.Contact
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var prevID, prevOwner string
		err := tx.QueryRowContext(ctx, s.q.ContactOwnerByPhone, c.Phone).Scan(&prevID, &prevOwner)
		known := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		out, err = scanContact(tx.QueryRowContext(ctx, s.q.UpsertContact, id, c.Phone, c.FirstName, c.LastName,
			c.TimeZone, c.State, c.Zip, c.Owner, string(doc), micros(utc(now))))
		if err != nil || !known || out.Owner == prevOwner {
			return err
		}
		chID, err := newID()
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q.InsertOwnerChange, chID, prevID, prevOwner, out.Owner,
			engine.OwnerReasonAPI, "", micros(utc(now)))
		return err
	})
	if err != nil {
		return engine.Contact{}, fmt.Errorf("upsert contact: %w", err)
	}
	return out, nil
}

func scanContact(r rowScanner) (engine.Contact, error) {
	var (
		c                engine.Contact
		doc              string
		created, updated int64
	)
	if err := r.Scan(&c.ID, &c.Phone, &c.FirstName, &c.LastName, &c.TimeZone, &c.State, &c.Zip, &c.Owner,
		&doc, &created, &updated); err != nil {
		return engine.Contact{}, err
	}
	if err := json.Unmarshal([]byte(doc), &c.Fields); err != nil {
		return engine.Contact{}, fmt.Errorf("decode fields of contact %s: %w", c.ID, err)
	}
	if len(c.Fields) == 0 {
		c.Fields = nil
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// GetContact returns a contact.
func (s *Store) GetContact(ctx context.Context, id string) (engine.Contact, error) {
	c, err := getRow(ctx, s, scanContact, s.q.GetContact, id)
	if err != nil {
		return engine.Contact{}, fmt.Errorf("get contact %s: %w", id, err)
	}
	return c, nil
}

// CreateEnrollment enrolls a contact in a cadence, pinned to a version.
func (s *Store) CreateEnrollment(ctx context.Context, e engine.Enrollment, now time.Time) (engine.Enrollment, error) {
	id, err := newID()
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("create enrollment: %w", err)
	}
	now = utc(now)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var current int
		if err := tx.QueryRowContext(ctx, s.q.CadenceVersion, e.CadenceID).Scan(&current); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("cadence %s: %w", e.CadenceID, engine.ErrNotFound)
			}
			return err
		}
		if e.CadenceVersion == 0 {
			e.CadenceVersion = current
		}
		if e.CadenceVersion < 0 || e.CadenceVersion > current {
			return fmt.Errorf("cadence %s version %d: %w", e.CadenceID, e.CadenceVersion, engine.ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, s.q.InsertEnrollment, id, e.CadenceID, e.CadenceVersion, e.ContactID, micros(now))
		switch {
		case isUnique(err):
			return fmt.Errorf("%w: contact %s is already enrolled in cadence %s", engine.ErrConflict, e.ContactID, e.CadenceID)
		case isForeignKey(err): // the cadence and version were checked above
			return fmt.Errorf("contact %s: %w", e.ContactID, engine.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("create enrollment: %w", err)
	}
	e.ID, e.Status, e.CreatedAt, e.StoppedAt, e.StopReason = id, engine.EnrollmentActive, now, nil, ""
	return e, nil
}

func scanEnrollment(r rowScanner) (engine.Enrollment, error) {
	var (
		e       engine.Enrollment
		status  string
		created int64
		stopped sql.NullInt64
	)
	if err := r.Scan(&e.ID, &e.CadenceID, &e.CadenceVersion, &e.ContactID, &status, &created, &stopped, &e.StopReason); err != nil {
		return engine.Enrollment{}, err
	}
	e.Status, e.CreatedAt, e.StoppedAt = engine.EnrollmentStatus(status), fromMicros(created), fromNullMicros(stopped)
	return e, nil
}

// GetEnrollment returns an enrollment.
func (s *Store) GetEnrollment(ctx context.Context, id string) (engine.Enrollment, error) {
	e, err := s.getEnrollment(ctx, s.db, id)
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("get enrollment %s: %w", id, err)
	}
	return e, nil
}

func (s *Store) getEnrollment(ctx context.Context, q querier, id string) (engine.Enrollment, error) {
	e, err := scanEnrollment(q.QueryRowContext(ctx, s.q.GetEnrollment, id))
	if errors.Is(err, sql.ErrNoRows) {
		return engine.Enrollment{}, engine.ErrNotFound
	}
	return e, err
}

// StopEnrollment stops an active enrollment and cancels its scheduled actions.
func (s *Store) StopEnrollment(ctx context.Context, id, reason string, now time.Time) (engine.Enrollment, error) {
	var e engine.Enrollment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = scanEnrollment(tx.QueryRowContext(ctx, s.q.StopEnrollment, id, micros(utc(now)), reason))
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := s.getEnrollment(ctx, tx, id); err != nil {
				return err
			}
			return fmt.Errorf("%w: enrollment has already finished", engine.ErrConflict)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q.CancelEnrollAction, id)
		return err
	})
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("stop enrollment %s: %w", id, err)
	}
	return e, nil
}

func scanAction(r rowScanner) (engine.ScheduledAction, error) {
	var (
		a                   engine.ScheduledAction
		typ, state          string
		due, created        int64
		leaseExp, completed sql.NullInt64
	)
	if err := r.Scan(&a.ID, &a.EnrollmentID, &a.CadenceID, &a.Step, &typ, &due, &state, &a.Attempt,
		&a.LeaseOwner, &leaseExp, &created, &completed, &a.Disposition); err != nil {
		return engine.ScheduledAction{}, err
	}
	a.Type, a.State = engine.StepType(typ), engine.ActionState(state)
	a.DueAt, a.CreatedAt = fromMicros(due), fromMicros(created)
	a.LeaseExpiresAt, a.CompletedAt = fromNullMicros(leaseExp), fromNullMicros(completed)
	return a, nil
}

// ScheduleAction adds a scheduled action to an active enrollment.
func (s *Store) ScheduleAction(ctx context.Context, a engine.ScheduledAction, now time.Time) (engine.ScheduledAction, error) {
	if a.Step < 1 {
		return engine.ScheduledAction{}, fmt.Errorf("schedule action: %w", fieldErr("step", fmt.Sprintf("%d is not a step number", a.Step)))
	}
	if a.Type != engine.StepCall && a.Type != engine.StepSMS {
		return engine.ScheduledAction{}, fmt.Errorf("schedule action: %w", fieldErr("type", fmt.Sprintf("unknown step type %q", a.Type)))
	}
	if a.Attempt < 1 {
		a.Attempt = 1
	}
	id, err := newID()
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("schedule action: %w", err)
	}
	var out engine.ScheduledAction
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanAction(tx.QueryRowContext(ctx, s.q.InsertAction, id, a.EnrollmentID, a.Step, string(a.Type),
			micros(utc(a.DueAt)), a.Attempt, micros(utc(now))))
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := s.getEnrollment(ctx, tx, a.EnrollmentID); err != nil {
				return fmt.Errorf("enrollment %s: %w", a.EnrollmentID, err)
			}
			return fmt.Errorf("%w: enrollment %s has finished", engine.ErrConflict, a.EnrollmentID)
		}
		return err
	})
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("schedule action: %w", err)
	}
	return out, nil
}

// GetAction returns a scheduled action.
func (s *Store) GetAction(ctx context.Context, id string) (engine.ScheduledAction, error) {
	a, err := getRow(ctx, s, scanAction, s.q.GetAction, id)
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("get action %s: %w", id, err)
	}
	return a, nil
}

// CompleteAction records the disposition of a pending action.
func (s *Store) CompleteAction(ctx context.Context, id, disposition string, now time.Time) (engine.ScheduledAction, error) {
	var a engine.ScheduledAction
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAction(tx.QueryRowContext(ctx, s.q.CompleteAction, id, micros(utc(now)), disposition))
		if errors.Is(err, sql.ErrNoRows) {
			cur, err := scanAction(tx.QueryRowContext(ctx, s.q.GetAction, id))
			if errors.Is(err, sql.ErrNoRows) {
				return engine.ErrNotFound
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("%w: action is %s", engine.ErrConflict, cur.State)
		}
		return err
	})
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("complete action %s: %w", id, err)
	}
	return a, nil
}
