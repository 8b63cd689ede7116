package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/internal/sqlfile"
)

//go:embed schedulesql/*.sql
var scheduleFiles embed.FS

// scheduleQueries are the scheduler's statements (schedulesql/schedule.sql).
type scheduleQueries struct {
	PreviousEnrollments string `sql:"previous_enrollments"`
	InsertPlannedAction string `sql:"insert_planned_action"`
	InsertBlock         string `sql:"insert_block"`
	ContactBlocks       string `sql:"contact_blocks"`
	FinishEnrollment    string `sql:"finish_enrollment"`
	CancelScheduled     string `sql:"cancel_scheduled"`
	DueLocked           string `sql:"due_locked"`
	LockContacts        string `sql:"lock_contacts"`
	Candidate           string `sql:"candidate"`
	Candidates          string `sql:"candidates"`
	ClaimDefinitions    string `sql:"claim_definitions"`
	ContactHistory      string `sql:"contact_history"`
	ContactHistories    string `sql:"contact_histories"`
	ClaimActions        string `sql:"claim_actions"`
	DeferAction         string `sql:"defer_action"`
	CancelAction        string `sql:"cancel_action"`
	MarkDialing         string `sql:"mark_dialing"`
	CompleteFenced      string `sql:"complete_fenced"`
	ActionEnrollment    string `sql:"action_enrollment"`
	ExtendLease         string `sql:"extend_lease"`
	ExpiredLeases       string `sql:"expired_leases"`
	ReturnAction        string `sql:"return_action"`
	ReleaseAction       string `sql:"release_action"`
	NextDue             string `sql:"next_due"`
	SetAgentDisposition string `sql:"set_agent_disposition"`
	InsertDNC           string `sql:"insert_dnc"`
	DeleteDNC           string `sql:"delete_dnc"`
	IsDNC               string `sql:"is_dnc"`
	StopPhoneEnrolls    string `sql:"stop_phone_enrollments"`
	NotifyDue           string `sql:"notify_due"`
	ListenDue           string `sql:"listen_due"`
	MarkDialingGroup    string `sql:"mark_dialing_group"`
	CompleteGroup       string `sql:"complete_group"`
	FinishEnrollments   string `sql:"finish_enrollments"`
	InsertPlanned       string `sql:"insert_planned_actions"`
	InsertBlocks        string `sql:"insert_blocks"`
}

var _ engine.ScheduleStore = (*Store)(nil)

// loadScheduleQueries parses the embedded statements once; the result is
// read-only, like the embedded files it comes from.
var loadScheduleQueries = sync.OnceValues(func() (*scheduleQueries, error) {
	return sqlfile.Load[scheduleQueries](scheduleFiles, "schedulesql/*.sql")
})

// deadlockDetected is the SQLSTATE of a transaction chosen as a deadlock
// victim. Claims lock actions then contacts (in id order) while outcomes
// lock actions then enrollments; a do-not-call outcome racing a claim of the
// same contact can still cross, and the loser simply runs again.
const deadlockDetected = "40P01"

// inTxRetry is inTx, run again (up to three times) when it was a deadlock
// victim; the transaction rolled back, so running it again is safe.
func (s *Store) inTxRetry(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for range 3 {
		if err = s.inTx(ctx, fn); pgCode(err) != deadlockDetected {
			return err
		}
	}
	return err
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := utc(t)
	return &u
}

// PreviousEnrollments counts the finished enrollments of a contact in a cadence.
func (s *Store) PreviousEnrollments(ctx context.Context, cadenceID, contactID string) (int, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return 0, err
	}
	if !validID(cadenceID) || !validID(contactID) {
		return 0, nil
	}
	var n int
	if err := s.pool.QueryRow(ctx, q.PreviousEnrollments, cadenceID, contactID).Scan(&n); err != nil {
		return 0, fmt.Errorf("previous enrollments: %w", err)
	}
	return n, nil
}

// EnrollWithTail creates an enrollment and its first action (or its end)
// in one transaction.
func (s *Store) EnrollWithTail(ctx context.Context, e engine.Enrollment, t engine.Tail, now time.Time) (engine.Enrollment, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return engine.Enrollment{}, err
	}
	id, err := newID()
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("enroll: %w", err)
	}
	now = utc(now)
	var out engine.Enrollment
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if !validID(e.CadenceID) {
			return fmt.Errorf("cadence %s: %w", e.CadenceID, engine.ErrNotFound)
		}
		current, err := s.lockCadence(ctx, tx, s.q.CadenceVersionShare, e.CadenceID)
		if err != nil {
			return fmt.Errorf("cadence %s: %w", e.CadenceID, err)
		}
		if e.CadenceVersion == 0 {
			e.CadenceVersion = current
		}
		if e.CadenceVersion < 0 || e.CadenceVersion > current {
			return fmt.Errorf("cadence %s version %d: %w", e.CadenceID, e.CadenceVersion, engine.ErrNotFound)
		}
		if !validID(e.ContactID) {
			return fmt.Errorf("contact %s: %w", e.ContactID, engine.ErrNotFound)
		}
		_, err = tx.Exec(ctx, s.q.InsertEnrollment, id, e.CadenceID, e.CadenceVersion, e.ContactID, now)
		switch pgCode(err) {
		case uniqueViolation:
			return fmt.Errorf("%w: contact %s is already enrolled in cadence %s", engine.ErrConflict, e.ContactID, e.CadenceID)
		case foreignKeyViolation:
			return fmt.Errorf("contact %s: %w", e.ContactID, engine.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := s.applyTail(ctx, tx, q, id, t, now); err != nil {
			return err
		}
		out, err = s.getEnrollment(ctx, tx, id)
		return err
	})
	if err != nil {
		return engine.Enrollment{}, fmt.Errorf("enroll: %w", err)
	}
	s.enrolled(1)
	return out, nil
}

// InsertAction schedules an action for an active enrollment.
func (s *Store) InsertAction(ctx context.Context, a engine.NewAction, block *engine.BlockRecord, now time.Time) (engine.ScheduledAction, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return engine.ScheduledAction{}, err
	}
	var out engine.ScheduledAction
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if out, err = s.insertPlanned(ctx, tx, q, a, now); err != nil {
			return err
		}
		if block != nil {
			b := *block
			b.ActionID = out.ID
			return insertBlock(ctx, tx, q, b)
		}
		return nil
	})
	if err != nil {
		return engine.ScheduledAction{}, fmt.Errorf("insert action: %w", err)
	}
	return out, nil
}

func (s *Store) insertPlanned(ctx context.Context, tx pgx.Tx, q *scheduleQueries, a engine.NewAction, now time.Time) (engine.ScheduledAction, error) {
	if !validID(a.EnrollmentID) {
		return engine.ScheduledAction{}, fmt.Errorf("enrollment %s: %w", a.EnrollmentID, engine.ErrNotFound)
	}
	args, err := plannedArgs(a, now)
	if err != nil {
		return engine.ScheduledAction{}, err
	}
	out, err := scanAction(tx.QueryRow(ctx, q.InsertPlannedAction, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.getEnrollment(ctx, tx, a.EnrollmentID); err != nil {
			return engine.ScheduledAction{}, fmt.Errorf("enrollment %s: %w", a.EnrollmentID, err)
		}
		return engine.ScheduledAction{}, fmt.Errorf("%w: enrollment %s has finished", engine.ErrConflict, a.EnrollmentID)
	}
	if err == nil && !a.DueAt.After(now) {
		_, err = tx.Exec(ctx, q.NotifyDue)
	}
	return out, err
}

// plannedArgs checks a new action and returns the arguments of
// insert_planned_action, the new row's id first and its enrollment's id
// (not checked here) second.
func plannedArgs(a engine.NewAction, now time.Time) ([]any, error) {
	if a.Step < 1 {
		return nil, fieldErr("step", fmt.Sprintf("%d is not a step number", a.Step))
	}
	if a.Type != engine.StepCall && a.Type != engine.StepSMS {
		return nil, fieldErr("type", fmt.Sprintf("unknown step type %q", a.Type))
	}
	a.Attempt, a.Plan.Run = max(a.Attempt, 1), max(a.Plan.Run, 1)
	retries := []byte("{}")
	if len(a.Plan.RuleRetries) > 0 {
		var err error
		if retries, err = json.Marshal(a.Plan.RuleRetries); err != nil {
			return nil, err
		}
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	return []any{id, a.EnrollmentID, a.Step, string(a.Type), utc(a.DueAt), a.Attempt, utc(now), a.Plan.Run,
		nullTime(a.Plan.RunStarted), string(retries)}, nil
}

var _ engine.Waker = (*Store)(nil)

// Listen wakes a scheduler whenever any node schedules an action due at
// once (NOTIFY cadenza_due at commit). It holds one pooled connection
// until ctx ends and reconnects after errors; the scheduler's poll covers
// the gaps.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	q, err := loadScheduleQueries()
	if err != nil {
		return err
	}
	for {
		// A listener error (a restarted database, a dropped connection)
		// only costs latency: reconnect after a pause.
		_ = s.listenOnce(ctx, q, wake)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, q *scheduleQueries, wake func()) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection keeps LISTEN state: take it out of the pool for good.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, q.ListenDue); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

func insertBlock(ctx context.Context, tx pgx.Tx, q *scheduleQueries, b engine.BlockRecord) error {
	if _, err := tx.Exec(ctx, q.InsertBlock, b.ActionID, b.ContactID, utc(b.At), b.Code, b.Reason, nullTime(b.NextEligible)); err != nil {
		return fmt.Errorf("record block: %w", err)
	}
	return nil
}

// FinishEnrollment ends an active enrollment and cancels its scheduled actions.
func (s *Store) FinishEnrollment(ctx context.Context, id string, f engine.Finish, block *engine.BlockRecord, now time.Time) (engine.Enrollment, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return engine.Enrollment{}, err
	}
	var e engine.Enrollment
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if e, err = s.finish(ctx, tx, q, id, f, now); err != nil {
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

func (s *Store) finish(ctx context.Context, tx pgx.Tx, q *scheduleQueries, id string, f engine.Finish, now time.Time) (engine.Enrollment, error) {
	if f.Status != engine.EnrollmentCompleted && f.Status != engine.EnrollmentStopped {
		return engine.Enrollment{}, fieldErr("status", fmt.Sprintf("%q is not completed or stopped", f.Status))
	}
	if !validID(id) {
		return engine.Enrollment{}, engine.ErrNotFound
	}
	e, err := scanEnrollment(tx.QueryRow(ctx, q.FinishEnrollment, id, string(f.Status), utc(now), f.Reason))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.getEnrollment(ctx, tx, id); err != nil {
			return engine.Enrollment{}, err
		}
		return engine.Enrollment{}, fmt.Errorf("%w: enrollment has already finished", engine.ErrConflict)
	}
	if err != nil {
		return engine.Enrollment{}, err
	}
	if _, err := tx.Exec(ctx, q.CancelScheduled, id); err != nil {
		return engine.Enrollment{}, err
	}
	return e, nil
}

// loadCandidate reads one action with its enrollment, contact and cadence,
// and the contact's history since since (none when since is zero).
func loadCandidate(ctx context.Context, db dbtx, q *scheduleQueries, id string, since time.Time) (engine.ClaimCandidate, error) {
	if !validID(id) {
		return engine.ClaimCandidate{}, fmt.Errorf("action %s: %w", id, engine.ErrNotFound)
	}
	c, err := scanCandidate(db.QueryRow(ctx, q.Candidate, id), nil)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("action %s: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("load action %s: %w", id, err)
	}
	if !since.IsZero() {
		if c.History, err = history(ctx, db, q, c.Contact.ID, since); err != nil {
			return c, err
		}
	}
	return c, nil
}

func history(ctx context.Context, db dbtx, q *scheduleQueries, contactID string, since time.Time) ([]engine.Attempt, error) {
	rows, err := db.Query(ctx, q.ContactHistory, contactID, utc(since))
	if err != nil {
		return nil, fmt.Errorf("contact history: %w", err)
	}
	defer rows.Close()
	var out []engine.Attempt
	for rows.Next() {
		var (
			a  engine.Attempt
			ch string
		)
		if err := rows.Scan(&a.ActionID, &a.ContactID, &a.EnrollmentID, &ch, &a.At, &a.Disposition); err != nil {
			return nil, err
		}
		a.Channel, a.At = engine.StepType(ch), a.At.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// markDialingOne sets the dialing mark of one claimed action in a
// statement of its own.
func (s *Store) markDialingOne(ctx context.Context, q *scheduleQueries, actionID string, fence int64) error {
	tag, err := s.pool.Exec(ctx, q.MarkDialing, actionID, fence)
	if err != nil {
		return fmt.Errorf("mark dialing %s: %w", actionID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("mark dialing %s: %w: stale fence %d or action not processing", actionID, engine.ErrConflict, fence)
	}
	return nil
}

// ExtendLease moves the lease of a processing action.
func (s *Store) ExtendLease(ctx context.Context, actionID string, fence int64, until time.Time) error {
	q, err := loadScheduleQueries()
	if err != nil {
		return err
	}
	if !validID(actionID) {
		return fmt.Errorf("extend lease %s: %w", actionID, engine.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, q.ExtendLease, actionID, fence, utc(until))
	if err != nil {
		return fmt.Errorf("extend lease %s: %w", actionID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("extend lease %s: %w: stale fence %d or action not processing", actionID, engine.ErrConflict, fence)
	}
	return nil
}

// completeOne records one outcome and its tail in a transaction of its own.
func (s *Store) completeOne(ctx context.Context, q *scheduleQueries, c engine.Completion) error {
	err := s.inTxRetry(ctx, func(tx pgx.Tx) error {
		e, err := completeFenced(ctx, tx, q, c)
		if err != nil {
			return err
		}
		return s.applyTailTo(ctx, tx, q, e, c.Tail, c.Now)
	})
	if err != nil {
		return fmt.Errorf("complete action %s: %w", c.ActionID, err)
	}
	return nil
}

// applyTail writes what follows an outcome; an enrollment that finished
// meanwhile (stopped by an operator while the call ran) does not move.
func (s *Store) applyTail(ctx context.Context, tx pgx.Tx, q *scheduleQueries, enrollmentID string, t engine.Tail, now time.Time) error {
	e, err := s.getEnrollment(ctx, tx, enrollmentID)
	if err != nil {
		return fmt.Errorf("enrollment %s: %w", enrollmentID, err)
	}
	return s.applyTailTo(ctx, tx, q, e, t, now)
}

// applyTailTo is applyTail on an enrollment read in this transaction.
func (s *Store) applyTailTo(ctx context.Context, tx pgx.Tx, q *scheduleQueries, e engine.Enrollment, t engine.Tail, now time.Time) error {
	enrollmentID := e.ID
	if t.DNC {
		c, err := scanContact(tx.QueryRow(ctx, s.q.GetContact, e.ContactID))
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
			n := *t.Next
			n.EnrollmentID = enrollmentID
			a, err := s.insertPlanned(ctx, tx, q, n, now)
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
	q, err := loadScheduleQueries()
	if err != nil {
		return 0, nil, err
	}
	now = utc(now)
	var (
		returned int
		inDoubt  []engine.ClaimedAction
	)
	err = s.inTxRetry(ctx, func(tx pgx.Tx) error {
		returned, inDoubt = 0, nil
		rows, err := tx.Query(ctx, q.ExpiredLeases, now)
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
				if _, err := tx.Exec(ctx, q.ReturnAction, r.id); err != nil {
					return err
				}
				returned++
				continue
			}
			var fence int64
			if err := tx.QueryRow(ctx, q.ReleaseAction, r.id, owner, now.Add(lease)).Scan(&fence); err != nil {
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
	q, err := loadScheduleQueries()
	if err != nil {
		return time.Time{}, false, err
	}
	var v *time.Time
	if err := s.pool.QueryRow(ctx, q.NextDue).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	if v == nil {
		return time.Time{}, false, nil
	}
	return v.UTC(), true, nil
}

// ActionCandidate loads an action with its context.
func (s *Store) ActionCandidate(ctx context.Context, actionID string) (engine.ClaimCandidate, error) {
	q, err := loadScheduleQueries()
	if err != nil {
		return engine.ClaimCandidate{}, err
	}
	c, err := loadCandidate(ctx, s.pool, q, actionID, time.Time{})
	if err != nil {
		return engine.ClaimCandidate{}, fmt.Errorf("action candidate: %w", err)
	}
	return c, nil
}

// ApplyAgentDisposition records an agent disposition and applies its tail.
func (s *Store) ApplyAgentDisposition(ctx context.Context, actionID, code string, t engine.Tail, now time.Time) error {
	q, err := loadScheduleQueries()
	if err != nil {
		return err
	}
	if !validID(actionID) {
		return fmt.Errorf("agent disposition on %s: %w", actionID, engine.ErrNotFound)
	}
	err = s.inTxRetry(ctx, func(tx pgx.Tx) error {
		var enrollmentID string
		err := tx.QueryRow(ctx, q.SetAgentDisposition, actionID, code).Scan(&enrollmentID)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := s.getAction(ctx, tx, actionID); err != nil {
				return err
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
			if _, err := tx.Exec(ctx, q.CancelScheduled, enrollmentID); err != nil {
				return err
			}
		}
		return s.applyTail(ctx, tx, q, enrollmentID, t, now)
	})
	if err != nil {
		return fmt.Errorf("agent disposition on %s: %w", actionID, err)
	}
	return nil
}
