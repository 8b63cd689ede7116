package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone returns a number in E.164, reading national numbers as
// US; an unusable number is an error saying why.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("phone: required")
	}
	num, err := phonenumbers.Parse(s, "US")
	if err != nil {
		return "", fmt.Errorf("phone: %q: %v", s, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("phone: %q is not a valid number", s)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// UpsertContact validates a contact, normalizes its phone to E.164 and
// creates or updates it (the phone is the key).
func (e *Engine) UpsertContact(ctx context.Context, c Contact) (Contact, error) {
	phone, err := NormalizePhone(c.Phone)
	if err != nil {
		return Contact{}, fmt.Errorf("upsert contact: %w", err)
	}
	c.Phone = phone
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
			return Contact{}, fmt.Errorf("upsert contact: timezone: %q is not an IANA time zone", c.TimeZone)
		}
	}
	c.State = strings.ToUpper(strings.TrimSpace(c.State))
	if c.State != "" && (len(c.State) != 2 || strings.Trim(c.State, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return Contact{}, fmt.Errorf("upsert contact: state: %q is not a two-letter code", c.State)
	}
	c.Zip = strings.TrimSpace(c.Zip)
	out, err := e.store.UpsertContact(ctx, c, e.now())
	if err != nil {
		return Contact{}, err
	}
	return out, nil
}

// EnrollRequest names the cadence and the contact: an existing contact by
// ID, or an inline contact that is upserted first.
type EnrollRequest struct {
	CadenceID string
	ContactID string
	Contact   *Contact
}

// Enroll enrolls a contact in an active cadence, pinned to its current
// version, and schedules the first action at its lawful instant. A contact
// that already went through the cadence enrolls again only when the cadence
// allows re-enrollment (ErrConflict otherwise); a number on the
// do-not-call list never enrolls (ErrDoNotCall).
func (e *Engine) Enroll(ctx context.Context, r EnrollRequest) (Enrollment, error) {
	now := e.now()
	var c Contact
	var err error
	switch {
	case r.Contact != nil:
		if c, err = e.UpsertContact(ctx, *r.Contact); err != nil {
			return Enrollment{}, fmt.Errorf("enroll: contact.%w", err)
		}
	case r.ContactID != "":
		if c, err = e.store.GetContact(ctx, r.ContactID); err != nil {
			return Enrollment{}, fmt.Errorf("enroll: %w", err)
		}
	default:
		return Enrollment{}, errors.New("enroll: contact_id or contact: required")
	}
	cad, err := e.store.GetCadence(ctx, r.CadenceID)
	if err != nil {
		return Enrollment{}, fmt.Errorf("enroll: %w", err)
	}
	if cad.Status != StatusActive {
		return Enrollment{}, fmt.Errorf("enroll: cadence %s is %s: %w", cad.ID, cad.Status, ErrNotActive)
	}
	dnc, err := e.store.IsDNC(ctx, c.Phone)
	if err != nil {
		return Enrollment{}, fmt.Errorf("enroll: %w", err)
	}
	if dnc {
		return Enrollment{}, fmt.Errorf("enroll: %s: %w", c.Phone, ErrDoNotCall)
	}
	if !cad.AllowReenrollment {
		n, err := e.store.PreviousEnrollments(ctx, cad.ID, c.ID)
		if err != nil {
			return Enrollment{}, fmt.Errorf("enroll: %w", err)
		}
		if n > 0 {
			return Enrollment{}, fmt.Errorf("enroll: %w: contact %s already went through cadence %s, which does not allow re-enrollment",
				ErrConflict, c.ID, cad.ID)
		}
	}
	if len(cad.Steps) == 0 {
		return Enrollment{}, fmt.Errorf("enroll: cadence %s has no steps", cad.ID)
	}
	// Plan the first action from the version being pinned, then write the
	// enrollment and its first action (or its end) in one transaction.
	first := cad.Steps[0]
	pl, err := e.planner.Place(cad.Definition, c, first.Type, FirstDue(cad.Definition, now), now)
	if err != nil {
		return Enrollment{}, fmt.Errorf("enroll: plan first action: %w", err)
	}
	plan := Plan{Run: 1, RunStarted: now}
	tail := Tail{Block: pl.Block}
	if pl.Stop {
		tail.Finish = &Finish{Status: EnrollmentStopped, Reason: pl.Block.Reason}
	} else {
		tail.Next = &NewAction{Step: 1, Type: first.Type, Attempt: 1, DueAt: pl.At, Plan: plan}
	}
	en, err := e.store.EnrollWithTail(ctx, Enrollment{CadenceID: cad.ID, CadenceVersion: cad.Version, ContactID: c.ID}, tail, now)
	if err != nil {
		return Enrollment{}, err
	}
	// The owner is chosen once the enrollment is durable (a refused one
	// changes nobody's owner), before the scheduler is woken for it.
	c = e.assignOwner(ctx, cad.Definition, cad.ID, c, now)
	ev := e.event(EventEnrolled, now, c, en)
	ev.Reason = fmt.Sprintf("cadence %q version %d", cad.Name, en.CadenceVersion)
	e.emit(ev)
	cand := ClaimCandidate{Enrollment: en, Contact: c, Definition: cad.Definition, Plan: plan}
	if tail.Next != nil {
		tail.Next.EnrollmentID = en.ID
		e.dueNow(pl.At)
	}
	e.reportTail(ctx, cand, tail, now)
	return en, nil
}

// StopEnrollment stops an active enrollment and cancels its scheduled actions.
func (e *Engine) StopEnrollment(ctx context.Context, id, reason string) (Enrollment, error) {
	now := e.now()
	if reason == "" {
		reason = "stopped by request"
	}
	en, err := e.store.FinishEnrollment(ctx, id, Finish{Status: EnrollmentStopped, Reason: reason}, nil, now)
	if err != nil {
		return Enrollment{}, fmt.Errorf("stop enrollment: %w", err)
	}
	c, err := e.store.GetContact(ctx, en.ContactID)
	if err == nil {
		ev := e.event(EventStopped, now, c, en)
		ev.Reason = reason
		e.emit(ev)
	}
	return en, nil
}

// AddDNC puts a number on the do-not-call list and stops every enrollment
// of it at once; it returns how many enrollments stopped.
func (e *Engine) AddDNC(ctx context.Context, phone, reason string) (int, error) {
	p, err := NormalizePhone(phone)
	if err != nil {
		return 0, fmt.Errorf("add dnc: %w", err)
	}
	if reason == "" {
		reason = "added by request"
	}
	n, err := e.store.AddDNC(ctx, p, reason, e.now())
	if err != nil {
		return 0, err
	}
	return n, nil
}

// RemoveDNC takes a number off the do-not-call list.
func (e *Engine) RemoveDNC(ctx context.Context, phone string) error {
	p, err := NormalizePhone(phone)
	if err != nil {
		return fmt.Errorf("remove dnc: %w", err)
	}
	return e.store.RemoveDNC(ctx, p)
}

// IsDNC reports whether a number is on the do-not-call list.
func (e *Engine) IsDNC(ctx context.Context, phone string) (bool, error) {
	p, err := NormalizePhone(phone)
	if err != nil {
		return false, fmt.Errorf("is dnc: %w", err)
	}
	return e.store.IsDNC(ctx, p)
}
