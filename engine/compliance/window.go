package compliance

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// minutesPerDay is the length of a wall-clock day; "24:00" is minute 1440.
const minutesPerDay = 24 * 60

// Range is a half-open span of wall-clock minutes of one day: [Start, End).
type Range struct {
	Start, End int
}

func (r Range) String() string {
	return fmtMinute(r.Start) + "–" + fmtMinute(r.End)
}

// WeeklyWindows is a set of wall-clock ranges per weekday, indexed by
// time.Weekday (Sunday = 0). The zero value, with no day set, means "always
// open": it is how an absent window ("any time") is represented. Once any day
// has a range, days without ranges are closed.
type WeeklyWindows struct {
	days [7][]Range
	set  bool
}

// Always reports whether w places no restriction at all.
func (w WeeklyWindows) Always() bool { return !w.set }

// Ranges returns the open ranges of day d, sorted and merged. For an
// unrestricted w it returns the whole day.
func (w WeeklyWindows) Ranges(d time.Weekday) []Range {
	if !w.set {
		return []Range{{0, minutesPerDay}}
	}
	return w.days[d]
}

// OpenAt reports whether the wall-clock minute m of weekday d is inside w.
func (w WeeklyWindows) OpenAt(d time.Weekday, m int) bool {
	if !w.set {
		return true
	}
	for _, r := range w.days[d] {
		if m >= r.Start && m < r.End {
			return true
		}
	}
	return false
}

// Add opens the range [start, end) (minutes of the day) on day d.
func (w *WeeklyWindows) Add(d time.Weekday, r Range) {
	w.set = true
	// Copy first: a WeeklyWindows copied by value shares its slices.
	w.days[d] = normalize(append(append([]Range(nil), w.days[d]...), r))
}

// Union returns the windows open when either a or b is open. An unrestricted
// operand makes the union unrestricted.
func Union(a, b WeeklyWindows) WeeklyWindows {
	if !a.set || !b.set {
		return WeeklyWindows{}
	}
	var out WeeklyWindows
	out.set = true
	for d := range out.days {
		out.days[d] = normalize(append(append([]Range(nil), a.days[d]...), b.days[d]...))
	}
	return out
}

// String writes w compactly, e.g. "mon-fri 08:00–20:00; sun 12:00–21:00",
// or "always".
func (w WeeklyWindows) String() string {
	if !w.set {
		return "always"
	}
	type group struct {
		from, to time.Weekday
		key      string
	}
	// Print Monday first, as people read a week.
	order := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	var groups []group
	for _, d := range order {
		var parts []string
		for _, r := range w.days[d] {
			parts = append(parts, r.String())
		}
		key := strings.Join(parts, ", ")
		if n := len(groups); n > 0 && groups[n-1].key == key {
			groups[n-1].to = d
			continue
		}
		groups = append(groups, group{d, d, key})
	}
	var out []string
	for _, g := range groups {
		if g.key == "" {
			continue
		}
		days := dayNames[g.from]
		if g.to != g.from {
			days += "-" + dayNames[g.to]
		}
		out = append(out, days+" "+g.key)
	}
	if len(out) == 0 {
		return "never"
	}
	return strings.Join(out, "; ")
}

// normalize sorts ranges and merges overlapping or touching ones.
func normalize(rs []Range) []Range {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	out := rs[:0]
	for _, r := range rs {
		if r.End <= r.Start {
			continue
		}
		if n := len(out); n > 0 && r.Start <= out[n-1].End {
			if r.End > out[n-1].End {
				out[n-1].End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseDay reads a weekday name as the engine writes it ("mon" … "sun");
// full English names and any letter case are accepted too.
func ParseDay(s string) (time.Weekday, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for d, n := range dayNames {
		if v == n || v == strings.ToLower(time.Weekday(d).String()) {
			return time.Weekday(d), nil
		}
	}
	return 0, fmt.Errorf("invalid day %q: want mon, tue, wed, thu, fri, sat or sun", s)
}

// ParseDays reads a day list: names and ranges separated by ";" or spaces,
// e.g. "mon-fri", "mon-sat", "sat;sun", "mon-sun". A range wraps around the
// week ("fri-mon").
func ParseDays(s string) ([]time.Weekday, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' || r == '|' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("no days given")
	}
	var seen [7]bool
	var out []time.Weekday
	add := func(d time.Weekday) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, f := range fields {
		from, to, isRange := strings.Cut(f, "-")
		a, err := ParseDay(from)
		if err != nil {
			return nil, err
		}
		if !isRange {
			add(a)
			continue
		}
		b, err := ParseDay(to)
		if err != nil {
			return nil, err
		}
		for d := a; ; d = (d + 1) % 7 {
			add(d)
			if d == b {
				break
			}
		}
	}
	return out, nil
}

// ParseClock reads a wall-clock time "HH:MM" (00:00 to 24:00) as minutes
// since midnight.
func ParseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, fmt.Errorf("invalid time %q: want HH:MM", s)
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("invalid time %q: want HH:MM between 00:00 and 24:00", s)
	}
	return h*60 + m, nil
}

func fmtMinute(m int) string {
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// ParseWindow reads one window as the engine stores it (engine.Window: days,
// start, end) and returns it as WeeklyWindows. Start is inclusive, end
// exclusive, "24:00" is the end of the day; a window never crosses midnight
// (use two windows), so start must be before end.
func ParseWindow(days []string, start, end string) (WeeklyWindows, error) {
	var w WeeklyWindows
	if err := w.AddWindow(days, start, end); err != nil {
		return WeeklyWindows{}, err
	}
	return w, nil
}

// AddWindow adds one engine window to w (see ParseWindow). Errors name the
// field.
func (w *WeeklyWindows) AddWindow(days []string, start, end string) error {
	if len(days) == 0 {
		return fmt.Errorf("days: at least one day is required")
	}
	var ds []time.Weekday
	for i, s := range days {
		d, err := ParseDays(s)
		if err != nil {
			return fmt.Errorf("days[%d]: %w", i, err)
		}
		ds = append(ds, d...)
	}
	s, err := ParseClock(start)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	e, err := ParseClock(end)
	if err != nil {
		return fmt.Errorf("end: %w", err)
	}
	if s >= e {
		return fmt.Errorf("end: %s is not after start %s (a window never crosses midnight: use two windows)", end, start)
	}
	for _, d := range ds {
		w.Add(d, Range{s, e})
	}
	return nil
}

// Window is one window in the engine's shape; it mirrors engine.Window so
// that this package need not import engine.
type Window struct {
	Days  []string
	Start string
	End   string
}

// ParseWindows reads a list of engine windows; an empty list means "any
// time". Errors name the index: "[2].start: invalid time …".
func ParseWindows(ws []Window) (WeeklyWindows, error) {
	var out WeeklyWindows
	for i, w := range ws {
		if err := out.AddWindow(w.Days, w.Start, w.End); err != nil {
			return WeeklyWindows{}, fmt.Errorf("[%d].%w", i, err)
		}
	}
	return out, nil
}
