package sip_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code        int
		phrase      string
		reason      string // Reason header
		retryAfter  string // Retry-After header
		disposition dialer.Disposition
		q850        int
		backoff     time.Duration
	}{
		// Busy.
		{486, "Busy Here", "", "", dialer.Busy, 0, 0},
		{600, "Busy Everywhere", "", "", dialer.Busy, 0, 0},
		{486, "Busy Here", `Q.850;cause=17;text="User busy"`, "", dialer.Busy, 17, 0},
		// No answer.
		{480, "Temporarily Unavailable", "", "", dialer.NoAnswer, 0, 0},
		{408, "Request Timeout", "", "", dialer.NoAnswer, 0, 0},
		{487, "Request Terminated", "", "", dialer.NoAnswer, 0, 0},
		{480, "Temporarily Unavailable", "Q.850;cause=19", "", dialer.NoAnswer, 19, 0},
		// Invalid numbers.
		{404, "Not Found", "", "", dialer.InvalidNumber, 0, 0},
		{484, "Address Incomplete", "", "", dialer.InvalidNumber, 0, 0},
		{604, "Does Not Exist Anywhere", "", "", dialer.InvalidNumber, 0, 0},
		{410, "Gone", "", "", dialer.InvalidNumber, 0, 0},
		{404, "Not Found", "Q.850;cause=1", "", dialer.InvalidNumber, 1, 0},
		// Rejected.
		{403, "Forbidden", "", "", dialer.Rejected, 0, 0},
		{603, "Decline", "", "", dialer.Rejected, 0, 0},
		{603, "Decline", "Q.850;cause=21", "", dialer.Rejected, 21, 0},
		// Failures, with the carrier's Retry-After honoured.
		{503, "Service Unavailable", "", "30", dialer.Failed, 0, 30 * time.Second},
		{503, "Service Unavailable", "", "120 (maintenance);duration=3600", dialer.Failed, 0, 2 * time.Minute},
		{503, "Service Unavailable", "", "999999999999", dialer.Failed, 0, time.Hour},
		{503, "Service Unavailable", "", "soon", dialer.Failed, 0, 0},
		{500, "Server Internal Error", "", "", dialer.Failed, 0, 0},
		{502, "Bad Gateway", "", "", dialer.Failed, 0, 0},
		{488, "Not Acceptable Here", "", "", dialer.Failed, 0, 0},
		{401, "Unauthorized", "", "", dialer.Failed, 0, 0},
		{407, "Proxy Authentication Required", "", "", dialer.Failed, 0, 0},
		{606, "Not Acceptable", "", "", dialer.Failed, 0, 0},
		// Carrier rate limits: failed, with a back-off hint.
		{503, "CPS limit exceeded", "", "", dialer.Failed, 0, sip.DefaultBackoff},
		{403, "CPS Limit Exceeded", "", "", dialer.Failed, 0, sip.DefaultBackoff},
		{486, "Too Many Calls", "", "", dialer.Busy, 0, 0}, // a busy line stays busy
		{503, "Call limit reached", "", "5", dialer.Failed, 0, 5 * time.Second},
		{480, "Channel limit", "", "", dialer.NoAnswer, 0, 0},
		{429, "Too Many Requests", "", "", dialer.Failed, 0, sip.DefaultBackoff},
		{503, "Rate limit", "", "", dialer.Failed, 0, sip.DefaultBackoff},
		// Q.850 refines generic failures.
		{500, "Server Internal Error", "Q.850;cause=17", "", dialer.Busy, 17, 0},
		{503, "Service Unavailable", `SIP;cause=503;text="x", Q.850;cause=34;text="No circuit"`, "", dialer.Failed, 34, 0},
		{502, "Bad Gateway", "Q.850 ; cause = 3", "", dialer.InvalidNumber, 3, 0},
		{500, "Error", "Q.850;cause=28", "", dialer.InvalidNumber, 28, 0},
		{500, "Error", "Q.850;cause=21", "", dialer.Rejected, 21, 0},
		{500, "Error", "Q.850;cause=18", "", dialer.NoAnswer, 18, 0},
		{500, "Error", `Q.850;text="cause=17, busy";cause=16`, "", dialer.Failed, 16, 0},
		{500, "Error", "Q.850;cause=999", "", dialer.Failed, 0, 0},
		{500, "Error", "SIP;cause=200", "", dialer.Failed, 0, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d %s %s", tc.code, tc.phrase, tc.reason), func(t *testing.T) {
			t.Parallel()
			f := sip.Classify(tc.code, tc.phrase, tc.reason, tc.retryAfter)
			require.Equal(t, tc.disposition, f.Disposition)
			require.True(t, f.Disposition.Valid())
			require.Equal(t, tc.q850, f.Q850Cause)
			require.Equal(t, tc.backoff, f.RetryAfter)
			require.Contains(t, f.Detail, fmt.Sprint(tc.code))
		})
	}
}

func FuzzParseQ850(f *testing.F) {
	for _, s := range []string{`Q.850;cause=17;text="busy"`, `SIP;cause=1, Q.850;cause=3`, `"`, `Q.850;cause="12`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := sip.ParseQ850(s)
		if n < 0 || n > 127 {
			t.Fatalf("cause %d out of range", n)
		}
		if d := sip.ParseRetryAfter(s); d < 0 || d > time.Hour {
			t.Fatalf("retry-after %s out of range", d)
		}
	})
}
