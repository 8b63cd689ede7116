package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cadenza-dialer/cadenza/engine"
)

// What operators see: seed 001's Inflight and Completed Actions, the
// enrollment and do-not-call lists, and seed 000's analytics. The numbers
// are defined once, in engine/readmodel.go.

// needReads returns the read model, or a 503 when the store has none.
func (s *Server) needReads() (engine.ReadStore, error) {
	if s.reads == nil {
		return nil, unavailable("the store does not serve listings and analytics")
	}
	return s.reads, nil
}

// catalog is the agent disposition catalog analytics classify with: the
// engine's when it runs, else the default one.
func (s *Server) catalog() []engine.AgentDisposition {
	if s.engine != nil {
		if cat := s.engine.Catalog(); len(cat) > 0 {
			return cat
		}
	}
	return engine.DefaultCatalog()
}

// actionViews maps ?state= to the action states listed.
var actionViews = map[string][]engine.ActionState{
	"inflight":  engine.InflightStates,
	"completed": engine.CompletedStates,
	"cancelled": {engine.ActionCancelled},
}

// listActions: GET /v1/actions?state=inflight|completed|cancelled&cadence=&limit=&after=.
// state defaults to inflight.
func (s *Server) listActions(req *request) (*reply, error) {
	q := req.URL.Query()
	page, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	view := q.Get("state")
	if view == "" {
		view = "inflight"
	}
	states, ok := actionViews[view]
	if !ok {
		return nil, fieldProblem("state", "must be inflight, completed or cancelled")
	}
	rs, err := s.needReads()
	if err != nil {
		return nil, err
	}
	items, next, err := rs.ListActions(req.Context(), engine.ActionFilter{States: states, CadenceID: q.Get("cadence"), Page: page})
	if err != nil {
		return nil, listError(err, page, "list actions")
	}
	return pageReply(req.Request, items, next)
}

// listEnrollments: GET /v1/enrollments?cadence=&status=&limit=&after=.
func (s *Server) listEnrollments(req *request) (*reply, error) {
	q := req.URL.Query()
	page, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	f := engine.EnrollmentFilter{CadenceID: q.Get("cadence"), Status: engine.EnrollmentStatus(q.Get("status")), Page: page}
	switch f.Status {
	case "", engine.EnrollmentActive, engine.EnrollmentCompleted, engine.EnrollmentStopped:
	default:
		return nil, fieldProblem("status", "must be active, completed or stopped")
	}
	rs, err := s.needReads()
	if err != nil {
		return nil, err
	}
	items, next, err := rs.ListEnrollments(req.Context(), f)
	if err != nil {
		return nil, listError(err, page, "list enrollments")
	}
	return pageReply(req.Request, items, next)
}

// listDNC: GET /v1/dnc?limit=&after=, oldest entry first.
func (s *Server) listDNC(req *request) (*reply, error) {
	page, err := pageParams(req.URL.Query())
	if err != nil {
		return nil, err
	}
	rs, err := s.needReads()
	if err != nil {
		return nil, err
	}
	items, next, err := rs.ListDNC(req.Context(), page)
	if err != nil {
		return nil, listError(err, page, "list dnc")
	}
	return pageReply(req.Request, items, next)
}

// analyticsReply renders analytics with empty lists as [] rather than null.
func analyticsReply(a engine.Analytics) (*reply, error) {
	if a.PerCadence == nil {
		a.PerCadence = []engine.CadenceAnalytics{}
	}
	if a.PerStep == nil {
		a.PerStep = []engine.StepAnalytics{}
	}
	return jsonReply(http.StatusOK, a)
}

// analyticsSummary: GET /v1/analytics/summary?status=, the dashboard's top
// metrics and the per-cadence rates.
func (s *Server) analyticsSummary(req *request) (*reply, error) {
	status := engine.Status(req.URL.Query().Get("status"))
	if status != "" && !status.Valid() {
		return nil, fieldProblem("status", "must be draft, active, inactive or archived")
	}
	rs, err := s.needReads()
	if err != nil {
		return nil, err
	}
	a, err := rs.Analytics(req.Context(), engine.AnalyticsFilter{Status: status, Now: s.now()}, s.catalog())
	if err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	return analyticsReply(a)
}

// cadenceAnalytics: GET /v1/cadences/{id}/analytics, one cadence with its
// per-step rates.
func (s *Server) cadenceAnalytics(req *request) (*reply, error) {
	id := req.PathValue("id")
	rs, err := s.needReads()
	if err != nil {
		return nil, err
	}
	a, err := rs.Analytics(req.Context(), engine.AnalyticsFilter{CadenceID: id, Now: s.now()}, s.catalog())
	if errors.Is(err, engine.ErrNotFound) {
		return nil, notFound("cadence", id)
	}
	if err != nil {
		return nil, fmt.Errorf("cadence analytics: %w", err)
	}
	return analyticsReply(a)
}
