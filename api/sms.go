package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cadenza-dialer/cadenza/dialer/sms"
	"github.com/cadenza-dialer/cadenza/engine"
)

// SMS templates (seed 001: an SMS action picks a stored template and may
// customize its text) and the gateway's inbound webhook, through which a
// reply such as STOP puts the number on the do-not-call list.

// SMSInbound configures POST /v1/sms/inbound.
type SMSInbound struct {
	// AuthToken is the gateway's signing key (Twilio's auth token).
	AuthToken string
	// URL is the public URL the gateway posts to, exactly as configured
	// there: the signature covers it. Empty: the URL the request reached
	// (right only when no proxy rewrites scheme, host or path).
	URL string
}

// smsTemplates is the SMS template resource: /v1/sms-templates and
// /v1/sms-templates/{id} (GET also by name); deleting a template an active
// cadence uses is a 409.
func (s *Server) smsTemplates() resource[engine.SMSTemplate] {
	st := s.smsTemplateStore
	if st == nil {
		return resource[engine.SMSTemplate]{what: "sms template", key: "id", missing: "the store does not keep SMS templates"}
	}
	return resource[engine.SMSTemplate]{what: "sms template", key: "id", keyOf: func(t *engine.SMSTemplate) *string { return &t.ID },
		nameOf: func(t engine.SMSTemplate) string { return t.Name },
		check:  engine.SMSTemplate.Validate, create: st.CreateSMSTemplate, get: st.GetSMSTemplate, list: st.ListSMSTemplates,
		update: st.UpdateSMSTemplate, remove: st.DeleteSMSTemplate}
}

// receiveSMS: POST /v1/sms/inbound, the gateway's webhook for replies
// (Twilio's form post: From, To, Body), authenticated by its signature,
// not by an API key. An opt-out reply (STOP, UNSUBSCRIBE, "stop texting
// me"…) adds the sender to the do-not-call list, which stops every
// enrollment of the number at once. It answers with an empty TwiML
// response: the gateway sends no automatic reply from us (carriers send
// the STOP confirmation themselves).
func (s *Server) receiveSMS(w http.ResponseWriter, r *http.Request) {
	fail := func(p *Problem) { writeProblem(w, r, p) }
	if s.inbound.AuthToken == "" {
		fail(unavailable("no SMS gateway with an auth token is configured (sms in the configuration)"))
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		fail(unsupported(fmt.Sprintf("Content-Type %q: the gateway posts application/x-www-form-urlencoded", ct)))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		fail(tooLarge(64 << 10))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		fail(badRequest("body", "not a form: "+err.Error()))
		return
	}
	full := s.inbound.URL
	if full == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		full = scheme + "://" + r.Host + r.URL.RequestURI()
	}
	if !sms.VerifyTwilioSignature(s.inbound.AuthToken, full, form, r.Header.Get("X-Twilio-Signature")) {
		p := newProblem(http.StatusForbidden, "bad-signature", "X-Twilio-Signature does not match this request")
		p.Errors = []engine.FieldError{{Path: "X-Twilio-Signature", Message: "does not match"}}
		fail(p)
		return
	}
	from := form.Get("From")
	if from == "" {
		fail(fieldProblem("From", "required"))
		return
	}
	if sms.IsOptOut(form.Get("Body")) {
		eng, err := s.needEngine()
		var p *Problem
		if errors.As(err, &p) {
			fail(p)
			return
		}
		n, err := eng.AddDNC(r.Context(), from, "sms opt-out: replied "+strings.TrimSpace(form.Get("Body")))
		if err != nil {
			fail(fieldProblem("From", err.Error()))
			return
		}
		s.log.Info("sms opt-out", "stopped_enrollments", n)
	}
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
}
