package main

import (
	"context"
	"fmt"

	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/postgres"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
)

// store is an engine.Store that can also migrate its schema; both drivers are.
type store interface {
	engine.Store
	engine.ScheduleStore
	Migrate(ctx context.Context) error
	MigrationStatus(ctx context.Context) (applied, total int, err error)
}

// openStore opens the database the configuration names. It does not migrate.
func openStore(ctx context.Context, db config.Database) (store, error) {
	driver, dsn, err := db.Parse()
	if err != nil {
		return nil, fmt.Errorf("database.url: %w", err)
	}
	switch driver {
	case config.DriverPostgres:
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return s, nil
	default:
		s, err := sqlite.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		return s, nil
	}
}

// openMigrated opens the store and brings its schema up to date, as serve
// does at start.
func openMigrated(ctx context.Context, db config.Database) (store, error) {
	s, err := openStore(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}
