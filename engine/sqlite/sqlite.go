// Package sqlite is the embedded engine.Store: one SQLite database file
// through modernc.org/sqlite (pure Go, no cgo), for a single node. It passes
// engine/storetest like the PostgreSQL driver.
//
// The database runs in WAL mode so reads go on while one writer writes; every
// write runs in a BEGIN IMMEDIATE transaction, which takes the write lock up
// front (waiting up to the busy timeout) so that two writers never deadlock
// upgrading read locks. Times are stored as INTEGER microseconds in UTC.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Store is the SQLite engine.Store and engine.EnrollmentStore.
type Store struct {
	db *sql.DB
	q  *queries
}

var (
	_ engine.Store           = (*Store)(nil)
	_ engine.EnrollmentStore = (*Store)(nil)
)

// busyTimeout is how long a writer waits for the write lock before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Open opens (creating if needed) the database at path, or a private
// in-memory database for ":memory:". It does not migrate: call Migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite path: required")
	}
	q, err := loadQueries()
	if err != nil {
		return nil, fmt.Errorf("load queries: %w", err)
	}
	memory := path == ":memory:"
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if memory {
		// Every connection to ":memory:" is a database of its own: keep
		// exactly one, forever, so all callers share it.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	} else {
		// WAL allows many readers next to the one writer.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Store{db: db, q: q}, nil
}

// dsn builds the driver's connection string: the pragmas every connection
// needs, and immediate transactions.
func dsn(path string) string {
	params := url.Values{}
	params.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	params.Add("_pragma", "foreign_keys(1)")
	// FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on a
	// power cut, and an accepted enrollment must survive one.
	params.Add("_pragma", "synchronous(FULL)")
	params.Set("_txlock", "immediate")
	name := path
	if path != ":memory:" {
		params.Add("_pragma", "journal_mode(WAL)")
		if !strings.HasPrefix(path, "file:") {
			// Escape what a URI filename would otherwise read as syntax.
			name = "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
		}
	}
	sep := "?"
	if strings.Contains(name, "?") {
		sep = "&"
	}
	return name + sep + params.Encode()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close releases the connections; an in-memory database is gone after it.
func (s *Store) Close() error { return s.db.Close() }

// inTx runs fn in a write transaction (BEGIN IMMEDIATE through _txlock) and
// commits when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	var se *sqlite3.Error
	return errors.As(err, &se) && se.Code() == sqlite3lib.SQLITE_CONSTRAINT_FOREIGNKEY
}

// micros stores a time: UTC microseconds since the epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros reads a stored time back.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// fromNullMicros reads a nullable stored time.
func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// getRow scans the one row of query; no row is engine.ErrNotFound. The
// caller names what it looked for in the error.
func getRow[T any](ctx context.Context, s *Store, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(s.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		err = engine.ErrNotFound
	}
	return v, err
}
