package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/cadenza-dialer/cadenza/engine/internal/benchcpu"
)

// BenchmarkQueueDesignFull is BenchmarkQueueDesignCeiling with everything
// a compliant engine must read and write per action, still in SQL alone
// (one connection, batches of benchBatch, no Go of the engine's): the
// ceiling of the engine's ratio for the queue-table design once it keeps
// what operators and the law need, against the bare claim SQL of
// BenchmarkRawClaimComplete in the same run.
//
// Per batch, in the round trips the engine would make:
//   - the claim's transaction: the due rows locked (SKIP LOCKED), their
//     contacts locked in id order, the candidates (action, enrollment,
//     contact, cadence status, do-not-call) and the contacts' histories
//     (finished attempts in the window and in-flight rows of every
//     cadence), then the lease (fence + 1) and the commit;
//   - the dialing marks, under the fences;
//   - the outcomes: each row moves in place, under its fence, to its next
//     step a day later, with a new action id, and the finished action is
//     appended to the log with the columns and indexes the operators' views
//     and analytics read (by id, by contact and time, by cadence and
//     completion, by creation for paging).
func BenchmarkQueueDesignFull(b *testing.B) {
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers-%d", workers), func(b *testing.B) { benchQueueDesignFull(b, workers) })
	}
}

func benchQueueDesignFull(b *testing.B, workers int) {
	_, schema, now := benchSchedule(b)
	ctx := b.Context()
	conn := rawConn(b, schema)
	for _, sql := range []string{
		`CREATE TABLE f_queue (
		    id               uuid        NOT NULL PRIMARY KEY,
		    enrollment_id    uuid        NOT NULL UNIQUE REFERENCES enrollments (id),
		    contact_id       uuid        NOT NULL REFERENCES contacts (id),
		    cadence_id       uuid        NOT NULL REFERENCES cadences (id),
		    step             integer     NOT NULL,
		    type             text        NOT NULL,
		    attempt          integer     NOT NULL,
		    due_at           timestamptz NOT NULL,
		    state            text        NOT NULL,
		    lease_owner      text        NOT NULL DEFAULT '',
		    lease_expires_at timestamptz,
		    fence            bigint      NOT NULL DEFAULT 0,
		    dialing          boolean     NOT NULL DEFAULT false,
		    started_at       timestamptz,
		    run              integer     NOT NULL DEFAULT 1,
		    run_started      timestamptz,
		    rule_retries     jsonb       NOT NULL DEFAULT '{}',
		    created_at       timestamptz NOT NULL
		) WITH (fillfactor = 80)`,
		`CREATE INDEX f_queue_due ON f_queue (due_at, id) WHERE state = 'scheduled'`,
		`CREATE INDEX f_queue_lease ON f_queue (lease_expires_at) WHERE state = 'processing'`,
		`CREATE INDEX f_queue_inflight ON f_queue (contact_id) WHERE state = 'processing'`,
		`CREATE TABLE f_log (
		    id                uuid        NOT NULL PRIMARY KEY,
		    enrollment_id     uuid        NOT NULL,
		    contact_id        uuid        NOT NULL,
		    cadence_id        uuid        NOT NULL,
		    step              integer     NOT NULL,
		    type              text        NOT NULL,
		    attempt           integer     NOT NULL,
		    due_at            timestamptz NOT NULL,
		    created_at        timestamptz NOT NULL,
		    started_at        timestamptz,
		    completed_at      timestamptz NOT NULL,
		    state             text        NOT NULL,
		    disposition       text        NOT NULL,
		    agent_disposition text        NOT NULL DEFAULT '',
		    placed            boolean     NOT NULL
		)`,
		`CREATE INDEX f_log_contact ON f_log (contact_id, started_at) WHERE placed`,
		`CREATE INDEX f_log_cadence ON f_log (cadence_id, completed_at)`,
		`CREATE INDEX f_log_page ON f_log (created_at, id)`,
		`INSERT INTO f_queue (id, enrollment_id, contact_id, cadence_id, step, type, attempt, due_at, state, created_at)
		 SELECT a.id, a.enrollment_id, e.contact_id, a.cadence_id, 1, 'call', 1, a.due_at, 'scheduled', a.created_at
		 FROM actions a JOIN enrollments e ON e.id = a.enrollment_id`,
		`ANALYZE`,
	} {
		_, err := conn.Exec(ctx, sql)
		require.NoError(b, err)
	}

	conns := make([]*pgx.Conn, workers)
	for i := range conns {
		conns[i] = rawConn(b, schema)
	}
	cpu := benchcpu.Start(b, benchURL(b))
	b.ResetTimer()
	start := time.Now()
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range conns {
		g.Go(func() error {
			for done.Load() < int64(b.N) {
				cl, err := fullClaim(gctx, c, now, benchBatch)
				if err != nil {
					return err
				}
				if len(cl.ids) == 0 {
					return nil
				}
				if err := fullDialing(gctx, c, cl); err != nil {
					return err
				}
				if err := fullComplete(gctx, c, cl, now); err != nil {
					return err
				}
				done.Add(int64(len(cl.ids)))
			}
			return nil
		})
	}
	require.NoError(b, g.Wait())
	require.GreaterOrEqual(b, done.Load(), int64(b.N))
	fullRate := float64(done.Load()) / time.Since(start).Seconds()
	b.StopTimer()
	cpu.Stop(b, int(done.Load()), "full-")

	cpu = benchcpu.Start(b, benchURL(b))
	rawRate := rawBatches(b, conn, now)
	cpu.Stop(b, b.N, "raw-")
	b.ReportMetric(fullRate, "full-actions/s")
	b.ReportMetric(rawRate, "raw-actions/s")
	b.ReportMetric(fullRate/rawRate, "ratio")
}

// fullClaimed is what a claim hands on: each action's id, fence and the
// columns its log row will carry.
type fullClaimed struct {
	ids, enrollments, contacts, cadences []string
	fences                               []int64
	steps, attempts                      []int32
	due, created                         []time.Time
	started                              time.Time
}

// fullClaim is the claim's transaction in three round trips.
func fullClaim(ctx context.Context, conn *pgx.Conn, now time.Time, limit int) (fullClaimed, error) {
	var cl fullClaimed
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(pkPlans)
	b.Queue(`SELECT id, contact_id FROM f_queue WHERE state = 'scheduled' AND due_at <= $1
		ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
	br := conn.SendBatch(ctx, b)
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return cl, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return cl, err
	}
	var ids, contacts []string
	for rows.Next() {
		var id, contact string
		if err := rows.Scan(&id, &contact); err != nil {
			return cl, err
		}
		ids, contacts = append(ids, id), append(contacts, contact)
	}
	if err := br.Close(); err != nil {
		return cl, err
	}

	b = &pgx.Batch{}
	b.Queue(`SELECT id FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, contacts)
	b.Queue(`SELECT q.id, q.enrollment_id, q.contact_id, q.cadence_id, q.step, q.type, q.attempt, q.due_at,
		       q.run, q.run_started, q.rule_retries, q.created_at,
		       e.cadence_version, e.status, e.created_at,
		       c.phone, c.first_name, c.last_name, c.timezone, c.state, c.zip, c.owner, c.fields,
		       cad.status, EXISTS (SELECT 1 FROM dnc d WHERE d.phone = c.phone)
		FROM f_queue q
		JOIN enrollments e ON e.id = q.enrollment_id
		JOIN contacts c ON c.id = q.contact_id
		JOIN cadences cad ON cad.id = q.cadence_id
		WHERE q.id = ANY($1::uuid[])`, ids)
	b.Queue(`SELECT id, contact_id, enrollment_id, type, started_at, disposition FROM f_log
		WHERE contact_id = ANY($1::uuid[]) AND placed AND started_at >= $2
		UNION ALL
		SELECT id, contact_id, enrollment_id, type, started_at, '' FROM f_queue
		WHERE contact_id = ANY($1::uuid[]) AND state = 'processing'`, contacts, now.Add(-24*time.Hour))
	br = conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		return cl, err
	}
	rows, err = br.Query()
	if err != nil {
		return cl, err
	}
	for rows.Next() {
		var (
			id, enr, contact, cad, typ, eStatus, phone, fn, ln, tz, st, zip, owner, cStatus string
			step, attempt, run, version                                                     int32
			due, created, eCreated                                                          time.Time
			runStarted                                                                      *time.Time
			retries, fields                                                                 []byte
			dnc                                                                             bool
		)
		if err := rows.Scan(&id, &enr, &contact, &cad, &step, &typ, &attempt, &due, &run, &runStarted, &retries, &created,
			&version, &eStatus, &eCreated, &phone, &fn, &ln, &tz, &st, &zip, &owner, &fields, &cStatus, &dnc); err != nil {
			return cl, err
		}
		_ = []any{id, enr, contact, cad, step, typ, attempt, due, run, runStarted, retries, created, version, eStatus, eCreated, phone, fn, ln, tz, st, zip, owner, fields, cStatus, dnc}
	}
	if rows.Err() != nil {
		return cl, rows.Err()
	}
	rows, err = br.Query()
	if err != nil {
		return cl, err
	}
	for rows.Next() {
		var id, contact, enr, typ, disp string
		var at *time.Time
		if err := rows.Scan(&id, &contact, &enr, &typ, &at, &disp); err != nil {
			return cl, err
		}
	}
	if rows.Err() != nil {
		return cl, rows.Err()
	}
	if err := br.Close(); err != nil {
		return cl, err
	}
	cl.ids, cl.started = nil, now
	b = &pgx.Batch{}
	b.Queue(`UPDATE f_queue q SET state = 'processing', lease_owner = 'full', lease_expires_at = $2,
		       fence = q.fence + 1, started_at = $3, dialing = false
		FROM unnest($1::uuid[]) AS t(id)
		WHERE q.id = t.id AND q.state || '' = 'scheduled'
		RETURNING q.id, q.fence, q.enrollment_id, q.contact_id, q.cadence_id, q.step, q.attempt, q.due_at, q.created_at`,
		ids, now.Add(time.Minute), now)
	b.Queue("COMMIT")
	br = conn.SendBatch(ctx, b)
	rows, err = br.Query()
	if err != nil {
		return cl, err
	}
	for rows.Next() {
		var (
			id, enr, contact, cad string
			fence                 int64
			step, attempt         int32
			due, created          time.Time
		)
		if err := rows.Scan(&id, &fence, &enr, &contact, &cad, &step, &attempt, &due, &created); err != nil {
			return cl, err
		}
		cl.ids, cl.fences = append(cl.ids, id), append(cl.fences, fence)
		cl.enrollments, cl.contacts, cl.cadences = append(cl.enrollments, enr), append(cl.contacts, contact), append(cl.cadences, cad)
		cl.steps, cl.attempts = append(cl.steps, step), append(cl.attempts, attempt)
		cl.due, cl.created = append(cl.due, due), append(cl.created, created)
	}
	if rows.Err() != nil {
		return cl, rows.Err()
	}
	if _, err := br.Exec(); err != nil {
		return cl, err
	}
	return cl, br.Close()
}

// fullDialing marks the batch dialing under the fences.
func fullDialing(ctx context.Context, conn *pgx.Conn, cl fullClaimed) error {
	_, err := conn.Exec(ctx, `UPDATE f_queue q SET dialing = true
		FROM unnest($1::uuid[], $2::bigint[]) AS t(id, fence)
		WHERE q.id = t.id AND q.fence = t.fence AND q.state || '' = 'processing'`, cl.ids, cl.fences)
	return err
}

// fullComplete moves every row to its next step under its fence and logs
// the finished action, in one statement.
func fullComplete(ctx context.Context, conn *pgx.Conn, cl fullClaimed, now time.Time) error {
	next := make([]string, len(cl.ids))
	for i := range next {
		var u [16]byte
		_, _ = rand.Read(u[:])
		u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
		next[i] = fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	}
	_, err := conn.Exec(ctx, `WITH t AS (
		    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[],
		                         $7::int[], $8::int[], $9::timestamptz[], $10::timestamptz[])
		        AS t(id, fence, next_id, enrollment_id, contact_id, cadence_id, step, attempt, due_at, created_at)
		), moved AS (
		    UPDATE f_queue q SET id = t.next_id, step = q.step + 1, attempt = 1, due_at = $11::timestamptz + interval '1 day',
		           state = 'scheduled', lease_owner = '', lease_expires_at = NULL, dialing = false,
		           started_at = NULL, created_at = $11
		    FROM t
		    WHERE q.id = t.id AND q.fence = t.fence AND q.state || '' = 'processing'
		    RETURNING t.id
		)
		INSERT INTO f_log (id, enrollment_id, contact_id, cadence_id, step, type, attempt, due_at, created_at,
		                   started_at, completed_at, state, disposition, placed)
		SELECT t.id, t.enrollment_id, t.contact_id, t.cadence_id, t.step, 'call', t.attempt, t.due_at, t.created_at,
		       $12, $11, 'completed', 'no_answer', true
		FROM moved JOIN t ON t.id = moved.id`,
		cl.ids, cl.fences, next, cl.enrollments, cl.contacts, cl.cadences, cl.steps, cl.attempts, cl.due, cl.created, now, cl.started)
	return err
}
