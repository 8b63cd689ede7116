package engine

import (
	"context"
	"time"
)

// SMSTemplate is a stored text message that SMS steps pick by name (seed
// 001: an SMS action picks a template; "Customize Message" lets the step
// replace its text with SMSStep.Text).
type SMSTemplate struct {
	ID string `json:"id"`
	// Name is how steps name the template (SMSStep.Template): 1–200
	// characters, unique among SMS templates (ErrConflict).
	Name string `json:"name"`
	// Text is the message, at most MaxSMSLength characters, with
	// {{contact.first_name}}-style variables (render.go). A bare {{NAME}}
	// is filled from the variables of the step that sends it.
	Text        string    `json:"text"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// SMSTemplateStore keeps SMS templates. Both store drivers implement it;
// engine/storetest (RunSMSTemplates) checks them alike. Create and Update
// check their input with SMSTemplate.Validate, so bad input is an
// engine.FieldErrors naming the field.
type SMSTemplateStore interface {
	// CreateSMSTemplate stores a template (ID and times set by the store);
	// ErrConflict when its name is taken.
	CreateSMSTemplate(ctx context.Context, t SMSTemplate, now time.Time) (SMSTemplate, error)
	// GetSMSTemplate finds a template by id or by name (an id match wins).
	GetSMSTemplate(ctx context.Context, idOrName string) (SMSTemplate, error)
	// ListSMSTemplates pages through templates, oldest first.
	ListSMSTemplates(ctx context.Context, p Page) (items []SMSTemplate, next string, err error)
	// UpdateSMSTemplate replaces name, text and description of template
	// t.ID; ErrConflict when the new name is another template's. Steps
	// naming the old name no longer find it: renaming is the caller's
	// decision, as with a queue a cadence names.
	UpdateSMSTemplate(ctx context.Context, t SMSTemplate, now time.Time) (SMSTemplate, error)
	// DeleteSMSTemplate removes a template; ErrInUse while the current
	// definition of an active cadence names it (by id or name) in an SMS
	// step. Draft, inactive and archived cadences do not hold it.
	DeleteSMSTemplate(ctx context.Context, id string) error
}
