package sqlite

// Stored SMS templates (engine.SMSTemplateStore): the texts SMS steps pick
// by name.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.InsertSMSTemplate, t.ID, t.Name, t.Text, t.Description, micros(t.CreatedAt))
		return err
	})
	if isUnique(err) {
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
	var (
		t                engine.SMSTemplate
		created, updated int64
	)
	if err := r.Scan(&t.ID, &t.Name, &t.Text, &t.Description, &created, &updated); err != nil {
		return engine.SMSTemplate{}, err
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, nil
}

// GetSMSTemplate finds an SMS template by id or by name; an id match wins.
func (s *Store) GetSMSTemplate(ctx context.Context, idOrName string) (engine.SMSTemplate, error) {
	t, err := getRow(ctx, s, scanSMSTemplate, s.q.GetSMSTemplate, idOrName)
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, s.q.UpdateSMSTemplate, t.ID, t.Name, t.Text, t.Description,
			micros(t.UpdatedAt)).Scan(&created)
		t.CreatedAt = fromMicros(created)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = engine.ErrNotFound
	case isUnique(err):
		err = smsTemplateTaken(t.Name)
	}
	if err != nil {
		return engine.SMSTemplate{}, fmt.Errorf("update sms template %s: %w", t.ID, err)
	}
	return t, nil
}

// DeleteSMSTemplate removes an SMS template; ErrInUse while an active
// cadence's current definition names it, by id or by name, in an SMS step.
// The check and the delete share one write transaction, which BEGIN
// IMMEDIATE serializes with every cadence change.
func (s *Store) DeleteSMSTemplate(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var tid, name string
		err := tx.QueryRowContext(ctx, s.q.SMSTemplateRef, id).Scan(&tid, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return engine.ErrNotFound
		}
		if err != nil {
			return err
		}
		var (
			cadence string
			step    int
		)
		err = tx.QueryRowContext(ctx, s.q.SMSTemplateUser, tid, name).Scan(&cadence, &step)
		switch {
		case err == nil:
			return smsTemplateInUse(name, cadence, step)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, s.q.DeleteSMSTemplate, tid)
		return err
	})
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
