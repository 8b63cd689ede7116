package api

import (
	"net/http"

	"github.com/cadenza-dialer/cadenza/engine"
)

// routes is the one list of endpoints. New registers exactly these, and
// TestOpenAPIMatchesRoutes checks that openapi.json describes exactly these.
//
// Roles: viewer (and agent) read; agents post dispositions, change their
// live state, follow their event stream and accept prompts (a key bound to
// an agent only for that agent, see actFor); manager writes
// cadences, templates, assets, contacts, enrollments, the do-not-call list,
// teams, queues, agents and contact owners, and rests caller IDs; admin manages API keys. Health, metrics and the
// OpenAPI document are public: probes and scrapers carry no key, and the
// document is documentation with no data in it. Triggers carry no API key
// either: each is authenticated by its own secret (enrollments.go), and
// the SMS gateway's inbound webhook by its signature (sms.go).
func (s *Server) routes() []route {
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		viewer, manager     = engine.RoleViewer, engine.RoleManager
		admin, agent        = engine.RoleAdmin, engine.RoleAgent
	)
	table := []route{
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
		{method: post, pattern: "/v1/cadences/{id}/dryrun", role: manager, body: bodyJSON, h: s.dryrun},

		{method: post, pattern: "/v1/templates", role: manager, body: bodyJSON, h: s.createTemplate},
		{method: get, pattern: "/v1/templates", role: viewer, h: s.listTemplates},
		{method: get, pattern: "/v1/templates/{id}", role: viewer, h: s.getTemplate},
		{method: del, pattern: "/v1/templates/{id}", role: manager, h: s.deleteTemplate},
		{method: post, pattern: "/v1/templates/{id}/instantiate", role: manager, body: bodyOptionalJSON, h: s.instantiateTemplate},

		{method: post, pattern: "/v1/assets", role: manager, body: bodyAudio, h: s.uploadAsset},
		{method: get, pattern: "/v1/assets", role: viewer, h: s.listAssets},
		{method: get, pattern: "/v1/assets/{id}", role: viewer, h: s.getAsset},
		{method: del, pattern: "/v1/assets/{id}", role: manager, h: s.deleteAsset},

		{method: get, pattern: "/v1/trunks", role: viewer, h: s.listTrunks},
		{method: get, pattern: "/v1/trunks/{name}", role: viewer, h: s.getTrunk},
		{method: get, pattern: "/v1/callerid-pools", role: viewer, h: s.listCallerIDPools},
		{method: post, pattern: "/v1/callerid-pools/rest", role: manager, body: bodyJSON, h: s.restCallerID},

		{method: post, pattern: "/v1/contacts", role: manager, body: bodyJSON, h: s.upsertContact},
		{method: post, pattern: "/v1/contacts/import", role: manager, body: bodyCSV, h: s.importContacts},
		{method: get, pattern: "/v1/contacts/{id}", role: viewer, h: s.getContact},
		{method: post, pattern: "/v1/cadences/{id}/enrollments", role: manager, body: bodyJSON, h: s.enroll},
		{method: get, pattern: "/v1/enrollments", role: viewer, h: s.listEnrollments},
		{method: get, pattern: "/v1/enrollments/{id}", role: viewer, h: s.getEnrollment},
		{method: post, pattern: "/v1/enrollments/{id}/stop", role: manager, body: bodyOptionalJSON, h: s.stopEnrollment},
		{method: post, pattern: "/v1/triggers/{key}", body: bodyJSON, ignoreIdempotency: true, h: s.fireTrigger},

		{method: post, pattern: "/v1/dnc", role: manager, body: bodyJSON, h: s.addDNC},
		{method: get, pattern: "/v1/dnc", role: viewer, h: s.listDNC},
		{method: post, pattern: "/v1/dnc/import", role: manager, body: bodyCSV, h: s.importDNC},
		{method: get, pattern: "/v1/dnc/{phone}", role: viewer, h: s.checkDNC},
		{method: del, pattern: "/v1/dnc/{phone}", role: manager, h: s.removeDNC},
		{method: get, pattern: "/v1/dispositions", role: viewer, h: s.listDispositions},
		{method: post, pattern: "/v1/attempts/{id}/disposition", role: agent, body: bodyJSON, h: s.postDisposition},

		{method: get, pattern: "/v1/actions", role: viewer, h: s.listActions},
		{method: get, pattern: "/v1/analytics/summary", role: viewer, h: s.analyticsSummary},
		{method: get, pattern: "/v1/cadences/{id}/analytics", role: viewer, h: s.cadenceAnalytics},

		{method: post, pattern: "/v1/agents", role: manager, body: bodyJSON, h: s.createAgent},
		{method: get, pattern: "/v1/agents", role: viewer, h: s.listAgents},
		{method: get, pattern: "/v1/agents/{id}", role: viewer, h: s.getAgent},
		{method: put, pattern: "/v1/agents/{id}", role: manager, body: bodyJSON, h: s.updateAgent},
		{method: del, pattern: "/v1/agents/{id}", role: manager, h: s.deleteAgent},
		{method: put, pattern: "/v1/agents/{id}/state", role: agent, body: bodyJSON, h: s.setAgentState},
		{method: get, pattern: "/v1/agents/{id}/events", role: agent, raw: http.HandlerFunc(s.agentEvents)},
		{method: post, pattern: "/v1/prompts/{id}/accept", role: agent, body: bodyJSON, h: s.acceptPrompt},
		{method: put, pattern: "/v1/contacts/{id}/owner", role: manager, body: bodyJSON, h: s.setContactOwner},
		{method: post, pattern: "/v1/sms/inbound", ignoreIdempotency: true, raw: http.HandlerFunc(s.receiveSMS)},
		{method: get, pattern: "/v1/recommendations", role: viewer, h: s.recommendations},
		{method: get, pattern: "/v1/contacts/{id}/owner-changes", role: viewer, h: s.ownerChanges},

		{method: post, pattern: "/v1/api-keys", role: admin, body: bodyJSON, noIdempotency: true, h: s.createAPIKey},
		{method: get, pattern: "/v1/api-keys", role: admin, h: s.listAPIKeys},
		{method: del, pattern: "/v1/api-keys/{id}", role: admin, h: s.deleteAPIKey},
	}
	table = append(table, s.teams().routes(s, "/v1/teams")...)
	table = append(table, s.queues().routes(s, "/v1/queues")...)
	return append(table, s.smsTemplates().routes(s, "/v1/sms-templates")...)
}
