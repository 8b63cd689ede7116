package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func TestContactUpsertAndGet(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)

	var c engine.Contact
	r := e.documented(t, "POST", "/v1/contacts", e.do("POST", "/v1/contacts", e.manager,
		`{"phone":"(212) 555-0123","first_name":" Ada ","state":"ny","zip":"10001","fields":{"plan":"gold"}}`))
	r.ok(t, http.StatusCreated, &c)
	require.Equal(t, "+12125550123", c.Phone, "normalized to E.164")
	require.Equal(t, "Ada", c.FirstName)
	require.Equal(t, "NY", c.State)
	require.Equal(t, "gold", c.Fields["plan"])

	// The same number (written another way) updates the same contact.
	var again engine.Contact
	r = e.documented(t, "POST", "/v1/contacts", e.do("POST", "/v1/contacts", e.manager, `{"phone":"+1 212 555 0123","last_name":"Lovelace"}`))
	r.ok(t, http.StatusOK, &again)
	require.Equal(t, c.ID, again.ID)
	require.Equal(t, "Lovelace", again.LastName)

	var got engine.Contact
	e.documented(t, "GET", "/v1/contacts/{id}", e.do("GET", "/v1/contacts/"+c.ID, e.viewer, nil)).ok(t, http.StatusOK, &got)
	require.Equal(t, again.ID, got.ID)
	e.documented(t, "GET", "/v1/contacts/{id}", e.do("GET", "/v1/contacts/nope", e.viewer, nil)).problem(t, http.StatusNotFound, "")
	e.do("POST", "/v1/contacts", e.viewer, `{"phone":"+12125550123"}`).problem(t, http.StatusForbidden, "")

	for _, tc := range []struct{ body, field string }{
		{`{"phone":"12"}`, "phone"},
		{`{"phone":""}`, "phone"},
		{`{}`, "phone"},
		{`{"phone":"not a number"}`, "phone"},
		{`{"phone":"+12125550123","timezone":"Mars/Base"}`, "timezone"},
		{`{"phone":"+12125550123","timezone":"Local"}`, "timezone"},
		{`{"phone":"+12125550123","state":"New York"}`, "state"},
		{`{"phone":"+12125550123","fields":{"":"x"}}`, "fields"},
		{`{"phone":"+12125550123","extra":1}`, "extra"},
		{`{"phone":5}`, "phone"},
	} {
		r := e.do("POST", "/v1/contacts", e.manager, tc.body)
		e.documented(t, "POST", "/v1/contacts", r).problem(t, http.StatusUnprocessableEntity, tc.field)
	}
}

func TestContactImport(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	id := e.activeCadence(t, nil)

	csv := "phone,first_name,last_name,timezone,state,zip,plan\n" +
		"+12125550101,Ada,L,America/New_York,NY,10001,gold\n" +
		"12,Bad,Phone,,,,\n" +
		"+13125550102,Bob,,Mars/Base,,,\n" +
		"\"+14155550103\",Cy,,,CA,94105,\n"
	var out contactImport
	r := e.do("POST", "/v1/contacts/import?cadence="+id, e.manager, csv, "Content-Type", "text/csv")
	e.documented(t, "POST", "/v1/contacts/import", r).ok(t, http.StatusOK, &out)
	require.Equal(t, 2, out.Imported)
	require.Equal(t, 2, out.Enrolled)
	require.Equal(t, []importError{
		{Row: 3, Field: "phone", Message: out.Errors[0].Message},
		{Row: 4, Field: "timezone", Message: out.Errors[1].Message},
	}, out.Errors)
	require.Contains(t, out.Errors[1].Message, "Mars/Base")
	require.Len(t, e.eventsOf(engine.EventEnrolled), 2)

	// Extra columns became fields.
	var c engine.Contact
	for _, ev := range e.eventsOf(engine.EventEnrolled) {
		if ev.Phone == "+12125550101" {
			e.do("GET", "/v1/contacts/"+ev.ContactID, e.viewer, nil).ok(t, http.StatusOK, &c)
		}
	}
	require.Equal(t, map[string]string{"plan": "gold"}, c.Fields)
	require.Equal(t, "America/New_York", c.TimeZone)

	// Importing again keeps the contacts; enrolling them again conflicts
	// row by row (they are enrolled now).
	r = e.do("POST", "/v1/contacts/import?cadence="+id, e.manager, csv, "Content-Type", "text/csv")
	r.ok(t, http.StatusOK, &out)
	require.Equal(t, 2, out.Imported)
	require.Equal(t, 0, out.Enrolled)
	require.Len(t, out.Errors, 4)
	require.Equal(t, "cadence", out.Errors[0].Field)

	// Without a cadence nothing is enrolled.
	r = e.do("POST", "/v1/contacts/import", e.manager, "phone\n+16175550104\n", "Content-Type", "text/csv")
	r.ok(t, http.StatusOK, &out)
	require.Equal(t, 1, out.Imported)
	require.Equal(t, 0, out.Enrolled)
	require.Empty(t, out.Errors)

	// A broken row is reported and the rest kept.
	r = e.do("POST", "/v1/contacts/import", e.manager, "phone,first_name\n+16175550105,\"unterminated\n", "Content-Type", "text/csv")
	r.ok(t, http.StatusOK, &out)
	require.Equal(t, 0, out.Imported)
	require.Equal(t, "row", out.Errors[0].Field)
	require.Equal(t, 2, out.Errors[0].Row)

	for _, tc := range []struct {
		path, body, ct string
		status         int
		field          string
	}{
		{"/v1/contacts/import", "first_name\nAda\n", "text/csv", 422, "body"},
		{"/v1/contacts/import", "phone,phone\n+12125550101,+12125550101\n", "text/csv", 422, "body"},
		{"/v1/contacts/import", "", "text/csv", 400, "body"},
		{"/v1/contacts/import", "phone\n+12125550101\n", "application/json", 415, "Content-Type"},
		{"/v1/contacts/import?cadence=missing", "phone\n+12125550101\n", "text/csv", 404, "cadence"},
	} {
		r := e.do("POST", tc.path, e.manager, tc.body, "Content-Type", tc.ct)
		e.documented(t, "POST", "/v1/contacts/import", r).problem(t, tc.status, tc.field)
	}
	// A file over the row limit is refused before anything is written.
	var big strings.Builder
	big.WriteString("phone\n")
	for i := range maxImportRows + 1 {
		fmt.Fprintf(&big, "+1212%07d\n", i)
	}
	r = e.do("POST", "/v1/contacts/import?cadence="+id, e.manager, big.String(), "Content-Type", "text/csv")
	e.documented(t, "POST", "/v1/contacts/import", r).problem(t, http.StatusUnprocessableEntity, "body")
	require.Len(t, e.eventsOf(engine.EventEnrolled), 2)

	var draft cadenceJSON
	e.do("POST", "/v1/cadences", e.manager, fiveStep(t)).ok(t, http.StatusCreated, &draft)
	r = e.do("POST", "/v1/contacts/import?cadence="+draft.ID, e.manager, "phone\n+12125550101\n", "Content-Type", "text/csv")
	e.documented(t, "POST", "/v1/contacts/import", r).problem(t, http.StatusConflict, "cadence")
}

func TestEngineRoutesWithoutEngine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sc := newSchemaChecker(t)
	for _, c := range []struct {
		method, pattern, path, key string
		body                       any
		hdr                        []string
	}{
		{"POST", "/v1/contacts", "/v1/contacts", e.manager, `{"phone":"+12125550123"}`, nil},
		{"POST", "/v1/contacts/import", "/v1/contacts/import", e.manager, "phone\n+12125550123\n", []string{"Content-Type", "text/csv"}},
		{"POST", "/v1/cadences/{id}/enrollments", "/v1/cadences/x/enrollments", e.manager, `{"contact_id":"c"}`, nil},
		{"POST", "/v1/enrollments/{id}/stop", "/v1/enrollments/x/stop", e.manager, nil, nil},
		{"POST", "/v1/dnc", "/v1/dnc", e.manager, `{"phone":"+12125550123"}`, nil},
		{"POST", "/v1/dnc/import", "/v1/dnc/import", e.manager, "+12125550123\n", []string{"Content-Type", "text/csv"}},
		{"GET", "/v1/dnc/{phone}", "/v1/dnc/+12125550123", e.viewer, nil, nil},
		{"DELETE", "/v1/dnc/{phone}", "/v1/dnc/+12125550123", e.manager, nil, nil},
		{"GET", "/v1/dispositions", "/v1/dispositions", e.viewer, nil, nil},
		{"POST", "/v1/attempts/{id}/disposition", "/v1/attempts/x/disposition", e.agent, `{"code":"interested"}`, nil},
		{"POST", "/v1/callerid-pools/rest", "/v1/callerid-pools/rest", e.manager, `{"number":"+12125550123","until":"2030-01-01T00:00:00Z"}`, nil},
	} {
		r := e.do(c.method, c.path, c.key, c.body, c.hdr...)
		p := r.problem(t, http.StatusServiceUnavailable, "")
		require.NotEmpty(t, p.Detail)
		var v any
		require.NoError(t, json.Unmarshal(r.body, &v))
		require.Empty(t, sc.check("$", sc.responseSchema(t, c.method, c.pattern, r.status, problemContentType), v))
	}
	// Reading back works from the store alone.
	e.do("GET", "/v1/contacts/nope", e.viewer, nil).problem(t, http.StatusNotFound, "")
	e.do("GET", "/v1/enrollments/nope", e.viewer, nil).problem(t, http.StatusNotFound, "")
	// Bad input is still the client's fault, not an outage.
	e.do("POST", "/v1/contacts", e.manager, `{"phone":"12"}`).problem(t, http.StatusUnprocessableEntity, "phone")
	e.do("POST", "/v1/dnc", e.manager, `{"phone":"12"}`).problem(t, http.StatusUnprocessableEntity, "phone")
	// No pools configured: an empty list.
	var pools struct{ Items []any }
	e.do("GET", "/v1/callerid-pools", e.viewer, nil).ok(t, http.StatusOK, &pools)
	require.NotNil(t, pools.Items)
	require.Empty(t, pools.Items)
}

func FuzzImportContacts(f *testing.F) {
	ee := newEngineEnv(f)
	f.Add("phone,first_name,plan\n+12125550101,Ada,gold\n12,x,y\n")
	f.Add("phone\n\"+1 212 555 0101\"\n\"unterminated\n")
	for _, g := range garbage {
		f.Add(g)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := *ee.env
		e.t = t
		r := e.do("POST", "/v1/contacts/import", e.manager, body, "Content-Type", "text/csv")
		switch r.status {
		case http.StatusOK:
			var out contactImport
			if err := json.Unmarshal(r.body, &out); err != nil || out.Imported < 0 || out.Errors == nil {
				t.Fatalf("unreadable import result for %q: %s", body, r.body)
			}
			for _, ie := range out.Errors {
				if ie.Row < 1 || ie.Field == "" || ie.Message == "" {
					t.Fatalf("bad row error for %q: %+v", body, ie)
				}
			}
		case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("unexpected %d for %q: %s", r.status, body, r.body)
		}
	})
}
