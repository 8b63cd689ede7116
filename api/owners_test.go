package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

func TestAcceptPromptSetsOwner(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	e.mkQueue("sales", "")
	ada, bob := e.mkAgent("ada", "", "sales"), e.mkAgent("bob", "", "sales")
	carl := e.mkAgent("carl", "", "sales") // logged out: not offered
	for _, a := range []agentView{ada, bob} {
		e.setState(a.ID, "available").ok(t, http.StatusOK, nil)
	}
	c := e.contact("+15551230002")
	cad := e.createCadence("")

	p, err := e.roster.Prompt("sales", agents.PromptInfo{Contact: "Grace", Script: "hi", ContactID: c.ID, CadenceID: cad.ID}, e.clock.Now())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{ada.ID, bob.ID}, p.Offered, "offered to the available agents only")
	accept := func(promptID, agentID string) resp {
		t.Helper()
		return e.do("POST", "/v1/prompts/"+promptID+"/accept", e.agent, map[string]string{"agent_id": agentID})
	}
	accept("nope", ada.ID).problem(t, http.StatusNotFound, "")
	accept(p.ID, carl.ID).problem(t, http.StatusForbidden, "")
	accept(p.ID, "").problem(t, http.StatusUnprocessableEntity, "agent_id")
	e.do("POST", "/v1/prompts/"+p.ID+"/accept", e.agent, `{"agent":"x"}`).problem(t, http.StatusUnprocessableEntity, "agent")
	e.do("POST", "/v1/prompts/"+p.ID+"/accept", e.viewer, map[string]string{"agent_id": ada.ID}).problem(t, http.StatusForbidden, "")

	var res acceptResult
	accept(p.ID, bob.ID).ok(t, http.StatusOK, &res)
	require.Equal(t, bob.ID, res.Agent.ID)
	require.Equal(t, "available", res.Agent.State, "an owner prompt reserves nobody")
	require.Equal(t, p.ID, res.Prompt.ID)
	require.NotNil(t, res.OwnerChange)
	require.Equal(t, engine.OwnerChange{ID: res.OwnerChange.ID, ContactID: c.ID, To: bob.ID, Reason: engine.OwnerReasonFirstToAnswer,
		CadenceID: cad.ID, At: res.OwnerChange.At}, *res.OwnerChange)
	accept(p.ID, ada.ID).problem(t, http.StatusConflict, "")

	var page listPage[engine.OwnerChange]
	e.do("GET", "/v1/contacts/"+c.ID+"/owner-changes", e.viewer, nil).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, *res.OwnerChange, page.Items[0])

	// An expired prompt.
	p2, err := e.roster.Prompt("sales", agents.PromptInfo{Contact: "Grace", TTL: time.Second}, e.clock.Now())
	require.NoError(t, err)
	e.clock.Advance(2 * time.Second)
	accept(p2.ID, ada.ID).problem(t, http.StatusConflict, "")

	// A preview prompt reserves its winner; an agent no longer available
	// cannot take it, and the others still can.
	p3, err := e.roster.Prompt("sales", agents.PromptInfo{Contact: "Grace", ContactID: c.ID, Reserve: true}, e.clock.Now())
	require.NoError(t, err)
	e.setState(ada.ID, "paused").ok(t, http.StatusOK, nil)
	pr := accept(p3.ID, ada.ID).problem(t, http.StatusConflict, "")
	require.Contains(t, pr.Type, "agent-busy")
	res = acceptResult{}
	accept(p3.ID, bob.ID).ok(t, http.StatusOK, &res)
	require.Equal(t, "reserved", res.Agent.State)
	require.Nil(t, res.OwnerChange, "a preview prompt sets no owner")
	e.do("GET", "/v1/contacts/"+c.ID+"/owner-changes", e.viewer, nil).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 1)
}

func TestContactOwner(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	ada, bob := e.mkAgent("ada", ""), e.mkAgent("bob", "")
	c := e.contact("+15551230003")
	set := func(agentID string) ownerResult {
		t.Helper()
		var r ownerResult
		e.do("PUT", "/v1/contacts/"+c.ID+"/owner", e.manager, map[string]string{"agent_id": agentID}).ok(t, http.StatusOK, &r)
		return r
	}
	r := set(ada.ID)
	require.True(t, r.Changed)
	require.Equal(t, ada.ID, r.Owner)
	require.Equal(t, engine.OwnerReasonAPI, r.Change.Reason)
	require.Empty(t, r.Change.From)

	r = set(ada.ID)
	require.False(t, r.Changed, "same owner: nothing recorded")
	require.Nil(t, r.Change)
	r = set(bob.ID)
	require.Equal(t, ada.ID, r.Change.From)
	r = set("")
	require.True(t, r.Changed)
	require.Equal(t, bob.ID, r.Change.From)
	require.Empty(t, r.Change.To)

	var page listPage[engine.OwnerChange]
	e.do("GET", "/v1/contacts/"+c.ID+"/owner-changes", e.agent, nil).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 3)
	var tos []string
	for _, ch := range page.Items {
		tos = append(tos, ch.To)
	}
	require.Equal(t, []string{ada.ID, bob.ID, ""}, tos, "oldest first")
	es := e.store.(engine.EnrollmentStore)
	got, err := es.GetContact(t.Context(), c.ID)
	require.NoError(t, err)
	require.Empty(t, got.Owner)

	for _, tc := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		field                   string
	}{
		{"unknown agent", "PUT", "/v1/contacts/" + c.ID + "/owner", e.manager, `{"agent_id":"nope"}`, 422, "agent_id"},
		{"missing agent_id", "PUT", "/v1/contacts/" + c.ID + "/owner", e.manager, `{}`, 422, "agent_id"},
		{"agent_id not a string", "PUT", "/v1/contacts/" + c.ID + "/owner", e.manager, `{"agent_id":5}`, 422, "agent_id"},
		{"unknown contact", "PUT", "/v1/contacts/nope/owner", e.manager, `{"agent_id":"` + ada.ID + `"}`, 404, ""},
		{"agent role cannot assign", "PUT", "/v1/contacts/" + c.ID + "/owner", e.agent, `{"agent_id":""}`, 403, ""},
		{"changes of unknown contact", "GET", "/v1/contacts/nope/owner-changes", e.viewer, nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do(tc.method, tc.path, tc.key, tc.body).problem(t, tc.status, tc.field)
		})
	}
}
