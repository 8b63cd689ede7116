package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cadenza-dialer/cadenza/engine"
)

// enrollBody names the contact to enroll: an existing one by ID, or an
// inline contact that is upserted by phone first.
type enrollBody struct {
	ContactID string       `json:"contact_id,omitempty"`
	Contact   *contactBody `json:"contact,omitempty"`
}

// enroll enrolls a contact into an active cadence: 201 with the
// enrollment; 404 for an unknown cadence, 409 naming why it cannot enroll
// (not active, do-not-call, already went through a cadence that does not
// allow re-enrollment, already enrolled).
func (s *Server) enroll(r *request) (*reply, error) {
	var b enrollBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	req, err := b.request(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.doEnroll(r, req)
}

// request validates the body into an engine request.
func (b enrollBody) request(cadenceID string) (engine.EnrollRequest, error) {
	req := engine.EnrollRequest{CadenceID: cadenceID, ContactID: strings.TrimSpace(b.ContactID)}
	switch {
	case b.Contact != nil && req.ContactID != "":
		return req, fieldProblem("contact_id", "send contact_id or contact, not both")
	case b.Contact != nil:
		c, ferrs := b.Contact.contact("contact.")
		if len(ferrs) > 0 {
			return req, ferrs
		}
		req.Contact = &c
	case req.ContactID == "":
		return req, fieldProblem("contact_id", "contact_id or contact is required")
	case len(req.ContactID) > 100 || !validText(req.ContactID):
		return req, fieldProblem("contact_id", "no such contact")
	}
	return req, nil
}

func (s *Server) doEnroll(r *request, req engine.EnrollRequest) (*reply, error) {
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	if err := s.checkEnrollable(r, "cadence", req.CadenceID); err != nil {
		return nil, err
	}
	if req.ContactID != "" && s.enrollments != nil {
		if _, err := s.enrollments.GetContact(r.Context(), req.ContactID); errors.Is(err, engine.ErrNotFound) {
			return nil, fieldProblem("contact_id", "no such contact")
		} else if err != nil {
			return nil, fmt.Errorf("get contact: %w", err)
		}
	}
	en, err := eng.Enroll(r.Context(), req)
	if err != nil {
		field := ""
		switch {
		case r.PathValue("key") != "":
		case req.Contact != nil:
			field = "contact"
		default:
			field = "contact_id"
		}
		return nil, enrollError(err, req.CadenceID, field)
	}
	return jsonReply(http.StatusCreated, en)
}

func (s *Server) getEnrollment(r *request) (*reply, error) {
	st, err := s.needEnrollments()
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	en, err := st.GetEnrollment(r.Context(), id)
	if err != nil {
		return nil, storeError(err, "enrollment", id, "get enrollment")
	}
	return jsonReply(http.StatusOK, en)
}

// stopBody optionally says why an enrollment is stopped.
type stopBody struct {
	Reason string `json:"reason,omitempty"`
}

// stopEnrollment stops an active enrollment and cancels its scheduled
// actions; 409 when it already finished.
func (s *Server) stopEnrollment(r *request) (*reply, error) {
	var b stopBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	if err := reasonProblem(b.Reason); err != nil {
		return nil, err
	}
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	en, err := eng.StopEnrollment(r.Context(), id, strings.TrimSpace(b.Reason))
	if err != nil {
		if p := storeProblem(err, "enrollment", id); p != nil {
			return nil, p
		}
		return nil, fmt.Errorf("stop enrollment: %w", err)
	}
	return jsonReply(http.StatusOK, en)
}

// Trigger is a webhook that enrolls the contact in its body into a
// cadence: POST /v1/triggers/{Key}. It is authenticated by its own secret,
// not by an API key, so a CRM or form can call it without holding one.
type Trigger struct {
	Key       string `json:"key"`
	CadenceID string `json:"cadence_id"`
	// Secret is sent as-is in X-Cadenza-Trigger-Secret, or used as the
	// HMAC-SHA256 key of X-Cadenza-Signature: sha256=<hex of the body's MAC>.
	Secret string `json:"-"`
}

// minTriggerSecret is the shortest trigger secret accepted: shorter ones
// are guessable.
const minTriggerSecret = 16

// Trigger headers.
const (
	TriggerSecretHeader    = "X-Cadenza-Trigger-Secret"
	TriggerSignatureHeader = "X-Cadenza-Signature"
)

func (t Trigger) validate() error {
	switch {
	case t.Key == "" || len(t.Key) > 100 || strings.ContainsAny(t.Key, "/?#% "):
		return errors.New("key: required, at most 100 characters, no / ? # % or spaces")
	case t.CadenceID == "":
		return errors.New("cadence_id: required")
	case len(t.Secret) < minTriggerSecret:
		return fmt.Errorf("secret: must be at least %d characters", minTriggerSecret)
	}
	return nil
}

// authorize checks the secret header or the body's signature in constant
// time.
func (t Trigger) authorize(r *request) error {
	if sig := r.Header.Get(TriggerSignatureHeader); sig != "" {
		hexMAC, ok := strings.CutPrefix(sig, "sha256=")
		got, err := hex.DecodeString(hexMAC)
		if !ok || err != nil {
			return triggerUnauthorized(TriggerSignatureHeader, "must be sha256=<hex HMAC-SHA256 of the body>")
		}
		m := hmac.New(sha256.New, []byte(t.Secret))
		m.Write(r.body)
		if !hmac.Equal(got, m.Sum(nil)) {
			return triggerUnauthorized(TriggerSignatureHeader, "does not match the body")
		}
		return nil
	}
	secret := r.Header.Get(TriggerSecretHeader)
	if secret == "" {
		return triggerUnauthorized(TriggerSecretHeader, "send the trigger's secret, or sign the body in "+TriggerSignatureHeader)
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(t.Secret)) != 1 {
		return triggerUnauthorized(TriggerSecretHeader, "wrong secret")
	}
	return nil
}

func triggerUnauthorized(header, msg string) *Problem {
	p := newProblem(http.StatusUnauthorized, "unauthorized", header+": "+msg)
	p.Errors = []engine.FieldError{fieldErr(header, msg)}
	return p
}

// fireTrigger enrolls the contact in the body (the same fields as POST
// /v1/contacts) into the trigger's cadence. An unknown key and a bad
// secret both answer 401, so keys cannot be probed.
func (s *Server) fireTrigger(r *request) (*reply, error) {
	t, ok := s.triggers[r.PathValue("key")]
	if !ok {
		// Compare against a dummy so unknown keys cost what known ones do.
		t = Trigger{Secret: strings.Repeat("\x00", minTriggerSecret+1)}
	}
	if err := t.authorize(r); err != nil {
		return nil, err
	}
	if !ok {
		return nil, triggerUnauthorized(TriggerSecretHeader, "wrong secret")
	}
	var b contactBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	c, ferrs := b.contact("")
	if len(ferrs) > 0 {
		return nil, ferrs
	}
	return s.doEnroll(r, engine.EnrollRequest{CadenceID: t.CadenceID, Contact: &c})
}
