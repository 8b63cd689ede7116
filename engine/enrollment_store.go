package engine

import (
	"context"
	"time"
)

// Contact is a person the cadences call and text. The E.164 phone number is
// its natural key: upserting a contact with a known phone updates that contact.
type Contact struct {
	ID    string `json:"id"`
	Phone string `json:"phone"`
	// FirstName and LastName fill {{contact.first_name}}-style variables.
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// TimeZone is the contact's IANA zone (target hours and the legal window
	// are read in it); empty means "derive it from phone, state and ZIP".
	TimeZone string `json:"timezone,omitempty"`
	State    string `json:"state,omitempty"`
	Zip      string `json:"zip,omitempty"`
	// Owner is the agent who owns the contact (seed 001 "Use Contact Owner").
	Owner string `json:"owner,omitempty"`
	// Fields are custom fields, read by routing conditions as "fields.NAME".
	Fields    map[string]string `json:"fields,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// EnrollmentStatus is the lifecycle of one contact going through one cadence.
type EnrollmentStatus string

// Enrollment statuses: only active enrollments have actions ahead of them.
const (
	EnrollmentActive    EnrollmentStatus = "active"
	EnrollmentCompleted EnrollmentStatus = "completed"
	EnrollmentStopped   EnrollmentStatus = "stopped"
)

// StopReasonCadenceDeleted is the stop reason of enrollments stopped by a
// forced DeleteCadence.
const StopReasonCadenceDeleted = "cadence deleted"

// Enrollment is a contact's run through a cadence, pinned to the cadence
// version it started on.
type Enrollment struct {
	ID        string `json:"id"`
	CadenceID string `json:"cadence_id"`
	// CadenceVersion is the pinned version; 0 on create means "the current one".
	CadenceVersion int              `json:"cadence_version"`
	ContactID      string           `json:"contact_id"`
	Status         EnrollmentStatus `json:"status"`
	CreatedAt      time.Time        `json:"created_at"`
	// StoppedAt is when the enrollment finished (stopped or completed).
	StoppedAt  *time.Time `json:"stopped_at,omitempty"`
	StopReason string     `json:"stop_reason,omitempty"`
}

// ActionState is where a scheduled action is in its life.
type ActionState string

// Action states: scheduled rows wait for their due time, processing rows are
// claimed under a lease, completed and cancelled rows are history.
const (
	ActionScheduled  ActionState = "scheduled"
	ActionProcessing ActionState = "processing"
	ActionCompleted  ActionState = "completed"
	ActionCancelled  ActionState = "cancelled"
)

// ScheduledAction is one durable row of the schedule: a call or SMS step of an
// enrollment, due at a moment that already respects every window (seed 001's
// "Inflight Actions" and "Completed Actions").
type ScheduledAction struct {
	ID           string `json:"id"`
	EnrollmentID string `json:"enrollment_id"`
	// CadenceID is copied from the enrollment by the store.
	CadenceID string `json:"cadence_id"`
	// Step is the 1-based step number in the pinned cadence version.
	Step  int         `json:"step"`
	Type  StepType    `json:"type"`
	DueAt time.Time   `json:"due_at"`
	State ActionState `json:"state"`
	// Attempt counts call attempts of this step, from 1.
	Attempt int `json:"attempt"`
	// LeaseOwner and LeaseExpiresAt are set while a node processes the row.
	LeaseOwner     string     `json:"lease_owner,omitempty"`
	LeaseExpiresAt *time.Time `json:"lease_expires_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	CompletedAt    *time.Time `json:"completed_at,omitempty"`
	Disposition    string     `json:"disposition,omitempty"`
}

// EnrollmentStore is the persistence of contacts, enrollments and the schedule.
// Both store drivers implement it next to Store and pass engine/storetest.
// The scheduler's claim and lease methods are not part of it yet.
type EnrollmentStore interface {
	// UpsertContact creates the contact or, when its phone is known, updates
	// the stored one in place (ID and CreatedAt are kept). An empty Owner
	// keeps the stored owner (clear it with AgentStore.SetContactOwner);
	// another owner replaces it and is recorded as an OwnerChange with
	// reason OwnerReasonAPI in the same transaction.
	UpsertContact(ctx context.Context, c Contact, now time.Time) (Contact, error)
	// GetContact returns a contact, or ErrNotFound.
	GetContact(ctx context.Context, id string) (Contact, error)
	// CreateEnrollment enrolls a contact (ErrNotFound for an unknown cadence,
	// version or contact; ErrConflict when the contact is already actively
	// enrolled in the cadence). The status is always active.
	CreateEnrollment(ctx context.Context, e Enrollment, now time.Time) (Enrollment, error)
	// GetEnrollment returns an enrollment, or ErrNotFound.
	GetEnrollment(ctx context.Context, id string) (Enrollment, error)
	// StopEnrollment stops an active enrollment and cancels its scheduled
	// actions; ErrConflict when it has already finished.
	StopEnrollment(ctx context.Context, id, reason string, now time.Time) (Enrollment, error)
	// ScheduleAction adds a scheduled action to an active enrollment
	// (ErrConflict when the enrollment has finished).
	ScheduleAction(ctx context.Context, a ScheduledAction, now time.Time) (ScheduledAction, error)
	// GetAction returns a scheduled action, or ErrNotFound.
	GetAction(ctx context.Context, id string) (ScheduledAction, error)
	// CompleteAction records the disposition of a scheduled or processing
	// action; ErrConflict when it is already completed or cancelled.
	CompleteAction(ctx context.Context, id, disposition string, now time.Time) (ScheduledAction, error)
}
