package compliance

import "time"

// IsFederalHoliday reports whether the civil date y-m-d is a US federal
// legal holiday (5 U.S.C. § 6103(a)) or the weekday on which one is
// observed (a Saturday holiday is observed on the Friday before, a Sunday
// one on the Monday after). States that close "legal holidays" to
// telemarketing (LA, RI in the shipped table) also have holidays of their
// own (Mardi Gras, Victory Day, …) that are not known here.
func IsFederalHoliday(y int, m time.Month, d int) bool {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// New Year's Day of the next year can be observed on December 31.
	for _, year := range []int{y, y + 1} {
		for _, h := range federalHolidays(year) {
			if h.Equal(date) || observed(h).Equal(date) {
				return true
			}
		}
	}
	return false
}

// federalHolidays lists the actual dates of year's federal holidays.
func federalHolidays(y int) []time.Time {
	fixed := func(m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	hs := []time.Time{
		fixed(time.January, 1),                         // New Year's Day
		nthWeekday(y, time.January, time.Monday, 3),    // Birthday of Martin Luther King, Jr.
		nthWeekday(y, time.February, time.Monday, 3),   // Washington's Birthday
		lastWeekday(y, time.May, time.Monday),          // Memorial Day
		fixed(time.July, 4),                            // Independence Day
		nthWeekday(y, time.September, time.Monday, 1),  // Labor Day
		nthWeekday(y, time.October, time.Monday, 2),    // Columbus Day
		fixed(time.November, 11),                       // Veterans Day
		nthWeekday(y, time.November, time.Thursday, 4), // Thanksgiving Day
		fixed(time.December, 25),                       // Christmas Day
	}
	if y >= 2021 {
		hs = append(hs, fixed(time.June, 19)) // Juneteenth, since Pub. L. 117-17
	}
	return hs
}

func observed(h time.Time) time.Time {
	switch h.Weekday() {
	case time.Saturday:
		return h.AddDate(0, 0, -1)
	case time.Sunday:
		return h.AddDate(0, 0, 1)
	}
	return h
}

func nthWeekday(y int, m time.Month, wd time.Weekday, n int) time.Time {
	t := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	for t.Weekday() != wd {
		t = t.AddDate(0, 0, 1)
	}
	return t.AddDate(0, 0, 7*(n-1))
}

func lastWeekday(y int, m time.Month, wd time.Weekday) time.Time {
	t := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	for t.Weekday() != wd {
		t = t.AddDate(0, 0, -1)
	}
	return t
}
