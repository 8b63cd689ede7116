package sip

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// DefaultBackoff is the retry-after hint for carrier rate-limit answers that
// carry no Retry-After header ("CPS limit exceeded").
const DefaultBackoff = time.Second

// maxRetryAfter caps a carrier's Retry-After so a typo cannot park a trunk
// for days.
const maxRetryAfter = time.Hour

// rateLimitPhrases are reason-phrase fragments carriers use for "slow down"
// (matched case-insensitively).
var rateLimitPhrases = []string{"cps", "rate limit", "too many", "call limit", "channel limit", "capacity", "throttl", "congest"}

// Failure is the classification of a final non-2xx response to an INVITE.
type Failure struct {
	Disposition dialer.Disposition
	Q850Cause   int
	RetryAfter  time.Duration
	Detail      string
}

// Classify maps a final SIP failure (status code, reason phrase, and the raw
// Reason and Retry-After header values, either may be empty) onto a system
// disposition. A Q.850 cause refines responses that the status code alone
// leaves as a generic failure (e.g. 500 with cause 17 is busy).
func Classify(code int, phrase, reasonHdr, retryAfterHdr string) Failure {
	f := Failure{Q850Cause: ParseQ850(reasonHdr), RetryAfter: ParseRetryAfter(retryAfterHdr)}
	lower := strings.ToLower(phrase)
	rateLimited := false
	for _, p := range rateLimitPhrases {
		if strings.Contains(lower, p) {
			rateLimited = true
			break
		}
	}
	switch code {
	case 486, 600:
		f.Disposition = dialer.Busy
	case 480, 408, 487:
		f.Disposition = dialer.NoAnswer
	case 404, 484, 604, 410, 485:
		f.Disposition = dialer.InvalidNumber
	case 403, 603:
		f.Disposition = dialer.Rejected
		if rateLimited { // "403 CPS limit exceeded" is a trunk limit, not the callee
			f.Disposition = dialer.Failed
		}
	default:
		f.Disposition = dialer.Failed
	}
	if f.Disposition == dialer.Failed {
		switch f.Q850Cause {
		case 17:
			f.Disposition = dialer.Busy
		case 1, 3, 28:
			f.Disposition = dialer.InvalidNumber
		case 21:
			f.Disposition = dialer.Rejected
		case 18, 19:
			f.Disposition = dialer.NoAnswer
		}
	}
	if f.Disposition == dialer.Failed && (rateLimited || code == 429) && f.RetryAfter == 0 {
		f.RetryAfter = DefaultBackoff
	}
	f.Detail = fmt.Sprintf("sip %d %s", code, phrase)
	if f.Q850Cause != 0 {
		f.Detail += fmt.Sprintf(" (q850 cause %d)", f.Q850Cause)
	}
	if f.RetryAfter > 0 {
		f.Detail += fmt.Sprintf(", retry after %s", f.RetryAfter)
	}
	return f
}

// ParseQ850 returns the cause of the first Q.850 entry of a Reason header
// value (RFC 3326: `Q.850;cause=17;text="User busy"`, several entries
// separated by commas), or 0.
func ParseQ850(v string) int {
	for _, entry := range splitOutsideQuotes(v, ',') {
		parts := splitOutsideQuotes(entry, ';')
		if len(parts) == 0 || !strings.EqualFold(strings.TrimSpace(parts[0]), "Q.850") {
			continue
		}
		for _, p := range parts[1:] {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "cause") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
			if err == nil && n > 0 && n < 128 {
				return n
			}
		}
	}
	return 0
}

// ParseRetryAfter reads a Retry-After value (RFC 3261 20.33:
// `120 (comment);duration=3600`) as a duration, capped at an hour; 0 when
// absent or malformed.
func ParseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 || end > 9 {
		if end > 9 {
			return maxRetryAfter
		}
		return 0
	}
	n, _ := strconv.Atoi(v[:end])
	d := time.Duration(n) * time.Second
	return min(d, maxRetryAfter)
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
