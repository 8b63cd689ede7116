package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/engine"
)

// schemaChecker checks JSON values against the document's schemas: the
// subset our document uses ($ref, type, properties, required,
// additionalProperties, items, enum, const). It catches drift between
// what handlers send and what openapi.json promises.
type schemaChecker struct {
	doc map[string]any
}

func newSchemaChecker(t *testing.T) *schemaChecker {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(openAPIDocument, &doc))
	return &schemaChecker{doc: doc}
}

func (c *schemaChecker) resolve(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var node any = c.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			node = node.(map[string]any)[part]
		}
		s = node.(map[string]any)
	}
}

// check returns every mismatch of v against schema, by JSON path.
func (c *schemaChecker) check(path string, schema map[string]any, v any) []string {
	s := c.resolve(schema)
	var errs []string
	if types := schemaTypes(s); len(types) > 0 && !types[jsonType(v)] && !(jsonType(v) == "integer" && types["number"]) {
		return []string{fmt.Sprintf("%s: %s, want %v", path, jsonType(v), s["type"])}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if e == v {
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v not in %v", path, v, enum))
		}
	}
	if cst, ok := s["const"]; ok && cst != v {
		errs = append(errs, fmt.Sprintf("%s: %v, want %v", path, v, cst))
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required %q missing", path, r))
			}
		}
		for k, val := range x {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, c.check(path+"."+k, ps, val)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: undocumented field %q", path, k))
				}
			case map[string]any:
				errs = append(errs, c.check(path+"."+k, ap, val)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range x {
				errs = append(errs, c.check(fmt.Sprintf("%s[%d]", path, i), items, it)...)
			}
		}
	}
	return errs
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func schemaTypes(s map[string]any) map[string]bool {
	out := map[string]bool{}
	switch t := s["type"].(type) {
	case string:
		out[t] = true
	case []any:
		for _, x := range t {
			out[x.(string)] = true
		}
	}
	return out
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// responseSchema finds the schema the document gives for a response.
func (c *schemaChecker) responseSchema(t *testing.T, method, pattern string, status int, ctype string) map[string]any {
	t.Helper()
	op := c.doc["paths"].(map[string]any)[pattern].(map[string]any)[strings.ToLower(method)].(map[string]any)
	resp, ok := op["responses"].(map[string]any)[fmt.Sprint(status)].(map[string]any)
	require.True(t, ok, "%s %s: status %d undocumented", method, pattern, status)
	resp = c.resolve(resp)
	content, ok := resp["content"].(map[string]any)[ctype].(map[string]any)
	require.True(t, ok, "%s %s %d: content type %s undocumented", method, pattern, status, ctype)
	return content["schema"].(map[string]any)
}

// TestResponsesMatchDocument sends one request per kind of response and
// checks the body against the schema the document declares for it.
func TestResponsesMatchDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.CallerIDPools = []string{"main"} })
	sc := newSchemaChecker(t)

	c := e.createCadence("")
	id := c.ID
	var tpl struct{ ID string }
	var asset struct{ ID string }
	type call struct {
		method, pattern, path, key string
		body                       any
		hdr                        []string
		status                     int
		into                       any
	}
	calls := []call{
		{"GET", "/healthz", "/healthz", "", nil, nil, 200, nil},
		{"GET", "/readyz", "/readyz", "", nil, nil, 200, nil},
		{"POST", "/v1/cadences", "/v1/cadences", e.manager, fiveStep(t), nil, 201, nil},
		{"POST", "/v1/cadences", "/v1/cadences", e.manager, `{"name":""}`, nil, 422, nil},
		{"POST", "/v1/cadences", "/v1/cadences", e.viewer, fiveStep(t), nil, 403, nil},
		{"POST", "/v1/cadences", "/v1/cadences", "", fiveStep(t), nil, 401, nil},
		{"GET", "/v1/cadences", "/v1/cadences?limit=1", e.viewer, nil, nil, 200, nil},
		{"GET", "/v1/cadences/{id}", "/v1/cadences/" + id, e.viewer, nil, nil, 200, nil},
		{"GET", "/v1/cadences/{id}", "/v1/cadences/nope", e.viewer, nil, nil, 404, nil},
		{"PUT", "/v1/cadences/{id}", "/v1/cadences/" + id, e.manager, fiveStep(t), nil, 200, nil},
		{"PUT", "/v1/cadences/{id}", "/v1/cadences/" + id, e.manager, fiveStep(t), []string{"If-Match", `"1"`}, 412, nil},
		{"GET", "/v1/cadences/{id}/versions", "/v1/cadences/" + id + "/versions", e.viewer, nil, nil, 200, nil},
		{"GET", "/v1/cadences/{id}/versions/{n}", "/v1/cadences/" + id + "/versions/1", e.viewer, nil, nil, 200, nil},
		{"GET", "/v1/cadences/{id}/export", "/v1/cadences/" + id + "/export", e.viewer, nil, nil, 200, nil},
		{"POST", "/v1/cadences/{id}/template", "/v1/cadences/" + id + "/template", e.manager, `{"name":"t"}`, nil, 201, &tpl},
		{"GET", "/v1/templates", "/v1/templates", e.viewer, nil, nil, 200, nil},
		{"POST", "/v1/assets", "/v1/assets?name=vm-intro", e.manager, wavBytes(t, 8000, 1, 16, 800), []string{"Content-Type", "audio/wav"}, 201, &asset},
		{"POST", "/v1/assets", "/v1/assets?name=x", e.manager, "text", []string{"Content-Type", "text/plain"}, 415, nil},
		{"GET", "/v1/assets", "/v1/assets", e.viewer, nil, nil, 200, nil},
		{"POST", "/v1/cadences/{id}/activate", "/v1/cadences/" + id + "/activate", e.manager, nil, nil, 200, nil},
		{"POST", "/v1/cadences/{id}/duplicate", "/v1/cadences/" + id + "/duplicate", e.manager, nil, nil, 201, nil},
		{"DELETE", "/v1/cadences/{id}", "/v1/cadences/" + id, e.manager, nil, nil, 204, nil},
		{"POST", "/v1/api-keys", "/v1/api-keys", e.admin, `{"name":"k","role":"viewer"}`, nil, 201, nil},
		{"GET", "/v1/api-keys", "/v1/api-keys", e.admin, nil, nil, 200, nil},
	}
	for _, cl := range calls {
		r := e.do(cl.method, cl.path, cl.key, cl.body, cl.hdr...)
		require.Equal(t, cl.status, r.status, "%s %s: %s", cl.method, cl.path, r.body)
		if cl.into != nil {
			require.NoError(t, json.Unmarshal(r.body, cl.into))
		}
		if r.status == http.StatusNoContent {
			continue
		}
		ctype := strings.Split(r.header.Get("Content-Type"), ";")[0]
		schema := sc.responseSchema(t, cl.method, cl.pattern, r.status, ctype)
		var v any
		require.NoError(t, json.Unmarshal(r.body, &v), "%s %s", cl.method, cl.path)
		require.Empty(t, sc.check("$", schema, v), "%s %s: %s", cl.method, cl.path, r.body)
	}
	for _, cl := range []call{
		{"GET", "/v1/templates/{id}", "/v1/templates/" + tpl.ID, e.viewer, nil, nil, 200, nil},
		{"POST", "/v1/templates/{id}/instantiate", "/v1/templates/" + tpl.ID + "/instantiate", e.manager, nil, nil, 201, nil},
		{"GET", "/v1/assets/{id}", "/v1/assets/" + asset.ID, e.viewer, nil, nil, 200, nil},
	} {
		r := e.do(cl.method, cl.path, cl.key, cl.body, cl.hdr...)
		require.Equal(t, cl.status, r.status, "%s %s: %s", cl.method, cl.path, r.body)
		var v any
		require.NoError(t, json.Unmarshal(r.body, &v))
		require.Empty(t, sc.check("$", sc.responseSchema(t, cl.method, cl.pattern, r.status, "application/json"), v), "%s %s: %s", cl.method, cl.path, r.body)
	}

	// The checker itself catches drift.
	bad := map[string]any{"id": "x", "name": 5, "extra": true}
	require.NotEmpty(t, sc.check("$", map[string]any{"$ref": "#/components/schemas/Asset"}, bad))
}

// TestDefinitionSchemaMatchesEngine keeps the document's definition
// schemas in step with the engine's Go types: the same JSON field names.
func TestDefinitionSchemaMatchesEngine(t *testing.T) {
	t.Parallel()
	sc := newSchemaChecker(t)
	schemas := sc.doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name, v := range map[string]any{
		"Definition": engine.Definition{}, "Window": engine.Window{}, "Runs": engine.Runs{},
		"AfterRuns": engine.AfterRuns{}, "OwnerPolicy": engine.OwnerPolicy{}, "Harassment": engine.Harassment{},
		"Limit": engine.Limit{}, "Step": engine.Step{}, "Timing": engine.Timing{}, "CallStep": engine.CallStep{},
		"CallerID": engine.CallerID{}, "Voicemail": engine.Voicemail{}, "Retry": engine.Retry{},
		"OnHuman": engine.OnHuman{}, "SMSStep": engine.SMSStep{}, "Action": engine.Action{},
		"Rule": engine.Rule{}, "Condition": engine.Condition{}, "Template": engine.Template{},
		"Asset": engine.Asset{}, "CadenceVersion": engine.CadenceVersion{}, "CadenceStats": engine.CadenceStats{},
		"Problem": Problem{}, "FieldError": engine.FieldError{}, "CadenceItem": cadenceItem{}, "TemplateItem": templateItem{},
		"Contact": engine.Contact{}, "Enrollment": engine.Enrollment{}, "AgentDisposition": engine.AgentDisposition{},
		"Event": engine.Event{}, "TrunkInfo": TrunkInfo{}, "PoolStatus": callerid.PoolStatus{}, "NumberStatus": callerid.NumberStatus{},
		"ContactCreate": contactBody{}, "ContactImport": contactImport{}, "ImportError": importError{}, "DNCImport": dncImport{},
		"DNCResult": dncResult{}, "DNCCreate": dncBody{}, "DryRunRequest": dryrunBody{}, "DryRunResult": dryrunResult{},
		"EnrollmentCreate": enrollBody{}, "RestCallerID": restBody{}, "StopEnrollment": stopBody{}, "DispositionCreate": dispositionBody{},
		"Team": engine.Team{}, "Queue": engine.Queue{}, "QueueCreate": queueBody{}, "Agent": agentView{}, "AgentUpdate": agentView{},
		"AgentStateChange": stateBody{}, "PromptView": promptView{}, "AgentEvent": agentEventJSON{}, "AcceptPrompt": acceptBody{},
		"AcceptResult": acceptResult{}, "OwnerChange": engine.OwnerChange{}, "OwnerSet": ownerBody{}, "OwnerResult": ownerResult{},
	} {
		var want []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag := strings.Split(rt.Field(i).Tag.Get("json"), ",")[0]
			if tag != "" && tag != "-" {
				want = append(want, tag)
			}
		}
		var got []string
		for k := range schemas[name].(map[string]any)["properties"].(map[string]any) {
			got = append(got, k)
		}
		require.ElementsMatch(t, want, got, "schema %s", name)
	}
}
