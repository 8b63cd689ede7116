package sqlite

// The do-not-call list and a contact's call history: the inputs of every
// claim-time compliance check.

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// AddDNC suppresses a number and stops its enrollments.
func (s *Store) AddDNC(ctx context.Context, phone, reason string, now time.Time) (int, error) {
	q, err := s.sq()
	if err != nil {
		return 0, err
	}
	var n int
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.addDNC(ctx, tx, q, phone, reason, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("add dnc: %w", err)
	}
	return n, nil
}

func (s *Store) addDNC(ctx context.Context, tx *sql.Tx, q *scheduleQueries, phone, reason string, now time.Time) (int, error) {
	if phone == "" {
		return 0, fieldErr("phone", "required")
	}
	if _, err := tx.ExecContext(ctx, q.InsertDNC, phone, reason, micros(utc(now))); err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, q.StopPhoneEnrolls, phone, micros(utc(now)), "do not call: "+reason)
	if err != nil {
		return 0, err
	}
	ids, err := collectIDs(rows)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, q.CancelScheduled, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// RemoveDNC takes a number off the list.
func (s *Store) RemoveDNC(ctx context.Context, phone string) error {
	q, err := s.sq()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.DeleteDNC, phone)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return engine.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove dnc %s: %w", phone, err)
	}
	return nil
}

// IsDNC reports whether the number is suppressed.
func (s *Store) IsDNC(ctx context.Context, phone string) (bool, error) {
	q, err := s.sq()
	if err != nil {
		return false, err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q.IsDNC, phone).Scan(&n); err != nil {
		return false, fmt.Errorf("is dnc: %w", err)
	}
	return n > 0, nil
}

// ContactAttempts lists a contact's attempts since since.
func (s *Store) ContactAttempts(ctx context.Context, contactID string, since time.Time) ([]engine.Attempt, error) {
	q, err := s.sq()
	if err != nil {
		return nil, err
	}
	out, err := history(ctx, s.db, q, contactID, since)
	if err != nil {
		return nil, fmt.Errorf("contact attempts: %w", err)
	}
	return out, nil
}

// ContactBlocks lists the blocks recorded for a contact.
func (s *Store) ContactBlocks(ctx context.Context, contactID string) ([]engine.BlockRecord, error) {
	q, err := s.sq()
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, q.ContactBlocks, contactID)
	if err != nil {
		return nil, fmt.Errorf("contact blocks: %w", err)
	}
	defer rows.Close()
	var out []engine.BlockRecord
	for rows.Next() {
		var (
			b    engine.BlockRecord
			at   int64
			next sql.NullInt64
		)
		if err := rows.Scan(&b.ActionID, &b.ContactID, &at, &b.Code, &b.Reason, &next); err != nil {
			return nil, fmt.Errorf("contact blocks: %w", err)
		}
		b.At = fromMicros(at)
		if next.Valid {
			b.NextEligible = fromMicros(next.Int64)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
