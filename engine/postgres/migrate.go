package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cadenza-dialer/cadenza/engine/internal/sqlfile"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations reads migrations/NNNN_name.sql in version order; versions
// must be unique and start at 1 without gaps, so a lost file is noticed.
func loadMigrations() ([]sqlfile.Migration, error) {
	return sqlfile.Migrations(migrationFiles, "migrations/*.sql")
}

// Migrate applies the embedded migrations that are not applied yet, each in
// its own transaction together with its schema_migrations row. It holds an
// advisory lock for the schema throughout, so nodes starting together take
// turns and the later ones find the work done.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, s.q.MigrationLock); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done; if that fails the session ends
		// and the lock with it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), s.q.MigrationUnlock); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, s.q.CreateMigrationsTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	done, err := s.applied(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, s.q.RecordMigration, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// applied returns the versions recorded in schema_migrations.
func (s *Store) applied(ctx context.Context, q dbtx) (map[int]bool, error) {
	rows, err := q.Query(ctx, s.q.AppliedMigrations)
	if err != nil {
		return nil, err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, err
	}
	out := make(map[int]bool, len(vs))
	for _, v := range vs {
		out[v] = true
	}
	return out, nil
}

// MigrationStatus reports how many of the embedded migrations are applied.
// It only reads: a database never migrated reports 0.
func (s *Store) MigrationStatus(ctx context.Context) (applied, total int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, 0, err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, s.q.MigrationsTableExists).Scan(&exists); err != nil {
		return 0, 0, fmt.Errorf("migration status: %w", err)
	}
	if !exists {
		return 0, len(ms), nil
	}
	done, err := s.applied(ctx, s.pool)
	if err != nil {
		return 0, 0, fmt.Errorf("migration status: %w", err)
	}
	for _, m := range ms {
		if done[m.Version] {
			applied++
		}
	}
	return applied, len(ms), nil
}
