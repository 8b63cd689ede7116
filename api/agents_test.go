package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

// agentEnv is an env whose server has a live roster.
type agentEnv struct {
	*env
	roster *agents.Roster
	as     engine.AgentStore
}

func newAgentEnv(t testing.TB, mods ...func(*Options)) *agentEnv {
	t.Helper()
	r, err := agents.NewRoster(agents.Options{DefaultWrapUp: 30 * time.Second})
	require.NoError(t, err)
	e := newEnv(t, append([]func(*Options){func(o *Options) { o.Agents = r }}, mods...)...)
	as, ok := e.store.(engine.AgentStore)
	if !ok {
		t.Skip("this store does not implement engine.AgentStore")
	}
	return &agentEnv{env: e, roster: r, as: as}
}

func (e *agentEnv) mkQueue(name, wrapUp string) {
	e.t.Helper()
	body := map[string]any{"name": name}
	if wrapUp != "" {
		body["wrap_up"] = wrapUp
	}
	e.do("POST", "/v1/queues", e.manager, body).ok(e.t, http.StatusCreated, nil)
}

func (e *agentEnv) mkTeam(name string) string {
	e.t.Helper()
	var t engine.Team
	e.do("POST", "/v1/teams", e.manager, map[string]any{"name": name}).ok(e.t, http.StatusCreated, &t)
	return t.ID
}

func (e *agentEnv) mkAgent(name, team string, queues ...string) agentView {
	e.t.Helper()
	var a agentView
	e.do("POST", "/v1/agents", e.manager, map[string]any{"name": name, "team_id": team,
		"destination": "sip:" + name + "@pbx.test", "queues": queues}).ok(e.t, http.StatusCreated, &a)
	return a
}

func (e *agentEnv) setState(id, state string) resp {
	e.t.Helper()
	return e.do("PUT", "/v1/agents/"+id+"/state", e.agent, map[string]string{"state": state})
}

func (e *agentEnv) liveState(id string) agents.State {
	e.t.Helper()
	st, err := e.roster.Get(id, e.clock.Now())
	require.NoError(e.t, err)
	return st.State
}

func TestTeams(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	var sales engine.Team
	e.do("POST", "/v1/teams", e.manager, `{"name":"Sales","description":"inbound leads"}`).ok(t, http.StatusCreated, &sales)
	require.NotEmpty(t, sales.ID)
	require.Equal(t, "inbound leads", sales.Description)
	e.mkTeam("Support")
	e.mkTeam("Retention")

	for _, tc := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		field                   string
	}{
		{"duplicate name", "POST", "/v1/teams", e.manager, `{"name":"Sales"}`, 409, ""},
		{"blank name", "POST", "/v1/teams", e.manager, `{"name":" "}`, 422, "name"},
		{"unknown field", "POST", "/v1/teams", e.manager, `{"name":"x","color":"red"}`, 422, "color"},
		{"id is the server's", "POST", "/v1/teams", e.manager, `{"id":"t1","name":"x"}`, 422, "id"},
		{"malformed", "POST", "/v1/teams", e.manager, `{"name":`, 400, "body"},
		{"viewer cannot create", "POST", "/v1/teams", e.viewer, `{"name":"x"}`, 403, ""},
		{"agent cannot create", "POST", "/v1/teams", e.agent, `{"name":"x"}`, 403, ""},
		{"no key", "POST", "/v1/teams", "", `{"name":"x"}`, 401, ""},
		{"unknown", "GET", "/v1/teams/nope", e.viewer, nil, 404, ""},
		{"bad limit", "GET", "/v1/teams?limit=0", e.viewer, nil, 422, "limit"},
		{"bad cursor", "GET", "/v1/teams?after=garbage", e.viewer, nil, 422, "after"},
		{"put id mismatch", "PUT", "/v1/teams/" + sales.ID, e.manager, `{"id":"other","name":"Sales"}`, 422, "id"},
		{"put blank name", "PUT", "/v1/teams/" + sales.ID, e.manager, `{"name":""}`, 422, "name"},
		{"put unknown", "PUT", "/v1/teams/nope", e.manager, `{"name":"x"}`, 404, ""},
		{"put taken name", "PUT", "/v1/teams/" + sales.ID, e.manager, `{"name":"Support"}`, 409, ""},
		{"delete unknown", "DELETE", "/v1/teams/nope", e.manager, nil, 404, ""},
		{"viewer cannot delete", "DELETE", "/v1/teams/" + sales.ID, e.viewer, nil, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do(tc.method, tc.path, tc.key, tc.body).problem(t, tc.status, tc.field)
		})
	}

	// Cursor pagination over the three teams.
	var seen []string
	path := "/v1/teams?limit=2"
	for path != "" {
		var page listPage[engine.Team]
		r := e.do("GET", path, e.viewer, nil)
		r.ok(t, http.StatusOK, &page)
		for _, tm := range page.Items {
			seen = append(seen, tm.Name)
		}
		path = ""
		if page.Next != "" {
			require.Contains(t, r.header.Get("Link"), "after=")
			path = "/v1/teams?limit=2&after=" + page.Next
		}
	}
	require.Equal(t, []string{"Sales", "Support", "Retention"}, seen)

	// PUT accepts what GET returned.
	var got engine.Team
	e.do("GET", "/v1/teams/"+sales.ID, e.agent, nil).ok(t, http.StatusOK, &got)
	got.Name = "Sales EMEA"
	var upd engine.Team
	e.do("PUT", "/v1/teams/"+sales.ID, e.manager, got).ok(t, http.StatusOK, &upd)
	require.Equal(t, "Sales EMEA", upd.Name)
	require.Equal(t, sales.CreatedAt, upd.CreatedAt)
	require.True(t, upd.UpdatedAt.After(sales.UpdatedAt))

	// A team with an agent is in use.
	a := e.mkAgent("ada", sales.ID)
	e.do("DELETE", "/v1/teams/"+sales.ID, e.manager, nil).problem(t, http.StatusConflict, "")
	e.do("DELETE", "/v1/agents/"+a.ID, e.manager, nil).ok(t, http.StatusNoContent, nil)
	e.do("DELETE", "/v1/teams/"+sales.ID, e.manager, nil).ok(t, http.StatusNoContent, nil)
	e.do("GET", "/v1/teams/"+sales.ID, e.viewer, nil).problem(t, http.StatusNotFound, "")
}

func TestQueues(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	var q engine.Queue
	e.do("POST", "/v1/queues", e.manager, `{"name":"sales","description":"d","wrap_up":"5s","max_wait":"90s"}`).ok(t, http.StatusCreated, &q)
	require.Equal(t, engine.Duration(5*time.Second), q.WrapUp)
	require.Equal(t, engine.Duration(90*time.Second), q.MaxWait)
	e.mkQueue("support", "")

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"duplicate", "POST", "/v1/queues", `{"name":"sales"}`, 409, ""},
		{"bad name", "POST", "/v1/queues", `{"name":"Sales Team"}`, 422, "name"},
		{"no name", "POST", "/v1/queues", `{}`, 422, "name"},
		{"negative wrap-up", "POST", "/v1/queues", `{"name":"x","wrap_up":"-1s"}`, 422, "wrap_up"},
		{"wrap-up as a number", "POST", "/v1/queues", `{"name":"x","wrap_up":30}`, 422, "wrap_up"},
		{"max wait too long", "POST", "/v1/queues", `{"name":"x","max_wait":"2h"}`, 422, "max_wait"},
		{"unknown", "GET", "/v1/queues/nope", nil, 404, ""},
		{"put name mismatch", "PUT", "/v1/queues/sales", `{"name":"support"}`, 422, "name"},
		{"put unknown", "PUT", "/v1/queues/nope", `{"wrap_up":"1s"}`, 404, ""},
		{"put bad max wait", "PUT", "/v1/queues/sales", `{"max_wait":"-5m"}`, 422, "max_wait"},
		{"delete unknown", "DELETE", "/v1/queues/nope", nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do(tc.method, tc.path, e.manager, tc.body).problem(t, tc.status, tc.field)
		})
	}
	e.do("POST", "/v1/queues", e.viewer, `{"name":"x"}`).problem(t, http.StatusForbidden, "")

	var page listPage[engine.Queue]
	e.do("GET", "/v1/queues", e.viewer, nil).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 2)

	// The queue's wrap-up reaches the live roster: an agent of "sales" is
	// in wrap-up for 5 s, then for 2 s after the update.
	a := e.mkAgent("ada", "", "sales")
	e.setState(a.ID, "available").ok(t, http.StatusOK, nil)
	call := func() {
		t.Helper()
		_, err := e.roster.Reserve("sales", e.clock.Now())
		require.NoError(t, err)
		require.NoError(t, e.roster.Connect(a.ID, agents.ConnectInfo{CallID: "c"}, e.clock.Now()))
		require.NoError(t, e.roster.Hangup(a.ID, e.clock.Now()))
	}
	call()
	e.clock.Advance(4 * time.Second)
	require.Equal(t, agents.WrapUp, e.liveState(a.ID))
	e.clock.Advance(2 * time.Second)
	require.Equal(t, agents.Available, e.liveState(a.ID))

	var got engine.Queue
	e.do("GET", "/v1/queues/sales", e.viewer, nil).ok(t, http.StatusOK, &got)
	got.WrapUp = engine.Duration(2 * time.Second)
	var upd engine.Queue
	e.do("PUT", "/v1/queues/sales", e.manager, got).ok(t, http.StatusOK, &upd)
	require.Equal(t, got.WrapUp, upd.WrapUp)
	require.Equal(t, "d", upd.Description)
	call()
	e.clock.Advance(2100 * time.Millisecond)
	require.Equal(t, agents.Available, e.liveState(a.ID))

	// In use while an agent lists it.
	e.do("DELETE", "/v1/queues/sales", e.manager, nil).problem(t, http.StatusConflict, "")
	e.do("DELETE", "/v1/queues/support", e.manager, nil).ok(t, http.StatusNoContent, nil)
}

func TestAgentsCRUD(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	team := e.mkTeam("Sales")
	e.mkQueue("sales", "")
	e.mkQueue("support", "")

	var ada agentView
	e.do("POST", "/v1/agents", e.manager, map[string]any{"name": "Ada", "team_id": team, "destination": "sip:ada@pbx.test",
		"queues": []string{"sales"}}).ok(t, http.StatusCreated, &ada)
	require.NotEmpty(t, ada.ID)
	require.Equal(t, "logged_out", ada.State, "a new agent joins the roster logged out")
	require.Equal(t, agents.LoggedOut, e.liveState(ada.ID))
	bob := e.mkAgent("bob", "", "support")
	require.Empty(t, bob.TeamID)

	for _, tc := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		field                   string
	}{
		{"unknown team", "POST", "/v1/agents", e.manager, `{"name":"x","destination":"sip:x@h","team_id":"nope"}`, 422, "team_id"},
		{"unknown queue", "POST", "/v1/agents", e.manager, `{"name":"x","destination":"sip:x@h","queues":["sales","nope"]}`, 422, "queues[1]"},
		{"no destination", "POST", "/v1/agents", e.manager, `{"name":"x"}`, 422, "destination"},
		{"bad destination", "POST", "/v1/agents", e.manager, `{"name":"x","destination":"queue:sales"}`, 422, "destination"},
		{"no name", "POST", "/v1/agents", e.manager, `{"destination":"sip:x@h"}`, 422, "name"},
		{"duplicate queue", "POST", "/v1/agents", e.manager, `{"name":"x","destination":"sip:x@h","queues":["sales","sales"]}`, 422, "queues[1]"},
		{"id is the server's", "POST", "/v1/agents", e.manager, `{"id":"a","name":"x","destination":"sip:x@h"}`, 422, "id"},
		{"state is not a field", "POST", "/v1/agents", e.manager, `{"name":"x","destination":"sip:x@h","state":"available"}`, 422, "state"},
		{"agent cannot create", "POST", "/v1/agents", e.agent, `{"name":"x","destination":"sip:x@h"}`, 403, ""},
		{"unknown", "GET", "/v1/agents/nope", e.viewer, nil, 404, ""},
		{"put unknown", "PUT", "/v1/agents/nope", e.manager, `{"name":"x","destination":"sip:x@h"}`, 404, ""},
		{"put id mismatch", "PUT", "/v1/agents/" + ada.ID, e.manager, `{"id":"x","name":"x","destination":"sip:x@h"}`, 422, "id"},
		{"put unknown queue", "PUT", "/v1/agents/" + ada.ID, e.manager, `{"name":"x","destination":"sip:x@h","queues":["nope"]}`, 422, "queues[0]"},
		{"agent cannot edit", "PUT", "/v1/agents/" + ada.ID, e.agent, `{"name":"x","destination":"sip:x@h"}`, 403, ""},
		{"delete unknown", "DELETE", "/v1/agents/nope", e.manager, nil, 404, ""},
		{"bad limit", "GET", "/v1/agents?limit=x", e.viewer, nil, 422, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do(tc.method, tc.path, tc.key, tc.body).problem(t, tc.status, tc.field)
		})
	}

	list := func(query string) []string {
		t.Helper()
		var page listPage[agentView]
		e.do("GET", "/v1/agents"+query, e.viewer, nil).ok(t, http.StatusOK, &page)
		var names []string
		for _, a := range page.Items {
			require.Equal(t, "logged_out", a.State)
			names = append(names, a.Name)
		}
		return names
	}
	require.Equal(t, []string{"Ada", "bob"}, list(""))
	require.Equal(t, []string{"Ada"}, list("?team_id="+team))
	require.Equal(t, []string{"bob"}, list("?queue=support"))
	require.Empty(t, list("?queue=nope"))

	// Editing a logged-in agent on a call keeps the call; PUT takes what
	// GET returned.
	e.setState(ada.ID, "available").ok(t, http.StatusOK, nil)
	_, err := e.roster.ReserveAgent(ada.ID, "sales", e.clock.Now())
	require.NoError(t, err)
	require.NoError(t, e.roster.Connect(ada.ID, agents.ConnectInfo{CallID: "c1"}, e.clock.Now()))
	var got agentView
	e.do("GET", "/v1/agents/"+ada.ID, e.viewer, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, "on_call", got.State)
	require.False(t, got.StateSince.IsZero())
	got.Name, got.Queues, got.Destination = "Ada L.", []string{"sales", "support"}, "PJSIP/ada"
	var upd agentView
	e.do("PUT", "/v1/agents/"+ada.ID, e.manager, got).ok(t, http.StatusOK, &upd)
	require.Equal(t, "Ada L.", upd.Name)
	require.Equal(t, "on_call", upd.State)
	require.Equal(t, got.StateSince, upd.StateSince)
	live, err := e.roster.Get(ada.ID, e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, "PJSIP/ada", live.Agent.Destination)
	require.Equal(t, []string{"sales", "support"}, live.Agent.Queues)
	require.Equal(t, team, live.Agent.Team)

	// A logged-in agent cannot be deleted.
	e.do("DELETE", "/v1/agents/"+ada.ID, e.manager, nil).problem(t, http.StatusConflict, "")
	require.NoError(t, e.roster.Hangup(ada.ID, e.clock.Now()))
	e.setState(ada.ID, "logged_out").ok(t, http.StatusOK, nil)
	e.do("DELETE", "/v1/agents/"+ada.ID, e.manager, nil).ok(t, http.StatusNoContent, nil)
	_, err = e.roster.Get(ada.ID, e.clock.Now())
	require.ErrorIs(t, err, agents.ErrUnknownAgent)
	e.do("GET", "/v1/agents/"+ada.ID, e.viewer, nil).problem(t, http.StatusNotFound, "")
	require.Equal(t, []string{"bob"}, list(""))
}

func TestAgentState(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	e.mkQueue("sales", "")
	a := e.mkAgent("ada", "", "sales")

	step := func(state string, status int, want agents.State) {
		t.Helper()
		r := e.setState(a.ID, state)
		if status != http.StatusOK {
			p := r.problem(t, status, "state")
			require.Equal(t, want, e.liveState(a.ID), "a refused change leaves the state")
			if status == http.StatusConflict {
				require.Contains(t, p.Detail, want.String()+" to "+state, "409 names from and to")
			}
			return
		}
		var v agentView
		r.ok(t, http.StatusOK, &v)
		require.Equal(t, want.String(), v.State)
		require.Equal(t, want, e.liveState(a.ID))
	}
	connect := func() {
		t.Helper()
		_, err := e.roster.ReserveAgent(a.ID, "sales", e.clock.Now())
		require.NoError(t, err)
		require.NoError(t, e.roster.Connect(a.ID, agents.ConnectInfo{CallID: "c"}, e.clock.Now()))
	}

	step("paused", http.StatusConflict, agents.LoggedOut) // must log in first
	step("available", http.StatusOK, agents.Available)    // login
	step("available", http.StatusOK, agents.Available)    // idempotent
	step("paused", http.StatusOK, agents.Paused)
	step("available", http.StatusOK, agents.Available) // resume
	connect()
	step("paused", http.StatusConflict, agents.OnCall)
	step("logged_out", http.StatusConflict, agents.OnCall)
	step("available", http.StatusConflict, agents.OnCall)
	require.NoError(t, e.roster.Hangup(a.ID, e.clock.Now()))
	require.Equal(t, agents.WrapUp, e.liveState(a.ID))
	step("available", http.StatusOK, agents.Available) // end wrap-up early
	connect()
	require.NoError(t, e.roster.Hangup(a.ID, e.clock.Now()))
	step("paused", http.StatusOK, agents.Paused) // pause from wrap-up
	step("logged_out", http.StatusOK, agents.LoggedOut)
	_, err := e.roster.ReserveAgent(a.ID, "sales", e.clock.Now())
	require.ErrorIs(t, err, agents.ErrAgentBusy)

	for _, tc := range []struct {
		name, body string
		field      string
	}{
		{"set by calls", `{"state":"on_call"}`, "state"},
		{"wrap-up is set by calls", `{"state":"wrap_up"}`, "state"},
		{"reserved is set by calls", `{"state":"reserved"}`, "state"},
		{"unknown", `{"state":"busy"}`, "state"},
		{"missing", `{}`, "state"},
		{"unknown field", `{"state":"paused","why":"lunch"}`, "why"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do("PUT", "/v1/agents/"+a.ID+"/state", e.agent, tc.body).problem(t, http.StatusUnprocessableEntity, tc.field)
		})
	}
	e.do("PUT", "/v1/agents/nope/state", e.agent, `{"state":"available"}`).problem(t, http.StatusNotFound, "")
	e.do("PUT", "/v1/agents/"+a.ID+"/state", e.viewer, `{"state":"available"}`).problem(t, http.StatusForbidden, "")
	e.do("PUT", "/v1/agents/"+a.ID+"/state", "", `{"state":"available"}`).problem(t, http.StatusUnauthorized, "")
}

// TestAgentNotInRoster: an agent created elsewhere (another node, or
// before this roster started) joins the roster on first use.
func TestAgentNotInRoster(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	a, err := e.as.CreateAgent(context.Background(), engine.Agent{Name: "Ada", Destination: "sip:ada@h"}, e.clock.Now())
	require.NoError(t, err)
	var v agentView
	e.do("GET", "/v1/agents/"+a.ID, e.viewer, nil).ok(t, http.StatusOK, &v)
	require.Empty(t, v.State, "not in this node's roster yet")
	e.setState(a.ID, "available").ok(t, http.StatusOK, &v)
	require.Equal(t, "available", v.State)
}

func TestLiveRoutesWithoutRoster(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, ok := e.store.(engine.AgentStore); !ok {
		t.Skip("this store does not implement engine.AgentStore")
	}
	var a agentView
	e.do("POST", "/v1/agents", e.manager, `{"name":"Ada","destination":"sip:ada@h"}`).ok(t, http.StatusCreated, &a)
	require.Empty(t, a.State, "no roster, no live state")
	e.do("GET", "/v1/agents/"+a.ID, e.viewer, nil).ok(t, http.StatusOK, &a)
	require.Empty(t, a.State)
	p := e.do("PUT", "/v1/agents/"+a.ID+"/state", e.agent, `{"state":"available"}`).problem(t, http.StatusServiceUnavailable, "")
	require.Contains(t, p.Detail, "roster")
	e.do("GET", "/v1/agents/"+a.ID+"/events", e.agent, nil).problem(t, http.StatusServiceUnavailable, "")
	e.do("POST", "/v1/prompts/p-1/accept", e.agent, `{"agent_id":"`+a.ID+`"}`).problem(t, http.StatusServiceUnavailable, "")
	// Bad input is still a 4xx before the 503.
	e.do("PUT", "/v1/agents/"+a.ID+"/state", e.agent, `{"state":"busy"}`).problem(t, http.StatusUnprocessableEntity, "state")
}

// plainStore hides the AgentStore methods of a store.
type plainStore struct{ engine.Store }

func TestAgentRoutesWithoutAgentStore(t *testing.T) {
	t.Parallel()
	e := newEnvWithStore(t, plainStore{openSQLite(t)})
	for _, rt := range []struct{ method, path, body string }{
		{"POST", "/v1/teams", `{"name":"x"}`},
		{"GET", "/v1/teams", ""},
		{"GET", "/v1/queues/x", ""},
		{"POST", "/v1/agents", `{"name":"x","destination":"sip:x@h"}`},
		{"PUT", "/v1/contacts/c/owner", `{"agent_id":""}`},
		{"GET", "/v1/contacts/c/owner-changes", ""},
	} {
		var body any
		if rt.body != "" {
			body = rt.body
		}
		e.do(rt.method, rt.path, e.admin, body).problem(t, http.StatusServiceUnavailable, "")
	}
}

func TestLoadAgents(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	ctx := context.Background()
	_, err := e.as.CreateQueue(ctx, engine.Queue{Name: "sales", WrapUp: engine.Duration(time.Second)}, e.clock.Now())
	require.NoError(t, err)
	var ids []string
	for i := range 7 {
		a, err := e.as.CreateAgent(ctx, engine.Agent{Name: fmt.Sprint("agent ", i), Destination: "sip:a@h", Queues: []string{"sales"}}, e.clock.Now())
		require.NoError(t, err)
		ids = append(ids, a.ID)
	}
	r, err := agents.NewRoster(agents.Options{})
	require.NoError(t, err)
	require.NoError(t, pageAllLimit(ctx, 3, e.as, r))
	require.Len(t, r.List(e.clock.Now()), 7)

	// Loading again updates details and keeps live state.
	require.NoError(t, r.Login(ids[0], e.clock.Now()))
	_, err = e.as.UpdateAgent(ctx, engine.Agent{ID: ids[0], Name: "renamed", Destination: "sip:b@h", Queues: []string{"sales"}}, e.clock.Now())
	require.NoError(t, err)
	require.NoError(t, LoadAgents(ctx, e.as, r))
	st, err := r.Get(ids[0], e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, agents.Available, st.State)
	require.Equal(t, "renamed", st.Agent.Name)

	// The queue's 1 s wrap-up was loaded.
	_, err = r.Reserve("sales", e.clock.Now())
	require.NoError(t, err)
	at := e.clock.Now()
	require.NoError(t, r.Connect(ids[0], agents.ConnectInfo{}, at))
	require.NoError(t, r.Hangup(ids[0], at))
	st, err = r.Get(ids[0], at.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, agents.Available, st.State)
}

// pageAllLimit is LoadAgents with small pages, so paging is exercised.
func pageAllLimit(ctx context.Context, limit int, st engine.AgentStore, r *agents.Roster) error {
	return LoadAgents(ctx, pagedStore{AgentStore: st, limit: limit}, r)
}

// pagedStore caps every page at limit.
type pagedStore struct {
	engine.AgentStore
	limit int
}

func (p pagedStore) ListAgents(ctx context.Context, f engine.AgentFilter) ([]engine.Agent, string, error) {
	f.Limit = p.limit
	return p.AgentStore.ListAgents(ctx, f)
}
