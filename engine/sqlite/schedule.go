package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/internal/sqlfile"
)

//go:embed schedulesql/*.sql
var scheduleFiles embed.FS

// scheduleQueries are the scheduler's statements (schedulesql/schedule.sql),
// loaded like queries: every field must find its statement and back.
type scheduleQueries struct {
	PreviousEnrollments string `sql:"previous_enrollments"`
	InsertPlannedAction string `sql:"insert_planned_action"`
	InsertBlock         string `sql:"insert_block"`
	ContactBlocks       string `sql:"contact_blocks"`
	FinishEnrollment    string `sql:"finish_enrollment"`
	CancelScheduled     string `sql:"cancel_scheduled"`
	DueIDs              string `sql:"due_ids"`
	Candidate           string `sql:"candidate"`
	ContactHistory      string `sql:"contact_history"`
	ClaimAction         string `sql:"claim_action"`
	InsertAttempt       string `sql:"insert_attempt"`
	DeferAction         string `sql:"defer_action"`
	CancelAction        string `sql:"cancel_action"`
	MarkDialing         string `sql:"mark_dialing"`
	CompleteFenced      string `sql:"complete_fenced"`
	ExtendLease         string `sql:"extend_lease"`
	AttemptDisposition  string `sql:"attempt_disposition"`
	DeleteAttempt       string `sql:"delete_attempt"`
	ExpiredLeases       string `sql:"expired_leases"`
	ReturnAction        string `sql:"return_action"`
	ReleaseAction       string `sql:"release_action"`
	NextDue             string `sql:"next_due"`
	SetAgentDisposition string `sql:"set_agent_disposition"`
	InsertDNC           string `sql:"insert_dnc"`
	DeleteDNC           string `sql:"delete_dnc"`
	IsDNC               string `sql:"is_dnc"`
	StopPhoneEnrolls    string `sql:"stop_phone_enrollments"`
}

var _ engine.ScheduleStore = (*Store)(nil)

// loadScheduleQueries parses the embedded statements once; the result is
// read-only, like the embedded files it comes from.
var loadScheduleQueries = sync.OnceValues(parseScheduleQueries)

// sq returns the scheduler's statements.
func (s *Store) sq() (*scheduleQueries, error) { return loadScheduleQueries() }

func parseScheduleQueries() (*scheduleQueries, error) {
	return sqlfile.Load[scheduleQueries](scheduleFiles, "schedulesql/*.sql")
}

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// PreviousEnrollments counts the finished enrollments of a contact in a cadence.
func (s *Store) PreviousEnrollments(ctx context.Context, cadenceID, contactID string) (int, error) {
	q, err := s.sq()
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q.PreviousEnrollments, cadenceID, contactID).Scan(&n); err != nil {
		return 0, fmt.Errorf("previous enrollments: %w", err)
	}
	return n, nil
}

// EnrollWithTail creates an enrollment and its first action (or its end)
// in one transaction.
func (s *Store) EnrollWithTail(ctx context.Context, e engine.Enrollment, t engine.Tail, now time.Time) (engine.Enrollment, error) {
	q, err := s.sq()
	if err != nil {
		return engine.Enrollment{}, err
	}
	id, err := newID()
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("enroll: %w", err)
	}
	now = utc(now)
	var out engine.Enrollment
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var current int
		if err := tx.QueryRowContext(ctx, s.q.CadenceVersion, e.CadenceID).Scan(&current); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("cadence %s: %w", e.CadenceID, engine.ErrNotFound)
			}
			return err
		}
		if e.CadenceVersion == 0 {
			e.CadenceVersion = current
		}
		if e.CadenceVersion < 0 || e.CadenceVersion > current {
			return fmt.Errorf("cadence %s version %d: %w", e.CadenceID, e.CadenceVersion, engine.ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, s.q.InsertEnrollment, id, e.CadenceID, e.CadenceVersion, e.ContactID, micros(now))
		switch {
		case isUnique(err):
			return fmt.Errorf("%w: contact %s is already enrolled in cadence %s", engine.ErrConflict, e.ContactID, e.CadenceID)
		case isForeignKey(err):
			return fmt.Errorf("contact %s: %w", e.ContactID, engine.ErrNotFound)
		case err != nil:
			return err
		}
		if err := s.applyTail(ctx, tx, q, id, t, now, true); err != nil {
			return err
		}
		out, err = s.getEnrollment(ctx, tx, id)
		return err
	})
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("enroll: %w", err)
	}
	return out, nil
}

// InsertAction schedules an action for an active enrollment.
func (s *Store) InsertAction(ctx context.Context, a engine.NewAction, block *engine.BlockRecord, now time.Time) (engine.ScheduledAction, error) {
	q, err := s.sq()
	if err != nil {
		return engine.ScheduledAction{}, err
	}
	var out engine.ScheduledAction
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.insertPlanned(ctx, tx, q, a, now)
		if err != nil {
			return err
		}
		if block != nil {
			block.ActionID = out.ID
			return insertBlock(ctx, tx, q, *block)
		}
		return nil
	})
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("insert action: %w", err)
	}
	return out, nil
}

func (s *Store) insertPlanned(ctx context.Context, tx *sql.Tx, q *scheduleQueries, a engine.NewAction, now time.Time) (engine.ScheduledAction, error) {
	if a.Step < 1 {
		return engine.ScheduledAction{}, fieldErr("step", fmt.Sprintf("%d is not a step number", a.Step))
	}
	if a.Type != engine.StepCall && a.Type != engine.StepSMS {
		return engine.ScheduledAction{}, fieldErr("type", fmt.Sprintf("unknown step type %q", a.Type))
	}
	if a.Attempt < 1 {
		a.Attempt = 1
	}
	if a.Plan.Run < 1 {
		a.Plan.Run = 1
	}
	retries, err := json.Marshal(a.Plan.RuleRetries)
	if err != nil {
		return engine.ScheduledAction{}, err
	}
	if a.Plan.RuleRetries == nil {
		retries = []byte("{}")
	}
	id, err := newID()
	if err != nil {
		return engine.ScheduledAction{}, err
	}
	out, err := scanAction(tx.QueryRowContext(ctx, q.InsertPlannedAction, id, a.EnrollmentID, a.Step, string(a.Type),
		micros(utc(a.DueAt)), a.Attempt, micros(utc(now)), a.Plan.Run, nullMicros(utc(a.Plan.RunStarted)), string(retries)))
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.getEnrollment(ctx, tx, a.EnrollmentID); err != nil {
			return engine.ScheduledAction{}, fmt.Errorf("enrollment %s: %w", a.EnrollmentID, err)
		}
		return engine.ScheduledAction{}, fmt.Errorf("%w: enrollment %s has finished", engine.ErrConflict, a.EnrollmentID)
	}
	return out, err
}

func insertBlock(ctx context.Context, tx *sql.Tx, q *scheduleQueries, b engine.BlockRecord) error {
	_, err := tx.ExecContext(ctx, q.InsertBlock, b.ActionID, b.ContactID, micros(utc(b.At)), b.Code, b.Reason, nullMicros(utc(b.NextEligible)))
	if err != nil {
		return fmt.Errorf("record block: %w", err)
	}
	return nil
}

// FinishEnrollment ends an active enrollment and cancels its scheduled actions.
func (s *Store) FinishEnrollment(ctx context.Context, id string, f engine.Finish, block *engine.BlockRecord, now time.Time) (engine.Enrollment, error) {
	q, err := s.sq()
	if err != nil {
		return engine.Enrollment{}, err
	}
	var e engine.Enrollment
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = s.finish(ctx, tx, q, id, f, now)
		if err != nil {
			return err
		}
		if block != nil {
			return insertBlock(ctx, tx, q, *block)
		}
		return nil
	})
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("finish enrollment %s: %w", id, err)
	}
	return e, nil
}

func (s *Store) finish(ctx context.Context, tx *sql.Tx, q *scheduleQueries, id string, f engine.Finish, now time.Time) (engine.Enrollment, error) {
	if f.Status != engine.EnrollmentCompleted && f.Status != engine.EnrollmentStopped {
		return engine.Enrollment{}, fieldErr("status", fmt.Sprintf("%q is not completed or stopped", f.Status))
	}
	e, err := scanEnrollment(tx.QueryRowContext(ctx, q.FinishEnrollment, id, string(f.Status), micros(utc(now)), f.Reason))
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.getEnrollment(ctx, tx, id); err != nil {
			return engine.Enrollment{}, err
		}
		return engine.Enrollment{}, fmt.Errorf("%w: enrollment has already finished", engine.ErrConflict)
	}
	if err != nil {
		return engine.Enrollment{}, err
	}
	if _, err := tx.ExecContext(ctx, q.CancelScheduled, id); err != nil {
		return engine.Enrollment{}, err
	}
	return e, nil
}

// loadCandidate reads one action with its enrollment, contact, cadence and
// the contact's history since since.
func loadCandidate(ctx context.Context, tx querier, q *scheduleQueries, id string, since time.Time) (engine.ClaimCandidate, error) {
	var (
		c                         engine.ClaimCandidate
		typ, state                string
		due, created, runStarted  int64
		leaseExp, completed       sql.NullInt64
		retries, eStatus, cStatus string
		eCreated, cCreated, cUpdt int64
		eStopped                  sql.NullInt64
		fields, def               string
		fence, startedAt          int64
		dnc                       int
	)
	a := &c.Action
	e := &c.Enrollment
	ct := &c.Contact
	err := tx.QueryRowContext(ctx, q.Candidate, id).Scan(
		&a.ID, &a.EnrollmentID, &a.CadenceID, &a.Step, &typ, &due, &state, &a.Attempt,
		&a.LeaseOwner, &leaseExp, &created, &completed, &a.Disposition,
		&c.Plan.Run, &runStarted, &retries, &fence, &startedAt,
		&e.ID, &e.CadenceID, &e.CadenceVersion, &e.ContactID, &eStatus, &eCreated, &eStopped, &e.StopReason,
		&ct.ID, &ct.Phone, &ct.FirstName, &ct.LastName, &ct.TimeZone, &ct.State, &ct.Zip, &ct.Owner, &fields, &cCreated, &cUpdt,
		&cStatus, &def, &dnc)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("action %s: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("load action %s: %w", id, err)
	}
	a.Type, a.State = engine.StepType(typ), engine.ActionState(state)
	a.DueAt, a.CreatedAt = fromMicros(due), fromMicros(created)
	a.LeaseExpiresAt, a.CompletedAt = fromNullMicros(leaseExp), fromNullMicros(completed)
	c.Plan.RunStarted = fromMicros(runStarted)
	if err := json.Unmarshal([]byte(retries), &c.Plan.RuleRetries); err != nil {
		return c, fmt.Errorf("decode rule retries of action %s: %w", id, err)
	}
	if len(c.Plan.RuleRetries) == 0 {
		c.Plan.RuleRetries = nil
	}
	e.Status, e.CreatedAt, e.StoppedAt = engine.EnrollmentStatus(eStatus), fromMicros(eCreated), fromNullMicros(eStopped)
	if err := json.Unmarshal([]byte(fields), &ct.Fields); err != nil {
		return c, fmt.Errorf("decode fields of contact %s: %w", ct.ID, err)
	}
	if len(ct.Fields) == 0 {
		ct.Fields = nil
	}
	ct.CreatedAt, ct.UpdatedAt = fromMicros(cCreated), fromMicros(cUpdt)
	c.CadenceStatus = engine.Status(cStatus)
	if err := json.Unmarshal([]byte(def), &c.Definition); err != nil {
		return c, fmt.Errorf("decode definition of cadence %s v%d: %w", e.CadenceID, e.CadenceVersion, err)
	}
	c.DNC = dnc != 0
	if !since.IsZero() {
		c.History, err = history(ctx, tx, q, ct.ID, since)
		if err != nil {
			return c, err
		}
	}
	_ = fence
	if startedAt > 0 {
		c.StartedAt = fromMicros(startedAt)
	}
	return c, nil
}

func history(ctx context.Context, tx querier, q *scheduleQueries, contactID string, since time.Time) ([]engine.Attempt, error) {
	rows, err := tx.QueryContext(ctx, q.ContactHistory, contactID, micros(utc(since)))
	if err != nil {
		return nil, fmt.Errorf("contact history: %w", err)
	}
	defer rows.Close()
	var out []engine.Attempt
	for rows.Next() {
		var (
			a  engine.Attempt
			ch string
			at int64
		)
		if err := rows.Scan(&a.ActionID, &a.ContactID, &a.EnrollmentID, &ch, &at, &a.Disposition); err != nil {
			return nil, err
		}
		a.Channel, a.At = engine.StepType(ch), fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

func collectIDs(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Claim walks due actions in one IMMEDIATE transaction: SQLite has a single
// writer, so the history decide sees cannot change under it.
func (s *Store) Claim(ctx context.Context, r engine.ClaimRequest, decide func(engine.ClaimCandidate) (engine.ClaimVerdict, error)) ([]engine.ClaimedAction, error) {
	q, err := s.sq()
	if err != nil {
		return nil, err
	}
	if r.Limit <= 0 {
		return nil, nil
	}
	now := utc(r.Now)
	var out []engine.ClaimedAction
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		seen := map[string]bool{}
		for len(out) < r.Limit {
			rows, err := tx.QueryContext(ctx, q.DueIDs, micros(now), r.Limit-len(out))
			if err != nil {
				return fmt.Errorf("due actions: %w", err)
			}
			ids, err := collectIDs(rows)
			if err != nil {
				return fmt.Errorf("due actions: %w", err)
			}
			fresh := 0
			for _, id := range ids {
				if seen[id] {
					continue
				}
				seen[id] = true
				fresh++
				ca, ok, err := s.claimOne(ctx, tx, q, id, r, now, decide)
				if err != nil {
					return err
				}
				if ok {
					out = append(out, ca)
				}
			}
			if fresh == 0 {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

func (s *Store) claimOne(ctx context.Context, tx *sql.Tx, q *scheduleQueries, id string, r engine.ClaimRequest, now time.Time,
	decide func(engine.ClaimCandidate) (engine.ClaimVerdict, error)) (engine.ClaimedAction, bool, error) {
	c, err := loadCandidate(ctx, tx, q, id, r.HistorySince)
	if err != nil {
		return engine.ClaimedAction{}, false, err
	}
	v, err := decide(c)
	if err != nil {
		return engine.ClaimedAction{}, false, fmt.Errorf("decide on action %s: %w", id, err)
	}
	if v.Block != nil {
		v.Block.ActionID = id
		if err := insertBlock(ctx, tx, q, *v.Block); err != nil {
			return engine.ClaimedAction{}, false, err
		}
	}
	switch v.Kind {
	case engine.VerdictRun:
		var fence int64
		if err := tx.QueryRowContext(ctx, q.ClaimAction, id, r.Owner, micros(now.Add(r.Lease)), micros(now)).Scan(&fence); err != nil {
			return engine.ClaimedAction{}, false, fmt.Errorf("claim action %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, q.InsertAttempt, id, c.Contact.ID, c.Enrollment.ID, string(c.Action.Type), micros(now)); err != nil {
			return engine.ClaimedAction{}, false, fmt.Errorf("record attempt %s: %w", id, err)
		}
		c.Action.State = engine.ActionProcessing
		c.Action.LeaseOwner = r.Owner
		exp := now.Add(r.Lease)
		c.Action.LeaseExpiresAt = &exp
		c.StartedAt = now
		return engine.ClaimedAction{ClaimCandidate: c, Fence: fence}, true, nil
	case engine.VerdictDefer:
		if !utc(v.DueAt).After(now) {
			return engine.ClaimedAction{}, false, fmt.Errorf("decide on action %s: deferred to %s, not after now", id, v.DueAt.Format(time.RFC3339))
		}
		if _, err := tx.ExecContext(ctx, q.DeferAction, id, micros(utc(v.DueAt))); err != nil {
			return engine.ClaimedAction{}, false, fmt.Errorf("defer action %s: %w", id, err)
		}
	case engine.VerdictStop:
		if _, err := tx.ExecContext(ctx, q.CancelAction, id); err != nil {
			return engine.ClaimedAction{}, false, fmt.Errorf("cancel action %s: %w", id, err)
		}
		if c.Enrollment.Status == engine.EnrollmentActive {
			if _, err := s.finish(ctx, tx, q, c.Enrollment.ID, engine.Finish{Status: engine.EnrollmentStopped, Reason: v.StopReason}, now); err != nil {
				return engine.ClaimedAction{}, false, err
			}
		}
	default:
		return engine.ClaimedAction{}, false, fmt.Errorf("decide on action %s: unknown verdict %d", id, v.Kind)
	}
	return engine.ClaimedAction{}, false, nil
}

// MarkDialing sets the dialing mark of a claimed action.
func (s *Store) MarkDialing(ctx context.Context, actionID string, fence int64, now time.Time) error {
	q, err := s.sq()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.MarkDialing, actionID, fence)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: stale fence %d or action not processing", engine.ErrConflict, fence)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark dialing %s: %w", actionID, err)
	}
	return nil
}

// ExtendLease moves the lease of a processing action.
func (s *Store) ExtendLease(ctx context.Context, actionID string, fence int64, until time.Time) error {
	q, err := s.sq()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.ExtendLease, actionID, fence, micros(utc(until)))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: stale fence %d or action not processing", engine.ErrConflict, fence)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("extend lease %s: %w", actionID, err)
	}
	return nil
}

// Complete records an outcome and its tail in one transaction.
func (s *Store) Complete(ctx context.Context, c engine.Completion) error {
	q, err := s.sq()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var enrollmentID string
		err := tx.QueryRowContext(ctx, q.CompleteFenced, c.ActionID, c.Fence, micros(utc(c.Now)), c.Disposition).Scan(&enrollmentID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: stale fence %d or action not processing", engine.ErrConflict, c.Fence)
		}
		if err != nil {
			return err
		}
		if c.Placed {
			_, err = tx.ExecContext(ctx, q.AttemptDisposition, c.ActionID, c.Disposition)
		} else {
			_, err = tx.ExecContext(ctx, q.DeleteAttempt, c.ActionID)
		}
		if err != nil {
			return fmt.Errorf("attempt: %w", err)
		}
		return s.applyTail(ctx, tx, q, enrollmentID, c.Tail, c.Now, true)
	})
	if err != nil {
		return fmt.Errorf("complete action %s: %w", c.ActionID, err)
	}
	return nil
}

// applyTail writes what follows an outcome. active says whether the
// enrollment may still move (it is ignored when it has finished meanwhile,
// e.g. stopped by an operator while the call ran).
func (s *Store) applyTail(ctx context.Context, tx *sql.Tx, q *scheduleQueries, enrollmentID string, t engine.Tail, now time.Time, _ bool) error {
	e, err := s.getEnrollment(ctx, tx, enrollmentID)
	if err != nil {
		return fmt.Errorf("enrollment %s: %w", enrollmentID, err)
	}
	if t.DNC {
		c, err := scanContact(tx.QueryRowContext(ctx, s.q.GetContact, e.ContactID))
		if err != nil {
			return fmt.Errorf("contact %s: %w", e.ContactID, err)
		}
		if _, err := s.addDNC(ctx, tx, q, c.Phone, "disposition do-not-call", now); err != nil {
			return err
		}
		e.Status = engine.EnrollmentStopped
	}
	if e.Status == engine.EnrollmentActive {
		switch {
		case t.Finish != nil:
			if _, err := s.finish(ctx, tx, q, enrollmentID, *t.Finish, now); err != nil {
				return err
			}
		case t.Next != nil:
			t.Next.EnrollmentID = enrollmentID
			a, err := s.insertPlanned(ctx, tx, q, *t.Next, now)
			if err != nil {
				return err
			}
			if t.Block != nil {
				b := *t.Block
				b.ActionID = a.ID
				t.Block = &b
			}
		}
	}
	if t.Block != nil {
		return insertBlock(ctx, tx, q, *t.Block)
	}
	return nil
}

// Rescue returns or re-leases expired leases.
func (s *Store) Rescue(ctx context.Context, owner string, now time.Time, lease time.Duration, historySince time.Time) (int, []engine.ClaimedAction, error) {
	q, err := s.sq()
	if err != nil {
		return 0, nil, err
	}
	now = utc(now)
	var (
		returned int
		inDoubt  []engine.ClaimedAction
	)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		returned, inDoubt = 0, nil
		rows, err := tx.QueryContext(ctx, q.ExpiredLeases, micros(now))
		if err != nil {
			return err
		}
		type row struct {
			id      string
			dialing bool
		}
		var rs []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.dialing); err != nil {
				rows.Close()
				return err
			}
			rs = append(rs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range rs {
			if !r.dialing {
				if _, err := tx.ExecContext(ctx, q.ReturnAction, r.id); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, q.DeleteAttempt, r.id); err != nil {
					return err
				}
				returned++
				continue
			}
			var fence int64
			if err := tx.QueryRowContext(ctx, q.ReleaseAction, r.id, owner, micros(now.Add(lease))).Scan(&fence); err != nil {
				return err
			}
			c, err := loadCandidate(ctx, tx, q, r.id, historySince)
			if err != nil {
				return err
			}
			inDoubt = append(inDoubt, engine.ClaimedAction{ClaimCandidate: c, Fence: fence})
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("rescue: %w", err)
	}
	return returned, inDoubt, nil
}

// NextDue is the earliest due time of a scheduled action.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	q, err := s.sq()
	if err != nil {
		return time.Time{}, false, err
	}
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, q.NextDue).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(v.Int64), true, nil
}

// ActionCandidate loads an action with its context.
func (s *Store) ActionCandidate(ctx context.Context, actionID string) (engine.ClaimCandidate, error) {
	q, err := s.sq()
	if err != nil {
		return engine.ClaimCandidate{}, err
	}
	c, err := loadCandidate(ctx, s.db, q, actionID, time.Time{})
	if err != nil {
		return engine.ClaimCandidate{}, fmt.Errorf("action candidate: %w", err)
	}
	return c, nil
}

// ApplyAgentDisposition records an agent disposition and applies its tail.
func (s *Store) ApplyAgentDisposition(ctx context.Context, actionID, code string, t engine.Tail, now time.Time) error {
	q, err := s.sq()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var enrollmentID string
		err := tx.QueryRowContext(ctx, q.SetAgentDisposition, actionID, code).Scan(&enrollmentID)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := scanAction(tx.QueryRowContext(ctx, s.q.GetAction, actionID)); errors.Is(err, sql.ErrNoRows) {
				return engine.ErrNotFound
			}
			return fmt.Errorf("%w: the attempt has no outcome yet", engine.ErrConflict)
		}
		if err != nil {
			return err
		}
		e, err := s.getEnrollment(ctx, tx, enrollmentID)
		if err != nil {
			return err
		}
		if e.Status == engine.EnrollmentActive && (t.Next != nil || t.Finish != nil || t.DNC) {
			if _, err := tx.ExecContext(ctx, q.CancelScheduled, enrollmentID); err != nil {
				return err
			}
		}
		return s.applyTail(ctx, tx, q, enrollmentID, t, now, true)
	})
	if err != nil {
		return fmt.Errorf("agent disposition on %s: %w", actionID, err)
	}
	return nil
}
