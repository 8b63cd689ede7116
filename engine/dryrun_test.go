package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
)

func TestParseOutcomeScript(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec  string
		phone string
		want  []dialer.Disposition
		err   string
	}{
		{"", "+12125550100", []dialer.Disposition{"no_answer", "no_answer"}, ""},
		{"busy", "+12125550100", []dialer.Disposition{"busy", "busy"}, ""},
		{"busy,no_answer,human", "+12125550100", []dialer.Disposition{"busy", "no_answer", "human", "human"}, ""},
		{"+12125550100=busy,human;*=no_answer", "+12125550100", []dialer.Disposition{"busy", "human", "human"}, ""},
		{"+12125550100=busy,human;*=no_answer", "+12125550101", []dialer.Disposition{"no_answer"}, ""},
		{"(212) 555-0100=voicemail", "+12125550100", []dialer.Disposition{"voicemail"}, ""},
		{"ringing", "", nil, "\"ringing\" is not a system disposition"},
		{"12=busy", "", nil, "phone"},
		{"busy;;*=human", "+12125550100", []dialer.Disposition{"human"}, ""},
		{"requeue:5m,human", "+12125550100", []dialer.Disposition{"failed", "human"}, ""},
		{"requeue:0s", "", nil, "want requeue:DURATION with a duration > 0"},
		{"requeue:soon", "", nil, `"requeue:soon"`},
	} {
		s, err := ParseOutcomeScript(tc.spec)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.spec)
			continue
		}
		require.NoError(t, err, tc.spec)
		d := NewScriptedDialer(s, time.Now)
		for i, w := range tc.want {
			out := d.Dial(t.Context(), dialer.Call{To: tc.phone})
			require.Equal(t, w, out.Disposition, "%s call %d", tc.spec, i+1)
			require.Equal(t, w != dialer.Failed, out.Placed())
			if strings.HasPrefix(tc.spec, "requeue:") && i == 0 {
				require.Equal(t, 5*time.Minute, out.Requeue)
				require.NotEmpty(t, out.Detail)
			} else {
				require.Zero(t, out.Requeue)
			}
		}
	}
}

func FuzzParseOutcomeScript(f *testing.F) {
	f.Add("+15551234567=busy,human;*=no_answer")
	f.Add("busy,no_answer")
	f.Add("requeue:5m,human")
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseOutcomeScript(spec)
		if err != nil {
			return
		}
		out := NewScriptedDialer(s, time.Now).Dial(t.Context(), dialer.Call{To: "+12125550100"})
		if !out.Disposition.Valid() {
			t.Fatalf("invalid disposition %q", out.Disposition)
		}
		if out.Requeue < 0 || (out.Requeue > 0 && out.Placed()) {
			t.Fatalf("requeue %v on a placed=%v call", out.Requeue, out.Placed())
		}
	})
}
