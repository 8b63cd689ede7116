package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func TestTemplates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.createCadence("")

	var tpl engine.Template
	e.do("POST", "/v1/cadences/"+c.ID+"/template", e.manager, `{"name":"Lead follow-up","description":"five steps"}`).ok(t, http.StatusCreated, &tpl)
	require.Equal(t, "Lead follow-up", tpl.Name)
	require.Len(t, tpl.Definition.Steps, 5)
	e.do("POST", "/v1/cadences/"+c.ID+"/template", e.manager, `{"description":"no name"}`).problem(t, http.StatusUnprocessableEntity, "name")
	e.do("POST", "/v1/cadences/"+c.ID+"/template", e.manager, `{"name":"x","colour":1}`).problem(t, http.StatusUnprocessableEntity, "colour")
	e.do("POST", "/v1/cadences/"+c.ID+"/template", e.manager, `{"name":5}`).problem(t, http.StatusUnprocessableEntity, "name")
	e.do("POST", "/v1/cadences/nope/template", e.manager, `{"name":"x"}`).problem(t, http.StatusNotFound, "")

	// A template from a definition; its definition is checked strictly.
	var def map[string]any
	require.NoError(t, json.Unmarshal(fiveStep(t), &def))
	var tpl2 engine.Template
	e.do("POST", "/v1/templates", e.manager, map[string]any{"name": "Second", "definition": def}).ok(t, http.StatusCreated, &tpl2)
	def["bogus"] = true
	e.do("POST", "/v1/templates", e.manager, map[string]any{"name": "Third", "definition": def}).problem(t, http.StatusUnprocessableEntity, "definition.bogus")
	e.do("POST", "/v1/templates", e.manager, map[string]any{"name": "Fourth"}).problem(t, http.StatusUnprocessableEntity, "definition")

	var page listPage[templateItem]
	e.do("GET", "/v1/templates?limit=1", e.viewer, nil).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, tpl.ID, page.Items[0].ID)
	require.Equal(t, 5, page.Items[0].Actions)
	e.do("GET", "/v1/templates?limit=1&after="+page.Next, e.viewer, nil).ok(t, http.StatusOK, &page)
	require.Equal(t, tpl2.ID, page.Items[0].ID)
	require.Empty(t, page.Next)

	var got engine.Template
	e.do("GET", "/v1/templates/"+tpl.ID, e.viewer, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, tpl.Definition, got.Definition)
	e.do("GET", "/v1/templates/nope", e.viewer, nil).problem(t, http.StatusNotFound, "")

	// Instantiate: a new draft cadence at version 1.
	var inst cadenceJSON
	e.do("POST", "/v1/templates/"+tpl.ID+"/instantiate", e.manager, nil).ok(t, http.StatusCreated, &inst)
	require.Equal(t, engine.StatusDraft, inst.Status)
	require.Equal(t, 1, inst.Version)
	require.Equal(t, "Speed to lead", inst.Name)
	e.do("POST", "/v1/templates/"+tpl.ID+"/instantiate", e.manager, `{"name":"From template"}`).ok(t, http.StatusCreated, &inst)
	require.Equal(t, "From template", inst.Name)
	e.do("POST", "/v1/templates/nope/instantiate", e.manager, nil).problem(t, http.StatusNotFound, "")

	// A template whose forward target was deleted cannot be instantiated.
	target := e.createCadence("target")
	fwd := mustDecode(t, fiveStep(t))
	fwd.Routing = append(fwd.Routing, engine.Rule{Disposition: "interested", Action: engine.Action{Type: engine.ActionForward, Cadence: target.ID}})
	stored, err := e.store.CreateTemplate(context.Background(), engine.Template{Name: "fwd", Definition: fwd}, e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/cadences/"+target.ID, e.manager, nil).status)
	e.do("POST", "/v1/templates/"+stored.ID+"/instantiate", e.manager, nil).problem(t, http.StatusUnprocessableEntity, "routing[1].action.cadence")

	e.do("DELETE", "/v1/templates/"+tpl.ID, e.viewer, nil).problem(t, http.StatusForbidden, "")
	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/templates/"+tpl.ID, e.manager, nil).status)
	e.do("DELETE", "/v1/templates/"+tpl.ID, e.manager, nil).problem(t, http.StatusNotFound, "")
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	var k createdKey
	r := e.do("POST", "/v1/api-keys", e.admin, `{"name":"dashboard","role":"manager"}`)
	r.ok(t, http.StatusCreated, &k)
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	require.Regexp(t, `^cdz_[A-Za-z0-9_-]{40}$`, k.Secret)
	require.Equal(t, k.Secret[:8], k.Prefix)
	require.Equal(t, engine.RoleManager, k.Role)

	// The new key works with its role.
	e.do("POST", "/v1/cadences", k.Secret, fiveStep(t)).ok(t, http.StatusCreated, nil)
	e.do("GET", "/v1/api-keys", k.Secret, nil).problem(t, http.StatusForbidden, "")

	// Lists never show secrets or hashes.
	r = e.do("GET", "/v1/api-keys?limit=500", e.admin, nil)
	var page listPage[map[string]any]
	r.ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 5)
	require.NotContains(t, string(r.body), k.Secret)
	for _, it := range page.Items {
		require.NotContains(t, it, "secret")
		require.NotContains(t, it, "hash")
	}

	e.do("POST", "/v1/api-keys", e.admin, `{"name":"x","role":"root"}`).problem(t, http.StatusUnprocessableEntity, "role")
	e.do("POST", "/v1/api-keys", e.admin, `{"role":"viewer"}`).problem(t, http.StatusUnprocessableEntity, "name")
	e.do("POST", "/v1/api-keys", e.admin, `{"name":"x","role":"viewer","secret":"mine"}`).problem(t, http.StatusUnprocessableEntity, "secret")
	e.do("POST", "/v1/api-keys", e.admin, `{"name":"x","role":"viewer"}`, "Idempotency-Key", "k1").problem(t, http.StatusBadRequest, "Idempotency-Key")

	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/api-keys/"+k.ID, e.admin, nil).status)
	e.do("GET", "/v1/cadences", k.Secret, nil).problem(t, http.StatusUnauthorized, "")
	e.do("DELETE", "/v1/api-keys/"+k.ID, e.admin, nil).problem(t, http.StatusNotFound, "")

	// The last admin key cannot go.
	var me listPage[engine.APIKey]
	e.do("GET", "/v1/api-keys", e.admin, nil).ok(t, http.StatusOK, &me)
	for _, it := range me.Items {
		if it.Role == engine.RoleAdmin {
			e.do("DELETE", "/v1/api-keys/"+it.ID, e.admin, nil).problem(t, http.StatusConflict, "")
		}
	}
}

func TestBootstrapAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newTestClock()

	st := openSQLite(t)
	printed, err := BootstrapAdmin(ctx, st, "", clk.Now())
	require.NoError(t, err)
	require.Regexp(t, `^cdz_`, printed)
	k, err := st.APIKeyByHash(ctx, HashKey(printed), clk.Now())
	require.NoError(t, err)
	require.Equal(t, engine.RoleAdmin, k.Role)
	again, err := BootstrapAdmin(ctx, st, "", clk.Now())
	require.NoError(t, err)
	require.Empty(t, again, "keys exist: nothing is created or printed")

	st2 := openSQLite(t)
	_, err = BootstrapAdmin(ctx, st2, "short", clk.Now())
	require.Error(t, err)
	env := "operator-chosen-admin-key-123"
	printed, err = BootstrapAdmin(ctx, st2, env, clk.Now())
	require.NoError(t, err)
	require.Empty(t, printed, "the operator knows the key from the environment")
	k, err = st2.APIKeyByHash(ctx, HashKey(env), clk.Now())
	require.NoError(t, err)
	require.Equal(t, engine.RoleAdmin, k.Role)

	require.NotEqual(t, GenerateKey(), GenerateKey())
	_, _, err = CreateKey(ctx, st2, "", engine.RoleViewer, "", clk.Now())
	require.Error(t, err)
}
