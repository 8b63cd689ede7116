package compliance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLocateThenNextAllowed runs the two steps the engine runs: resolve the
// contact, then find the next lawful instant in every candidate zone and
// state.
func TestLocateThenNextAllowed(t *testing.T) {
	t.Parallel()
	l := mustLocator(t)
	rules := mustRules(t)
	cases := []struct {
		name    string
		contact ContactLocation
		now     time.Time
		want    time.Time
		code    BlockCode
	}{
		{"Idaho 208: wait for 08:00 Pacific (09:00 Mountain)", ContactLocation{Phone: "+12085550100"},
			at(t, "America/Boise", "2026-06-02 08:00"), at(t, "America/Boise", "2026-06-02 09:00"), BlockLegal},
		{"Idaho 208: 21:00 Mountain ends the day", ContactLocation{Phone: "+12085550100"},
			at(t, "America/Los_Angeles", "2026-06-02 20:00"), at(t, "America/Los_Angeles", "2026-06-03 08:00"), BlockLegal},
		{"Florida 850 without a state field: FL's 20:00 applies in Eastern", ContactLocation{Phone: "+18505550100"},
			at(t, "America/Chicago", "2026-06-02 19:00"), at(t, "America/Chicago", "2026-06-03 08:00"), BlockState},
		{"Pensacola ZIP: Central only, FL until 20:00 Central", ContactLocation{Phone: "+18505550100", ZIP: "32501"},
			at(t, "America/Chicago", "2026-06-02 19:00"), at(t, "America/Chicago", "2026-06-02 19:00"), ""},
		{"Maryland 301 at 20:15", ContactLocation{Phone: "+13015550100"},
			at(t, "America/New_York", "2026-06-02 20:15"), at(t, "America/New_York", "2026-06-03 08:00"), BlockState},
		{"El Paso 915 on a Sunday: noon Mountain", ContactLocation{Phone: "+19155550100"},
			at(t, "America/Denver", "2026-06-07 09:00"), at(t, "America/Denver", "2026-06-07 12:00"), BlockState},
		{"explicit zone beats area code, state rules from the area code", ContactLocation{Phone: "+13055550100", TimeZone: "America/Los_Angeles"},
			at(t, "America/Los_Angeles", "2026-06-02 20:30"), at(t, "America/Los_Angeles", "2026-06-03 08:00"), BlockState},
		{"Texas by ZIP, spring-forward Sunday", ContactLocation{ZIP: "75201"},
			utc(t, "2026-03-08 08:00"), at(t, "America/Chicago", "2026-03-08 12:00"), BlockLegal},
		{"Louisiana by area code on New Year's Day", ContactLocation{Phone: "+15045550100"},
			at(t, "America/Chicago", "2026-01-01 10:00"), at(t, "America/Chicago", "2026-01-02 08:00"), BlockState},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			where, err := l.Locate(tc.contact)
			require.NoError(t, err)
			in := Inputs{Channel: ChannelCall, Rules: rules, Contact: where}
			got, b, err := NextAllowed(tc.now, in)
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "want %s, got %s", tc.want, got)
			if tc.code == "" {
				require.Nil(t, b)
			} else {
				require.NotNil(t, b)
				require.Equal(t, tc.code, b.Code, b.Reason)
			}
			require.True(t, bruteAllowed(in, got))
		})
	}
}
