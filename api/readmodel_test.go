package api

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

type actionPage struct {
	Items []engine.ActionRow `json:"items"`
	Next  string             `json:"next"`
}

// Listings and analytics through the API, with real outcomes from the
// engine (every call is a no_answer), each response checked against the
// document.
func TestReadModelRoutes(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	id := e.activeCadence(t, nil)
	for _, p := range []string{"+12125550123", "+12125550124"} {
		e.do("POST", "/v1/cadences/"+id+"/enrollments", e.manager, `{"contact":{"phone":"`+p+`","state":"NY"}}`).ok(t, http.StatusCreated, nil)
	}

	// Enrollments.
	var enr struct {
		Items []engine.EnrollmentRow `json:"items"`
		Next  string                 `json:"next"`
	}
	e.documented(t, "GET", "/v1/enrollments", e.do("GET", "/v1/enrollments?cadence="+id, e.viewer, nil)).ok(t, http.StatusOK, &enr)
	require.Len(t, enr.Items, 2)
	require.Equal(t, "+12125550123", enr.Items[0].Phone)
	require.Equal(t, engine.EnrollmentActive, enr.Items[0].Status)
	r := e.documented(t, "GET", "/v1/enrollments", e.do("GET", "/v1/enrollments?limit=1", e.viewer, nil))
	r.ok(t, http.StatusOK, &enr)
	require.Len(t, enr.Items, 1)
	require.NotEmpty(t, enr.Next)
	require.Contains(t, r.header.Get("Link"), "after="+url.QueryEscape(enr.Next))
	e.documented(t, "GET", "/v1/enrollments", e.do("GET", "/v1/enrollments?after="+enr.Next, e.viewer, nil)).ok(t, http.StatusOK, &enr)
	require.Len(t, enr.Items, 1)
	require.Equal(t, "+12125550124", enr.Items[0].Phone)
	require.Empty(t, enr.Next)
	e.documented(t, "GET", "/v1/enrollments", e.do("GET", "/v1/enrollments?status=stopped", e.viewer, nil)).ok(t, http.StatusOK, &enr)
	require.Empty(t, enr.Items)
	e.documented(t, "GET", "/v1/enrollments", e.do("GET", "/v1/enrollments?status=paused", e.viewer, nil)).problem(t, http.StatusUnprocessableEntity, "status")
	e.documented(t, "GET", "/v1/enrollments", e.do("GET", "/v1/enrollments?after=zzz", e.viewer, nil)).problem(t, http.StatusUnprocessableEntity, "after")
	e.do("GET", "/v1/enrollments", "", nil).problem(t, http.StatusUnauthorized, "")

	// Inflight: the welcome texts, then the first calls.
	var acts actionPage
	e.documented(t, "GET", "/v1/actions", e.do("GET", "/v1/actions", e.viewer, nil)).ok(t, http.StatusOK, &acts)
	require.Len(t, acts.Items, 2)
	require.Equal(t, "Welcome text", acts.Items[0].StepName)
	require.Equal(t, engine.StepSMS, acts.Items[0].Type)
	require.Equal(t, "Speed to lead", acts.Items[0].CadenceName)
	e.runDue(t)
	e.documented(t, "GET", "/v1/actions", e.do("GET", "/v1/actions?state=inflight&cadence="+id, e.viewer, nil)).ok(t, http.StatusOK, &acts)
	require.Len(t, acts.Items, 2)
	call := acts.Items[0]
	require.Equal(t, "Call 1", call.StepName)
	require.Equal(t, engine.ActionScheduled, call.State)
	require.Equal(t, 2, call.MaxRetries)
	require.Equal(t, "1h", call.RetryMinGap.String())
	require.Equal(t, 0, call.RetryCount)
	e.documented(t, "GET", "/v1/actions", e.do("GET", "/v1/actions?state=completed", e.viewer, nil)).ok(t, http.StatusOK, &acts)
	require.Len(t, acts.Items, 2)
	require.NotNil(t, acts.Items[0].CompletedAt)
	require.Equal(t, engine.SMSSent, acts.Items[0].Disposition)
	e.documented(t, "GET", "/v1/actions", e.do("GET", "/v1/actions?state=done", e.viewer, nil)).problem(t, http.StatusUnprocessableEntity, "state")
	e.documented(t, "GET", "/v1/actions", e.do("GET", "/v1/actions?cadence=nope", e.viewer, nil)).ok(t, http.StatusOK, &acts)
	require.Empty(t, acts.Items)

	// The first calls: no answer both; an agent marks one converted.
	e.runDue(t)
	e.documented(t, "GET", "/v1/actions", e.do("GET", "/v1/actions?state=completed&limit=500", e.viewer, nil)).ok(t, http.StatusOK, &acts)
	require.Len(t, acts.Items, 4)
	var calls []engine.ActionRow
	for _, a := range acts.Items {
		if a.Type == engine.StepCall {
			calls = append(calls, a)
		}
	}
	require.Len(t, calls, 2)
	require.Equal(t, engine.DispositionNoAnswer, calls[0].Disposition)
	e.do("POST", "/v1/attempts/"+calls[0].ID+"/disposition", e.agent, `{"code":"converted"}`).ok(t, http.StatusOK, nil)

	var sum engine.Analytics
	e.documented(t, "GET", "/v1/analytics/summary", e.do("GET", "/v1/analytics/summary", e.viewer, nil)).ok(t, http.StatusOK, &sum)
	require.Equal(t, 1, sum.TotalCadences)
	require.InDelta(t, 5.0, sum.AverageSteps, 1e-9)
	require.Equal(t, engine.Rates{Attempts: 2, Contacts: 1, Conversions: 1, ContactRate: 0.5, ConversionRate: 1}, sum.Rates)
	require.InDelta(t, 1.0, sum.AverageAttemptsBeforeContact, 1e-9)
	require.Len(t, sum.PerCadence, 1)
	require.Empty(t, sum.PerStep)
	e.documented(t, "GET", "/v1/analytics/summary", e.do("GET", "/v1/analytics/summary?status=draft", e.viewer, nil)).ok(t, http.StatusOK, &sum)
	require.Zero(t, sum.TotalCadences)
	require.Zero(t, sum.Attempts)
	e.documented(t, "GET", "/v1/analytics/summary", e.do("GET", "/v1/analytics/summary?status=paused", e.viewer, nil)).problem(t, http.StatusUnprocessableEntity, "status")

	const one = "/v1/cadences/{id}/analytics"
	var ca engine.Analytics
	e.documented(t, "GET", one, e.do("GET", "/v1/cadences/"+id+"/analytics", e.viewer, nil)).ok(t, http.StatusOK, &ca)
	require.Len(t, ca.PerStep, 5)
	require.Equal(t, "Call 1", ca.PerStep[1].Name)
	require.Equal(t, 2, ca.PerStep[1].Attempts)
	require.Zero(t, ca.PerStep[0].Attempts, "texts are not attempts")
	e.documented(t, "GET", one, e.do("GET", "/v1/cadences/nope/analytics", e.viewer, nil)).problem(t, http.StatusNotFound, "")

	// The do-not-call list.
	for _, p := range []string{"+13125550101", "+13125550102"} {
		e.do("POST", "/v1/dnc", e.manager, `{"phone":"`+p+`","reason":"asked"}`).ok(t, http.StatusOK, nil)
	}
	var dnc struct {
		Items []engine.DNCEntry `json:"items"`
		Next  string            `json:"next"`
	}
	e.documented(t, "GET", "/v1/dnc", e.do("GET", "/v1/dnc?limit=1", e.viewer, nil)).ok(t, http.StatusOK, &dnc)
	require.Len(t, dnc.Items, 1)
	require.Equal(t, "+13125550101", dnc.Items[0].Phone)
	require.Equal(t, "asked", dnc.Items[0].Reason)
	e.documented(t, "GET", "/v1/dnc", e.do("GET", "/v1/dnc?after="+dnc.Next, e.viewer, nil)).ok(t, http.StatusOK, &dnc)
	require.Len(t, dnc.Items, 1)
	require.Equal(t, "+13125550102", dnc.Items[0].Phone)
	e.documented(t, "GET", "/v1/dnc", e.do("GET", "/v1/dnc?after=!!", e.viewer, nil)).problem(t, http.StatusUnprocessableEntity, "after")
}

// storeOnly hides every interface of a store but engine.Store.
type storeOnly struct{ engine.Store }

// Without a read model the routes answer 503, as documented.
func TestReadModelUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnvWithStore(t, storeOnly{openSQLite(t)})
	sc := newSchemaChecker(t)
	ee := &engineEnv{env: e, sc: sc}
	for _, c := range []struct{ pattern, path string }{
		{"/v1/actions", "/v1/actions"}, {"/v1/enrollments", "/v1/enrollments"}, {"/v1/dnc", "/v1/dnc"},
		{"/v1/analytics/summary", "/v1/analytics/summary"}, {"/v1/cadences/{id}/analytics", "/v1/cadences/x/analytics"},
	} {
		ee.documented(t, "GET", c.pattern, e.do("GET", c.path, e.viewer, nil)).problem(t, http.StatusServiceUnavailable, "")
	}
}
