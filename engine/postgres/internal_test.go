package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func TestLoadQueries(t *testing.T) {
	q, err := loadQueries()
	require.NoError(t, err)
	require.Contains(t, q.CadenceVersion, "FOR UPDATE")
	require.NotContains(t, q.GetCadence, "--", "comments are stripped")
}

func TestLoadMigrations(t *testing.T) {
	ms, err := loadMigrations()
	require.NoError(t, err)
	for i, m := range ms {
		require.Equal(t, i+1, m.Version)
	}
}

func TestCursor(t *testing.T) {
	id := "0190f0a0-0000-7000-8000-000000000001"
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	got, gotID, err := decodeCursor(encodeCursor(at, id))
	require.NoError(t, err)
	require.Equal(t, at, got)
	require.Equal(t, id, gotID)
	_, _, err = decodeCursor(encodeCursor(at, "not-a-uuid"))
	var fe engine.FieldErrors
	require.ErrorAs(t, err, &fe, "a cursor must name a row id")
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(time.Unix(1, 0), "0190f0a0-0000-7000-8000-000000000001"))
	f.Add("")
	f.Add("MTIzfA")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, err := decodeCursor(s)
		if err != nil {
			return
		}
		require.True(t, validID(id))
		at2, id2, err := decodeCursor(encodeCursor(at, id))
		require.NoError(t, err)
		require.Equal(t, at, at2)
		require.Equal(t, id, id2)
	})
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(t.Context(), "postgres://u@127.0.0.1:1/db", WithSchema("Bad-Name"))
	require.ErrorContains(t, err, "schema")
	_, err = Open(t.Context(), "::not a url::")
	require.Error(t, err)
}

// testSchema opens a store on a fresh schema of the test database; the
// schema is dropped at cleanup.
func testSchema(t *testing.T) (url, schema string) {
	t.Helper()
	url = os.Getenv("CADENZA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("CADENZA_TEST_POSTGRES_URL is empty but CADENZA_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("CADENZA_TEST_POSTGRES_URL is not set; it is set by make test")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema = "cadenza_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	return url, schema
}

func TestMigrateConcurrentNodes(t *testing.T) {
	url, schema := testSchema(t)
	s, err := Open(t.Context(), url, WithSchema(schema))
	require.NoError(t, err)
	defer s.Close()
	applied, total, err := s.MigrationStatus(t.Context())
	require.NoError(t, err)
	require.Zero(t, applied, "Open does not migrate")
	require.Positive(t, total)

	// Four nodes start together: the advisory lock lets one migrate and
	// the others find the work done.
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			o, err := Open(t.Context(), url, WithSchema(schema))
			if err != nil {
				errs <- err
				return
			}
			defer o.Close()
			errs <- o.Migrate(t.Context())
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	require.NoError(t, s.Migrate(t.Context()), "migrating again is a no-op")
	applied, _, err = s.MigrationStatus(t.Context())
	require.NoError(t, err)
	require.Equal(t, total, applied)
	var rows int
	require.NoError(t, s.pool.QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&rows))
	require.Equal(t, total, rows)
	var where string
	require.NoError(t, s.pool.QueryRow(t.Context(), "SELECT table_schema FROM information_schema.tables WHERE table_name = 'cadences' AND table_schema = $1", schema).Scan(&where))
	require.Equal(t, schema, where, "tables live in the chosen schema")
}

func TestVersionsImmutableInSchema(t *testing.T) {
	url, schema := testSchema(t)
	s, err := Open(t.Context(), url, WithSchema(schema))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(t.Context()))
	c, err := s.CreateCadence(t.Context(), engine.Definition{Name: "t", Runs: engine.Runs{Total: 1}}, engine.StatusDraft, time.Unix(0, 0))
	require.NoError(t, err)
	_, err = s.pool.Exec(t.Context(), "UPDATE cadence_versions SET definition = '{}' WHERE cadence_id = $1", c.ID)
	require.ErrorContains(t, err, "immutable")
}
