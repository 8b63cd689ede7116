package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// stateIndexes hold every row of one state (or are led by the state): a
// statement that names its rows by id must never read one of them, or its
// cost grows with the schedule instead of its batch.
var stateIndexes = []string{"actions_due", "actions_lease", "actions_state_page", "enrollments_one_active"}

// TestIDStatementsUsePrimaryKeys plans every statement that names its rows
// by id against a schedule of 20,000 enrollments loaded in bulk and never
// analyzed, the state a database is in right after a large import, before
// autovacuum: the statistics then call the state indexes small. Each must
// find its rows by primary key, in the custom plan of its first executions
// and in the generic plan the server caches after them.
func TestIDStatementsUsePrimaryKeys(t *testing.T) {
	t.Parallel()
	conn, now, _ := planFixture(t)
	ctx := t.Context()
	pick := func(sql string, args ...any) []string {
		rows, err := conn.Query(ctx, sql, args...)
		require.NoError(t, err)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Len(t, ids, 50)
		return ids
	}
	scheduled := pick("SELECT id::text FROM actions WHERE state = 'scheduled' LIMIT 50")
	processing := pick("SELECT id::text FROM actions WHERE state = 'processing' LIMIT 50")
	enrollments := pick("SELECT enrollment_id::text FROM actions WHERE state = 'processing' LIMIT 50")
	contacts := pick("SELECT contact_id::text FROM actions WHERE state = 'processing' LIMIT 50")
	fences := make([]int64, 50)
	ats := make([]time.Time, 50)
	texts := make([]string, 50)
	placed := make([]bool, 50)
	ints := make([]int, 50)
	newIDs := make([]string, 50)
	for i := range 50 {
		fences[i], ats[i], texts[i], placed[i], ints[i] = 1, now, "completed", true, 1
		newIDs[i] = fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
	}
	calls := make([]string, 50)
	rules := make([]string, 50)
	for i := range 50 {
		calls[i], rules[i] = "call", "{}"
	}

	q, err := loadScheduleQueries()
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		sql  string
		args []any
	}{
		{"claim_actions", q.ClaimActions, []any{scheduled, "n1", now, now}},
		// The harassment history: counted actions, by contact.
		{"contact_histories", q.ContactHistories, []any{contacts, now.Add(-24 * time.Hour)}},
		{"contact_history", q.ContactHistory, []any{contacts[0], now.Add(-24 * time.Hour)}},
		{"mark_dialing_group", q.MarkDialingGroup, []any{processing, fences}},
		{"complete_group", q.CompleteGroup, []any{processing, fences, ats, texts, placed}},
		{"finish_enrollments", q.FinishEnrollments, []any{enrollments, texts, ats, texts}},
		{"insert_planned_actions", q.InsertPlanned, []any{newIDs, enrollments, ints, calls, ats, ints, ats, ints, ats, rules}},
		{"mark_dialing", q.MarkDialing, []any{processing[0], int64(1)}},
		{"extend_lease", q.ExtendLease, []any{processing[0], int64(1), now}},
		{"complete_fenced", q.CompleteFenced, []any{processing[0], int64(1), now, "no_answer", true}},
		{"return_action", q.ReturnAction, []any{processing[0]}},
		{"defer_action", q.DeferAction, []any{scheduled[0], now}},
		{"finish_enrollment", q.FinishEnrollment, []any{enrollments[0], "completed", now, "done"}},
		{"insert_planned_action", q.InsertPlannedAction, []any{newIDs[0], enrollments[0], 2, "call", now, 1, now, 1, now, "{}"}},
	} {
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			plan := explain(t, conn, tc.sql, mode, tc.args)
			for _, idx := range plan.indexes {
				require.NotContains(t, stateIndexes, idx, "%s (%s) reads %s:\n%s", tc.name, mode, idx, plan.json)
			}
			for _, rel := range plan.seqScans {
				require.NotContains(t, []string{"actions", "enrollments"}, rel, "%s (%s) reads all of %s:\n%s", tc.name, mode, rel, plan.json)
			}
		}
	}
}

// TestDueScanReadsInDueOrder: with statistics (the store analyzes after a
// bulk enrollment, autovacuum later), the claim's due scan walks actions_due
// in due order and stops at its limit: no bitmap of every due row, no sort.
func TestDueScanReadsInDueOrder(t *testing.T) {
	t.Parallel()
	conn, now, _ := planFixture(t)
	_, err := conn.Exec(t.Context(), "ANALYZE")
	require.NoError(t, err)
	q, err := loadScheduleQueries()
	require.NoError(t, err)
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		plan := explain(t, conn, q.DueLocked, mode, []any{now, 100})
		require.Contains(t, plan.indexes, "actions_due", "%s:\n%s", mode, plan.json)
		require.NotContains(t, plan.nodes, "Sort", "%s:\n%s", mode, plan.json)
		require.NotContains(t, plan.nodes, "Bitmap Heap Scan", "%s:\n%s", mode, plan.json)
		require.Empty(t, plan.seqScans, "%s:\n%s", mode, plan.json)
	}
}

func containsParam(sql, p string) bool {
	for i := 0; i+len(p) <= len(sql); i++ {
		if sql[i:i+len(p)] == p && (i+len(p) == len(sql) || sql[i+len(p)] < '0' || sql[i+len(p)] > '9') {
			return true
		}
	}
	return false
}

// planFixture is a schedule of 20,000 enrollments, each with one due call,
// half of them in flight, loaded in bulk with autovacuum off and never
// analyzed; it returns a connection on its schema.
func planFixture(t *testing.T) (*pgx.Conn, time.Time, string) {
	t.Helper()
	_, url, schema, cad, now := oneCallStore(t)
	ctx := t.Context()

	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	for _, sql := range []string{
		"ALTER TABLE contacts SET (autovacuum_enabled = false)",
		"ALTER TABLE enrollments SET (autovacuum_enabled = false)",
		"ALTER TABLE actions SET (autovacuum_enabled = false)",
		`INSERT INTO contacts (id, phone, first_name, last_name, timezone, state, zip, owner, fields, created_at, updated_at)
		 SELECT gen_random_uuid(), '+1212' || lpad(g::text, 7, '0'), '', '', '', '', '', '', '{}', $1, $1
		 FROM generate_series(1, 20000) g`,
		`INSERT INTO enrollments (id, cadence_id, cadence_version, contact_id, status, created_at)
		 SELECT gen_random_uuid(), $2, 1, id, 'active', $1 FROM contacts`,
		// Half scheduled and due, half in flight.
		`INSERT INTO actions (id, enrollment_id, contact_id, cadence_id, step, type, due_at, state, attempt, created_at,
		                      fence, lease_expires_at, started_at, counted)
		 SELECT gen_random_uuid(), id, contact_id, cadence_id, 1, 'call', $1::timestamptz,
		        CASE WHEN n % 2 = 0 THEN 'scheduled' ELSE 'processing' END, 1, $1, 1, $1,
		        CASE WHEN n % 2 = 0 THEN NULL ELSE $1::timestamptz END, n % 2 = 1
		 FROM (SELECT id, contact_id, cadence_id, row_number() OVER () AS n FROM enrollments) e`,
	} {
		var args []any
		switch {
		case containsParam(sql, "$2"):
			args = []any{now, cad.ID}
		case containsParam(sql, "$1"):
			args = []any{now}
		}
		_, err := conn.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}

	return conn, now, cad.ID
}

// oneCallStore is a migrated store on a fresh schema with one active
// cadence of a single call step.
func oneCallStore(t *testing.T) (s *Store, url, schema string, cad engine.Cadence, now time.Time) {
	t.Helper()
	url, schema = testSchema(t)
	s, err := Open(t.Context(), url, WithSchema(schema), WithMaxConns(2))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Migrate(t.Context()))
	now = time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)
	cad, err = s.CreateCadence(t.Context(), engine.Definition{Name: "one call", TimeZone: "America/New_York", Runs: engine.Runs{Total: 1},
		Steps: []engine.Step{{Name: "call", Type: engine.StepCall, Call: &engine.CallStep{}}}}, engine.StatusActive, now)
	require.NoError(t, err)
	return s, url, schema, cad, now
}

// planSummary is what a plan reads: the indexes it scans and the tables it
// scans whole.
type planSummary struct {
	indexes, seqScans, nodes []string
	json                     string
}

// explain plans sql with args under plan_cache_mode mode: the statement is
// prepared and EXPLAIN EXECUTE shows the plan the server would run (a
// custom plan for these values, or the generic plan cached for any).
// Nothing is executed.
func explain(t *testing.T, conn *pgx.Conn, sql, mode string, args []any) planSummary {
	t.Helper()
	ctx := t.Context()
	_, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "PREPARE planned AS "+sql)
	require.NoError(t, err, sql)
	defer func() {
		_, err := conn.Exec(ctx, "DEALLOCATE planned")
		require.NoError(t, err)
	}()
	// EXECUTE takes its arguments as SQL text (a utility statement has no
	// parameters of its own); the prepared statement's types apply to them.
	lits := make([]string, len(args))
	for i, a := range args {
		lits[i] = literal(t, a)
	}
	var out string
	err = conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) EXECUTE planned("+strings.Join(lits, ", ")+")").Scan(&out)
	require.NoError(t, err, sql)
	var doc []struct {
		Plan json.RawMessage `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	var sum planSummary
	sum.json = out
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var n struct {
			NodeType string            `json:"Node Type"`
			Relation string            `json:"Relation Name"`
			Index    string            `json:"Index Name"`
			Plans    []json.RawMessage `json:"Plans"`
		}
		require.NoError(t, json.Unmarshal(raw, &n))
		sum.nodes = append(sum.nodes, n.NodeType)
		if n.Index != "" {
			sum.indexes = append(sum.indexes, n.Index)
		}
		if n.NodeType == "Seq Scan" {
			sum.seqScans = append(sum.seqScans, n.Relation)
		}
		for _, p := range n.Plans {
			walk(p)
		}
	}
	for _, d := range doc {
		walk(d.Plan)
	}
	return sum
}

// literal writes v as an untyped SQL literal (arrays in PostgreSQL's array
// syntax), for EXECUTE to coerce to the parameter's type.
func literal(t *testing.T, v any) string {
	t.Helper()
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	elem := func(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }
	array := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range n {
			parts[i] = f(i)
		}
		return quote("{" + strings.Join(parts, ",") + "}")
	}
	switch x := v.(type) {
	case string:
		return quote(x)
	case int, int64, bool:
		return fmt.Sprint(x)
	case time.Time:
		return quote(x.Format(time.RFC3339Nano))
	case []string:
		return array(len(x), func(i int) string { return elem(x[i]) })
	case []int:
		return array(len(x), func(i int) string { return fmt.Sprint(x[i]) })
	case []int64:
		return array(len(x), func(i int) string { return fmt.Sprint(x[i]) })
	case []bool:
		return array(len(x), func(i int) string { return fmt.Sprint(x[i]) })
	case []time.Time:
		return array(len(x), func(i int) string { return elem(x[i].Format(time.RFC3339Nano)) })
	}
	t.Fatalf("no literal for %T", v)
	return ""
}

// After a bulk enrollment the store analyzes the scheduling tables itself,
// once, in the background; Close waits for it.
func TestAnalyzeAfterBulkEnrollment(t *testing.T) {
	t.Parallel()
	s, _, schema, cad, now := oneCallStore(t)
	ctx := t.Context()
	s.stats.after, s.stats.every = 40, time.Hour
	analyzeCount := func() int64 {
		var n int64
		require.NoError(t, s.pool.QueryRow(ctx, `SELECT analyze_count FROM pg_stat_user_tables
			WHERE schemaname = $1 AND relname = 'enrollments'`, schema).Scan(&n))
		return n
	}
	_, err := s.pool.Exec(ctx, "ALTER TABLE enrollments SET (autovacuum_enabled = false)")
	require.NoError(t, err)
	enroll := func(i int) {
		c, err := s.UpsertContact(ctx, engine.Contact{Phone: fmt.Sprintf("+1212555%04d", i)}, now)
		require.NoError(t, err)
		if i%2 == 0 {
			_, err = s.CreateEnrollment(ctx, engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, now)
		} else {
			_, err = s.EnrollWithTail(ctx, engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID},
				engine.Tail{Next: &engine.NewAction{Step: 1, Type: engine.StepCall, DueAt: now}}, now)
		}
		require.NoError(t, err)
	}
	for i := range 39 {
		enroll(i)
	}
	runs, _ := s.analyzed()
	require.Zero(t, runs, "39 enrollments are not a bulk load")
	enroll(39)
	require.Eventually(t, func() bool { n, _ := s.analyzed(); return n == 1 }, 10*time.Second, 10*time.Millisecond)
	_, err = s.analyzed()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return analyzeCount() == 1 }, 10*time.Second, 20*time.Millisecond,
		"the server's statistics show no ANALYZE of enrollments")
	// The next 40 fall inside the interval: no second run.
	for i := 40; i < 80; i++ {
		enroll(i)
	}
	require.NoError(t, s.Close())
	runs, _ = s.analyzed()
	require.Equal(t, 1, runs)
}
