package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func TestEnrollments(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	const pattern = "/v1/cadences/{id}/enrollments"

	var c engine.Contact
	e.do("POST", "/v1/contacts", e.manager, `{"phone":"+12125550123","first_name":"Ada"}`).ok(t, http.StatusCreated, &c)

	// Only active cadences enroll.
	var draft cadenceJSON
	e.do("POST", "/v1/cadences", e.manager, fiveStep(t)).ok(t, http.StatusCreated, &draft)
	r := e.do("POST", "/v1/cadences/"+draft.ID+"/enrollments", e.manager, map[string]any{"contact_id": c.ID})
	p := e.documented(t, "POST", pattern, r).problem(t, http.StatusConflict, "cadence")
	require.Contains(t, p.Detail, "draft")
	e.documented(t, "POST", pattern, e.do("POST", "/v1/cadences/missing/enrollments", e.manager, map[string]any{"contact_id": c.ID})).
		problem(t, http.StatusNotFound, "cadence")

	id := e.activeCadence(t, nil)
	path := "/v1/cadences/" + id + "/enrollments"
	for _, tc := range []struct{ body, field string }{
		{`{}`, "contact_id"},
		{`{"contact_id":"missing"}`, "contact_id"},
		{`{"contact_id":"x","contact":{"phone":"+12125550123"}}`, "contact_id"},
		{`{"contact":{"phone":"12"}}`, "contact.phone"},
		{`{"contact":{"phone":"+12125550123","state":"XYZ"}}`, "contact.state"},
		{`{"contact":{"phone":"+12125550123","nope":1}}`, "nope"},
	} {
		e.documented(t, "POST", pattern, e.do("POST", path, e.manager, tc.body)).problem(t, http.StatusUnprocessableEntity, tc.field)
	}
	e.do("POST", path, e.viewer, map[string]any{"contact_id": c.ID}).problem(t, http.StatusForbidden, "")

	var en engine.Enrollment
	e.documented(t, "POST", pattern, e.do("POST", path, e.manager, map[string]any{"contact_id": c.ID})).ok(t, http.StatusCreated, &en)
	require.Equal(t, engine.EnrollmentActive, en.Status)
	require.Equal(t, id, en.CadenceID)
	require.Equal(t, c.ID, en.ContactID)
	require.Equal(t, 1, en.CadenceVersion)

	// Enrolled already: a conflict naming the contact.
	e.documented(t, "POST", pattern, e.do("POST", path, e.manager, map[string]any{"contact_id": c.ID})).problem(t, http.StatusConflict, "contact_id")
	e.do("POST", path, e.manager, `{"contact":{"phone":"+12125550123"}}`).problem(t, http.StatusConflict, "contact")

	var got engine.Enrollment
	e.documented(t, "GET", "/v1/enrollments/{id}", e.do("GET", "/v1/enrollments/"+en.ID, e.viewer, nil)).ok(t, http.StatusOK, &got)
	require.Equal(t, en.ID, got.ID)
	e.documented(t, "GET", "/v1/enrollments/{id}", e.do("GET", "/v1/enrollments/nope", e.viewer, nil)).problem(t, http.StatusNotFound, "")

	var stopped engine.Enrollment
	r = e.do("POST", "/v1/enrollments/"+en.ID+"/stop", e.manager, `{"reason":"asked us to"}`)
	e.documented(t, "POST", "/v1/enrollments/{id}/stop", r).ok(t, http.StatusOK, &stopped)
	require.Equal(t, engine.EnrollmentStopped, stopped.Status)
	require.Equal(t, "asked us to", stopped.StopReason)
	e.documented(t, "POST", "/v1/enrollments/{id}/stop", e.do("POST", "/v1/enrollments/"+en.ID+"/stop", e.manager, nil)).problem(t, http.StatusConflict, "")
	e.documented(t, "POST", "/v1/enrollments/{id}/stop", e.do("POST", "/v1/enrollments/nope/stop", e.manager, nil)).problem(t, http.StatusNotFound, "")

	// The cadence does not allow re-enrollment.
	p = e.do("POST", path, e.manager, map[string]any{"contact_id": c.ID}).problem(t, http.StatusConflict, "contact_id")
	require.Contains(t, p.Detail, "re-enrollment")

	// One that does lets the contact through again.
	again := e.activeCadence(t, func(m map[string]any) { m["name"] = "again"; m["allow_reenrollment"] = true })
	for range 2 {
		var en engine.Enrollment
		e.do("POST", "/v1/cadences/"+again+"/enrollments", e.manager, map[string]any{"contact_id": c.ID}).ok(t, http.StatusCreated, &en)
		e.do("POST", "/v1/enrollments/"+en.ID+"/stop", e.manager, nil).ok(t, http.StatusOK, nil)
	}

	// An inline contact is upserted by phone and enrolled.
	var inline engine.Enrollment
	e.do("POST", path, e.manager, `{"contact":{"phone":"312-555-0199","first_name":"Bob"}}`).ok(t, http.StatusCreated, &inline)
	var bob engine.Contact
	e.do("GET", "/v1/contacts/"+inline.ContactID, e.viewer, nil).ok(t, http.StatusOK, &bob)
	require.Equal(t, "+13125550199", bob.Phone)
}

func TestTriggers(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-s3cret-s3cret"
	var cadenceID string
	e := newEngineEnv(t, func(o *Options) {
		// The trigger's cadence must exist before the server is built.
		var def engine.Definition
		require.NoError(t, json.Unmarshal(fiveStep(t), &def))
		cad, err := o.Store.CreateCadence(context.Background(), def, engine.StatusActive, o.Now())
		require.NoError(t, err)
		cadenceID = cad.ID
		o.Triggers = []Trigger{{Key: "web-form", CadenceID: cadenceID, Secret: secret}}
	})
	const pattern = "/v1/triggers/{key}"

	sign := func(body string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	var en engine.Enrollment
	r := e.do("POST", "/v1/triggers/web-form", "", `{"phone":"+12125550123","first_name":"Ada"}`, TriggerSecretHeader, secret)
	e.documented(t, "POST", pattern, r).ok(t, http.StatusCreated, &en)
	require.Equal(t, cadenceID, en.CadenceID)

	body := `{"phone":"+13125550124"}`
	r = e.do("POST", "/v1/triggers/web-form", "", body, TriggerSignatureHeader, sign(body))
	e.documented(t, "POST", pattern, r).ok(t, http.StatusCreated, &en)

	// A retry of the same webhook finds the contact enrolled, even with an
	// Idempotency-Key (which public routes ignore).
	r = e.do("POST", "/v1/triggers/web-form", "", body, TriggerSignatureHeader, sign(body), "Idempotency-Key", "k1")
	e.documented(t, "POST", pattern, r).problem(t, http.StatusConflict, "contact")

	for _, tc := range []struct {
		path, body string
		hdr        []string
		status     int
		field      string
	}{
		{"/v1/triggers/web-form", body, nil, 401, TriggerSecretHeader},
		{"/v1/triggers/web-form", body, []string{TriggerSecretHeader, "wrong"}, 401, TriggerSecretHeader},
		{"/v1/triggers/web-form", body, []string{TriggerSignatureHeader, sign(body + " ")}, 401, TriggerSignatureHeader},
		{"/v1/triggers/web-form", body, []string{TriggerSignatureHeader, "md5=00"}, 401, TriggerSignatureHeader},
		{"/v1/triggers/web-form", body, []string{TriggerSignatureHeader, "sha256=zz"}, 401, TriggerSignatureHeader},
		// An unknown key looks like a wrong secret.
		{"/v1/triggers/other", body, []string{TriggerSecretHeader, secret}, 401, TriggerSecretHeader},
		{"/v1/triggers/web-form", `{"phone":"12"}`, []string{TriggerSecretHeader, secret}, 422, "phone"},
		{"/v1/triggers/web-form", `{"phone":`, []string{TriggerSecretHeader, secret}, 400, "body"},
	} {
		r := e.do("POST", tc.path, "", tc.body, tc.hdr...)
		e.documented(t, "POST", pattern, r).problem(t, tc.status, tc.field)
	}
	// An API key is no substitute for the secret.
	e.do("POST", "/v1/triggers/web-form", e.admin, body).problem(t, http.StatusUnauthorized, TriggerSecretHeader)

	// Bad trigger configuration is refused at start.
	for _, tr := range [][]Trigger{
		{{Key: "", CadenceID: "c", Secret: secret}},
		{{Key: "a/b", CadenceID: "c", Secret: secret}},
		{{Key: "k", CadenceID: "", Secret: secret}},
		{{Key: "k", CadenceID: "c", Secret: "short"}},
		{{Key: "k", CadenceID: "c", Secret: secret}, {Key: "k", CadenceID: "d", Secret: secret}},
	} {
		_, err := New(Options{Store: e.store, Triggers: tr})
		require.Error(t, err, "%+v", tr)
	}
}
