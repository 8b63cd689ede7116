package postgres

// Stored SMS templates (engine.SMSTemplateStore): the texts SMS steps pick
// by name.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cadenza-dialer/cadenza/engine"
)

var _ engine.SMSTemplateStore = (*Store)(nil)

// CreateSMSTemplate stores an SMS template; its name must be unused
// (ErrConflict).
func (s *Store) CreateSMSTemplate(ctx context.Context, t engine.SMSTemplate, now time.Time) (engine.SMSTemplate, error) {
	if err := t.Validate(); err != nil {
		return engine.SMSTemplate{}, fmt.Errorf("create sms template: %w", err)
	}
	var err error
	if t.ID, err = newID(); err != nil {
		return engine.SMSTemplate{}, fmt.Errorf("create sms template: %w", err)
	}
	t.CreatedAt, t.UpdatedAt = utc(now), utc(now)
	_, err = s.pool.Exec(ctx, s.q.InsertSMSTemplate, t.ID, t.Name, t.Text, t.Description, t.CreatedAt)
	if pgCode(err) == uniqueViolation {
		err = smsTemplateTaken(t.Name)
	}
	if err != nil {
		return engine.SMSTemplate{}, fmt.Errorf("create sms template: %w", err)
	}
	return t, nil
}

func smsTemplateTaken(name string) error {
	return fmt.Errorf("%w: sms template name %q is taken", engine.ErrConflict, name)
}

func scanSMSTemplate(r rowScanner) (engine.SMSTemplate, error) {
	var t engine.SMSTemplate
	if err := r.Scan(&t.ID, &t.Name, &t.Text, &t.Description, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return engine.SMSTemplate{}, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// GetSMSTemplate finds an SMS template by id or by name; an id match wins.
func (s *Store) GetSMSTemplate(ctx context.Context, idOrName string) (engine.SMSTemplate, error) {
	var asID any // NULL unless the argument can be an id
	if validID(idOrName) {
		asID = idOrName
	}
	t, err := getRow(ctx, s, true, scanSMSTemplate, s.q.GetSMSTemplate, asID, idOrName)
	if err != nil {
		return engine.SMSTemplate{}, fmt.Errorf("get sms template %q: %w", idOrName, err)
	}
	return t, nil
}

// ListSMSTemplates pages through SMS templates, oldest first.
func (s *Store) ListSMSTemplates(ctx context.Context, p engine.Page) ([]engine.SMSTemplate, string, error) {
	return listPage(ctx, s, "sms templates", s.q.ListSMSTemplates, p, scanSMSTemplate, func(t engine.SMSTemplate) (time.Time, string) { return t.CreatedAt, t.ID })
}

// UpdateSMSTemplate replaces the name, text and description of template t.ID.
func (s *Store) UpdateSMSTemplate(ctx context.Context, t engine.SMSTemplate, now time.Time) (engine.SMSTemplate, error) {
	if err := t.Validate(); err != nil {
		return engine.SMSTemplate{}, fmt.Errorf("update sms template %s: %w", t.ID, err)
	}
	t.UpdatedAt = utc(now)
	err := engine.ErrNotFound
	if validID(t.ID) {
		err = s.pool.QueryRow(ctx, s.q.UpdateSMSTemplate, t.ID, t.Name, t.Text, t.Description, t.UpdatedAt).Scan(&t.CreatedAt)
		t.CreatedAt = t.CreatedAt.UTC()
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = engine.ErrNotFound
	case pgCode(err) == uniqueViolation:
		err = smsTemplateTaken(t.Name)
	}
	if err != nil {
		return engine.SMSTemplate{}, fmt.Errorf("update sms template %s: %w", t.ID, err)
	}
	return t, nil
}

// DeleteSMSTemplate removes an SMS template; ErrInUse while an active
// cadence's current definition names it, by id or by name, in an SMS step.
// The template row is locked first, so a concurrent rename cannot slip a
// name past the check.
func (s *Store) DeleteSMSTemplate(ctx context.Context, id string) error {
	err := engine.ErrNotFound
	if validID(id) {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			var name string
			err := tx.QueryRow(ctx, s.q.LockSMSTemplate, id).Scan(&name)
			if errors.Is(err, pgx.ErrNoRows) {
				return engine.ErrNotFound
			}
			if err != nil {
				return err
			}
			var (
				cadence string
				step    int
			)
			err = tx.QueryRow(ctx, s.q.SMSTemplateUser, id, name).Scan(&cadence, &step)
			switch {
			case err == nil:
				return smsTemplateInUse(name, cadence, step)
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
			_, err = tx.Exec(ctx, s.q.DeleteSMSTemplate, id)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("delete sms template %s: %w", id, err)
	}
	return nil
}

// smsTemplateInUse names the first active cadence step that sends the template.
func smsTemplateInUse(name, cadence string, step int) error {
	return fmt.Errorf("%w: sms template %q is sent by step %d of active cadence %q; change the step or deactivate the cadence first",
		engine.ErrInUse, name, step, cadence)
}
