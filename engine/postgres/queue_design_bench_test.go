package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// BenchmarkQueueDesignCeiling measures a schema the engine does not have
// yet, to tell what it could reach before anyone builds it: one queue row
// per enrollment that moves in place from step to step (claimed, then
// returned to the schedule at its next due time) and a history row
// appended per outcome, the least a store can write per action and still
// keep every attempt. In the same run it measures the bare claim and
// completion of BenchmarkRawClaimComplete (batched), the baseline of the
// engine's ratio, and reports both rates and their ratio: the ceiling of
// that ratio for the design, with no compliance reads, no routing and no
// Go code of the engine's at all.
func BenchmarkQueueDesignCeiling(b *testing.B) {
	_, schema, now := benchSchedule(b)
	ctx := b.Context()
	conn := rawConn(b, schema)
	for _, sql := range []string{
		`CREATE TABLE q_queue (
		    enrollment_id uuid NOT NULL PRIMARY KEY REFERENCES enrollments (id),
		    contact_id    uuid NOT NULL REFERENCES contacts (id),
		    step          integer NOT NULL,
		    due_at        timestamptz NOT NULL,
		    state         text NOT NULL,
		    lease_owner   text NOT NULL DEFAULT '',
		    lease_expires_at timestamptz,
		    fence         bigint NOT NULL DEFAULT 0
		) WITH (fillfactor = 80)`,
		`CREATE INDEX q_queue_due ON q_queue (due_at, enrollment_id) WHERE state = 'scheduled'`,
		`CREATE INDEX q_queue_lease ON q_queue (lease_expires_at) WHERE state = 'processing'`,
		`CREATE TABLE q_history (
		    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		    enrollment_id uuid NOT NULL REFERENCES q_queue (enrollment_id),
		    contact_id    uuid NOT NULL REFERENCES contacts (id),
		    step          integer NOT NULL,
		    at            timestamptz NOT NULL,
		    disposition   text NOT NULL
		)`,
		`CREATE INDEX q_history_contact ON q_history (contact_id, at)`,
		`INSERT INTO q_queue (enrollment_id, contact_id, step, due_at, state)
		 SELECT id, contact_id, 1, created_at, 'scheduled' FROM enrollments`,
		`ANALYZE`,
	} {
		_, err := conn.Exec(ctx, sql)
		require.NoError(b, err)
	}

	b.ResetTimer()
	start := time.Now()
	done := 0
	for done < b.N {
		ids, fences, err := queueClaim(ctx, conn, now, benchBatch)
		require.NoError(b, err)
		require.NotEmpty(b, ids)
		require.NoError(b, queueComplete(ctx, conn, ids, fences, now))
		done += len(ids)
	}
	queueRate := float64(done) / time.Since(start).Seconds()
	b.StopTimer()

	rawRate := rawBatches(b, conn, now)
	b.ReportMetric(queueRate, "queue-actions/s")
	b.ReportMetric(rawRate, "raw-actions/s")
	b.ReportMetric(queueRate/rawRate, "ratio")
}

// queueClaim leases a batch of due queue rows, as rawClaim does actions.
func queueClaim(ctx context.Context, conn *pgx.Conn, now time.Time, limit int) (ids []string, fences []int64, err error) {
	rows, err := conn.Query(ctx, `WITH due AS (
		SELECT enrollment_id FROM q_queue WHERE state = 'scheduled' AND due_at <= $1
		ORDER BY due_at, enrollment_id LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE q_queue q SET state = 'processing', lease_owner = 'raw', lease_expires_at = $2, fence = q.fence + 1
		FROM due WHERE q.enrollment_id = due.enrollment_id RETURNING q.enrollment_id::text, q.fence`, now, now.Add(time.Minute), limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var fence int64
		if err := rows.Scan(&id, &fence); err != nil {
			return nil, nil, err
		}
		ids, fences = append(ids, id), append(fences, fence)
	}
	return ids, fences, rows.Err()
}

// queueComplete records a batch's outcomes: each row moves, under its
// fence, to its next step a day later, and its outcome is appended to the
// history, in one statement.
func queueComplete(ctx context.Context, conn *pgx.Conn, ids []string, fences []int64, now time.Time) error {
	_, err := conn.Exec(ctx, `WITH moved AS (
		UPDATE q_queue q SET state = 'scheduled', step = q.step + 1, due_at = $3::timestamptz + interval '1 day',
		       lease_owner = '', lease_expires_at = NULL
		FROM unnest($1::uuid[], $2::bigint[]) AS t(id, fence)
		WHERE q.enrollment_id = t.id AND q.fence = t.fence AND q.state || '' = 'processing'
		RETURNING q.enrollment_id, q.contact_id, q.step)
		INSERT INTO q_history (enrollment_id, contact_id, step, at, disposition)
		SELECT enrollment_id, contact_id, step - 1, $3, 'no_answer' FROM moved`, ids, fences, now)
	return err
}
