package ari

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// One table for every Q.850 cause Asterisk reports on an unanswered channel.
func TestClassifyCause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cause int
		want  dialer.Disposition
	}{
		{17, dialer.Busy},
		{18, dialer.NoAnswer},
		{19, dialer.NoAnswer},
		{20, dialer.NoAnswer},
		{16, dialer.NoAnswer},
		{1, dialer.InvalidNumber},
		{2, dialer.InvalidNumber},
		{3, dialer.InvalidNumber},
		{22, dialer.InvalidNumber},
		{28, dialer.InvalidNumber},
		{21, dialer.Rejected},
		{27, dialer.Failed},
		{31, dialer.Failed},
		{34, dialer.Failed},
		{38, dialer.Failed},
		{41, dialer.Failed},
		{42, dialer.Failed},
		{44, dialer.Failed},
		{47, dialer.Failed},
		{58, dialer.Failed},
		{102, dialer.Failed},
		{127, dialer.Failed},
		{0, dialer.Failed},
		{999, dialer.Failed},
	} {
		got, detail := classifyCause(tc.cause, "")
		require.Equal(t, tc.want, got, "cause %d", tc.cause)
		require.Contains(t, detail, "hangup cause")
	}
	_, detail := classifyCause(17, "User busy")
	require.Equal(t, "hangup cause 17 (User busy)", detail)
}
