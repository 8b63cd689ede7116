package postgres

// The do-not-call list and a contact's call history: the inputs of every
// claim-time compliance check.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cadenza-dialer/cadenza/engine"
)

// AddDNC suppresses a number and stops its enrollments.
func (s *Store) AddDNC(ctx context.Context, phone, reason string, now time.Time) (int, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return 0, err
	}
	var n int
	err = s.inTxRetry(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = s.addDNC(ctx, tx, q, phone, reason, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("add dnc: %w", err)
	}
	return n, nil
}

func (s *Store) addDNC(ctx context.Context, tx pgx.Tx, q *scheduleQueries, phone, reason string, now time.Time) (int, error) {
	if phone == "" {
		return 0, fieldErr("phone", "required")
	}
	if _, err := tx.Exec(ctx, q.InsertDNC, phone, reason, utc(now)); err != nil {
		return 0, err
	}
	rows, err := tx.Query(ctx, q.StopPhoneEnrolls, phone, utc(now), "do not call: "+reason)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := tx.Exec(ctx, q.CancelScheduled, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// RemoveDNC takes a number off the list.
func (s *Store) RemoveDNC(ctx context.Context, phone string) error {
	q, err := loadScheduleQueries()
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, q.DeleteDNC, phone)
	if err != nil {
		return fmt.Errorf("remove dnc %s: %w", phone, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("remove dnc %s: %w", phone, engine.ErrNotFound)
	}
	return nil
}

// IsDNC reports whether the number is suppressed.
func (s *Store) IsDNC(ctx context.Context, phone string) (bool, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return false, err
	}
	var n int
	if err := s.pool.QueryRow(ctx, q.IsDNC, phone).Scan(&n); err != nil {
		return false, fmt.Errorf("is dnc: %w", err)
	}
	return n > 0, nil
}

// ContactAttempts lists a contact's attempts since since.
func (s *Store) ContactAttempts(ctx context.Context, contactID string, since time.Time) ([]engine.Attempt, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return nil, err
	}
	if !validID(contactID) {
		return nil, nil
	}
	out, err := history(ctx, s.pool, q, contactID, since)
	if err != nil {
		return nil, fmt.Errorf("contact attempts: %w", err)
	}
	return out, nil
}

// ContactBlocks lists the blocks recorded for a contact.
func (s *Store) ContactBlocks(ctx context.Context, contactID string) ([]engine.BlockRecord, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return nil, err
	}
	if !validID(contactID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, q.ContactBlocks, contactID)
	if err != nil {
		return nil, fmt.Errorf("contact blocks: %w", err)
	}
	defer rows.Close()
	var out []engine.BlockRecord
	for rows.Next() {
		var (
			b    engine.BlockRecord
			next *time.Time
		)
		if err := rows.Scan(&b.ActionID, &b.ContactID, &b.At, &b.Code, &b.Reason, &next); err != nil {
			return nil, fmt.Errorf("contact blocks: %w", err)
		}
		b.At = b.At.UTC()
		if next != nil {
			b.NextEligible = next.UTC()
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
