package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func TestAuthAndRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	r := e.do("GET", "/v1/cadences", "", nil)
	r.problem(t, http.StatusUnauthorized, "Authorization")
	require.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")
	e.do("GET", "/v1/cadences", "", nil, "Authorization", "Basic dXNlcjpwYXNz").problem(t, http.StatusUnauthorized, "Authorization")
	e.do("GET", "/v1/cadences", "cdz_not-a-key", nil).problem(t, http.StatusUnauthorized, "Authorization")

	for _, key := range []string{e.viewer, e.agent, e.manager, e.admin} {
		e.do("GET", "/v1/cadences", key, nil).ok(t, http.StatusOK, nil)
	}
	for _, key := range []string{e.viewer, e.agent} {
		p := e.do("POST", "/v1/cadences", key, fiveStep(t)).problem(t, http.StatusForbidden, "")
		require.Contains(t, p.Detail, "manager")
		e.do("POST", "/v1/templates", key, "{}").problem(t, http.StatusForbidden, "")
		e.do("POST", "/v1/assets?name=x", key, "RIFF", "Content-Type", "audio/wav").problem(t, http.StatusForbidden, "")
	}
	for _, key := range []string{e.viewer, e.agent, e.manager} {
		e.do("GET", "/v1/api-keys", key, nil).problem(t, http.StatusForbidden, "")
		e.do("POST", "/v1/api-keys", key, `{"name":"x","role":"viewer"}`).problem(t, http.StatusForbidden, "")
	}
	e.do("GET", "/v1/api-keys", e.admin, nil).ok(t, http.StatusOK, nil)

	// The access log names the key by id, never by secret.
	logs := e.log.String()
	require.Contains(t, logs, `"route":"/v1/cadences"`)
	require.Contains(t, logs, `"key_id":"`)
	for _, secret := range []string{e.viewer, e.agent, e.manager, e.admin} {
		require.NotContains(t, logs, secret)
	}
}

func TestCadenceCreateGetUpdateVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.createCadence("")
	require.Equal(t, engine.StatusDraft, c.Status)
	require.Equal(t, 1, c.Version)
	require.Len(t, c.Steps, 5)

	r := e.do("GET", "/v1/cadences/"+c.ID, e.viewer, nil)
	var got map[string]any
	r.ok(t, http.StatusOK, &got)
	require.Equal(t, `"1"`, r.header.Get("ETag"))
	require.Equal(t, "Speed to lead", got["name"])
	require.Contains(t, got, "stats")

	// Each save is a new version.
	v2 := defWith(t, func(m map[string]any) { m["name"] = "Speed to lead v2" })
	var c2 cadenceJSON
	r = e.do("PUT", "/v1/cadences/"+c.ID, e.manager, v2, "If-Match", `"1"`)
	r.ok(t, http.StatusOK, &c2)
	require.Equal(t, 2, c2.Version)
	require.Equal(t, `"2"`, r.header.Get("ETag"))

	// A stale If-Match is 412; a stale body version is 409.
	e.do("PUT", "/v1/cadences/"+c.ID, e.manager, v2, "If-Match", `"1"`).problem(t, http.StatusPreconditionFailed, "")
	stale := defWith(t, func(m map[string]any) { m["version"] = 1 })
	e.do("PUT", "/v1/cadences/"+c.ID, e.manager, stale).problem(t, http.StatusConflict, "")
	e.do("PUT", "/v1/cadences/"+c.ID, e.manager, v2, "If-Match", `banana`).problem(t, http.StatusBadRequest, "If-Match")

	// What GET returns can be edited and sent back; its version guards
	// against lost updates.
	got["description"] = "edited after GET"
	e.do("PUT", "/v1/cadences/"+c.ID, e.manager, got).problem(t, http.StatusConflict, "")
	e.do("GET", "/v1/cadences/"+c.ID, e.viewer, nil).ok(t, http.StatusOK, &got)
	require.EqualValues(t, 2, got["version"])
	got["description"] = "edited after GET"
	var c3 cadenceJSON
	e.do("PUT", "/v1/cadences/"+c.ID, e.manager, got).ok(t, http.StatusOK, &c3)
	require.Equal(t, 3, c3.Version)
	got["id"] = "someone-else"
	e.do("PUT", "/v1/cadences/"+c.ID, e.manager, got).problem(t, http.StatusUnprocessableEntity, "id")
	got["id"] = c.ID
	got["status"] = "active"
	e.do("PUT", "/v1/cadences/"+c.ID, e.manager, got).problem(t, http.StatusUnprocessableEntity, "status")

	// Versions, newest first, paged.
	var page listPage[engine.CadenceVersion]
	r = e.do("GET", "/v1/cadences/"+c.ID+"/versions?limit=2", e.viewer, nil)
	r.ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 2)
	require.Equal(t, []int{3, 2}, []int{page.Items[0].Version, page.Items[1].Version})
	require.Equal(t, "2", page.Next)
	require.Contains(t, r.header.Get("Link"), `after=2`)
	e.do("GET", "/v1/cadences/"+c.ID+"/versions?limit=2&after="+page.Next, e.viewer, nil).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, 1, page.Items[0].Version)
	require.Equal(t, "", page.Next)

	var v1 engine.CadenceVersion
	e.do("GET", "/v1/cadences/"+c.ID+"/versions/1", e.viewer, nil).ok(t, http.StatusOK, &v1)
	require.Equal(t, "Speed to lead", v1.Definition.Name)
	e.do("GET", "/v1/cadences/"+c.ID+"/versions/9", e.viewer, nil).problem(t, http.StatusNotFound, "")
	e.do("GET", "/v1/cadences/"+c.ID+"/versions/x", e.viewer, nil).problem(t, http.StatusUnprocessableEntity, "n")
	e.do("GET", "/v1/cadences/nope/versions", e.viewer, nil).problem(t, http.StatusNotFound, "")
	e.do("GET", "/v1/cadences/nope", e.viewer, nil).problem(t, http.StatusNotFound, "")
	e.do("PUT", "/v1/cadences/nope", e.manager, v2).problem(t, http.StatusNotFound, "")
}

func TestCadenceValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	unknown := defWith(t, func(m map[string]any) { m["colour"] = "blue" })
	p := e.do("POST", "/v1/cadences", e.manager, unknown).problem(t, http.StatusUnprocessableEntity, "colour")
	require.Contains(t, p.Detail, "colour")

	bad := defWith(t, func(m map[string]any) {
		m["name"] = ""
		steps := m["steps"].([]any)
		steps[1].(map[string]any)["timing"].(map[string]any)["delay"] = "-5m"
	})
	p = e.do("POST", "/v1/cadences", e.manager, bad).problem(t, http.StatusUnprocessableEntity, "name")
	require.GreaterOrEqual(t, len(p.Errors), 2, "every error is reported: %+v", p.Errors)

	// References the document cannot check alone.
	fwd := defWith(t, func(m map[string]any) {
		steps := m["steps"].([]any)
		steps[1].(map[string]any)["routing"] = []any{map[string]any{
			"disposition": "interested", "action": map[string]any{"type": "forward", "cadence": "x"}}}
	})
	p = e.do("POST", "/v1/cadences", e.manager, fwd).problem(t, http.StatusUnprocessableEntity, "steps[1].routing[0].action.cadence")
	require.Contains(t, p.Detail, `no cadence "x"`)
	enroll := defWith(t, func(m map[string]any) {
		m["runs"] = map[string]any{"total": 1, "after": map[string]any{"action": "enroll", "cadence": "gone"}}
	})
	e.do("POST", "/v1/cadences", e.manager, enroll).problem(t, http.StatusUnprocessableEntity, "runs.after.cadence")

	// Forwarding to a cadence that exists is fine.
	target := e.createCadence("target")
	ok := defWith(t, func(m map[string]any) {
		m["routing"] = []any{map[string]any{"disposition": "interested", "action": map[string]any{"type": "forward", "cadence": target.ID}}}
	})
	e.do("POST", "/v1/cadences", e.manager, ok).ok(t, http.StatusCreated, nil)

	// Malformed bodies are 400/422, never 500.
	e.do("POST", "/v1/cadences", e.manager, `{"name":`).problem(t, http.StatusUnprocessableEntity, "")
	e.do("POST", "/v1/cadences", e.manager, `[]`).problem(t, http.StatusUnprocessableEntity, "")
	e.do("POST", "/v1/cadences", e.manager, ``).problem(t, http.StatusBadRequest, "body")
	e.do("POST", "/v1/cadences", e.manager, fiveStep(t), "Content-Type", "text/plain").problem(t, http.StatusUnsupportedMediaType, "Content-Type")
}

func TestCadenceLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.CallerIDPools = []string{"other"} })
	c := e.createCadence("")
	base := "/v1/cadences/" + c.ID

	// A draft may name an asset that does not exist yet; activation may not,
	// nor may it use an unconfigured caller-ID pool.
	p := e.do("POST", base+"/activate", e.manager, nil).problem(t, http.StatusUnprocessableEntity, "steps[1].call.voicemail.asset")
	var paths []string
	for _, fe := range p.Errors {
		paths = append(paths, fe.Path)
	}
	require.Contains(t, paths, "steps[1].call.caller_id.pool")
	require.Contains(t, paths, "steps[2].call.caller_id.pool")
	e.do("POST", base+"/deactivate", e.manager, nil).problem(t, http.StatusConflict, "")

	e2 := newEnvWithStore(t, e.store, func(o *Options) { o.CallerIDPools = []string{"main"} })
	e2.do("POST", "/v1/assets?name=vm-intro", e2.manager, wavBytes(t, 8000, 1, 16, 800), "Content-Type", "audio/wav").ok(t, http.StatusCreated, nil)
	var got cadenceJSON
	e2.do("POST", base+"/activate", e2.manager, "{}").ok(t, http.StatusOK, &got)
	require.Equal(t, engine.StatusActive, got.Status)
	require.Equal(t, 1, got.Version, "a status change is not a version")
	e2.do("POST", base+"/activate", e2.manager, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, engine.StatusActive, got.Status)

	// An active cadence stays runnable: saving it with a missing asset fails.
	missing := defWith(t, func(m map[string]any) {
		steps := m["steps"].([]any)
		steps[1].(map[string]any)["call"].(map[string]any)["voicemail"] = map[string]any{"enabled": true, "asset": "nope"}
	})
	e2.do("PUT", base, e2.manager, missing).problem(t, http.StatusUnprocessableEntity, "steps[1].call.voicemail.asset")

	// Nor can its asset be deleted from under it (unless forced).
	p = e2.do("DELETE", "/v1/assets/vm-intro", e2.manager, nil).problem(t, http.StatusConflict, "")
	require.Contains(t, p.Detail, c.ID)
	e2.do("DELETE", "/v1/assets/vm-intro?force=perhaps", e2.manager, nil).problem(t, http.StatusUnprocessableEntity, "force")

	e2.do("POST", base+"/deactivate", e2.manager, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, engine.StatusInactive, got.Status)
	e2.do("POST", base+"/activate", e2.manager, `{"x":1}`).problem(t, http.StatusBadRequest, "body")
	e2.do("POST", base+"/archive", e2.manager, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, engine.StatusArchived, got.Status)
	e2.do("POST", base+"/activate", e2.manager, nil).problem(t, http.StatusConflict, "")
	e2.do("PUT", base, e2.manager, fiveStep(t)).problem(t, http.StatusConflict, "")
	e2.do("POST", "/v1/cadences/nope/activate", e2.manager, nil).problem(t, http.StatusNotFound, "")

	// Duplicate: a new draft, version 1.
	var dup cadenceJSON
	e2.do("POST", base+"/duplicate", e2.manager, nil).ok(t, http.StatusCreated, &dup)
	require.NotEqual(t, c.ID, dup.ID)
	require.Equal(t, "Speed to lead (copy)", dup.Name)
	require.Equal(t, engine.StatusDraft, dup.Status)
	e2.do("POST", base+"/duplicate", e2.manager, `{"name":"Mine"}`).ok(t, http.StatusCreated, &dup)
	require.Equal(t, "Mine", dup.Name)
	e2.do("POST", "/v1/cadences/nope/duplicate", e2.manager, nil).problem(t, http.StatusNotFound, "")
	e2.do("POST", base+"/duplicate", e2.manager, `{"nom":"Mine"}`).problem(t, http.StatusUnprocessableEntity, "nom")
	e2.do("POST", base+"/duplicate", e2.manager, `{"name":`+strings.Repeat(`"x`, 1)+strings.Repeat("y", 300)+`"}`).problem(t, http.StatusUnprocessableEntity, "name")
}

func TestCadenceDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.createCadence("")
	es, ok := e.store.(engine.EnrollmentStore)
	require.True(t, ok, "the SQLite store keeps enrollments")
	ctx := context.Background()
	ct, err := es.UpsertContact(ctx, engine.Contact{Phone: "+12125550100"}, e.clock.Now())
	require.NoError(t, err)
	_, err = es.CreateEnrollment(ctx, engine.Enrollment{CadenceID: c.ID, ContactID: ct.ID, Status: engine.EnrollmentActive}, e.clock.Now())
	require.NoError(t, err)

	p := e.do("DELETE", "/v1/cadences/"+c.ID, e.manager, nil).problem(t, http.StatusConflict, "")
	require.Contains(t, p.Detail, "force=true")
	e.do("DELETE", "/v1/cadences/"+c.ID+"?force=maybe", e.manager, nil).problem(t, http.StatusUnprocessableEntity, "force")
	e.do("DELETE", "/v1/cadences/"+c.ID, e.viewer, nil).problem(t, http.StatusForbidden, "")
	r := e.do("DELETE", "/v1/cadences/"+c.ID+"?force=true", e.manager, nil)
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	e.do("GET", "/v1/cadences/"+c.ID, e.viewer, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", "/v1/cadences/"+c.ID, e.manager, nil).problem(t, http.StatusNotFound, "")

	// A cadence that an active cadence forwards to stays until forced; a
	// draft forwarding to it does not hold it.
	target := e.createCadence("target")
	e.do("POST", "/v1/assets?name=vm-intro", e.manager, wavBytes(t, 8000, 1, 16, 800), "Content-Type", "audio/wav").ok(t, http.StatusCreated, nil)
	var src cadenceJSON
	e.do("POST", "/v1/cadences", e.manager, defWith(t, func(m map[string]any) {
		m["routing"] = []any{map[string]any{"disposition": "interested", "action": map[string]any{"type": "forward", "cadence": target.ID}}}
	})).ok(t, http.StatusCreated, &src)
	e.do("POST", "/v1/cadences/"+src.ID+"/activate", e.manager, nil).ok(t, http.StatusOK, nil)
	p = e.do("DELETE", "/v1/cadences/"+target.ID, e.manager, nil).problem(t, http.StatusConflict, "")
	require.Contains(t, p.Detail, src.ID)
	e.do("POST", "/v1/cadences/"+src.ID+"/deactivate", e.manager, nil).ok(t, http.StatusOK, nil)
	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/cadences/"+target.ID, e.manager, nil).status)
}

func TestCadenceListPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for i := range 7 {
		ids = append(ids, e.createCadence(fmt.Sprintf("C%d", i)).ID)
	}
	e.do("POST", "/v1/cadences/"+ids[0]+"/archive", e.manager, nil).ok(t, http.StatusOK, nil)

	var seen []string
	url := "/v1/cadences?limit=3"
	pages := 0
	for url != "" {
		var page listPage[cadenceItem]
		r := e.do("GET", url, e.viewer, nil)
		r.ok(t, http.StatusOK, &page)
		pages++
		for _, it := range page.Items {
			seen = append(seen, it.ID)
			require.Equal(t, 5, it.Actions)
			require.Equal(t, 3, it.DispositionRules)
			require.Equal(t, 1, it.Version)
			require.Nil(t, it.LastTriggered)
		}
		url = ""
		if page.Next != "" {
			link := r.header.Get("Link")
			require.Contains(t, link, `rel="next"`)
			url = strings.TrimPrefix(strings.SplitN(link, ">", 2)[0], "<")
			require.Contains(t, url, "limit=3")
		} else {
			require.Empty(t, r.header.Get("Link"))
		}
	}
	require.Equal(t, 3, pages)
	require.Equal(t, ids, seen, "oldest first, each exactly once")

	var drafts listPage[cadenceItem]
	e.do("GET", "/v1/cadences?status=archived", e.viewer, nil).ok(t, http.StatusOK, &drafts)
	require.Len(t, drafts.Items, 1)
	require.Equal(t, ids[0], drafts.Items[0].ID)

	// The raw JSON uses the seed 001 column names.
	var raw listPage[map[string]any]
	e.do("GET", "/v1/cadences?limit=1", e.viewer, nil).ok(t, http.StatusOK, &raw)
	for _, col := range []string{"id", "name", "status", "version", "actions", "disposition_rules", "invocations", "tasks_run", "last_triggered", "last_action_ran", "created_at"} {
		require.Contains(t, raw.Items[0], col)
	}

	for _, q := range []string{"limit=0", "limit=501", "limit=x"} {
		e.do("GET", "/v1/cadences?"+q, e.viewer, nil).problem(t, http.StatusUnprocessableEntity, "limit")
	}
	e.do("GET", "/v1/cadences?status=sleeping", e.viewer, nil).problem(t, http.StatusUnprocessableEntity, "status")
	e.do("GET", "/v1/cadences?after=garbage", e.viewer, nil).problem(t, http.StatusUnprocessableEntity, "after")
	e.do("GET", "/v1/templates?after=garbage", e.viewer, nil).problem(t, http.StatusUnprocessableEntity, "after")
	e.do("GET", "/v1/assets?after=garbage", e.viewer, nil).problem(t, http.StatusUnprocessableEntity, "after")
	e.do("GET", "/v1/api-keys?after=garbage", e.admin, nil).problem(t, http.StatusUnprocessableEntity, "after")
}

func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc1, err := engine.ExportDocument(mustDecode(t, fiveStep(t)))
	require.NoError(t, err)

	var c cadenceJSON
	e.do("POST", "/v1/cadences/import", e.manager, doc1).ok(t, http.StatusCreated, &c)
	require.Equal(t, engine.StatusDraft, c.Status)

	r := e.do("GET", "/v1/cadences/"+c.ID+"/export", e.viewer, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, `attachment; filename="speed-to-lead.cadence.json"`, r.header.Get("Content-Disposition"))
	exp1 := r.body

	var c2 cadenceJSON
	e.do("POST", "/v1/cadences/import", e.manager, exp1).ok(t, http.StatusCreated, &c2)
	require.NotEqual(t, c.ID, c2.ID)
	exp2 := e.do("GET", "/v1/cadences/"+c2.ID+"/export", e.viewer, nil).body

	// Identical apart from the source (id, version, export time).
	strip := func(b []byte) map[string]any {
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		src := m["source"].(map[string]any)
		require.NotEmpty(t, src["id"])
		delete(m, "source")
		return m
	}
	require.Equal(t, strip(exp1), strip(exp2))
	var d1 map[string]any
	require.NoError(t, json.Unmarshal(doc1, &d1))
	require.Equal(t, d1["cadence"], strip(exp1)["cadence"])

	// Older versions export too.
	e.do("PUT", "/v1/cadences/"+c.ID, e.manager, defWith(t, func(m map[string]any) { m["name"] = "Renamed" })).ok(t, http.StatusOK, nil)
	var old map[string]any
	e.do("GET", "/v1/cadences/"+c.ID+"/export?version=1", e.viewer, nil).ok(t, http.StatusOK, &old)
	require.Equal(t, "Speed to lead", old["cadence"].(map[string]any)["name"])
	e.do("GET", "/v1/cadences/"+c.ID+"/export?version=7", e.viewer, nil).problem(t, http.StatusNotFound, "")
	e.do("GET", "/v1/cadences/"+c.ID+"/export?version=zero", e.viewer, nil).problem(t, http.StatusUnprocessableEntity, "version")
	e.do("GET", "/v1/cadences/nope/export", e.viewer, nil).problem(t, http.StatusNotFound, "")

	// Every error of a bad document at once.
	bad := strings.Replace(string(exp1), `"name": "Speed to lead"`, `"name": ""`, 1)
	bad = strings.Replace(bad, `"total": 1`, `"total": 1, "bogus": true`, 1)
	p := e.do("POST", "/v1/cadences/import", e.manager, bad).problem(t, http.StatusUnprocessableEntity, "")
	require.NotEmpty(t, p.Errors)
	e.do("POST", "/v1/cadences/import", e.manager, `{"format":"other/v9","cadence":{}}`).problem(t, http.StatusUnprocessableEntity, "")
}

func mustDecode(t testing.TB, b []byte) engine.Definition {
	t.Helper()
	d, errs := engine.DecodeDefinition(b)
	require.Empty(t, errs)
	return d
}
