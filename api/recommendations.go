package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cadenza-dialer/cadenza/engine"
)

// recommendations: GET /v1/recommendations, seed 000's "Recommended
// Cadences": adjustments suggested from the performance of every
// non-archived cadence (engine.Recommend says on what evidence).
func (s *Server) recommendations(req *request) (*reply, error) {
	rs, err := s.needReads()
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	var cs []engine.RecommendCadence
	err = pageAll(ctx, func(ctx context.Context, p engine.Page) (string, error) {
		items, next, err := s.store.ListCadences(ctx, engine.CadenceFilter{Page: p})
		if err != nil {
			return "", err
		}
		for _, c := range items {
			if c.Status == engine.StatusArchived {
				continue
			}
			a, err := rs.Analytics(ctx, engine.AnalyticsFilter{CadenceID: c.ID, Now: s.now()}, s.catalog())
			if err != nil {
				return "", fmt.Errorf("analytics of %s: %w", c.ID, err)
			}
			rc := engine.RecommendCadence{ID: c.ID, Status: c.Status, Definition: c.Definition, PerStep: a.PerStep}
			if len(a.PerCadence) > 0 {
				rc.Rates = a.PerCadence[0].Rates
			}
			cs = append(cs, rc)
		}
		return next, nil
	})
	if err != nil {
		return nil, fmt.Errorf("recommendations: %w", err)
	}
	recs := engine.Recommend(cs)
	if recs == nil {
		recs = []engine.Recommendation{}
	}
	return jsonReply(http.StatusOK, map[string]any{"items": recs})
}
