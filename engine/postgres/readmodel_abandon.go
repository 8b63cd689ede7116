package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// addAbandonment counts the rolling-window abandonment of the filter's
// cadences into b (engine/readmodel.go defines the numbers).
func (s *Store) addAbandonment(ctx context.Context, q *readModelQueries, f engine.AnalyticsFilter, b *engine.AnalyticsBuilder) error {
	from, to := f.AbandonRange()
	rows, err := s.pool.Query(ctx, q.Abandonment, string(f.Status), optionalID(f.CadenceID), from, to)
	if err != nil {
		return fmt.Errorf("abandonment: %w", err)
	}
	_, err = collect(rows, func(r rowScanner) (struct{}, error) {
		var (
			cad             string
			live, abandoned int
		)
		if err := r.Scan(&cad, &live, &abandoned); err != nil {
			return struct{}{}, err
		}
		b.AddAbandonment(cad, live, abandoned)
		return struct{}{}, nil
	})
	if err != nil {
		return fmt.Errorf("abandonment: %w", err)
	}
	return nil
}

// AbandonmentHistory returns the live answers and abandoned calls per
// cadence and hour of completion since the given time, counted in SQL.
func (s *Store) AbandonmentHistory(ctx context.Context, since time.Time) ([]engine.AbandonBucket, error) {
	q, err := loadReadModelQueries()
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, q.AbandonHistory, utc(since))
	if err != nil {
		return nil, fmt.Errorf("abandonment history: %w", err)
	}
	out, err := collect(rows, func(r rowScanner) (engine.AbandonBucket, error) {
		var b engine.AbandonBucket
		err := r.Scan(&b.CadenceID, &b.Hour, &b.Live, &b.Abandoned)
		b.Hour = b.Hour.UTC()
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("abandonment history: %w", err)
	}
	return out, nil
}
