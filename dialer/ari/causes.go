package ari

import (
	"fmt"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// classifyCause turns the Q.850 cause of a channel that was never answered
// into a disposition. Asterisk maps SIP responses to these causes (PJSIP:
// 486 → 17, 404 → 1, 480 → 18/19, 503 → 34, 603 → 21); ARI shows only the
// cause, never the SIP code or a Retry-After.
func classifyCause(cause int, causeTxt string) (dialer.Disposition, string) {
	d := dialer.Failed
	switch cause {
	case 17: // user busy
		d = dialer.Busy
	case 18, 19: // no user responding, no answer (also our originate timeout)
		d = dialer.NoAnswer
	case 1, 2, 3, 22, 28: // unallocated, no route to network/destination, number changed, invalid format
		d = dialer.InvalidNumber
	case 21: // call rejected
		d = dialer.Rejected
	case 16: // normal clearing before answer: the far end hung up while ringing
		d = dialer.NoAnswer
	case 20: // subscriber absent
		d = dialer.NoAnswer
	case 27, 31, 34, 38, 41, 42, 44, 47, 58, 88, 102, 111, 127, 0:
		// destination out of order, normal unspecified, no circuit, network out
		// of order, temporary failure, congestion, channel unavailable,
		// resource unavailable, bearer unavailable, incompatible, timeout,
		// protocol error, interworking, unknown: the trunk or network failed.
		d = dialer.Failed
	}
	if causeTxt == "" {
		causeTxt = "cause " + fmt.Sprint(cause)
	}
	return d, fmt.Sprintf("hangup cause %d (%s)", cause, causeTxt)
}
