package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
)

// TestAgentResponsesMatchDocument checks the team, queue, agent, prompt
// and owner responses against the schemas openapi.json declares.
func TestAgentResponsesMatchDocument(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	sc := newSchemaChecker(t)
	c := e.contact("+15551230009")

	var team struct{ ID string }
	var ada, bob agentView
	type call struct {
		method, pattern string
		path            func() string
		key             string
		body            any
		status          int
		into            any
	}
	fixed := func(p string) func() string { return func() string { return p } }
	adaPath := func(suffix string) func() string { return func() string { return "/v1/agents/" + ada.ID + suffix } }
	var promptID string
	calls := []call{
		{"POST", "/v1/teams", fixed("/v1/teams"), e.manager, `{"name":"Sales","description":"d"}`, 201, &team},
		{"POST", "/v1/teams", fixed("/v1/teams"), e.manager, `{"name":""}`, 422, nil},
		{"GET", "/v1/teams", fixed("/v1/teams?limit=1"), e.viewer, nil, 200, nil},
		{"GET", "/v1/teams/{id}", func() string { return "/v1/teams/" + team.ID }, e.viewer, nil, 200, nil},
		{"PUT", "/v1/teams/{id}", func() string { return "/v1/teams/" + team.ID }, e.manager, `{"name":"Sales 2"}`, 200, nil},
		{"GET", "/v1/teams/{id}", fixed("/v1/teams/nope"), e.viewer, nil, 404, nil},
		{"POST", "/v1/queues", fixed("/v1/queues"), e.manager, `{"name":"sales","wrap_up":"10s","max_wait":"2m"}`, 201, nil},
		{"POST", "/v1/queues", fixed("/v1/queues"), e.manager, `{"name":"sales"}`, 409, nil},
		{"GET", "/v1/queues", fixed("/v1/queues"), e.viewer, nil, 200, nil},
		{"GET", "/v1/queues/{name}", fixed("/v1/queues/sales"), e.viewer, nil, 200, nil},
		{"PUT", "/v1/queues/{name}", fixed("/v1/queues/sales"), e.manager, `{"wrap_up":"0s"}`, 200, nil},
		{"POST", "/v1/agents", fixed("/v1/agents"), e.manager, func() any {
			return map[string]any{"name": "Ada", "team_id": team.ID, "destination": "sip:ada@h", "queues": []string{"sales"}}
		}, 201, &ada},
		{"POST", "/v1/agents", fixed("/v1/agents"), e.manager, `{"name":"Bob","destination":"sip:bob@h","queues":["sales"]}`, 201, &bob},
		{"GET", "/v1/agents", fixed("/v1/agents?queue=sales"), e.viewer, nil, 200, nil},
		{"GET", "/v1/agents/{id}", adaPath(""), e.viewer, nil, 200, nil},
		{"PUT", "/v1/agents/{id}", adaPath(""), e.manager, `{"name":"Ada L.","destination":"sip:ada@h","queues":["sales"]}`, 200, nil},
		{"PUT", "/v1/agents/{id}/state", adaPath("/state"), e.agent, `{"state":"available"}`, 200, nil},
		{"PUT", "/v1/agents/{id}/state", adaPath("/state"), e.agent, `{"state":"on_call"}`, 422, nil},
		{"DELETE", "/v1/agents/{id}", adaPath(""), e.manager, nil, 409, nil},
		{"POST", "/v1/prompts/{id}/accept", func() string {
			p, err := e.roster.Prompt("sales", agents.PromptInfo{Contact: "Grace", ContactID: c.ID}, e.clock.Now())
			require.NoError(t, err)
			promptID = p.ID
			return "/v1/prompts/" + p.ID + "/accept"
		}, e.agent, func() any { return map[string]string{"agent_id": ada.ID} }, 200, nil},
		{"POST", "/v1/prompts/{id}/accept", func() string { return "/v1/prompts/" + promptID + "/accept" }, e.agent,
			func() any { return map[string]string{"agent_id": bob.ID} }, 409, nil},
		{"POST", "/v1/prompts/{id}/accept", fixed("/v1/prompts/nope/accept"), e.agent, func() any { return map[string]string{"agent_id": bob.ID} }, 404, nil},
		{"PUT", "/v1/contacts/{id}/owner", fixed("/v1/contacts/" + c.ID + "/owner"), e.manager, func() any {
			return map[string]string{"agent_id": bob.ID}
		}, 200, nil},
		{"PUT", "/v1/contacts/{id}/owner", fixed("/v1/contacts/" + c.ID + "/owner"), e.manager, `{"agent_id":""}`, 200, nil},
		{"GET", "/v1/contacts/{id}/owner-changes", fixed("/v1/contacts/" + c.ID + "/owner-changes"), e.viewer, nil, 200, nil},
		{"PUT", "/v1/agents/{id}/state", func() string { return "/v1/agents/" + bob.ID + "/state" }, e.agent, `{"state":"paused"}`, 409, nil},
		{"DELETE", "/v1/agents/{id}", func() string { return "/v1/agents/" + bob.ID }, e.manager, nil, 204, nil},
		{"DELETE", "/v1/queues/{name}", fixed("/v1/queues/sales"), e.manager, nil, 409, nil},
	}
	for _, cl := range calls {
		body := cl.body
		if f, ok := body.(func() any); ok {
			body = f()
		}
		path := cl.path()
		r := e.do(cl.method, path, cl.key, body)
		require.Equal(t, cl.status, r.status, "%s %s: %s", cl.method, path, r.body)
		if cl.into != nil {
			require.NoError(t, json.Unmarshal(r.body, cl.into))
		}
		if r.status == http.StatusNoContent {
			continue
		}
		ctype := strings.Split(r.header.Get("Content-Type"), ";")[0]
		schema := sc.responseSchema(t, cl.method, cl.pattern, r.status, ctype)
		var v any
		require.NoError(t, json.Unmarshal(r.body, &v), "%s %s", cl.method, path)
		require.Empty(t, sc.check("$", schema, v), "%s %s: %s", cl.method, path, r.body)
	}

	// The stream's frames match AgentEvent.
	for _, ev := range []agents.Event{
		{Kind: agents.EventState, AgentID: "a", From: agents.Available, To: agents.Reserved},
		{Kind: agents.EventPrompt, AgentID: "a", Prompt: &agents.Prompt{ID: "p", Queue: "q", Info: agents.PromptInfo{Contact: "c", Script: "s"}}, Dropped: 1},
		{Kind: agents.EventPromptClosed, AgentID: "a", Prompt: &agents.Prompt{ID: "p"}, Text: "expired"},
		{Kind: agents.EventConnecting, AgentID: "a", CallID: "x", Contact: "c", Script: "s"},
	} {
		b, err := json.Marshal(newAgentEventJSON(ev))
		require.NoError(t, err)
		var v any
		require.NoError(t, json.Unmarshal(b, &v))
		require.Empty(t, sc.check("$", map[string]any{"$ref": "#/components/schemas/AgentEvent"}, v), "%s", b)
	}
}
