package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/sms"
	"github.com/cadenza-dialer/cadenza/engine"
)

func TestSMSTemplates(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	var tpl engine.SMSTemplate
	r := e.do("POST", "/v1/sms-templates", e.manager, `{"name":"welcome","text":"Hi {{contact.first_name}}, thanks for asking."}`)
	e.documented(t, "POST", "/v1/sms-templates", r).ok(t, http.StatusCreated, &tpl)
	require.NotEmpty(t, tpl.ID)

	e.documented(t, "POST", "/v1/sms-templates", e.do("POST", "/v1/sms-templates", e.manager, `{"name":"welcome","text":"again"}`)).problem(t, http.StatusConflict, "")
	e.do("POST", "/v1/sms-templates", e.viewer, `{"name":"x","text":"y"}`).problem(t, http.StatusForbidden, "")
	for _, tc := range []struct{ body, field string }{
		{`{"name":"bad","text":"Hi {{contact.frist_name}}"}`, "text"},
		{`{"name":"","text":"hello"}`, "name"},
		{`{"name":"empty","text":""}`, "text"},
		{`{"name":"long","text":"` + strings.Repeat("x", 1601) + `"}`, "text"},
		{`{"name":"x","text":"y","color":"red"}`, "color"},
	} {
		e.documented(t, "POST", "/v1/sms-templates", e.do("POST", "/v1/sms-templates", e.manager, tc.body)).problem(t, http.StatusUnprocessableEntity, tc.field)
	}

	var got engine.SMSTemplate
	e.documented(t, "GET", "/v1/sms-templates/{id}", e.do("GET", "/v1/sms-templates/welcome", e.viewer, nil)).ok(t, http.StatusOK, &got)
	require.Equal(t, tpl.ID, got.ID)
	got.Text = "Hello {{contact.first_name}}!"
	e.documented(t, "PUT", "/v1/sms-templates/{id}", e.do("PUT", "/v1/sms-templates/"+tpl.ID, e.manager, got)).ok(t, http.StatusOK, &got)
	require.Equal(t, "Hello {{contact.first_name}}!", got.Text)
	var page struct{ Items []engine.SMSTemplate }
	e.documented(t, "GET", "/v1/sms-templates", e.do("GET", "/v1/sms-templates", e.viewer, nil)).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 1)
	e.documented(t, "DELETE", "/v1/sms-templates/{id}", e.do("DELETE", "/v1/sms-templates/"+tpl.ID, e.manager, nil)).ok(t, http.StatusNoContent, nil)
	e.documented(t, "GET", "/v1/sms-templates/{id}", e.do("GET", "/v1/sms-templates/"+tpl.ID, e.viewer, nil)).problem(t, http.StatusNotFound, "")
}

// The gateway posts a reply; STOP puts the number on the do-not-call list
// and stops its enrollments. Only correctly signed posts are believed.
func TestSMSInboundOptOut(t *testing.T) {
	t.Parallel()
	const token, hook = "twilio-auth-token", "https://dialer.example.com/v1/sms/inbound"
	e := newEngineEnv(t, func(o *Options) { o.SMSInbound = SMSInbound{AuthToken: token, URL: hook} })
	id := e.activeCadence(t, nil)
	var en engine.Enrollment
	e.do("POST", "/v1/cadences/"+id+"/enrollments", e.manager, `{"contact":{"phone":"+12125550123"}}`).ok(t, http.StatusCreated, &en)

	post := func(form url.Values, sig string, ct ...string) resp {
		t.Helper()
		h := []string{"Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", sig}
		if len(ct) > 0 {
			h[1] = ct[0]
		}
		return e.do("POST", "/v1/sms/inbound", "", form.Encode(), h...)
	}
	hello := url.Values{"From": {"+12125550123"}, "To": {"+15555550100"}, "Body": {"Who is this?"}}
	r := post(hello, sms.SignTwilio(token, hook, hello))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.Equal(t, "text/xml", r.header.Get("Content-Type"))
	require.Contains(t, string(r.body), "<Response>")
	var got engine.Enrollment
	e.do("GET", "/v1/enrollments/"+en.ID, e.viewer, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, engine.EnrollmentActive, got.Status, "an ordinary reply changes nothing")

	stop := url.Values{"From": {"+12125550123"}, "To": {"+15555550100"}, "Body": {" Stop "}}
	e.documented(t, "POST", "/v1/sms/inbound", post(stop, "bm90IGl0")).problem(t, http.StatusForbidden, "X-Twilio-Signature")
	e.documented(t, "POST", "/v1/sms/inbound", post(stop, sms.SignTwilio("other", hook, stop))).problem(t, http.StatusForbidden, "X-Twilio-Signature")
	e.documented(t, "POST", "/v1/sms/inbound", post(stop, sms.SignTwilio(token, hook, stop), "application/json")).problem(t, http.StatusUnsupportedMediaType, "Content-Type")
	e.do("GET", "/v1/enrollments/"+en.ID, e.viewer, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, engine.EnrollmentActive, got.Status, "unsigned STOPs are ignored")

	r = post(stop, sms.SignTwilio(token, hook, stop))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	e.do("GET", "/v1/enrollments/"+en.ID, e.viewer, nil).ok(t, http.StatusOK, &got)
	require.Equal(t, engine.EnrollmentStopped, got.Status)
	e.do("GET", "/v1/dnc/+12125550123", e.viewer, nil).ok(t, http.StatusOK, nil)

	noFrom := url.Values{"Body": {"STOP"}}
	e.documented(t, "POST", "/v1/sms/inbound", post(noFrom, sms.SignTwilio(token, hook, noFrom))).problem(t, http.StatusUnprocessableEntity, "From")
}

func TestSMSInboundNotConfigured(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	r := e.do("POST", "/v1/sms/inbound", "", "From=%2B12125550123&Body=STOP", "Content-Type", "application/x-www-form-urlencoded")
	e.documented(t, "POST", "/v1/sms/inbound", r).problem(t, http.StatusServiceUnavailable, "")
}

func TestRecommendationsRoute(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	var out struct{ Items []engine.Recommendation }
	e.documented(t, "GET", "/v1/recommendations", e.do("GET", "/v1/recommendations", e.viewer, nil)).ok(t, http.StatusOK, &out)
	require.Empty(t, out.Items)
	// The five-step example leaves a voicemail only on later calls; a
	// cadence whose first call leaves one gets the practice advice.
	e.activeCadence(t, func(m map[string]any) {
		for _, st := range m["steps"].([]any) {
			if call, ok := st.(map[string]any)["call"].(map[string]any); ok {
				call["voicemail"] = map[string]any{"enabled": true, "asset": "vm-intro"}
				return
			}
		}
	})
	e.documented(t, "GET", "/v1/recommendations", e.do("GET", "/v1/recommendations", e.viewer, nil)).ok(t, http.StatusOK, &out)
	require.Len(t, out.Items, 1)
	require.Equal(t, engine.RecommendVoicemailLater, out.Items[0].Kind)
	e.do("GET", "/v1/recommendations", "", nil).problem(t, http.StatusUnauthorized, "")
}
