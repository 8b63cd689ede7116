package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/postgres/pgtest"
)

// openPostgres returns a migrated Postgres store in a schema of its own,
// dropped at cleanup. Without CADENZA_TEST_POSTGRES_URL the test is
// skipped, unless CADENZA_TEST_REQUIRE_SERVICES=1 (make test) fails it.
func openPostgres(t testing.TB) engine.Store {
	t.Helper()
	st, _, _ := pgtest.Open(t, "cadenza_api_test_", 8)
	return st
}

func TestTourSQLite(t *testing.T) {
	t.Parallel()
	tour(t, newEnv(t))
}

func TestTourPostgres(t *testing.T) {
	t.Parallel()
	tour(t, newEnvWithStore(t, openPostgres(t)))
}

func TestIdempotentConcurrentDuplicatesPostgres(t *testing.T) {
	t.Parallel()
	concurrentDuplicates(t, openPostgres(t))
}

// tour walks the main API path on any store: a new key, an imported
// five-step cadence, edits and versions, an asset and activation, export
// round trip, a template, pagination and delete.
func tour(t *testing.T, e *env) {
	var k createdKey
	e.do("POST", "/v1/api-keys", e.admin, `{"name":"ops","role":"manager"}`).ok(t, http.StatusCreated, &k)
	mgr := k.Secret

	doc, err := engine.ExportDocument(mustDecode(t, fiveStep(t)))
	require.NoError(t, err)
	var c cadenceJSON
	e.do("POST", "/v1/cadences/import", mgr, doc, "Idempotency-Key", "tour-import").ok(t, http.StatusCreated, &c)
	r := e.do("POST", "/v1/cadences/import", mgr, doc, "Idempotency-Key", "tour-import")
	require.Equal(t, "true", r.header.Get("Idempotent-Replayed"))
	base := "/v1/cadences/" + c.ID

	e.do("PUT", base, mgr, defWith(t, func(m map[string]any) { m["name"] = "Tour v2" }), "If-Match", `"1"`).ok(t, http.StatusOK, &c)
	require.Equal(t, 2, c.Version)
	e.do("PUT", base, mgr, defWith(t, func(m map[string]any) { m["name"] = "Tour v3" }), "If-Match", `"1"`).problem(t, http.StatusPreconditionFailed, "")
	e.do("PUT", base, mgr, defWith(t, func(m map[string]any) { m["name"] = "Tour v3"; m["version"] = 2 })).ok(t, http.StatusOK, &c)
	require.Equal(t, 3, c.Version)

	var vs listPage[engine.CadenceVersion]
	e.do("GET", base+"/versions", e.viewer, nil).ok(t, http.StatusOK, &vs)
	require.Len(t, vs.Items, 3)
	require.Equal(t, "Tour v3", vs.Items[0].Definition.Name)
	require.Equal(t, "Speed to lead", vs.Items[2].Definition.Name)

	e.do("POST", base+"/activate", mgr, nil).problem(t, http.StatusUnprocessableEntity, "steps[1].call.voicemail.asset")
	e.do("POST", "/v1/assets?name=vm-intro", mgr, wavBytes(t, 16000, 1, 16, 16000), "Content-Type", "audio/wav").ok(t, http.StatusCreated, nil)
	e.do("POST", base+"/activate", mgr, nil).ok(t, http.StatusOK, &c)
	require.Equal(t, engine.StatusActive, c.Status)

	exp1 := e.do("GET", base+"/export", e.viewer, nil)
	require.Equal(t, http.StatusOK, exp1.status)
	var c2 cadenceJSON
	e.do("POST", "/v1/cadences/import", mgr, exp1.body).ok(t, http.StatusCreated, &c2)
	exp2 := e.do("GET", "/v1/cadences/"+c2.ID+"/export", e.viewer, nil)
	var d1, d2 map[string]any
	require.NoError(t, json.Unmarshal(exp1.body, &d1))
	require.NoError(t, json.Unmarshal(exp2.body, &d2))
	require.Equal(t, d1["cadence"], d2["cadence"])
	require.Equal(t, d1["format"], d2["format"])

	var tpl engine.Template
	e.do("POST", base+"/template", mgr, `{"name":"Tour template"}`).ok(t, http.StatusCreated, &tpl)
	var c3 cadenceJSON
	e.do("POST", "/v1/templates/"+tpl.ID+"/instantiate", mgr, `{"name":"From tour"}`).ok(t, http.StatusCreated, &c3)
	require.Equal(t, engine.StatusDraft, c3.Status)

	var ids []string
	after := ""
	for {
		var page listPage[cadenceItem]
		e.do("GET", "/v1/cadences?limit=2&after="+after, e.viewer, nil).ok(t, http.StatusOK, &page)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	require.Equal(t, []string{c.ID, c2.ID, c3.ID}, ids)

	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/cadences/"+c3.ID, mgr, nil).status)
	e.do("GET", "/v1/cadences/"+c3.ID, e.viewer, nil).problem(t, http.StatusNotFound, "")
	e.do("GET", "/readyz", "", nil).ok(t, http.StatusOK, nil)
}
