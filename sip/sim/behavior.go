package sim

import (
	"strings"
	"time"
)

// Kind is what the simulated far end does with a call.
type Kind string

// Behaviour kinds.
const (
	Human       Kind = "human"        // answers, says hello, stays until BYE or HumanTimeout
	Voicemail   Kind = "voicemail"    // answers, greeting, beep, records
	Busy        Kind = "busy"         // 486 Busy Here
	NoAnswer    Kind = "no_answer"    // rings until CANCEL or NoAnswerTimeout (then 480)
	Invalid     Kind = "invalid"      // 404 Not Found
	InvalidSIT  Kind = "invalid_sit"  // 183 with SIT tones + announcement, then 404
	Unavailable Kind = "unavailable"  // 503 Service Unavailable with Retry-After
	Reject      Kind = "reject"       // 603 Decline
	EarlyMedia  Kind = "early_media"  // 183 with audio, then answers like a human
	Auth        Kind = "auth"         // 401 digest challenge, then answers like a human
	CPSLimit    Kind = "cps_limit"    // 503 "CPS limit exceeded" without Retry-After
	HumanHangup Kind = "human_hangup" // answers, says hello, hangs up itself (BYE from the far end)
	Echo        Kind = "echo"         // answers and sends every received packet back (load tests)
	ProxyAuth   Kind = "proxy_auth"   // 407 proxy digest challenge, then answers like a human
)

// Behavior is the far end's script for one call. Zero fields take the
// Simulator's defaults.
type Behavior struct {
	Kind Kind `json:"kind"`
	// Ring is how long the far end rings (180) before its answer or final
	// response; 0 uses Options.Ring.
	Ring time.Duration `json:"ring,omitempty"`
	// Greeting is the voicemail greeting length (speech cut or padded).
	Greeting time.Duration `json:"greeting,omitempty"`
	// BeepHz and BeepLength shape the voicemail beep (default 1000 Hz, 500 ms).
	BeepHz     float64       `json:"beep_hz,omitempty"`
	BeepLength time.Duration `json:"beep_length,omitempty"`
	// RetryAfter is the 503's Retry-After (default 30 s).
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// HangupAfter bounds an answered call (human: talk time; voicemail:
	// recording time after the beep); default Options.MaxCall.
	HangupAfter time.Duration `json:"hangup_after,omitempty"`
}

// The number → behaviour table. The digits of the dialed number (the user
// part of the Request-URI, ignoring everything but digits) decide:
//
//	prefix 9990 → unavailable (503, Retry-After 30)
//	prefix 9991 → reject (603)
//	prefix 9992 → early media (183 + audio), then a human answers
//	prefix 9993 → invalid with SIT tones in early media, then 404
//	prefix 9994 → digest auth (401 challenge), then a human answers
//	prefix 9995 → cps limit (503 "CPS limit exceeded", no Retry-After)
//	prefix 9996 → a human who says hello and hangs up (BYE from far end)
//	prefix 9997 → echo: answers and returns every RTP packet (load tests)
//	prefix 9998 → proxy auth (407 challenge), then a human answers
//	otherwise by the last digit:
//	  0-3 human, 4 voicemail (short greeting, 1.5 s), 5 voicemail (3 s),
//	  6 voicemail (6 s), 7 busy (486), 8 no answer, 9 invalid (404)
//
// The prefix is matched on the national digits too, so "+19990…" and
// "9990…" both select unavailable.
func behaviorFor(number string) Behavior {
	d := digits(number)
	for _, p := range []string{d, strings.TrimPrefix(d, "1")} {
		if len(p) >= 4 && strings.HasPrefix(p, "999") {
			switch p[3] {
			case '0':
				return Behavior{Kind: Unavailable}
			case '1':
				return Behavior{Kind: Reject}
			case '2':
				return Behavior{Kind: EarlyMedia}
			case '3':
				return Behavior{Kind: InvalidSIT}
			case '4':
				return Behavior{Kind: Auth}
			case '5':
				return Behavior{Kind: CPSLimit}
			case '6':
				return Behavior{Kind: HumanHangup}
			case '7':
				return Behavior{Kind: Echo}
			case '8':
				return Behavior{Kind: ProxyAuth}
			}
		}
	}
	if d == "" {
		return Behavior{Kind: Invalid}
	}
	switch d[len(d)-1] {
	case '0', '1', '2', '3':
		return Behavior{Kind: Human}
	case '4':
		return Behavior{Kind: Voicemail, Greeting: 1500 * time.Millisecond}
	case '5':
		return Behavior{Kind: Voicemail, Greeting: 3 * time.Second}
	case '6':
		return Behavior{Kind: Voicemail, Greeting: 6 * time.Second}
	case '7':
		return Behavior{Kind: Busy}
	case '8':
		return Behavior{Kind: NoAnswer}
	}
	return Behavior{Kind: Invalid}
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
