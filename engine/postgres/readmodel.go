package postgres

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

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

// optionalID is an id filter as a query argument: nil (no filter) for "".
func optionalID(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}

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
	after, afterID, limit, err := pageArgs(f.Page)
	if err != nil {
		return nil, "", fmt.Errorf("list actions: %w", err)
	}
	if f.CadenceID != "" && !validID(f.CadenceID) {
		return nil, "", nil // no cadence has that id
	}
	var lists [][]engine.ActionRow
	for _, st := range states {
		rows, err := s.pool.Query(ctx, q.ListActions, string(st), optionalID(f.CadenceID), after, afterID, limit+1)
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
		var doc []byte
		err := s.pool.QueryRow(ctx, q.VersionDefinition, cadenceID, version).Scan(&doc)
		return doc, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list actions: %w", err)
	}
	return items, next, nil
}

func scanActionRow(r rowScanner) (engine.ActionRow, error) {
	var (
		a          engine.ActionRow
		typ, state string
	)
	if err := r.Scan(&a.ID, &a.EnrollmentID, &a.ContactID, &a.CadenceID, &a.CadenceVersion, &a.CadenceName, &a.CadenceCreatedAt,
		&a.Phone, &a.Step, &typ, &state, &a.CreatedAt, &a.DueAt, &a.Attempt, &a.CompletedAt, &a.Disposition, &a.AgentDisposition); err != nil {
		return engine.ActionRow{}, err
	}
	a.Type, a.State = engine.StepType(typ), engine.ActionState(state)
	a.CadenceCreatedAt, a.CreatedAt, a.DueAt = a.CadenceCreatedAt.UTC(), a.CreatedAt.UTC(), a.DueAt.UTC()
	a.CompletedAt = utcPtr(a.CompletedAt)
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
	after, afterID, limit, err := pageArgs(f.Page)
	if err != nil {
		return nil, "", fmt.Errorf("list enrollments: %w", err)
	}
	if f.CadenceID != "" && !validID(f.CadenceID) {
		return nil, "", nil // no cadence has that id
	}
	rows, err := s.pool.Query(ctx, q.ListEnrollments, optionalID(f.CadenceID), string(f.Status), after, afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list enrollments: %w", err)
	}
	items, err := collect(rows, func(r rowScanner) (engine.EnrollmentRow, error) {
		var (
			e      engine.EnrollmentRow
			status string
		)
		if err := r.Scan(&e.ID, &e.CadenceID, &e.CadenceVersion, &e.ContactID, &status, &e.CreatedAt, &e.StoppedAt, &e.StopReason, &e.Phone); err != nil {
			return e, err
		}
		e.Status, e.CreatedAt, e.StoppedAt = engine.EnrollmentStatus(status), e.CreatedAt.UTC(), utcPtr(e.StoppedAt)
		return e, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list enrollments: %w", err)
	}
	items, next := trimPage(items, limit, func(e engine.EnrollmentRow) (time.Time, string) { return e.CreatedAt, e.ID })
	return items, next, nil
}

// dncPageArgs is pageArgs for the do-not-call list, whose key is the
// phone number rather than a uuid.
func dncPageArgs(p engine.Page) (after pgtype.Timestamptz, afterPhone string, limit int, err error) {
	limit = p.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	if p.After == "" {
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, "", limit, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(p.After)
	if err != nil {
		return after, "", 0, badCursor()
	}
	at, phone, ok := strings.Cut(string(raw), "|")
	v, perr := strconv.ParseInt(at, 10, 64)
	if !ok || phone == "" || perr != nil {
		return after, "", 0, badCursor()
	}
	return pgtype.Timestamptz{Time: time.UnixMicro(v).UTC(), Valid: true}, phone, limit, nil
}

// ListDNC pages through the do-not-call list.
func (s *Store) ListDNC(ctx context.Context, p engine.Page) ([]engine.DNCEntry, string, error) {
	q, err := loadReadModelQueries()
	if err != nil {
		return nil, "", err
	}
	after, afterPhone, limit, err := dncPageArgs(p)
	if err != nil {
		return nil, "", fmt.Errorf("list dnc: %w", err)
	}
	rows, err := s.pool.Query(ctx, q.ListDNC, after, afterPhone, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list dnc: %w", err)
	}
	items, err := collect(rows, func(r rowScanner) (engine.DNCEntry, error) {
		var d engine.DNCEntry
		err := r.Scan(&d.Phone, &d.Reason, &d.CreatedAt)
		d.CreatedAt = d.CreatedAt.UTC()
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
	if f.CadenceID != "" && !validID(f.CadenceID) {
		return engine.Analytics{}, fmt.Errorf("analytics: cadence %s: %w", f.CadenceID, engine.ErrNotFound)
	}
	b := engine.NewAnalyticsBuilder(f)
	rows, err := s.pool.Query(ctx, q.AnalyticsCadences, string(f.Status), optionalID(f.CadenceID))
	if err != nil {
		return engine.Analytics{}, fmt.Errorf("analytics: %w", err)
	}
	facts, err := collect(rows, func(r rowScanner) (engine.CadenceFact, error) {
		var (
			c      engine.CadenceFact
			status string
			doc    []byte
		)
		if err := r.Scan(&c.ID, &status, &doc); err != nil {
			return c, err
		}
		c.Status = engine.Status(status)
		if err := json.Unmarshal(doc, &c.Definition); err != nil {
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
	args := []any{string(f.Status), optionalID(f.CadenceID), all, contact, conversion}
	rows, err = s.pool.Query(ctx, q.AnalyticsSteps, args...)
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
	rows, err = s.pool.Query(ctx, q.FirstContacts, args...)
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
