package sms

import (
	"crypto/hmac"
	"crypto/sha1" // Twilio signs webhooks with HMAC-SHA1; we only verify.
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
)

// VerifyTwilioSignature checks the X-Twilio-Signature of an inbound webhook:
// base64(HMAC-SHA1(authToken, fullURL + each POST parameter's name and
// value, sorted by name)). fullURL is the URL Twilio called, exactly as
// configured there (scheme, host, path and query).
func VerifyTwilioSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	want, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	return hmac.Equal(want, twilioMAC(authToken, fullURL, form))
}

// SignTwilio computes the signature Twilio would send; tests and local
// tools use it to sign their own requests.
func SignTwilio(authToken, fullURL string, form url.Values) string {
	return base64.StdEncoding.EncodeToString(twilioMAC(authToken, fullURL, form))
}

func twilioMAC(authToken, fullURL string, form url.Values) []byte {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := slices.Clone(form[k])
		slices.Sort(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return m.Sum(nil)
}

// optOutWords are the replies that unsubscribe a number: the CTIA's
// standard keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) and the
// FCC's 2025 rule that "revoke", "opt out" and the like also count.
var optOutWords = []string{"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT", "OPT-OUT"}

// IsOptOut reports whether an inbound message is an opt-out: the whole
// message, trimmed and case-folded, is one of the keywords (with optional
// trailing punctuation). "Stop calling me" counts too: a reply that starts
// with STOP followed by a word is a clear revocation under the FCC's
// "any reasonable means" rule.
func IsOptOut(body string) bool {
	s := strings.ToUpper(strings.TrimSpace(body))
	s = strings.TrimRight(s, ".!")
	s = strings.TrimSpace(s)
	if slices.Contains(optOutWords, s) {
		return true
	}
	first, _, found := strings.Cut(s, " ")
	return found && (first == "STOP" || first == "UNSUBSCRIBE")
}
