package sip

import (
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ValidateRequest applies the checks RFC 3261 asks of a UAS that sipgo's
// parser leaves to the application (RFC 4475 torture cases baddate,
// badvers, escruri, mismatch01/02, regbadct). It returns 0 for a good
// request, else the status code and reason phrase to answer with; the
// reason names the offending part.
func ValidateRequest(req *sip.Request) (int, string) {
	if req.SipVersion != "SIP/2.0" {
		return 505, "Version Not Supported"
	}
	if v := req.Via(); v != nil && v.ProtocolVersion != "" && v.ProtocolName+"/"+v.ProtocolVersion != "SIP/2.0" {
		return 505, "Version Not Supported"
	}
	if req.CSeq() == nil || req.CallID() == nil || req.From() == nil || req.To() == nil || req.Via() == nil {
		return 400, "Bad Request (missing mandatory header)"
	}
	// sipgo upper-cases the request method but not the CSeq one.
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return 400, "Bad Request (CSeq method does not match request method)"
	}
	if len(req.Recipient.Headers) > 0 {
		// RFC 3261 19.1.5: headers are not allowed in a Request-URI.
		return 400, "Bad Request (headers in Request-URI)"
	}
	if req.Recipient.Scheme != "" && req.Recipient.Scheme != "sip" && req.Recipient.Scheme != "sips" && req.Recipient.Scheme != "tel" {
		return 416, "Unsupported URI Scheme"
	}
	if h := req.GetHeader("Date"); h != nil {
		// RFC 3261 20.17: rfc1123-date, always GMT.
		v := strings.TrimSpace(h.Value())
		if _, err := time.Parse(time.RFC1123, v); err != nil || !strings.HasSuffix(v, " GMT") {
			return 400, "Bad Request (Date header: must be an RFC 1123 date in GMT)"
		}
	}
	for _, h := range req.GetHeaders("Contact") {
		// RFC 3261 20.10: a URI with '?' must sit in angle brackets, and a
		// target URI in a request has no business carrying headers. sipgo
		// normalises the brackets away, so refuse URI headers outright
		// (RFC 4475 regbadct).
		if c, ok := h.(*sip.ContactHeader); ok && len(c.Address.Headers) > 0 {
			return 400, "Bad Request (Contact header: URI headers are not allowed)"
		}
	}
	return 0, ""
}

// rejectInvalid answers an invalid request and reports whether it did.
func rejectInvalid(req *sip.Request, tx sip.ServerTransaction) bool {
	code, reason := ValidateRequest(req)
	if code == 0 {
		return false
	}
	if !req.IsAck() {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	}
	return true
}

// RejectInvalid is rejectInvalid for other user agents built on sipgo (the
// carrier simulator): it answers an invalid request and reports whether it
// did.
func RejectInvalid(req *sip.Request, tx sip.ServerTransaction) bool { return rejectInvalid(req, tx) }
