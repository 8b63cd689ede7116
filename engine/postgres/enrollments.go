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

// UpsertContact creates the contact, or updates the one with the same phone;
// ON CONFLICT makes concurrent upserts of one phone agree on one row. An
// empty Owner keeps the stored owner; another owner replaces it and the
// change is recorded (OwnerReasonAPI) in the same transaction, under the
// contact's row lock as in SetContactOwner.
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
	upsert := func(tx pgx.Tx) error {
		var prevID, prevOwner string
		err := tx.QueryRow(ctx, s.q.LockContactByPhone, c.Phone).Scan(&prevID, &prevOwner)
		known := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		out, err = scanContact(tx.QueryRow(ctx, s.q.UpsertContact, id, c.Phone, c.FirstName, c.LastName,
			c.TimeZone, c.State, c.Zip, c.Owner, json.RawMessage(doc), utc(now)))
		switch {
		case err != nil:
			return err
		case !known && out.ID != id:
			// Another transaction created the contact after the lock found
			// none: its owner is unknown here, so start again with the row.
			return errContactRace
		case !known || out.Owner == prevOwner:
			return nil
		}
		chID, err := newID()
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, s.q.InsertOwnerChange, chID, prevID, prevOwner, out.Owner,
			engine.OwnerReasonAPI, "", utc(now))
		return err
	}
	for range 3 {
		if err = s.inTx(ctx, upsert); !errors.Is(err, errContactRace) {
			break
		}
	}
	if err != nil {
		return engine.Contact{}, fmt.Errorf("upsert contact: %w", err)
	}
	return out, nil
}

// errContactRace makes UpsertContact try again: the contact was created
// by another transaction between its lock and its upsert.
var errContactRace = errors.New("contact created concurrently")

func scanContact(r rowScanner) (engine.Contact, error) {
	var (
		c   engine.Contact
		doc []byte
	)
	if err := r.Scan(&c.ID, &c.Phone, &c.FirstName, &c.LastName, &c.TimeZone, &c.State, &c.Zip, &c.Owner,
		&doc, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return engine.Contact{}, err
	}
	if err := json.Unmarshal(doc, &c.Fields); err != nil {
		return engine.Contact{}, fmt.Errorf("decode fields of contact %s: %w", c.ID, err)
	}
	if len(c.Fields) == 0 {
		c.Fields = nil
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// GetContact returns a contact.
func (s *Store) GetContact(ctx context.Context, id string) (engine.Contact, error) {
	c, err := getRow(ctx, s, validID(id), scanContact, s.q.GetContact, id)
	if err != nil {
		return engine.Contact{}, fmt.Errorf("get contact %s: %w", id, err)
	}
	return c, nil
}

// CreateEnrollment enrolls a contact in a cadence, pinned to a version. The
// share lock on the cadence keeps a concurrent delete from missing it.
func (s *Store) CreateEnrollment(ctx context.Context, e engine.Enrollment, now time.Time) (engine.Enrollment, error) {
	id, err := newID()
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("create enrollment: %w", err)
	}
	now = utc(now)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		current, err := s.lockCadence(ctx, tx, s.q.CadenceVersionShare, e.CadenceID)
		if err != nil {
			return fmt.Errorf("cadence %s: %w", e.CadenceID, err)
		}
		if e.CadenceVersion == 0 {
			e.CadenceVersion = current
		}
		if e.CadenceVersion < 0 || e.CadenceVersion > current {
			return fmt.Errorf("cadence %s version %d: %w", e.CadenceID, e.CadenceVersion, engine.ErrNotFound)
		}
		if !validID(e.ContactID) {
			return fmt.Errorf("contact %s: %w", e.ContactID, engine.ErrNotFound)
		}
		_, err = tx.Exec(ctx, s.q.InsertEnrollment, id, e.CadenceID, e.CadenceVersion, e.ContactID, now)
		switch pgCode(err) {
		case uniqueViolation:
			return fmt.Errorf("%w: contact %s is already enrolled in cadence %s", engine.ErrConflict, e.ContactID, e.CadenceID)
		case foreignKeyViolation: // the cadence and version were checked above
			return fmt.Errorf("contact %s: %w", e.ContactID, engine.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("create enrollment: %w", err)
	}
	e.ID, e.Status, e.CreatedAt, e.StoppedAt, e.StopReason = id, engine.EnrollmentActive, now, nil, ""
	s.enrolled(1)
	return e, nil
}

func scanEnrollment(r rowScanner) (engine.Enrollment, error) {
	var (
		e      engine.Enrollment
		status string
	)
	if err := r.Scan(&e.ID, &e.CadenceID, &e.CadenceVersion, &e.ContactID, &status, &e.CreatedAt, &e.StoppedAt, &e.StopReason); err != nil {
		return engine.Enrollment{}, err
	}
	e.Status, e.CreatedAt, e.StoppedAt = engine.EnrollmentStatus(status), e.CreatedAt.UTC(), utcPtr(e.StoppedAt)
	return e, nil
}

// GetEnrollment returns an enrollment.
func (s *Store) GetEnrollment(ctx context.Context, id string) (engine.Enrollment, error) {
	e, err := s.getEnrollment(ctx, s.pool, id)
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("get enrollment %s: %w", id, err)
	}
	return e, nil
}

func (s *Store) getEnrollment(ctx context.Context, q dbtx, id string) (engine.Enrollment, error) {
	if !validID(id) {
		return engine.Enrollment{}, engine.ErrNotFound
	}
	e, err := scanEnrollment(q.QueryRow(ctx, s.q.GetEnrollment, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.Enrollment{}, engine.ErrNotFound
	}
	return e, err
}

// StopEnrollment stops an active enrollment and cancels its scheduled actions.
func (s *Store) StopEnrollment(ctx context.Context, id, reason string, now time.Time) (engine.Enrollment, error) {
	var e engine.Enrollment
	err := engine.ErrNotFound
	if validID(id) {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			e, err = scanEnrollment(tx.QueryRow(ctx, s.q.StopEnrollment, id, utc(now), reason))
			if errors.Is(err, pgx.ErrNoRows) {
				if _, err := s.getEnrollment(ctx, tx, id); err != nil {
					return err
				}
				return fmt.Errorf("%w: enrollment has already finished", engine.ErrConflict)
			}
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, s.q.CancelEnrollAction, id)
			return err
		})
	}
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("stop enrollment %s: %w", id, err)
	}
	return e, nil
}

func scanAction(r rowScanner) (engine.ScheduledAction, error) {
	var (
		a          engine.ScheduledAction
		typ, state string
	)
	if err := r.Scan(&a.ID, &a.EnrollmentID, &a.CadenceID, &a.Step, &typ, &a.DueAt, &state, &a.Attempt,
		&a.LeaseOwner, &a.LeaseExpiresAt, &a.CreatedAt, &a.CompletedAt, &a.Disposition); err != nil {
		return engine.ScheduledAction{}, err
	}
	a.Type, a.State = engine.StepType(typ), engine.ActionState(state)
	a.DueAt, a.CreatedAt = a.DueAt.UTC(), a.CreatedAt.UTC()
	a.LeaseExpiresAt, a.CompletedAt = utcPtr(a.LeaseExpiresAt), utcPtr(a.CompletedAt)
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
	if !validID(a.EnrollmentID) {
		return engine.ScheduledAction{}, fmt.Errorf("schedule action: enrollment %s: %w", a.EnrollmentID, engine.ErrNotFound)
	}
	id, err := newID()
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("schedule action: %w", err)
	}
	var out engine.ScheduledAction
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanAction(tx.QueryRow(ctx, s.q.InsertAction, id, a.EnrollmentID, a.Step, string(a.Type),
			utc(a.DueAt), a.Attempt, utc(now)))
		if errors.Is(err, pgx.ErrNoRows) {
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
	a, err := s.getAction(ctx, s.pool, id)
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("get action %s: %w", id, err)
	}
	return a, nil
}

func (s *Store) getAction(ctx context.Context, q dbtx, id string) (engine.ScheduledAction, error) {
	if !validID(id) {
		return engine.ScheduledAction{}, engine.ErrNotFound
	}
	a, err := scanAction(q.QueryRow(ctx, s.q.GetAction, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.ScheduledAction{}, engine.ErrNotFound
	}
	return a, err
}

// CompleteAction records the disposition of a pending action.
func (s *Store) CompleteAction(ctx context.Context, id, disposition string, now time.Time) (engine.ScheduledAction, error) {
	var a engine.ScheduledAction
	err := engine.ErrNotFound
	if validID(id) {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			a, err = scanAction(tx.QueryRow(ctx, s.q.CompleteAction, id, utc(now), disposition))
			if errors.Is(err, pgx.ErrNoRows) {
				cur, err := s.getAction(ctx, tx, id)
				if err != nil {
					return err
				}
				return fmt.Errorf("%w: action is %s", engine.ErrConflict, cur.State)
			}
			return err
		})
	}
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("complete action %s: %w", id, err)
	}
	return a, nil
}
