package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Engine is what the API uses of the cadence engine; *engine.Engine
// implements it. It is declared here, at the consumer, so the API can be
// served (and tested) without a running engine.
type Engine interface {
	UpsertContact(ctx context.Context, c engine.Contact) (engine.Contact, error)
	Enroll(ctx context.Context, r engine.EnrollRequest) (engine.Enrollment, error)
	StopEnrollment(ctx context.Context, id, reason string) (engine.Enrollment, error)
	AddDNC(ctx context.Context, phone, reason string) (int, error)
	RemoveDNC(ctx context.Context, phone string) error
	IsDNC(ctx context.Context, phone string) (bool, error)
	PostDisposition(ctx context.Context, attemptID, code string, now time.Time) error
	Catalog() []engine.AgentDisposition
}

var _ Engine = (*engine.Engine)(nil)

// setEngineOptions copies the engine-side options into s and checks the
// triggers.
func (s *Server) setEngineOptions(o Options) error {
	s.engine = o.Engine
	s.enrollments = o.Enrollments
	if s.enrollments == nil {
		s.enrollments, _ = o.Store.(engine.EnrollmentStore)
	}
	s.trunks = slices.Clone(o.Trunks)
	s.callerIDs = o.CallerIDs
	s.dryrunOpts = o.DryRun
	s.triggers = make(map[string]Trigger, len(o.Triggers))
	for i, t := range o.Triggers {
		if err := t.validate(); err != nil {
			return fmt.Errorf("triggers[%d].%w", i, err)
		}
		if _, dup := s.triggers[t.Key]; dup {
			return fmt.Errorf("triggers[%d].key: %q is used twice", i, t.Key)
		}
		s.triggers[t.Key] = t
	}
	return nil
}

// unavailable is a 503: a part of the server that is not configured.
func unavailable(detail string) *Problem {
	return newProblem(http.StatusServiceUnavailable, "unavailable", detail)
}

// needEngine returns the engine, or the 503 saying it is not running.
func (s *Server) needEngine() (Engine, error) {
	if s.engine == nil {
		return nil, unavailable("engine not running: this server does not enroll contacts")
	}
	return s.engine, nil
}

// needEnrollments returns the contact and enrollment store, or a 503.
func (s *Server) needEnrollments() (engine.EnrollmentStore, error) {
	if s.enrollments == nil {
		return nil, unavailable("the store does not keep contacts and enrollments")
	}
	return s.enrollments, nil
}

// contactBody is a contact as clients send it (POST /v1/contacts, inline
// in an enrollment, a trigger's body).
type contactBody struct {
	Phone     string            `json:"phone"`
	FirstName string            `json:"first_name,omitempty"`
	LastName  string            `json:"last_name,omitempty"`
	TimeZone  string            `json:"timezone,omitempty"`
	State     string            `json:"state,omitempty"`
	Zip       string            `json:"zip,omitempty"`
	Owner     string            `json:"owner,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
}

// Contact limits: generous, but a bound on what one row may store.
const (
	maxContactText = 200
	maxFields      = 100
	maxFieldName   = 64
	maxFieldValue  = 1000
)

// contact validates the body and returns the contact with its phone in
// E.164. Errors name each field under prefix ("contact.phone").
func (b contactBody) contact(prefix string) (engine.Contact, engine.FieldErrors) {
	var errs engine.FieldErrors
	add := func(field, msg string) { errs = append(errs, engine.FieldError{Path: prefix + field, Message: msg}) }
	c := engine.Contact{FirstName: strings.TrimSpace(b.FirstName), LastName: strings.TrimSpace(b.LastName),
		TimeZone: strings.TrimSpace(b.TimeZone), State: strings.ToUpper(strings.TrimSpace(b.State)),
		Zip: strings.TrimSpace(b.Zip), Owner: strings.TrimSpace(b.Owner), Fields: b.Fields}
	phone, err := engine.NormalizePhone(b.Phone)
	if err != nil {
		add("phone", strings.TrimPrefix(err.Error(), "phone: "))
	}
	c.Phone = phone
	for _, f := range []struct{ name, v string }{
		{"first_name", c.FirstName}, {"last_name", c.LastName}, {"owner", c.Owner}, {"zip", c.Zip},
	} {
		if !validText(f.v) || utf8.RuneCountInString(f.v) > maxContactText {
			add(f.name, fmt.Sprintf("must be valid text of at most %d characters", maxContactText))
		}
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" || len(c.TimeZone) > 64 {
			add("timezone", fmt.Sprintf("%q is not an IANA time zone", c.TimeZone))
		}
	}
	if c.State != "" && (len(c.State) != 2 || strings.Trim(c.State, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		add("state", fmt.Sprintf("%q is not a two-letter state code", c.State))
	}
	if len(c.Fields) > maxFields {
		add("fields", fmt.Sprintf("at most %d fields", maxFields))
	}
	for k, v := range c.Fields {
		switch {
		case k == "" || len(k) > maxFieldName || !validText(k):
			add("fields", fmt.Sprintf("field names are 1 to %d characters of text", maxFieldName))
		case len(v) > maxFieldValue || !validText(v):
			add("fields."+k, fmt.Sprintf("must be valid text of at most %d bytes", maxFieldValue))
		}
	}
	slices.SortFunc(errs, func(a, b engine.FieldError) int { return strings.Compare(a.Path, b.Path) })
	return c, errs
}

// enrollError maps an engine enrollment failure to a problem naming why.
// contactField names the contact in the request ("contact_id", "contact",
// or "" when the body is the contact itself).
func enrollError(err error, cadenceID, contactField string) error {
	phoneField, whole := "phone", "contact"
	if contactField != "" {
		phoneField, whole = contactField+".phone", contactField
		if contactField == "contact_id" {
			phoneField = contactField
		}
	}
	switch {
	case errors.Is(err, engine.ErrNotActive):
		return conflictAt("cadence", fmt.Sprintf("cadence %q does not enroll: %v", cadenceID, err))
	case errors.Is(err, engine.ErrDoNotCall):
		return conflictAt(phoneField, "the contact's number is on the do-not-call list")
	case errors.Is(err, engine.ErrConflict):
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "enroll: "), "conflict: ")
		return conflictAt(whole, msg)
	case errors.Is(err, engine.ErrNotFound):
		return notFound("cadence or contact", cadenceID)
	}
	return fmt.Errorf("enroll: %w", err)
}

// conflictAt is a 409 whose error names the field the conflict is about.
func conflictAt(path, detail string) *Problem {
	p := conflict(detail)
	p.Errors = []engine.FieldError{{Path: path, Message: detail}}
	return p
}

// fieldErr is one field error.
func fieldErr(path, message string) engine.FieldError {
	return engine.FieldError{Path: path, Message: message}
}

// validText reports whether s is UTF-8 without NUL bytes, which Postgres
// text columns cannot hold.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// reasonProblem checks a free-text reason.
func reasonProblem(reason string) error {
	if len(reason) > 500 || !validText(reason) {
		return fieldProblem("reason", "must be text of at most 500 bytes")
	}
	return nil
}
