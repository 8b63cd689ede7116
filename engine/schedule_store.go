package engine

import (
	"context"
	"time"
)

// Plan is the routing state an action row carries so that the next decision
// can be made from the row alone: which run it belongs to, when that run
// started, and how many retries each routing rule has granted in this step.
type Plan struct {
	Run         int            `json:"run"`
	RunStarted  time.Time      `json:"run_started"`
	RuleRetries map[string]int `json:"rule_retries,omitempty"`
}

// NewAction is a future action to insert into the schedule.
type NewAction struct {
	EnrollmentID string
	Step         int // 1-based
	Type         StepType
	Attempt      int
	DueAt        time.Time
	Plan         Plan
}

// BlockRecord is one recorded reason why an action could not run when asked
// (the "blocks" table): a window, a harassment limit, do-not-call.
type BlockRecord struct {
	ActionID  string    `json:"action_id,omitempty"`
	ContactID string    `json:"contact_id"`
	At        time.Time `json:"at"`
	Code      string    `json:"code"`
	Reason    string    `json:"reason"`
	// NextEligible is where the action was moved to; zero when it was not
	// rescheduled (the enrollment stopped).
	NextEligible time.Time `json:"next_eligible,omitzero"`
}

// Attempt is one placed (or in-flight) call or SMS to a contact, counted by
// the harassment limits across every cadence.
type Attempt struct {
	ActionID     string    `json:"action_id"`
	ContactID    string    `json:"contact_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Channel      StepType  `json:"channel"`
	At           time.Time `json:"at"`
	Disposition  string    `json:"disposition,omitempty"`
}

// ClaimCandidate is a due action as the claim transaction sees it, with
// everything the engine needs to decide on it without further I/O: the
// claim decision runs inside the store's transaction.
type ClaimCandidate struct {
	Action        ScheduledAction
	Plan          Plan
	Enrollment    Enrollment
	Contact       Contact
	CadenceStatus Status
	// Definition is the enrollment's pinned cadence version.
	Definition Definition
	// History is the contact's attempts (every cadence, both channels) at or
	// after ClaimRequest.HistorySince, in-flight ones included.
	History []Attempt
	// DNC is whether the contact's number is on the do-not-call list.
	DNC bool
	// StartedAt is when the action was last claimed (its attempt's time);
	// zero before the first claim.
	StartedAt time.Time
}

// VerdictKind is the claim-time decision on a due action.
type VerdictKind int

// Verdicts.
const (
	// VerdictRun: claim it (lease + fence) and record the attempt now.
	VerdictRun VerdictKind = iota + 1
	// VerdictDefer: leave it scheduled, moved to DueAt, with Block recorded.
	VerdictDefer
	// VerdictStop: cancel it and stop the enrollment (Block recorded when set).
	VerdictStop
)

// ClaimVerdict is what the engine decided for one candidate.
type ClaimVerdict struct {
	Kind       VerdictKind
	DueAt      time.Time
	Block      *BlockRecord
	StopReason string
}

// ClaimRequest asks for due actions.
type ClaimRequest struct {
	Owner string
	Now   time.Time
	Limit int
	Lease time.Duration
	// HistorySince bounds the attempts loaded into each candidate.
	HistorySince time.Time
}

// ClaimedAction is an action leased to one scheduler. Every later state
// change names Fence; a stale fence is ErrConflict.
type ClaimedAction struct {
	ClaimCandidate
	Fence int64
}

// Finish ends an enrollment.
type Finish struct {
	Status EnrollmentStatus // completed or stopped
	Reason string
}

// Tail is what follows an outcome, written in the same transaction as the
// outcome itself: at most one next action, or the end of the enrollment,
// and possibly a do-not-call entry that stops every enrollment of the number.
type Tail struct {
	Next   *NewAction
	Block  *BlockRecord
	Finish *Finish
	DNC    bool
}

// Completion is the durable outcome of a claimed action.
type Completion struct {
	ActionID    string
	Fence       int64
	Disposition string
	// Placed is false when the call never left (nothing reached the
	// contact): its attempt no longer counts against the limits.
	Placed bool
	Now    time.Time
	Tail   Tail
}

// ScheduleStore is the persistence of the scheduler: it adds claim, lease,
// fencing, attempts, blocks and do-not-call to the stores the engine already
// has. engine/sqlite implements it (engine/storetest.RunSchedule checks it).
type ScheduleStore interface {
	Store
	EnrollmentStore

	// PreviousEnrollments counts the finished enrollments of a contact in a cadence.
	PreviousEnrollments(ctx context.Context, cadenceID, contactID string) (int, error)
	// EnrollWithTail creates an active enrollment pinned to e.CadenceVersion
	// (errors as CreateEnrollment) and applies t in the same transaction:
	// its first action (Next, whose EnrollmentID the store fills in) or its
	// immediate end (Finish), and the block. An accepted enrollment is never
	// left without a next action.
	EnrollWithTail(ctx context.Context, e Enrollment, t Tail, now time.Time) (Enrollment, error)
	// InsertAction schedules an action for an active enrollment (ErrConflict
	// when it finished), recording block when not nil.
	InsertAction(ctx context.Context, a NewAction, block *BlockRecord, now time.Time) (ScheduledAction, error)
	// FinishEnrollment ends an active enrollment as completed or stopped,
	// cancels its scheduled actions and records block when not nil.
	FinishEnrollment(ctx context.Context, id string, f Finish, block *BlockRecord, now time.Time) (Enrollment, error)
	// Claim walks due scheduled actions (due_at ≤ now, oldest first) in one
	// write transaction, asks decide about each, and applies the verdicts:
	// run (lease, fence+1, attempt recorded), defer (block recorded) or stop.
	// Because decide sees the history inside the same transaction, two
	// schedulers can never both pass the last slot of a limit. decide may
	// see a candidate again when the store retries the transaction.
	Claim(ctx context.Context, r ClaimRequest, decide func(ClaimCandidate) (ClaimVerdict, error)) ([]ClaimedAction, error)
	// MarkDialing records that a claimed action is about to be handed to the
	// dialer: from then on a lost lease means "unknown", never a redial.
	MarkDialing(ctx context.Context, actionID string, fence int64, now time.Time) error
	// ExtendLease moves the lease of a processing action to until, so a long
	// call keeps its claim; ErrConflict when the fence is stale.
	ExtendLease(ctx context.Context, actionID string, fence int64, until time.Time) error
	// Complete records the outcome and its tail in one transaction;
	// ErrConflict when the fence is stale or the action is not processing.
	Complete(ctx context.Context, c Completion) error
	// Rescue handles expired leases: rows never handed to the dialer return
	// to scheduled (their attempt is forgotten); rows that were dialing are
	// leased to owner with a new fence and returned, to be completed as
	// unknown.
	Rescue(ctx context.Context, owner string, now time.Time, lease time.Duration, historySince time.Time) (returned int, inDoubt []ClaimedAction, err error)
	// NextDue is the earliest due time of a scheduled action; ok is false
	// when nothing is scheduled.
	NextDue(ctx context.Context) (at time.Time, ok bool, err error)
	// ActionCandidate loads an action of any state with its context, for
	// agent dispositions.
	ActionCandidate(ctx context.Context, actionID string) (ClaimCandidate, error)
	// ApplyAgentDisposition records an agent's disposition on a finished
	// attempt; when the enrollment is still active its scheduled actions are
	// cancelled and the tail applied, in one transaction.
	ApplyAgentDisposition(ctx context.Context, actionID, code string, tail Tail, now time.Time) error

	// AddDNC puts a number on the do-not-call list and stops every active
	// enrollment of it; it returns how many it stopped.
	AddDNC(ctx context.Context, phone, reason string, now time.Time) (stopped int, err error)
	// RemoveDNC takes a number off the list (ErrNotFound when absent).
	RemoveDNC(ctx context.Context, phone string) error
	// IsDNC reports whether the number is on the list.
	IsDNC(ctx context.Context, phone string) (bool, error)

	// ContactAttempts lists a contact's attempts at or after since, oldest first.
	ContactAttempts(ctx context.Context, contactID string, since time.Time) ([]Attempt, error)
	// ContactBlocks lists the blocks recorded for a contact, oldest first.
	ContactBlocks(ctx context.Context, contactID string) ([]BlockRecord, error)
}
