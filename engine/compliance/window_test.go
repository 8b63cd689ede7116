package compliance

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseWindow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		days       []string
		start, end string
		want       string
		err        string
	}{
		{name: "weekdays", days: []string{"mon", "tue", "wed", "thu", "fri"}, start: "09:00", end: "17:00", want: "mon-fri 09:00–17:00"},
		{name: "range", days: []string{"mon-fri"}, start: "09:00", end: "17:00", want: "mon-fri 09:00–17:00"},
		{name: "wrapping range", days: []string{"fri-mon"}, start: "10:00", end: "12:00", want: "mon 10:00–12:00; fri-sun 10:00–12:00"},
		{name: "full names and case", days: []string{"Monday", "SUN"}, start: "00:00", end: "24:00", want: "mon 00:00–24:00; sun 00:00–24:00"},
		{name: "list in one string", days: []string{"sat;sun"}, start: "10:00", end: "14:30", want: "sat-sun 10:00–14:30"},
		{name: "duplicate days", days: []string{"mon", "mon-tue"}, start: "08:00", end: "09:00", want: "mon-tue 08:00–09:00"},
		{name: "end of day", days: []string{"sun"}, start: "20:00", end: "24:00", want: "sun 20:00–24:00"},
		{name: "no days", days: nil, start: "09:00", end: "17:00", err: "days: at least one day"},
		{name: "bad day", days: []string{"mon", "funday"}, start: "09:00", end: "17:00", err: "days[1]: invalid day \"funday\""},
		{name: "bad start", days: []string{"mon"}, start: "9:00", end: "17:00", err: "start: invalid time \"9:00\""},
		{name: "bad end", days: []string{"mon"}, start: "09:00", end: "17:60", err: "end: invalid time"},
		{name: "24:30", days: []string{"mon"}, start: "09:00", end: "24:30", err: "end: invalid time"},
		{name: "25:00", days: []string{"mon"}, start: "25:00", end: "26:00", err: "start: invalid time"},
		{name: "crosses midnight", days: []string{"mon"}, start: "22:00", end: "02:00", err: "never crosses midnight"},
		{name: "empty range", days: []string{"mon"}, start: "09:00", end: "09:00", err: "not after start"},
		{name: "letters", days: []string{"mon"}, start: "ab:cd", end: "10:00", err: "start"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := ParseWindow(tc.days, tc.start, tc.end)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, w.String())
			require.False(t, w.Always())
		})
	}
}

func TestWeeklyWindows(t *testing.T) {
	t.Parallel()
	var always WeeklyWindows
	require.True(t, always.Always())
	require.Equal(t, "always", always.String())
	require.True(t, always.OpenAt(time.Sunday, 0))

	w := mustWindows(t,
		Window{Days: []string{"mon-fri"}, Start: "09:00", End: "12:00"},
		Window{Days: []string{"mon-fri"}, Start: "11:00", End: "13:00"}, // overlaps: merged
		Window{Days: []string{"mon-fri"}, Start: "13:00", End: "14:00"}, // touches: merged
		Window{Days: []string{"sat"}, Start: "10:00", End: "11:00"},
	)
	require.Equal(t, "mon-fri 09:00–14:00; sat 10:00–11:00", w.String())
	require.True(t, w.OpenAt(time.Monday, 9*60))
	require.True(t, w.OpenAt(time.Monday, 14*60-1))
	require.False(t, w.OpenAt(time.Monday, 14*60), "end is exclusive")
	require.False(t, w.OpenAt(time.Monday, 9*60-1))
	require.False(t, w.OpenAt(time.Sunday, 10*60), "a day without a window is closed")
	require.Equal(t, []Range{{9 * 60, 14 * 60}}, w.Ranges(time.Tuesday))

	// Copies do not share ranges.
	c := w
	c.Add(time.Monday, Range{20 * 60, 21 * 60})
	require.Equal(t, "mon-fri 09:00–14:00; sat 10:00–11:00", w.String())

	u := Union(w, mustWindows(t, Window{Days: []string{"sun"}, Start: "12:00", End: "13:00"}))
	require.Equal(t, "mon-fri 09:00–14:00; sat 10:00–11:00; sun 12:00–13:00", u.String())
	require.True(t, Union(w, always).Always())

	_, err := ParseWindows([]Window{{Days: []string{"mon"}, Start: "09:00", End: "10:00"}, {Days: []string{"mon"}, Start: "10:00", End: "09:00"}})
	require.ErrorContains(t, err, "[1].end")
	empty, err := ParseWindows(nil)
	require.NoError(t, err)
	require.True(t, empty.Always())
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range [][3]string{{"mon-fri", "09:00", "17:00"}, {"sun", "00:00", "24:00"}, {"fri-mon", "23:59", "24:00"}, {"x", "1", "2"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, days, start, end string) {
		w, err := ParseWindow([]string{days}, start, end)
		if err != nil {
			return
		}
		// A parsed window is never "always", opens at its start and closes at
		// its end on one of its days.
		require.False(t, w.Always())
		s, err := ParseClock(start)
		require.NoError(t, err)
		e, err := ParseClock(end)
		require.NoError(t, err)
		ds, err := ParseDays(days)
		require.NoError(t, err)
		require.NotEmpty(t, ds)
		require.True(t, w.OpenAt(ds[0], s))
		require.True(t, w.OpenAt(ds[0], e-1))
		require.False(t, w.OpenAt(ds[0], e))
		require.NotContains(t, w.String(), "never")
		require.False(t, strings.Contains(w.String(), "always"))
	})
}
