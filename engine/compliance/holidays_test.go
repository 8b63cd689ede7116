package compliance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIsFederalHoliday(t *testing.T) {
	t.Parallel()
	cases := []struct {
		date string
		want bool
	}{
		{"2026-01-01", true},  // New Year's Day, Thursday
		{"2026-01-19", true},  // MLK Day, third Monday
		{"2026-01-12", false}, // second Monday
		{"2026-02-16", true},  // Washington's Birthday
		{"2026-05-25", true},  // Memorial Day, last Monday
		{"2026-05-18", false},
		{"2026-06-19", true},  // Juneteenth, Friday
		{"2026-07-04", true},  // Independence Day, Saturday
		{"2026-07-03", true},  // … observed Friday
		{"2026-07-05", false}, // not the Sunday after
		{"2026-09-07", true},  // Labor Day
		{"2026-10-12", true},  // Columbus Day
		{"2026-11-11", true},  // Veterans Day, Wednesday
		{"2026-11-26", true},  // Thanksgiving, fourth Thursday
		{"2026-11-27", false}, // the Friday after is not federal
		{"2026-12-25", true},  // Christmas, Friday
		{"2027-12-24", true},  // Christmas 2027 is a Saturday: observed Friday
		{"2021-12-31", true},  // New Year's Day 2022 is a Saturday: observed the Friday before
		{"2023-01-02", true},  // New Year's Day 2023 is a Sunday: observed Monday
		{"2020-06-19", false}, // Juneteenth is federal from 2021
		{"2026-03-08", false},
	}
	for _, tc := range cases {
		d, err := time.Parse("2006-01-02", tc.date)
		require.NoError(t, err)
		require.Equal(t, tc.want, IsFederalHoliday(d.Year(), d.Month(), d.Day()), tc.date)
	}
}
