package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func TestDNC(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	id := e.activeCadence(t, nil)
	var en engine.Enrollment
	e.do("POST", "/v1/cadences/"+id+"/enrollments", e.manager, `{"contact":{"phone":"+12125550123"}}`).ok(t, http.StatusCreated, &en)

	// Adding the number stops its enrollment at once.
	var res dncResult
	r := e.do("POST", "/v1/dnc", e.manager, `{"phone":"(212) 555-0123","reason":"asked"}`)
	e.documented(t, "POST", "/v1/dnc", r).ok(t, http.StatusOK, &res)
	require.Equal(t, dncResult{Phone: "+12125550123", Stopped: 1}, res)
	var got engine.Enrollment
	e.do("GET", "/v1/enrollments/"+en.ID, e.viewer, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, engine.EnrollmentStopped, got.Status)

	e.documented(t, "GET", "/v1/dnc/{phone}", e.do("GET", "/v1/dnc/+12125550123", e.viewer, nil)).ok(t, http.StatusOK, nil)
	e.documented(t, "GET", "/v1/dnc/{phone}", e.do("GET", "/v1/dnc/2125550123", e.viewer, nil)).ok(t, http.StatusOK, nil)
	e.documented(t, "GET", "/v1/dnc/{phone}", e.do("GET", "/v1/dnc/12", e.viewer, nil)).problem(t, http.StatusUnprocessableEntity, "phone")

	// A number on the list does not enroll.
	r = e.do("POST", "/v1/cadences/"+id+"/enrollments", e.manager, `{"contact":{"phone":"+12125550123"}}`)
	e.documented(t, "POST", "/v1/cadences/{id}/enrollments", r).problem(t, http.StatusConflict, "contact.phone")

	e.do("DELETE", "/v1/dnc/+12125550123", e.viewer, nil).problem(t, http.StatusForbidden, "")
	e.documented(t, "DELETE", "/v1/dnc/{phone}", e.do("DELETE", "/v1/dnc/+12125550123", e.manager, nil)).ok(t, http.StatusNoContent, nil)
	e.documented(t, "DELETE", "/v1/dnc/{phone}", e.do("DELETE", "/v1/dnc/+12125550123", e.manager, nil)).problem(t, http.StatusNotFound, "")
	e.documented(t, "GET", "/v1/dnc/{phone}", e.do("GET", "/v1/dnc/+12125550123", e.viewer, nil)).problem(t, http.StatusNotFound, "")

	for _, tc := range []struct{ body, field string }{
		{`{"phone":"12"}`, "phone"}, {`{}`, "phone"}, {`{"phone":"+12125550123","why":"x"}`, "why"},
	} {
		e.documented(t, "POST", "/v1/dnc", e.do("POST", "/v1/dnc", e.manager, tc.body)).problem(t, http.StatusUnprocessableEntity, tc.field)
	}

	// Import: a plain list, and a file with a header.
	var imp dncImport
	r = e.do("POST", "/v1/dnc/import", e.manager, "+13125550101\n\n312-555-0102\nnope\n", "Content-Type", "text/csv")
	e.documented(t, "POST", "/v1/dnc/import", r).ok(t, http.StatusOK, &imp)
	require.Equal(t, 2, imp.Added)
	require.Equal(t, []importError{{Row: 4, Field: "phone", Message: imp.Errors[0].Message}}, imp.Errors)

	e.do("POST", "/v1/cadences/"+id+"/enrollments", e.manager, `{"contact":{"phone":"+14155550103"}}`).ok(t, http.StatusCreated, nil)
	r = e.do("POST", "/v1/dnc/import", e.manager, "name,phone,reason\nCy,+14155550103,complaint\nDee,,\n", "Content-Type", "text/csv")
	e.documented(t, "POST", "/v1/dnc/import", r).ok(t, http.StatusOK, &imp)
	require.Equal(t, 1, imp.Added)
	require.Equal(t, 1, imp.Stopped)
	require.Len(t, imp.Errors, 1)
	require.Equal(t, 3, imp.Errors[0].Row)
	for _, p := range []string{"+13125550101", "+13125550102", "+14155550103"} {
		e.do("GET", "/v1/dnc/"+p, e.viewer, nil).ok(t, http.StatusOK, nil)
	}
}

func TestDispositions(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)

	var cat struct{ Items []engine.AgentDisposition }
	e.documented(t, "GET", "/v1/dispositions", e.do("GET", "/v1/dispositions", e.viewer, nil)).ok(t, http.StatusOK, &cat)
	require.ElementsMatch(t, engine.DefaultCatalog(), cat.Items)
	require.IsIncreasing(t, []string{cat.Items[0].Code, cat.Items[1].Code, cat.Items[2].Code})

	id := e.activeCadence(t, nil)
	e.do("POST", "/v1/cadences/"+id+"/enrollments", e.manager, `{"contact":{"phone":"+12125550123","state":"NY"}}`).ok(t, http.StatusCreated, nil)
	e.runDue(t) // the welcome text
	sent := e.eventsOf(engine.EventSMS)
	require.Len(t, sent, 1)
	attempt := sent[0].ActionID
	require.NotEmpty(t, attempt)

	const pattern = "/v1/attempts/{id}/disposition"
	path := "/v1/attempts/" + attempt + "/disposition"
	e.do("POST", path, e.viewer, `{"code":"interested"}`).problem(t, http.StatusForbidden, "")
	for _, tc := range []struct{ body, field string }{
		{`{"code":"nonsense"}`, "code"}, {`{"code":"busy"}`, "code"}, {`{}`, "code"}, {`{"code":1}`, "code"},
	} {
		e.documented(t, "POST", pattern, e.do("POST", path, e.agent, tc.body)).problem(t, http.StatusUnprocessableEntity, tc.field)
	}
	e.documented(t, "POST", pattern, e.do("POST", "/v1/attempts/nope/disposition", e.agent, `{"code":"interested"}`)).problem(t, http.StatusNotFound, "")

	var out map[string]string
	e.documented(t, "POST", pattern, e.do("POST", path, e.agent, `{"code":"interested"}`)).ok(t, http.StatusOK, &out)
	require.Equal(t, map[string]string{"attempt": attempt, "code": "interested"}, out)
	var agentEvents int
	for _, ev := range e.eventsOf(engine.EventSMS) {
		if ev.Code == "agent" && ev.Disposition == "interested" {
			agentEvents++
		}
	}
	require.Equal(t, 1, agentEvents)
}
