// Package postgres is the production engine.Store: PostgreSQL through pgx/v5
// and a pgxpool, shared by every node of a cluster. It passes engine/storetest
// like the SQLite driver.
//
// Writes that read before they write lock the rows they depend on
// (SELECT … FOR UPDATE / FOR SHARE) so concurrent nodes serialize per
// cadence, and every multi-row change locks enrollments before their actions
// so that no two transactions wait on each other in a cycle.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Store is the PostgreSQL engine.Store and engine.EnrollmentStore.
type Store struct {
	pool *pgxpool.Pool
	q    *queries
	// commits coalesces concurrent MarkDialing and Complete calls (group.go).
	commits committer
	// stats analyzes the scheduling tables after bulk enrollments (stats.go).
	stats statsKeeper
}

var (
	_ engine.Store           = (*Store)(nil)
	_ engine.EnrollmentStore = (*Store)(nil)
)

// options are what Option sets.
type options struct {
	schema       string
	maxConns     int32
	analyzeAfter int
}

// Option configures Open.
type Option func(*options)

// WithSchema keeps every table in the named schema (it sets the connections'
// search_path). The schema must exist. Without it, the URL's own search_path
// or the server default applies.
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// WithMaxConns caps the pool (default: pgxpool's, the larger of 4 and the
// number of CPUs, unless the URL says pool_max_conns).
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// WithAnalyzeAfter sets how many enrollments make the store analyze the
// scheduling tables in the background (default 1,000, see stats.go); n < 0
// turns it off, for benchmarks that analyze at a moment of their choosing.
func WithAnalyzeAfter(n int) Option { return func(o *options) { o.analyzeAfter = n } }

// schemaName is what WithSchema accepts: a plain lower-case identifier, so it
// needs no quoting anywhere.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects a pool to the database at url (a postgres:// URL or a
// key=value DSN). It does not migrate: call Migrate.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if o.schema != "" {
		if !schemaName.MatchString(o.schema) {
			return nil, fmt.Errorf("schema: %q is not a lower-case identifier", o.schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = o.schema
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	cfg.AfterConnect = registerUUIDCodec
	q, err := loadQueries()
	if err != nil {
		return nil, fmt.Errorf("load queries: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	st := &Store{pool: pool, q: q}
	st.stats.after = o.analyzeAfter
	return st, nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close releases the pool; it waits for connections in use to come back.
func (s *Store) Close() error {
	s.stopStats()
	s.pool.Close()
	return nil
}

// dbtx is what the pool and a transaction have in common.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a read-committed transaction and commits when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// SQLSTATEs the store maps to engine errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// validID reports whether id can be a row id: ids are UUIDs, and anything
// else cannot name a row (the uuid column would refuse it as a parameter).
func validID(id string) bool {
	if len(id) != 36 {
		return false
	}
	_, err := uuid.Parse(id)
	return err == nil
}

// utc is how every time enters the database: UTC, whole microseconds, so
// that what is read back equals what was written.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// utcPtr converts a nullable time read from the database.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// newID returns a time-ordered UUIDv7 string.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}
