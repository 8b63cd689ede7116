package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

// boundKey creates, through the API, a key of role agent bound to agentID
// and checks the response against the document.
func (e *agentEnv) boundKey(t *testing.T, sc *schemaChecker, name, agentID string) string {
	t.Helper()
	r := e.do("POST", "/v1/api-keys", e.admin, map[string]string{"name": name, "role": "agent", "agent_id": agentID})
	var k createdKey
	r.ok(t, http.StatusCreated, &k)
	require.Equal(t, agentID, k.AgentID)
	require.Equal(t, engine.RoleAgent, k.Role)
	checkDocumented(t, sc, "POST", "/v1/api-keys", r)
	return k.Secret
}

// checkDocumented checks r's body against the document's schema for it.
func checkDocumented(t *testing.T, sc *schemaChecker, method, pattern string, r resp) {
	t.Helper()
	schema := sc.responseSchema(t, method, pattern, r.status, strings.Split(r.header.Get("Content-Type"), ";")[0])
	var v any
	require.NoError(t, json.Unmarshal(r.body, &v))
	require.Empty(t, sc.check("$", schema, v), "%s %s: %s", method, pattern, r.body)
}

func TestCreateBoundKey(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	sc := newSchemaChecker(t)
	ada := e.mkAgent("ada", "")
	e.boundKey(t, sc, "ada's ui", ada.ID)
	for _, tc := range []struct {
		name string
		body map[string]string
	}{
		{"manager role", map[string]string{"name": "x", "role": "manager", "agent_id": ada.ID}},
		{"viewer role", map[string]string{"name": "x", "role": "viewer", "agent_id": ada.ID}},
		{"unknown agent", map[string]string{"name": "x", "role": "agent", "agent_id": "nope"}},
		{"unknown agent id", map[string]string{"name": "x", "role": "agent", "agent_id": "0190f0a0-dead-7000-8000-00000000beef"}},
	} {
		r := e.do("POST", "/v1/api-keys", e.admin, tc.body)
		r.problem(t, http.StatusUnprocessableEntity, "agent_id")
		checkDocumented(t, sc, "POST", "/v1/api-keys", r)
	}
	// The list shows the binding; unbound keys have none.
	r := e.do("GET", "/v1/api-keys", e.admin, nil)
	var page listPage[engine.APIKey]
	r.ok(t, http.StatusOK, &page)
	checkDocumented(t, sc, "GET", "/v1/api-keys", r)
	bound := map[string]string{}
	for _, k := range page.Items {
		bound[k.Name] = k.AgentID
	}
	require.Equal(t, map[string]string{"ada's ui": ada.ID, "admin key": "", "manager key": "", "agent key": "", "viewer key": ""}, bound)
}

// TestBoundKeyActsForItsAgent runs every agent route with a key bound to
// the right agent, one bound to another agent, an unbound agent key and a
// manager key.
func TestBoundKeyActsForItsAgent(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	sc := newSchemaChecker(t)
	e.mkQueue("sales", "")
	ada, bob := e.mkAgent("ada", "", "sales"), e.mkAgent("bob", "", "sales")
	adaKey := e.boundKey(t, sc, "ada's ui", ada.ID)
	keys := map[string]string{"bound": adaKey, "unbound": e.agent, "manager": e.manager}

	type tc struct {
		key, agent string
		status     int
		field      string
	}
	cases := []tc{
		{"bound", ada.ID, http.StatusOK, ""},
		{"bound", bob.ID, http.StatusForbidden, "id"},
		{"unbound", bob.ID, http.StatusOK, ""},
		{"manager", bob.ID, http.StatusOK, ""},
	}
	t.Run("state", func(t *testing.T) {
		for _, c := range cases {
			r := e.do("PUT", "/v1/agents/"+c.agent+"/state", keys[c.key], map[string]string{"state": "available"})
			if c.status == http.StatusOK {
				r.ok(t, c.status, nil)
			} else {
				r.problem(t, c.status, c.field)
			}
			checkDocumented(t, sc, "PUT", "/v1/agents/{id}/state", r)
		}
		require.Equal(t, agents.Available, e.liveState(ada.ID))
		require.Equal(t, agents.Available, e.liveState(bob.ID))
	})
	t.Run("events", func(t *testing.T) {
		for _, c := range cases {
			if c.status == http.StatusOK {
				s := openEvents(t, e.http.Client(), e.http.URL, c.agent, keys[c.key])
				kind, ev := s.next(t)
				require.Equal(t, "state", kind)
				require.Equal(t, c.agent, ev.AgentID)
				s.close()
				continue
			}
			r := e.do("GET", "/v1/agents/"+c.agent+"/events", keys[c.key], nil)
			r.problem(t, c.status, c.field)
			checkDocumented(t, sc, "GET", "/v1/agents/{id}/events", r)
		}
	})
	t.Run("accept", func(t *testing.T) {
		for _, c := range append(cases[:1:1],
			tc{"bound", bob.ID, http.StatusForbidden, "agent_id"},
			tc{"bound", "", http.StatusOK, ""}, // agent_id left out: the key's agent
			tc{"unbound", bob.ID, http.StatusOK, ""},
			tc{"unbound", "", http.StatusUnprocessableEntity, "agent_id"},
			tc{"manager", bob.ID, http.StatusOK, ""},
		) {
			p, err := e.roster.Prompt("sales", agents.PromptInfo{Contact: "Grace"}, e.clock.Now())
			require.NoError(t, err)
			body := map[string]string{}
			if c.agent != "" {
				body["agent_id"] = c.agent
			}
			r := e.do("POST", "/v1/prompts/"+p.ID+"/accept", keys[c.key], body)
			checkDocumented(t, sc, "POST", "/v1/prompts/{id}/accept", r)
			if c.status != http.StatusOK {
				r.problem(t, c.status, c.field)
				continue
			}
			var res acceptResult
			r.ok(t, http.StatusOK, &res)
			want := c.agent
			if want == "" {
				want = ada.ID
			}
			require.Equal(t, want, res.Agent.ID, "%+v", c)
		}
	})
}

func TestBoundKeyOfDeletedAgent(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	sc := newSchemaChecker(t)
	e.mkQueue("sales", "")
	carl := e.mkAgent("carl", "", "sales")
	key := e.boundKey(t, sc, "carl's ui", carl.ID)
	e.do("PUT", "/v1/agents/"+carl.ID+"/state", key, map[string]string{"state": "logged_out"}).ok(t, http.StatusOK, nil)
	e.do("DELETE", "/v1/agents/"+carl.ID, e.manager, nil).ok(t, http.StatusNoContent, nil)

	e.do("PUT", "/v1/agents/"+carl.ID+"/state", key, map[string]string{"state": "available"}).problem(t, http.StatusForbidden, "id")
	e.do("GET", "/v1/agents/"+carl.ID+"/events", key, nil).problem(t, http.StatusForbidden, "id")
	e.do("POST", "/v1/prompts/p1/accept", key, map[string]string{}).problem(t, http.StatusForbidden, "agent_id")
	// Nothing else breaks: the key still reads, and is listed and deletable.
	e.do("GET", "/v1/agents", key, nil).ok(t, http.StatusOK, nil)
	var page listPage[engine.APIKey]
	e.do("GET", "/v1/api-keys", e.admin, nil).ok(t, http.StatusOK, &page)
	var id string
	for _, k := range page.Items {
		if k.AgentID == carl.ID {
			id = k.ID
		}
	}
	require.NotEmpty(t, id)
	e.do("DELETE", "/v1/api-keys/"+id, e.admin, nil).ok(t, http.StatusNoContent, nil)
	e.do("GET", "/v1/agents", key, nil).problem(t, http.StatusUnauthorized, "Authorization")
}

func TestActForWithoutAgentStore(t *testing.T) {
	t.Parallel()
	// Only the roster knows the agents: a bound key acts for its agent
	// while the roster has it.
	r, err := agents.NewRoster(agents.Options{})
	require.NoError(t, err)
	require.NoError(t, r.Add(agents.Agent{ID: "a1", Name: "Ada", Destination: "sip:a1@h"}))
	e := newEnv(t, func(o *Options) { o.Agents = r })
	e.server.agentStore = nil
	k := engine.APIKey{Name: "ui", Role: engine.RoleAgent, AgentID: "a1"}
	require.NoError(t, e.server.actFor(t.Context(), k, "id", "a1"))
	var p *Problem
	require.ErrorAs(t, e.server.actFor(t.Context(), k, "id", "a2"), &p)
	require.Equal(t, http.StatusForbidden, p.Status)
	require.NoError(t, r.Remove("a1"))
	require.ErrorAs(t, e.server.actFor(t.Context(), k, "id", "a1"), &p)
	require.Equal(t, http.StatusForbidden, p.Status)
	require.Equal(t, "id", p.Errors[0].Path)
	require.NoError(t, e.server.actFor(t.Context(), engine.APIKey{Role: engine.RoleAgent}, "id", "a2"), "an unbound key acts for any agent")
}
