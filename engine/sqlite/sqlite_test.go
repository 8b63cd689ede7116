package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newStore opens a migrated store in a file of the test's temporary directory.
func newStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "cadenza.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	require.NoError(tb, s.Migrate(tb.Context()))
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return newStore(t) })
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store {
		s, err := sqlite.Open(t.Context(), ":memory:")
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		require.NoError(t, s.Migrate(t.Context()))
		return s
	})
}

func BenchmarkCreateCadence(b *testing.B) { storetest.BenchCreateCadence(b, newStore(b)) }

func BenchmarkGetCadence(b *testing.B) { storetest.BenchGetCadence(b, newStore(b)) }
