package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	fs := &flakyStore{Store: openSQLite(t)}
	e := newEnvWithStore(t, fs)

	var h map[string]string
	e.do("GET", "/healthz", "", nil).ok(t, http.StatusOK, &h)
	require.Equal(t, "test", h["version"])
	e.do("GET", "/readyz", "", nil).ok(t, http.StatusOK, nil)
	fs.ping.Store(true)
	e.do("GET", "/readyz", "", nil).problem(t, http.StatusServiceUnavailable, "")
	e.do("GET", "/healthz", "", nil).ok(t, http.StatusOK, nil)
	fs.ping.Store(false)
	fs.pingHang.Store(true) // answered within the 2 s probe timeout, not never
	e.do("GET", "/readyz", "", nil).problem(t, http.StatusServiceUnavailable, "")
	fs.pingHang.Store(false)

	e.do("GET", "/v1/cadences/nope", e.viewer, nil).problem(t, http.StatusNotFound, "")
	r := e.do("GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	body := string(r.body)
	require.Contains(t, body, `cadenza_http_requests_total{code="4xx",method="GET",route="/v1/cadences/{id}"} 1`)
	require.Contains(t, body, `cadenza_http_requests_total{code="5xx",method="GET",route="/readyz"} 2`)
	require.Contains(t, body, `cadenza_http_request_duration_seconds_bucket{route="/healthz"`)

	// The metrics go only to the registry passed in: a second server on
	// its own registry starts from zero, and a duplicate registration fails.
	_, err := New(Options{Store: fs, Registerer: e.reg})
	require.Error(t, err)
}

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	fs := &flakyStore{Store: openSQLite(t)}
	e := newEnvWithStore(t, fs)
	fs.panics.Store(true)
	e.do("GET", "/v1/templates/x", e.viewer, nil).problem(t, http.StatusInternalServerError, "")
	require.Contains(t, e.log.String(), "handler panic")
	// A panic under an Idempotency-Key is recorded as a failure, so the
	// retry runs again instead of waiting out the reservation.
	e.do("POST", "/v1/templates/x/instantiate", e.manager, nil, "Idempotency-Key", "p").problem(t, http.StatusInternalServerError, "")
	fs.panics.Store(false)
	e.do("GET", "/v1/templates/x", e.viewer, nil).problem(t, http.StatusNotFound, "")
	e.do("POST", "/v1/templates/x/instantiate", e.manager, nil, "Idempotency-Key", "p").problem(t, http.StatusNotFound, "")
}

func TestUnmatchedRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("GET", "/v1/nothing", e.viewer, nil).problem(t, http.StatusNotFound, "")
	r := e.do("PATCH", "/v1/cadences/abc", e.manager, "{}")
	r.problem(t, http.StatusMethodNotAllowed, "")
	require.Equal(t, "GET, PUT, DELETE", r.header.Get("Allow"))
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.MaxBodyBytes = 4 << 10 })
	big := defWith(t, func(m map[string]any) { m["description"] = strings.Repeat("x", 5000) })
	e.do("POST", "/v1/cadences", e.manager, big).problem(t, http.StatusRequestEntityTooLarge, "")
	// Also when the length is not announced (chunked).
	e.do("POST", "/v1/cadences", e.manager, chunked(big)).problem(t, http.StatusRequestEntityTooLarge, "")
	e.do("POST", "/v1/cadences", e.manager, fiveStep(t), "Content-Type", "application/merge-patch+json").ok(t, http.StatusCreated, nil)
	e.do("POST", "/v1/cadences", e.manager, fiveStep(t), "Content-Type", "text/plain; charset=utf-8").problem(t, http.StatusUnsupportedMediaType, "Content-Type")
	e.do("POST", "/v1/cadences", e.manager, fiveStep(t), "Content-Type", "((").problem(t, http.StatusUnsupportedMediaType, "Content-Type")
}

// chunked hides a body's length from the client, so it is sent chunked.
func chunked(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }

// openAPIDoc is the part of the document the route test reads.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, r.status, "the document is public")
	var doc openAPIDoc
	require.NoError(t, json.Unmarshal(r.body, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)

	var inDoc, inMux []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			inDoc = append(inDoc, strings.ToUpper(method)+" "+path)
		}
	}
	for _, rt := range e.server.table {
		inMux = append(inMux, rt.method+" "+rt.pattern)
	}
	sort.Strings(inDoc)
	sort.Strings(inMux)
	require.Equal(t, inMux, inDoc, "routes.go and openapi.json must list the same operations")

	// Every operation is secured as its route is, and every $ref resolves.
	var full map[string]any
	require.NoError(t, json.Unmarshal(r.body, &full))
	for _, rt := range e.server.table {
		op := full["paths"].(map[string]any)[rt.pattern].(map[string]any)[strings.ToLower(rt.method)].(map[string]any)
		sec, hasSec := op["security"]
		public := hasSec && len(sec.([]any)) == 0
		require.Equal(t, rt.role == "", public, "%s %s: public in the document iff public in routes.go", rt.method, rt.pattern)
		if rt.role != "" {
			require.Contains(t, op["responses"], "401", "%s %s", rt.method, rt.pattern)
			require.Contains(t, op["description"], string(rt.role), "%s %s names its role", rt.method, rt.pattern)
		}
		for _, name := range pathParams(rt.pattern) {
			require.True(t, hasParam(full, op, name), "%s %s: path parameter %s undocumented", rt.method, rt.pattern, name)
		}
	}
	for _, ref := range regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllStringSubmatch(string(r.body), -1) {
		var node any = full
		for _, part := range strings.Split(ref[1], "/") {
			m, ok := node.(map[string]any)
			require.True(t, ok, "$ref %s", ref[1])
			node, ok = m[part]
			require.True(t, ok, "$ref %s does not resolve", ref[1])
		}
	}
}

func pathParams(pattern string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\{([a-z]+)\}`).FindAllStringSubmatch(pattern, -1) {
		out = append(out, m[1])
	}
	return out
}

// hasParam reports whether op declares the path parameter, directly or by
// a $ref into components.parameters.
func hasParam(doc map[string]any, op map[string]any, name string) bool {
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		pm := p.(map[string]any)
		if ref, ok := pm["$ref"].(string); ok {
			key := strings.TrimPrefix(ref, "#/components/parameters/")
			pm = doc["components"].(map[string]any)["parameters"].(map[string]any)[key].(map[string]any)
		}
		if pm["name"] == name && pm["in"] == "path" {
			return true
		}
	}
	return false
}

// garbage are request bodies no route should answer with a 5xx.
var garbage = []string{
	"", " ", "null", "true", "0", "-1", `""`, "[]", "{}", "{", "}", `{"`, `{"name":}`,
	"\x00\x01\x02\xff\xfe", "RIFF", "RIFF\x00\x00\x00\x00WAVE", "RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00",
	`{"name": 5}`, `{"name": "x", "steps": null}`, `{"name": "x", "steps": [null]}`,
	`{"name": "x", "steps": [{"type": "call", "call": {"retry": {"attempts": 1e99}}}]}`,
	`{"name": "x", "runs": {"total": -9223372036854775808}}`,
	`{"name": "\ud800"}`, `{"format": "cadenza.cadence/v1", "cadence": null}`,
	`{"format": "cadenza.cadence/v1", "cadence": []}`, `{"definition": "x", "name": []}`,
	`{"name": "x", "role": {"a": 1}}`, `{"version": "1"}`, `{"version": -1, "id": 7}`,
	strings.Repeat("[", 100000), `{"a":` + strings.Repeat(`{"a":`, 5000),
	`{"steps":[{"timing":{"delay":"99999999999999999h"}}]}`,
	"phone\n+12125550123\n", "phone,phone\n1,2\n", "a,\"b\n", "\ufeffphone,x\n\"+1 212 555 0123\",\"\x00\"\n",
	`{"phone":"+12125550123","contacts":[{"phone":"x"}],"days":1e9}`, `{"contacts":[{"phone":"+12125550123"}],"days":-1}`,
	`{"contact":{"phone":"+12125550123","fields":{"":""}}}`, `{"contact_id":"missing"}`, `{"code":"interested"}`,
	`{"contact_id":"\u0000"}`, `{"code":"\u0000"}`, `{"phone":"+12125550123","fields":{"a":"\u0000"}}`,
	`{"number":"+12125550100","until":"0001-01-01T00:00:00Z"}`, `{"phone":"\ud800"}`,
	`{"name":"x","steps":[{"name":"s","type":"call","timing":{"delay":"1s"},"call":{"caller_id":{"strategy":"fixed","number":"+12125550123"},"voicemail":{"enabled":true,"asset":"x"},"retry":{"attempts":0},"on_human":{"action":"message","asset":"y"}},"routing":[{"disposition":"busy","action":{"type":"forward","cadence":"z"}}],"default":{"type":"goto","step":99}}],"runs":{"total":1,"after":{"action":"enroll","cadence":"q"}},"owner":{"assign":"round_robin"},"harassment":{"use_business":true}}`,
}

func TestGarbageBodiesNever5xx(t *testing.T) {
	t.Parallel()
	// Every optional part is configured, so that no route answers 503.
	const secret = "garbage-trigger-secret"
	e := newEngineEnv(t, func(o *Options) {
		o.CallerIDs = callerIDService(t, o.Now)
		o.Trunks = []TrunkInfo{{Name: "t", Driver: "sip"}}
		o.Triggers = []Trigger{{Key: "missing", CadenceID: "missing", Secret: secret}}
		r, err := agents.NewRoster(agents.Options{})
		require.NoError(t, err)
		o.Agents = r
		o.SMSInbound = SMSInbound{AuthToken: "garbage-sms-token", URL: "https://dialer.example.com/v1/sms/inbound"}
	}).env
	c := e.createCadence("")
	var tpl engine.Template
	e.do("POST", "/v1/cadences/"+c.ID+"/template", e.manager, `{"name":"t"}`).ok(t, http.StatusCreated, &tpl)

	for _, rt := range e.server.table {
		if rt.method != http.MethodPost && rt.method != http.MethodPut {
			continue
		}
		for _, id := range []string{c.ID, tpl.ID, "missing"} {
			path := strings.NewReplacer("{id}", id, "{n}", "1", "{key}", id).Replace(rt.pattern)
			if rt.pattern == "/v1/assets" {
				path += "?name=g" + id
			}
			if rt.pattern == "/v1/contacts/import" {
				path += "?cadence=" + c.ID
			}
			for i, body := range garbage {
				for _, ct := range []string{"application/json", "audio/wav", "text/csv", ""} {
					r := e.do(rt.method, path, e.admin, body, "Content-Type", ct, "Idempotency-Key", fmt.Sprintf("g-%s-%d-%s", id, i, ct),
						TriggerSecretHeader, secret)
					require.Less(t, r.status, 500, "%s %s %q (%s): %s", rt.method, path, body, ct, r.body)
					if r.status >= 400 {
						require.Equal(t, problemContentType, r.header.Get("Content-Type"), "%s %s: %s", rt.method, path, r.body)
					}
				}
			}
		}
	}
}

func FuzzCreateCadence(f *testing.F) {
	e := newEnv(f)
	f.Add(string(fiveStep(f)))
	for _, g := range garbage {
		f.Add(g)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := *e
		e.t = t
		r := e.do("POST", "/v1/cadences", e.manager, body)
		if r.status >= 500 {
			t.Fatalf("%d for %q: %s", r.status, body, r.body)
		}
		switch r.status {
		case http.StatusCreated:
			var c cadenceJSON
			if err := json.Unmarshal(r.body, &c); err != nil || c.ID == "" || c.Version != 1 {
				t.Fatalf("created but unreadable: %s", r.body)
			}
		case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
			var p Problem
			if err := json.Unmarshal(r.body, &p); err != nil || p.Status != r.status || p.Detail == "" {
				t.Fatalf("bad problem for %q: %s", body, r.body)
			}
		default:
			t.Fatalf("unexpected %d for %q: %s", r.status, body, r.body)
		}
	})
}
