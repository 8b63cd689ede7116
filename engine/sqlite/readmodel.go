package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/internal/sqlfile"
)

//go:embed readmodelsql/*.sql
var readModelFiles embed.FS

// readModelQueries are the statements of the operators' read model
// (readmodelsql/readmodel.sql), loaded like the scheduler's.
type readModelQueries struct {
	ListActions       string `sql:"list_actions"`
	VersionDefinition string `sql:"version_definition"`
	ListEnrollments   string `sql:"list_enrollments"`
	ListDNC           string `sql:"list_dnc"`
	AnalyticsCadences string `sql:"analytics_cadences"`
	AnalyticsSteps    string `sql:"analytics_steps"`
	FirstContacts     string `sql:"analytics_first_contacts"`
	Abandonment       string `sql:"analytics_abandonment"`
	AbandonHistory    string `sql:"abandonment_history"`
}

var _ engine.ReadStore = (*Store)(nil)

// loadReadModelQueries parses the embedded statements once; the result is
// read-only, like the files it comes from.
var loadReadModelQueries = sync.OnceValues(func() (*readModelQueries, error) {
	return sqlfile.Load[readModelQueries](readModelFiles, "readmodelsql/*.sql")
})

// ListActions pages through actions with seed 001's columns.
func (s *Store) ListActions(ctx context.Context, f engine.ActionFilter) ([]engine.ActionRow, string, error) {
	q, err := loadReadModelQueries()
	if err != nil {
		return nil, "", err
	}
	states, err := f.QueryStates()
	if err != nil {
		return nil, "", fmt.Errorf("list actions: %w", err)
	}
	afterAt, afterID, limit, err := pageArgs(f.Page)
	if err != nil {
		return nil, "", fmt.Errorf("list actions: %w", err)
	}
	var lists [][]engine.ActionRow
	for _, st := range states {
		rows, err := s.db.QueryContext(ctx, q.ListActions, string(st), f.CadenceID, afterAt, afterID, limit+1)
		if err != nil {
			return nil, "", fmt.Errorf("list actions: %w", err)
		}
		l, err := collect(rows, scanActionRow)
		if err != nil {
			return nil, "", fmt.Errorf("list actions: %w", err)
		}
		lists = append(lists, l)
	}
	items := engine.MergeActionRows(lists, limit+1)
	items, next := trimPage(items, limit, func(r engine.ActionRow) (time.Time, string) { return r.CreatedAt, r.ID })
	err = engine.ApplyDefinitions(items, func(cadenceID string, version int) ([]byte, error) {
		var doc string
		err := s.db.QueryRowContext(ctx, q.VersionDefinition, cadenceID, version).Scan(&doc)
		return []byte(doc), err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list actions: %w", err)
	}
	return items, next, nil
}

func scanActionRow(r rowScanner) (engine.ActionRow, error) {
	var (
		a                        engine.ActionRow
		typ, state               string
		cadCreated, created, due int64
		completed                sql.NullInt64
	)
	if err := r.Scan(&a.ID, &a.EnrollmentID, &a.ContactID, &a.CadenceID, &a.CadenceVersion, &a.CadenceName, &cadCreated,
		&a.Phone, &a.Step, &typ, &state, &created, &due, &a.Attempt, &completed, &a.Disposition, &a.AgentDisposition); err != nil {
		return engine.ActionRow{}, err
	}
	a.Type, a.State = engine.StepType(typ), engine.ActionState(state)
	a.CadenceCreatedAt, a.CreatedAt, a.DueAt = fromMicros(cadCreated), fromMicros(created), fromMicros(due)
	a.CompletedAt = fromNullMicros(completed)
	return a, nil
}

// ListEnrollments pages through enrollments with their contact's phone.
func (s *Store) ListEnrollments(ctx context.Context, f engine.EnrollmentFilter) ([]engine.EnrollmentRow, string, error) {
	q, err := loadReadModelQueries()
	if err != nil {
		return nil, "", err
	}
	if err := f.ValidateStatus(); err != nil {
		return nil, "", fmt.Errorf("list enrollments: %w", err)
	}
	afterAt, afterID, limit, err := pageArgs(f.Page)
	if err != nil {
		return nil, "", fmt.Errorf("list enrollments: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, q.ListEnrollments, f.CadenceID, string(f.Status), afterAt, afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list enrollments: %w", err)
	}
	items, err := collect(rows, func(r rowScanner) (engine.EnrollmentRow, error) {
		var (
			e       engine.EnrollmentRow
			status  string
			created int64
			stopped sql.NullInt64
		)
		if err := r.Scan(&e.ID, &e.CadenceID, &e.CadenceVersion, &e.ContactID, &status, &created, &stopped, &e.StopReason, &e.Phone); err != nil {
			return e, err
		}
		e.Status, e.CreatedAt, e.StoppedAt = engine.EnrollmentStatus(status), fromMicros(created), fromNullMicros(stopped)
		return e, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list enrollments: %w", err)
	}
	items, next := trimPage(items, limit, func(e engine.EnrollmentRow) (time.Time, string) { return e.CreatedAt, e.ID })
	return items, next, nil
}

// ListDNC pages through the do-not-call list.
func (s *Store) ListDNC(ctx context.Context, p engine.Page) ([]engine.DNCEntry, string, error) {
	q, err := loadReadModelQueries()
	if err != nil {
		return nil, "", err
	}
	afterAt, afterPhone, limit, err := pageArgs(p)
	if err != nil {
		return nil, "", fmt.Errorf("list dnc: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, q.ListDNC, afterAt, afterPhone, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list dnc: %w", err)
	}
	items, err := collect(rows, func(r rowScanner) (engine.DNCEntry, error) {
		var (
			d  engine.DNCEntry
			at int64
		)
		err := r.Scan(&d.Phone, &d.Reason, &at)
		d.CreatedAt = fromMicros(at)
		return d, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list dnc: %w", err)
	}
	items, next := trimPage(items, limit, func(d engine.DNCEntry) (time.Time, string) { return d.CreatedAt, d.Phone })
	return items, next, nil
}

// Analytics counts the attempts of the matching cadences (engine/readmodel.go
// defines every number).
func (s *Store) Analytics(ctx context.Context, f engine.AnalyticsFilter, catalog []engine.AgentDisposition) (engine.Analytics, error) {
	q, err := loadReadModelQueries()
	if err != nil {
		return engine.Analytics{}, err
	}
	if f.Status != "" && !f.Status.Valid() {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", badStatus(f.Status))
	}
	b := engine.NewAnalyticsBuilder(f)
	rows, err := s.db.QueryContext(ctx, q.AnalyticsCadences, string(f.Status), f.CadenceID)
	if err != nil {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
	}
	facts, err := collect(rows, func(r rowScanner) (engine.CadenceFact, error) {
		var (
			c           engine.CadenceFact
			status, doc string
		)
		if err := r.Scan(&c.ID, &status, &doc); err != nil {
			return c, err
		}
		c.Status = engine.Status(status)
		if err := json.Unmarshal([]byte(doc), &c.Definition); err != nil {
			return c, fmt.Errorf("decode definition of cadence %s: %w", c.ID, err)
		}
		return c, nil
	})
	if err != nil {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
	}
	if f.CadenceID != "" && len(facts) == 0 {
		if _, err := s.GetCadence(ctx, f.CadenceID); err != nil {
			return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
		}
		// The cadence exists but its status is filtered out: nothing to count.
	}
	for _, c := range facts {
		b.AddCadence(c)
	}
	all, contact, conversion := engine.CatalogCodes(catalog)
	codes := make([]string, 0, 3)
	for _, l := range [][]string{all, contact, conversion} {
		b, err := json.Marshal(l)
		if err != nil {
			return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
		}
		codes = append(codes, string(b))
	}
	args := []any{string(f.Status), f.CadenceID, codes[0], codes[1], codes[2]}
	rows, err = s.db.QueryContext(ctx, q.AnalyticsSteps, args...)
	if err != nil {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
	}
	_, err = collect(rows, func(r rowScanner) (struct{}, error) {
		var (
			cad                                   string
			step, attempts, contacts, conversions int
		)
		if err := r.Scan(&cad, &step, &attempts, &contacts, &conversions); err != nil {
			return struct{}{}, err
		}
		b.AddStep(cad, step, attempts, contacts, conversions)
		return struct{}{}, nil
	})
	if err != nil {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, q.FirstContacts, args...)
	if err != nil {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
	}
	_, err = collect(rows, func(r rowScanner) (struct{}, error) {
		var (
			cad                   string
			enrollments, attempts int
		)
		if err := r.Scan(&cad, &enrollments, &attempts); err != nil {
			return struct{}{}, err
		}
		b.AddFirstContacts(cad, enrollments, attempts)
		return struct{}{}, nil
	})
	if err != nil {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
	}
	if err := s.addAbandonment(ctx, q, f, b); err != nil {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
	}
	return b.Result(), nil
}
