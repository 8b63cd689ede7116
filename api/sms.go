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

func (s *Server) needSMSTemplates() (engine.SMSTemplateStore, error) {
	if s.smsTemplates == nil {
		return nil, unavailable("the store does not keep SMS templates")
	}
	return s.smsTemplates, nil
}

// createSMSTemplate: POST /v1/sms-templates {"name", "text", "description"?}.
func (s *Server) createSMSTemplate(req *request) (*reply, error) {
	st, err := s.needSMSTemplates()
	if err != nil {
		return nil, err
	}
	var t engine.SMSTemplate
	if err := decodeStrict(req.body, &t); err != nil {
		return nil, err
	}
	if t.ID != "" {
		return nil, fieldProblem("id", "is set by the server")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t, err = st.CreateSMSTemplate(req.Context(), t, s.now())
	if err != nil {
		return nil, storeError(err, "sms template", t.Name, "create sms template")
	}
	return jsonReply(http.StatusCreated, t)
}

// listSMSTemplates: GET /v1/sms-templates.
func (s *Server) listSMSTemplates(req *request) (*reply, error) {
	st, err := s.needSMSTemplates()
	if err != nil {
		return nil, err
	}
	page, err := pageParams(req.URL.Query())
	if err != nil {
		return nil, err
	}
	ts, next, err := st.ListSMSTemplates(req.Context(), page)
	if err != nil {
		return nil, listError(err, page, "list sms templates")
	}
	return pageReply(req.Request, ts, next)
}

// getSMSTemplate: GET /v1/sms-templates/{id} (id or name).
func (s *Server) getSMSTemplate(req *request) (*reply, error) {
	st, err := s.needSMSTemplates()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	t, err := st.GetSMSTemplate(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "sms template", id, "get sms template")
	}
	return jsonReply(http.StatusOK, t)
}

// updateSMSTemplate: PUT /v1/sms-templates/{id} replaces name, text and
// description; it accepts what GET returned.
func (s *Server) updateSMSTemplate(req *request) (*reply, error) {
	st, err := s.needSMSTemplates()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	var t engine.SMSTemplate
	if err := decodeStrict(req.body, &t); err != nil {
		return nil, err
	}
	if err := checkBodyID("id", t.ID, id); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t.ID = id
	t, err = st.UpdateSMSTemplate(req.Context(), t, s.now())
	if err != nil {
		return nil, storeError(err, "sms template", id, "update sms template")
	}
	return jsonReply(http.StatusOK, t)
}

// deleteSMSTemplate: DELETE /v1/sms-templates/{id}; 409 while an active
// cadence's SMS step names it.
func (s *Server) deleteSMSTemplate(req *request) (*reply, error) {
	st, err := s.needSMSTemplates()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	if err := st.DeleteSMSTemplate(req.Context(), id); err != nil {
		return nil, storeError(err, "sms template", id, "delete sms template")
	}
	return noContent()
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
