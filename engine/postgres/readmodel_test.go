package postgres_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine/sqlite"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestReadModelConformance(t *testing.T) {
	storetest.RunReadModel(t, func(t *testing.T) storetest.ReadModelStore { return newStore(t) })
}

// The abandonment numbers are the same whichever store holds the attempts:
// the pacer's ledger must not depend on the driver.
func TestAbandonmentAgreesWithSQLite(t *testing.T) {
	pg := newStore(t)
	lite, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "cadenza.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = lite.Close() })
	require.NoError(t, lite.Migrate(t.Context()))
	storetest.RequireAbandonmentAgrees(t, pg, lite)
}
