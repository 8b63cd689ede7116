// Package pgtest gives tests and benchmarks a PostgreSQL store of their own:
// the test database's URL (set by make test), a schema with a random name
// dropped with everything in it at cleanup, and a migrated store in it.
// Without CADENZA_TEST_POSTGRES_URL a test is skipped, unless
// CADENZA_TEST_REQUIRE_SERVICES=1 (make test), which fails it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine/postgres"
)

// URL returns the test database's URL, or skips (fails under make test).
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("CADENZA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			tb.Fatal("CADENZA_TEST_POSTGRES_URL is empty but CADENZA_TEST_REQUIRE_SERVICES=1")
		}
		tb.Skip("CADENZA_TEST_POSTGRES_URL is not set; it is set by make test")
	}
	return url
}

// Schema creates an empty schema named prefix plus a random suffix in the
// database at url, and drops it with everything in it at cleanup.
func Schema(tb testing.TB, url, prefix string) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	require.NoError(tb, exec(tb.Context(), "CREATE SCHEMA "+name))
	tb.Cleanup(func() {
		if err := exec(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// Open returns a migrated store with a pool of maxConns in a new schema
// (see Schema), closed before the schema is dropped; and the URL and
// schema it lives in, for tests that also use the database directly.
// opts add to the schema and pool options.
func Open(tb testing.TB, prefix string, maxConns int32, opts ...postgres.Option) (s *postgres.Store, url, schema string) {
	tb.Helper()
	url = URL(tb)
	schema = Schema(tb, url, prefix)
	opts = append([]postgres.Option{postgres.WithSchema(schema), postgres.WithMaxConns(maxConns)}, opts...)
	s, err := postgres.Open(tb.Context(), url, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	require.NoError(tb, s.Migrate(tb.Context()))
	return s, url, schema
}

// Conn connects to the database at url with schema as its search path;
// the connection is closed at cleanup.
func Conn(tb testing.TB, url, schema string) *pgx.Conn {
	tb.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(tb, err)
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(tb.Context(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// Analyze refreshes the planner's statistics of every table in schema, as
// autovacuum does in time: benchmarks call it after their set-up so that
// what they measure is the steady state, not the minute after a bulk load.
func Analyze(tb testing.TB, url, schema string) {
	tb.Helper()
	conn := Conn(tb, url, schema)
	_, err := conn.Exec(tb.Context(), "ANALYZE")
	require.NoError(tb, err)
	require.NoError(tb, conn.Close(tb.Context()))
}
