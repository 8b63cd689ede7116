package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

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
// its own transaction together with its schema_migrations row. The write
// lock of BEGIN IMMEDIATE serializes concurrent migrators; a second one
// finds the work done.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.CreateMigrationsTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			applied, err := s.applied(ctx, tx)
			if err != nil {
				return err
			}
			if applied[m.Version] {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.q.RecordMigration, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// applied returns the versions recorded in schema_migrations.
func (s *Store) applied(ctx context.Context, q querier) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, s.q.AppliedMigrations)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}

// MigrationStatus reports how many of the embedded migrations are applied.
// It only reads: a database never migrated reports 0.
func (s *Store) MigrationStatus(ctx context.Context) (applied, total int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, 0, err
	}
	var exists int
	if err := s.db.QueryRowContext(ctx, s.q.MigrationsTableExists).Scan(&exists); err != nil {
		return 0, 0, fmt.Errorf("migration status: %w", err)
	}
	if exists == 0 {
		return 0, len(ms), nil
	}
	done, err := s.applied(ctx, s.db)
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
