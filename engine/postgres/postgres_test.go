package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/postgres"
	"github.com/cadenza-dialer/cadenza/engine/postgres/pgtest"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testURL returns the test database's URL (pgtest.URL).
func testURL(tb testing.TB) string { tb.Helper(); return pgtest.URL(tb) }

// newSchema creates an empty schema dropped at cleanup (pgtest.Schema).
func newSchema(tb testing.TB, url string) string {
	tb.Helper()
	return pgtest.Schema(tb, url, "cadenza_test_")
}

// openIn opens a store on schema, closed at cleanup (registered after the
// schema's, so it runs before the drop).
func openIn(tb testing.TB, url, schema string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), url, postgres.WithSchema(schema), postgres.WithMaxConns(8))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// newStore returns a migrated store in a schema of its own.
func newStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	url := testURL(tb)
	s := openIn(tb, url, newSchema(tb, url))
	require.NoError(tb, s.Migrate(tb.Context()))
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return newStore(t) })
}

func BenchmarkCreateCadence(b *testing.B) { storetest.BenchCreateCadence(b, newStore(b)) }

func BenchmarkGetCadence(b *testing.B) { storetest.BenchGetCadence(b, newStore(b)) }
