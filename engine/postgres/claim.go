package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cadenza-dialer/cadenza/engine"
)

// defKey names a pinned cadence version.
type defKey struct {
	cadenceID string
	version   int
}

// scanCandidate reads one row of the candidate(s) queries. defs, when not
// nil, holds decoded definitions per cadence version for one claim (the
// candidates query leaves the definition out, claim_definitions loads each
// once). The value is shared read-only between the claim's candidates, as
// decide only reads it.
func scanCandidate(row pgx.Row, defs map[defKey]engine.Definition) (engine.ClaimCandidate, error) {
	var c engine.ClaimCandidate
	err := scanCandidateInto(row, defs, &c)
	return c, err
}

// scanCandidateInto is scanCandidate into c, which a claim keeps in a
// slice sized for its batch: a candidate is 870 bytes, and one allocated
// per row was a seventh of the engine's allocations per action.
func scanCandidateInto(row pgx.Row, defs map[defKey]engine.Definition, c *engine.ClaimCandidate) error {
	var (
		typ, state         string
		retries, fields    []byte
		def                []byte
		eStatus, cStatus   string
		startedAt          *time.Time
		runStarted         time.Time
		leaseExp, complete *time.Time
	)
	a, e, ct := &c.Action, &c.Enrollment, &c.Contact
	if err := row.Scan(
		&a.ID, &a.EnrollmentID, &a.CadenceID, &a.Step, &typ, &a.DueAt, &state, &a.Attempt,
		&a.LeaseOwner, &leaseExp, &a.CreatedAt, &complete, &a.Disposition,
		&c.Plan.Run, &runStarted, &retries, &startedAt,
		&e.ID, &e.CadenceID, &e.CadenceVersion, &e.ContactID, &eStatus, &e.CreatedAt, &e.StoppedAt, &e.StopReason,
		&ct.ID, &ct.Phone, &ct.FirstName, &ct.LastName, &ct.TimeZone, &ct.State, &ct.Zip, &ct.Owner, &fields, &ct.CreatedAt, &ct.UpdatedAt,
		&cStatus, &def, &c.DNC); err != nil {
		return err
	}
	a.Type, a.State = engine.StepType(typ), engine.ActionState(state)
	a.DueAt, a.CreatedAt = a.DueAt.UTC(), a.CreatedAt.UTC()
	a.LeaseExpiresAt, a.CompletedAt = utcPtr(leaseExp), utcPtr(complete)
	c.Plan.RunStarted = runStarted.UTC()
	if err := json.Unmarshal(retries, &c.Plan.RuleRetries); err != nil {
		return fmt.Errorf("decode rule retries of action %s: %w", a.ID, err)
	}
	if len(c.Plan.RuleRetries) == 0 {
		c.Plan.RuleRetries = nil
	}
	e.Status, e.CreatedAt, e.StoppedAt = engine.EnrollmentStatus(eStatus), e.CreatedAt.UTC(), utcPtr(e.StoppedAt)
	if err := json.Unmarshal(fields, &ct.Fields); err != nil {
		return fmt.Errorf("decode fields of contact %s: %w", ct.ID, err)
	}
	if len(ct.Fields) == 0 {
		ct.Fields = nil
	}
	ct.CreatedAt, ct.UpdatedAt = ct.CreatedAt.UTC(), ct.UpdatedAt.UTC()
	c.CadenceStatus = engine.Status(cStatus)
	key := defKey{e.CadenceID, e.CadenceVersion}
	if d, ok := defs[key]; ok {
		c.Definition = d
	} else {
		if def == nil {
			return fmt.Errorf("definition of cadence %s v%d: %w", e.CadenceID, e.CadenceVersion, engine.ErrNotFound)
		}
		if err := json.Unmarshal(def, &c.Definition); err != nil {
			return fmt.Errorf("decode definition of cadence %s v%d: %w", e.CadenceID, e.CadenceVersion, err)
		}
	}
	if startedAt != nil {
		c.StartedAt = startedAt.UTC()
	}
	return nil
}

// Claim locks due rows with FOR UPDATE SKIP LOCKED (other nodes skip them),
// locks their contacts in id order (so the harassment history cannot change
// under the decision), loads every candidate and every contact history with
// one query each, asks decide about each candidate in due order, and writes
// the verdicts and the claim (which counts the runs as attempts) in one
// pipelined batch — all in one transaction. Effects of earlier verdicts
// that a per-row reload would have seen (an attempt of the same contact, a
// stopped enrollment) are applied to later candidates in memory.
func (s *Store) Claim(ctx context.Context, r engine.ClaimRequest, decide func(engine.ClaimCandidate) (engine.ClaimVerdict, error)) ([]engine.ClaimedAction, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return nil, err
	}
	if r.Limit <= 0 {
		return nil, nil
	}
	now := utc(r.Now)
	var out []engine.ClaimedAction
	err = s.inConnTx(ctx, func(conn *pgx.Conn) error {
		out = nil
		ids, contacts, err := dueLocked(ctx, conn, q, now, r.Limit)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			_, err := conn.Exec(ctx, "COMMIT")
			return err
		}
		cands, hist, err := loadClaim(ctx, conn, q, ids, contacts, r.HistorySince)
		if err != nil {
			return err
		}
		cl := claim{q: q, now: now, hist: hist, withHistory: !r.HistorySince.IsZero(), stopped: map[string]string{},
			run: make([]engine.ClaimCandidate, 0, len(ids))}
		for _, id := range ids {
			c, ok := cands[id]
			if !ok {
				return fmt.Errorf("action %s: %w", id, engine.ErrNotFound)
			}
			if err := cl.decide(*c, decide); err != nil {
				return err
			}
		}
		out, err = cl.write(ctx, conn, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// inConnTx runs fn on a connection of the pool; fn opens a transaction
// itself, pipelining BEGIN and COMMIT with its first and last statements
// (two round trips fewer than pgx.BeginFunc), and commits. Whatever fn left
// open is rolled back. A deadlock victim runs again, up to three times.
func (s *Store) inConnTx(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	var err error
	for range 3 {
		if err = s.connTxOnce(ctx, fn); pgCode(err) != deadlockDetected {
			return err
		}
	}
	return err
}

func (s *Store) connTxOnce(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer pc.Release()
	conn := pc.Conn()
	err = fn(conn)
	if conn.PgConn().TxStatus() != 'I' && !conn.IsClosed() {
		// The pool would drop a connection left inside a transaction.
		_, rbErr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		if err == nil {
			err = errors.New("transaction left open")
		}
		err = errors.Join(err, rbErr)
	}
	return err
}

// pkPlans, run first in the claim's and the group commit's transactions,
// keeps their plans on index lookups: each of their statements reads or
// writes a batch of rows it names (by id, or a due range in index order),
// and a table scan, a hash of a whole table or a bitmap of a whole index
// only looks cheaper to the planner while it believes the tables small
// (a young database, statistics not yet refreshed); then it costs a read
// of the whole table per batch. Only this transaction is affected.
const pkPlans = "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true), " +
	"set_config('enable_bitmapscan', 'off', true)"

// dueLocked begins the claim's transaction, locks up to limit due actions
// and returns their ids in due order and their contacts sorted by id
// without repeats (the lock order), in one round trip.
func dueLocked(ctx context.Context, conn *pgx.Conn, q *scheduleQueries, now time.Time, limit int) (ids, contacts []string, err error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(pkPlans)
	b.Queue(q.DueLocked, now, limit)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return nil, nil, fmt.Errorf("planner settings: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("due actions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, contact string
		if err := rows.Scan(&id, &contact); err != nil {
			return nil, nil, fmt.Errorf("due actions: %w", err)
		}
		ids, contacts = append(ids, id), append(contacts, contact)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("due actions: %w", err)
	}
	slices.Sort(contacts)
	return ids, slices.Compact(contacts), br.Close()
}

// loadClaim locks the contacts (in id order, before their histories are
// read) and loads the candidates and the histories since since (none when
// zero), pipelined in one round trip; the statements run in queue order.
func loadClaim(ctx context.Context, tx *pgx.Conn, q *scheduleQueries, ids, contacts []string, since time.Time) (map[string]*engine.ClaimCandidate, map[string][]engine.Attempt, error) {
	b := &pgx.Batch{}
	b.Queue(q.LockContacts, contacts)
	b.Queue(q.ClaimDefinitions, ids)
	b.Queue(q.Candidates, ids)
	if !since.IsZero() {
		b.Queue(q.ContactHistories, contacts, utc(since))
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, nil, fmt.Errorf("lock contacts: %w", err)
	}
	defs, err := claimDefinitions(br)
	if err != nil {
		return nil, nil, fmt.Errorf("load definitions: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("load candidates: %w", err)
	}
	all := make([]engine.ClaimCandidate, len(ids))
	cands := make(map[string]*engine.ClaimCandidate, len(ids))
	for i := 0; rows.Next(); i++ {
		if i == len(all) {
			rows.Close()
			return nil, nil, fmt.Errorf("load candidates: more rows than the %d due ids", len(ids))
		}
		c := &all[i]
		if err := scanCandidateInto(rows, defs, c); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("load candidates: %w", err)
		}
		cands[c.Action.ID] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load candidates: %w", err)
	}
	hist := map[string][]engine.Attempt{}
	if since.IsZero() {
		return cands, hist, br.Close()
	}
	if rows, err = br.Query(); err != nil {
		return nil, nil, fmt.Errorf("contact history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a  engine.Attempt
			ch string
		)
		if err := rows.Scan(&a.ActionID, &a.ContactID, &a.EnrollmentID, &ch, &a.At, &a.Disposition); err != nil {
			return nil, nil, fmt.Errorf("contact history: %w", err)
		}
		a.Channel, a.At = engine.StepType(ch), a.At.UTC()
		hist[a.ContactID] = append(hist[a.ContactID], a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("contact history: %w", err)
	}
	rows.Close()
	return cands, hist, br.Close()
}

// claimDefinitions reads the claim_definitions result of a batch.
func claimDefinitions(br pgx.BatchResults) (map[defKey]engine.Definition, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	defs := map[defKey]engine.Definition{}
	for rows.Next() {
		var (
			k   defKey
			raw []byte
			d   engine.Definition
		)
		if err := rows.Scan(&k.cadenceID, &k.version, &raw); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decode definition of cadence %s v%d: %w", k.cadenceID, k.version, err)
		}
		defs[k] = d
	}
	return defs, rows.Err()
}

// claim collects one claim's verdicts and the state they leave behind.
type claim struct {
	q           *scheduleQueries
	now         time.Time
	withHistory bool
	// hist is each contact's history, grown by the attempts this claim runs.
	hist map[string][]engine.Attempt
	// stopped maps an enrollment stopped by this claim to its reason.
	stopped map[string]string
	writes  pgx.Batch
	// finishes is how many finish_enrollment statements writes holds, by
	// position in the batch (they must each stop one enrollment).
	finishes map[int]string
	run      []engine.ClaimCandidate
}

// decide applies decide's verdict on c, after bringing c up to date with
// the verdicts before it in this claim.
func (cl *claim) decide(c engine.ClaimCandidate, decide func(engine.ClaimCandidate) (engine.ClaimVerdict, error)) error {
	// The database keeps microseconds: what a reload would have returned.
	id, now, stored := c.Action.ID, cl.now, cl.now.Truncate(time.Microsecond)
	if reason, ok := cl.stopped[c.Enrollment.ID]; ok {
		// finish_enrollment and cancel_scheduled ran for an earlier candidate.
		stoppedAt := stored
		c.Enrollment.Status, c.Enrollment.StoppedAt, c.Enrollment.StopReason = engine.EnrollmentStopped, &stoppedAt, reason
		c.Action.State, c.Action.LeaseOwner, c.Action.LeaseExpiresAt = engine.ActionCancelled, "", nil
	}
	if cl.withHistory {
		if h := cl.hist[c.Contact.ID]; len(h) > 0 {
			c.History = slices.Clone(h)
		}
	}
	v, err := decide(c)
	if err != nil {
		return fmt.Errorf("decide on action %s: %w", id, err)
	}
	if v.Block != nil {
		b := *v.Block
		b.ActionID = id
		cl.writes.Queue(cl.q.InsertBlock, b.ActionID, b.ContactID, utc(b.At), b.Code, b.Reason, nullTime(b.NextEligible))
	}
	switch v.Kind {
	case engine.VerdictRun:
		cl.run = append(cl.run, c)
		if cl.withHistory {
			// The attempt counts at once, for the next candidates of the
			// same contact in this very claim.
			h := append(cl.hist[c.Contact.ID], engine.Attempt{ActionID: id, ContactID: c.Contact.ID,
				EnrollmentID: c.Enrollment.ID, Channel: c.Action.Type, At: stored})
			slices.SortStableFunc(h, func(x, y engine.Attempt) int {
				if n := x.At.Compare(y.At); n != 0 {
					return n
				}
				return strings.Compare(x.ActionID, y.ActionID)
			})
			cl.hist[c.Contact.ID] = h
		}
	case engine.VerdictDefer:
		if !utc(v.DueAt).After(now) {
			return fmt.Errorf("decide on action %s: deferred to %s, not after now", id, v.DueAt.Format(time.RFC3339))
		}
		cl.writes.Queue(cl.q.DeferAction, id, utc(v.DueAt))
	case engine.VerdictStop:
		cl.writes.Queue(cl.q.CancelAction, id)
		if c.Enrollment.Status == engine.EnrollmentActive {
			if cl.finishes == nil {
				cl.finishes = map[int]string{}
			}
			cl.finishes[cl.writes.Len()] = c.Enrollment.ID
			cl.writes.Queue(cl.q.FinishEnrollment, c.Enrollment.ID, string(engine.EnrollmentStopped), now, v.StopReason)
			cl.writes.Queue(cl.q.CancelScheduled, c.Enrollment.ID)
			cl.stopped[c.Enrollment.ID] = v.StopReason
		}
	default:
		return fmt.Errorf("decide on action %s: unknown verdict %d", id, v.Kind)
	}
	return nil
}

// write sends the verdicts' statements and the claim of the runs (which
// counts each as an attempt) in one batch, with the COMMIT, and returns the claimed
// actions. A stop must find its enrollment still active, or the claim
// rolls back: with stops, the COMMIT waits for that check.
func (cl *claim) write(ctx context.Context, conn *pgx.Conn, r engine.ClaimRequest) ([]engine.ClaimedAction, error) {
	n := cl.writes.Len()
	exp := cl.now.Add(r.Lease)
	if len(cl.run) > 0 {
		ids := make([]string, len(cl.run))
		for i, c := range cl.run {
			ids[i] = c.Action.ID
		}
		cl.writes.Queue(cl.q.ClaimActions, ids, r.Owner, exp, cl.now)
	}
	commitNow := len(cl.finishes) == 0
	if commitNow {
		cl.writes.Queue("COMMIT")
	}
	br := conn.SendBatch(ctx, &cl.writes)
	defer br.Close()
	for i := range n {
		tag, err := br.Exec()
		if err != nil {
			return nil, fmt.Errorf("apply verdicts: %w", err)
		}
		if id, ok := cl.finishes[i]; ok && tag.RowsAffected() == 0 {
			return nil, fmt.Errorf("finish enrollment %s: %w: enrollment has already finished", id, engine.ErrConflict)
		}
	}
	var out []engine.ClaimedAction
	if len(cl.run) > 0 {
		rows, err := br.Query()
		if err != nil {
			return nil, fmt.Errorf("claim actions: %w", err)
		}
		fences := make(map[string]int64, len(cl.run))
		for rows.Next() {
			var id string
			var fence int64
			if err := rows.Scan(&id, &fence); err != nil {
				rows.Close()
				return nil, fmt.Errorf("claim actions: %w", err)
			}
			fences[id] = fence
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("claim actions: %w", err)
		}
		out = make([]engine.ClaimedAction, 0, len(cl.run))
		for _, c := range cl.run {
			fence, ok := fences[c.Action.ID]
			if !ok {
				// Impossible under the row locks; if it ever happens
				// the claimed rows are not dialing, and the rescuer
				// returns them when their lease expires.
				return nil, fmt.Errorf("claim action %s: no longer scheduled", c.Action.ID)
			}
			c.Action.State, c.Action.LeaseOwner, c.Action.LeaseExpiresAt, c.StartedAt = engine.ActionProcessing, r.Owner, &exp, cl.now
			out = append(out, engine.ClaimedAction{ClaimCandidate: c, Fence: fence})
		}
	}
	if commitNow {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	if !commitNow {
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
	}
	return out, nil
}

// completeFenced completes a processing action under its fence (an outcome
// that never reached the contact stops counting as an attempt) and reads
// its enrollment, pipelined in one round trip.
// The statements after the fenced update run even when the fence is stale,
// but then the returned conflict rolls the transaction back.
func completeFenced(ctx context.Context, tx pgx.Tx, q *scheduleQueries, c engine.Completion) (engine.Enrollment, error) {
	b := &pgx.Batch{}
	b.Queue(q.CompleteFenced, c.ActionID, c.Fence, utc(c.Now), c.Disposition, c.Placed)
	b.Queue(q.ActionEnrollment, c.ActionID)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	var enrollmentID string
	err := br.QueryRow().Scan(&enrollmentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.Enrollment{}, fmt.Errorf("%w: stale fence %d or action not processing", engine.ErrConflict, c.Fence)
	}
	if err != nil {
		return engine.Enrollment{}, err
	}
	e, err := scanEnrollment(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("enrollment %s: %w", enrollmentID, err)
	}
	return e, br.Close()
}
