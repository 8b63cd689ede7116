package sqlite_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestScheduleConformance(t *testing.T) {
	storetest.RunSchedule(t, func(t *testing.T) engine.ScheduleStore { return newStore(t) })
}

func TestScheduleConformanceInMemory(t *testing.T) {
	storetest.RunSchedule(t, func(t *testing.T) engine.ScheduleStore {
		s, err := sqlite.Open(t.Context(), ":memory:")
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		require.NoError(t, s.Migrate(t.Context()))
		return s
	})
}
