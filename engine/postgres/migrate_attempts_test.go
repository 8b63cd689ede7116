package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

// TestMigrationFoldsAttemptsIntoActions upgrades a database written by the
// schema before 0008 (attempts in a table of their own) and checks that
// every attempt survives as a counted action, with its time and outcome,
// and nothing else counts.
func TestMigrationFoldsAttemptsIntoActions(t *testing.T) {
	url, schema := testSchema(t)
	ctx := t.Context()
	s, err := Open(ctx, url, WithSchema(schema), WithMaxConns(2))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	// The schema as it was before 0008.
	ms, err := loadMigrations()
	require.NoError(t, err)
	_, err = s.pool.Exec(ctx, s.q.CreateMigrationsTable)
	require.NoError(t, err)
	for _, m := range ms {
		if m.Version >= 8 {
			break
		}
		_, err := s.pool.Exec(ctx, m.SQL)
		require.NoError(t, err, m.Name)
		_, err = s.pool.Exec(ctx, s.q.RecordMigration, m.Version, m.Name)
		require.NoError(t, err)
	}

	now := time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)
	cad, err := s.CreateCadence(ctx, storetest.Definition("upgrade"), engine.StatusActive, now)
	require.NoError(t, err)
	c, err := s.UpsertContact(ctx, engine.Contact{Phone: "+12125550100"}, now)
	require.NoError(t, err)
	e, err := s.CreateEnrollment(ctx, engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, now)
	require.NoError(t, err)
	const (
		placed   = "00000000-0000-7000-8000-000000000001" // completed busy, with its attempt
		inFlight = "00000000-0000-7000-8000-000000000002" // processing, attempt without an outcome yet
		dropped  = "00000000-0000-7000-8000-000000000003" // completed, never placed: no attempt
		waiting  = "00000000-0000-7000-8000-000000000004" // scheduled
	)
	t1, t2 := now.Add(-2*time.Hour), now.Add(-time.Minute)
	// Should an action's started_at differ from its attempt's time, the
	// attempt's time is the one that counted, and still counts.
	t0 := t1.Add(-time.Second)
	for _, a := range []struct {
		id, state, disposition string
		started                *time.Time
	}{
		{placed, "completed", "busy", &t0},
		{inFlight, "processing", "", &t2},
		{dropped, "completed", "failed", &t2},
		{waiting, "scheduled", "", nil},
	} {
		_, err := s.pool.Exec(ctx, `INSERT INTO actions (id, enrollment_id, cadence_id, step, type, due_at, state, attempt,
			created_at, disposition, started_at) VALUES ($1, $2, $3, 1, 'call', $4, $5, 1, $4, $6, $7)`,
			a.id, e.ID, cad.ID, now.Add(-3*time.Hour), a.state, a.disposition, a.started)
		require.NoError(t, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO attempts (action_id, contact_id, enrollment_id, channel, at, disposition)
		VALUES ($1, $3, $4, 'call', $5, 'busy'), ($2, $3, $4, 'call', $6, '')`, placed, inFlight, c.ID, e.ID, t1, t2)
	require.NoError(t, err)

	require.NoError(t, s.Migrate(ctx))

	got, err := s.ContactAttempts(ctx, c.ID, time.Time{})
	require.NoError(t, err)
	require.Equal(t, []engine.Attempt{
		{ActionID: placed, ContactID: c.ID, EnrollmentID: e.ID, Channel: engine.StepCall, At: t1, Disposition: "busy"},
		{ActionID: inFlight, ContactID: c.ID, EnrollmentID: e.ID, Channel: engine.StepCall, At: t2},
	}, got)
	var missing, tables int
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT count(*) FROM actions WHERE contact_id IS DISTINCT FROM $1", c.ID).Scan(&missing))
	require.Zero(t, missing, "every action names its enrollment's contact")
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'attempts'", schema).Scan(&tables))
	require.Zero(t, tables)
}
