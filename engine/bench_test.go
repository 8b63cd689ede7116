package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// benchRunDue measures claim → dial (scripted, instant) → complete with
// routing through the whole engine: b.N contacts are due at once.
func benchRunDue(b *testing.B, store engine.ScheduleStore) {
	ctx := b.Context()
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)) // 11:00 New York
	script, err := engine.ParseOutcomeScript("no_answer")
	require.NoError(b, err)
	e, err := engine.New(engine.Options{Store: store, Now: clock.Now, Dialer: engine.NewScriptedDialer(script, clock.Now), BatchSize: 100, Concurrency: 8})
	require.NoError(b, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(b, err)
	for i := range b.N {
		_, err := e.Enroll(ctx, engine.EnrollRequest{CadenceID: cad.ID,
			Contact: &engine.Contact{Phone: fmt.Sprintf("+1212%07d", 2000000+i), TimeZone: "America/New_York"}})
		require.NoError(b, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n, err := e.RunDue(ctx)
	require.NoError(b, err)
	require.Equal(b, b.N, n)
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "actions/s")
}

func BenchmarkRunDueSQLite(b *testing.B) {
	store := newMemStoreTB(b)
	benchRunDue(b, store)
}

func BenchmarkRunDuePostgres(b *testing.B) {
	benchRunDue(b, newPostgresStoreTB(b))
}
