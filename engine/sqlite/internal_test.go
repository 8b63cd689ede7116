package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func TestLoadQueries(t *testing.T) {
	q, err := loadQueries()
	require.NoError(t, err)
	require.Contains(t, q.GetCadence, "FROM cadences")
	require.NotContains(t, q.GetCadence, "--", "comments are stripped")
}

func TestLoadMigrations(t *testing.T) {
	ms, err := loadMigrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for i, m := range ms {
		require.Equal(t, i+1, m.Version)
		require.NotEmpty(t, m.Name)
	}
}

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(t.Context(), path)
	require.NoError(t, err)
	defer s.Close()
	applied, total, err := s.MigrationStatus(t.Context())
	require.NoError(t, err)
	require.Zero(t, applied, "Open does not migrate")
	require.Positive(t, total)

	// Several stores on one file migrating at once: each migration runs once.
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			o, err := Open(t.Context(), path)
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
	applied, total2, err := s.MigrationStatus(t.Context())
	require.NoError(t, err)
	require.Equal(t, total, total2)
	require.Equal(t, total, applied)
	var rows int
	require.NoError(t, s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&rows))
	require.Equal(t, total, rows)
}

func TestVersionsImmutableInSchema(t *testing.T) {
	s, err := Open(t.Context(), ":memory:")
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(t.Context()))
	c, err := s.CreateCadence(t.Context(), defForTest(), "draft", time.Unix(0, 0))
	require.NoError(t, err)
	_, err = s.db.ExecContext(t.Context(), "UPDATE cadence_versions SET definition = '{}' WHERE cadence_id = ?", c.ID)
	require.ErrorContains(t, err, "immutable")
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(t.Context(), "")
	require.ErrorContains(t, err, "path")
	_, err = Open(t.Context(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	require.Error(t, err)
}

func TestPathWithURISyntax(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%d")
	s, err := Open(t.Context(), dir+".db")
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(t.Context()))
	require.FileExists(t, dir+".db")
}

func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	got, id, err := decodeCursor(encodeCursor(at, "abc"))
	require.NoError(t, err)
	require.Equal(t, at, got)
	require.Equal(t, "abc", id)
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(time.Unix(1, 0), "x"))
	f.Add("")
	f.Add("MTIzfA")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, err := decodeCursor(s)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to a cursor with the same position.
		at2, id2, err := decodeCursor(encodeCursor(at, id))
		require.NoError(t, err)
		require.Equal(t, at, at2)
		require.Equal(t, id, id2)
	})
}

func defForTest() engine.Definition {
	return engine.Definition{Name: "t", Runs: engine.Runs{Total: 1}}
}
