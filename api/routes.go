package api

import (
	"net/http"

	"github.com/cadenza-dialer/cadenza/engine"
)

// routes is the one list of endpoints. New registers exactly these, and
// TestOpenAPIMatchesRoutes checks that openapi.json describes exactly these.
//
// Roles: viewer (and agent) read; manager writes cadences, templates and
// assets; admin manages API keys. Health, metrics and the OpenAPI document
// are public: probes and scrapers carry no key, and the document is
// documentation with no data in it.
func (s *Server) routes() []route {
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		viewer, manager     = engine.RoleViewer, engine.RoleManager
		admin               = engine.RoleAdmin
	)
	return []route{
		{method: get, pattern: "/healthz", h: s.healthz},
		{method: get, pattern: "/readyz", h: s.readyz},
		{method: get, pattern: "/metrics", raw: s.metricsHandler()},
		{method: get, pattern: "/v1/openapi.json", h: s.openAPI},

		{method: post, pattern: "/v1/cadences", role: manager, body: bodyJSON, h: s.createCadence},
		{method: get, pattern: "/v1/cadences", role: viewer, h: s.listCadences},
		{method: post, pattern: "/v1/cadences/import", role: manager, body: bodyJSON, h: s.importCadence},
		{method: get, pattern: "/v1/cadences/{id}", role: viewer, h: s.getCadence},
		{method: put, pattern: "/v1/cadences/{id}", role: manager, body: bodyJSON, h: s.updateCadence},
		{method: del, pattern: "/v1/cadences/{id}", role: manager, h: s.deleteCadence},
		{method: post, pattern: "/v1/cadences/{id}/activate", role: manager, h: s.setStatus(engine.StatusActive)},
		{method: post, pattern: "/v1/cadences/{id}/deactivate", role: manager, h: s.setStatus(engine.StatusInactive)},
		{method: post, pattern: "/v1/cadences/{id}/archive", role: manager, h: s.setStatus(engine.StatusArchived)},
		{method: post, pattern: "/v1/cadences/{id}/duplicate", role: manager, body: bodyOptionalJSON, h: s.duplicateCadence},
		{method: get, pattern: "/v1/cadences/{id}/versions", role: viewer, h: s.listVersions},
		{method: get, pattern: "/v1/cadences/{id}/versions/{n}", role: viewer, h: s.getVersion},
		{method: get, pattern: "/v1/cadences/{id}/export", role: viewer, h: s.exportCadence},
		{method: post, pattern: "/v1/cadences/{id}/template", role: manager, body: bodyJSON, h: s.saveAsTemplate},

		{method: post, pattern: "/v1/templates", role: manager, body: bodyJSON, h: s.createTemplate},
		{method: get, pattern: "/v1/templates", role: viewer, h: s.listTemplates},
		{method: get, pattern: "/v1/templates/{id}", role: viewer, h: s.getTemplate},
		{method: del, pattern: "/v1/templates/{id}", role: manager, h: s.deleteTemplate},
		{method: post, pattern: "/v1/templates/{id}/instantiate", role: manager, body: bodyOptionalJSON, h: s.instantiateTemplate},

		{method: post, pattern: "/v1/assets", role: manager, body: bodyAudio, h: s.uploadAsset},
		{method: get, pattern: "/v1/assets", role: viewer, h: s.listAssets},
		{method: get, pattern: "/v1/assets/{id}", role: viewer, h: s.getAsset},
		{method: del, pattern: "/v1/assets/{id}", role: manager, h: s.deleteAsset},

		{method: post, pattern: "/v1/api-keys", role: admin, body: bodyJSON, noIdempotency: true, h: s.createAPIKey},
		{method: get, pattern: "/v1/api-keys", role: admin, h: s.listAPIKeys},
		{method: del, pattern: "/v1/api-keys/{id}", role: admin, h: s.deleteAPIKey},
	}
}
