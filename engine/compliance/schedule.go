package compliance

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultHorizon is how far NextAllowed searches when Inputs.Horizon is 0.
const DefaultHorizon = 14 * 24 * time.Hour

// ErrNoAllowedTime is returned (wrapped) when no instant within the horizon
// satisfies every window.
var ErrNoAllowedTime = errors.New("no allowed time")

// BlockCode classifies why an action cannot happen at the requested instant.
type BlockCode string

// Block codes, in the order they are reported when several apply.
const (
	BlockLimit   BlockCode = "harassment_limit"
	BlockLegal   BlockCode = "legal_window"
	BlockState   BlockCode = "state_window"
	BlockHoliday BlockCode = "state_holiday"
	BlockTarget  BlockCode = "target_hours"
	BlockCadence BlockCode = "cadence_hours"
)

// Block says what moved an action: the first rule that was closed at the
// requested instant, a human-readable reason naming every closed rule, and
// the instant it was moved to.
type Block struct {
	Code   BlockCode
	Reason string
	Next   time.Time
}

func (b *Block) String() string { return string(b.Code) + ": " + b.Reason }

// Inputs are the windows one action must satisfy.
type Inputs struct {
	// Channel is the action's channel (call or sms); both obey the windows.
	Channel Channel
	// CadenceHours apply in BusinessZone; unrestricted when zero.
	CadenceHours WeeklyWindows
	BusinessZone *time.Location
	// TargetHours apply in every candidate zone of the contact.
	TargetHours WeeklyWindows
	// Contact is where the contact is: its candidate zones and states (from
	// Locator.Locate). Every window must be open in every candidate zone.
	Contact Location
	// Rules holds the legal default and the state rules; required, so that
	// the legal window can never be left out by accident.
	Rules *Rules
	// Horizon bounds the search; DefaultHorizon (14 days) when 0.
	Horizon time.Duration
}

// constraint is one weekly window in one zone.
type constraint struct {
	code     BlockCode
	what     string // "legal window", "FL window", …
	w        WeeklyWindows
	loc      *time.Location
	holidays bool // closed on federal holidays
}

func (c *constraint) describe() string {
	s := fmt.Sprintf("outside %s %s %s", c.what, c.w.String(), c.loc)
	if c.holidays {
		s = fmt.Sprintf("outside %s %s %s (closed on legal holidays)", c.what, c.w.String(), c.loc)
	}
	return s
}

func (in *Inputs) constraints() ([]*constraint, error) {
	if in.Rules == nil {
		return nil, errors.New("rules: required")
	}
	if in.Channel != "" && !in.Channel.valid() {
		return nil, fmt.Errorf("channel: %q is not call or sms", in.Channel)
	}
	if len(in.Contact.Zones) == 0 {
		return nil, fmt.Errorf("contact: %w", ErrNoZone)
	}
	var cs []*constraint
	seen := map[string]bool{}
	var zones []*time.Location
	for i, z := range in.Contact.Zones {
		if z == nil {
			return nil, fmt.Errorf("contact.zones[%d]: nil location", i)
		}
		if !seen[z.String()] {
			seen[z.String()] = true
			zones = append(zones, z)
		}
	}
	states := in.Rules.StateRulesFor(in.Contact.States)
	for _, z := range zones {
		cs = append(cs, &constraint{code: BlockLegal, what: "legal window", w: in.Rules.LegalDefault, loc: z})
		for _, sr := range states {
			if !sr.Window.Always() {
				cs = append(cs, &constraint{code: BlockState, what: "legal window (" + sr.State + ")", w: sr.Window, loc: z, holidays: sr.ClosedOnHolidays})
			} else if sr.ClosedOnHolidays {
				cs = append(cs, &constraint{code: BlockHoliday, what: "legal days (" + sr.State + ")", w: sr.Window, loc: z, holidays: true})
			}
		}
		if !in.TargetHours.Always() {
			cs = append(cs, &constraint{code: BlockTarget, what: "target hours", w: in.TargetHours, loc: z})
		}
	}
	if !in.CadenceHours.Always() {
		if in.BusinessZone == nil {
			return nil, errors.New("business_zone: required with cadence hours")
		}
		cs = append(cs, &constraint{code: BlockCadence, what: "cadence hours", w: in.CadenceHours, loc: in.BusinessZone})
	}
	return cs, nil
}

func (in *Inputs) horizon() time.Duration {
	if in.Horizon > 0 {
		return in.Horizon
	}
	return DefaultHorizon
}

// NextAllowed returns the earliest instant t ≥ now at which every window of
// in is open: the legal window and the state windows (and holidays) of every
// candidate state in every candidate zone of the contact, the target hours
// in every candidate zone, and the cadence hours in the business zone.
// Windows are wall-clock: on a spring-forward day the skipped hour never
// happens, on a fall-back day the repeated hour is open twice if its wall
// time is inside the window. blocked is nil when t == now; otherwise it says
// which rules were closed at now. When nothing is allowed within the
// horizon the error wraps ErrNoAllowedTime.
func NextAllowed(now time.Time, in Inputs) (t time.Time, blocked *Block, err error) {
	cs, err := in.constraints()
	if err != nil {
		return time.Time{}, nil, err
	}
	limit := now.Add(in.horizon())
	streams := make([]stream, len(cs))
	for i, c := range cs {
		streams[i] = newStream(c, now, limit)
	}
	t = now
	for {
		moved := false
		for i := range streams {
			iv, ok := streams[i].firstEndingAfter(t)
			if !ok || iv.start.After(limit) {
				return time.Time{}, nil, fmt.Errorf("%w within %s of %s", ErrNoAllowedTime, fmtPeriod(in.horizon()), now.Format(time.RFC3339))
			}
			if iv.start.After(t) {
				t = iv.start
				moved = true
			}
		}
		if !moved {
			break
		}
	}
	if t.Equal(now) {
		return t, nil, nil
	}
	// Explain: every rule closed at now.
	var b *Block
	var reasons []string
	for i := range streams {
		iv, _ := streams[i].firstEndingAfter(now)
		if !iv.start.After(now) {
			continue
		}
		if b == nil {
			b = &Block{Code: streams[i].c.code}
		}
		r := streams[i].c.describe()
		if !contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	if b == nil { // cannot happen: t moved, so something was closed at now
		return time.Time{}, nil, errors.New("internal: moved without a closed window")
	}
	b.Next = t
	b.Reason = strings.Join(reasons, "; ") + "; next eligible " + t.In(in.Contact.Zones[0]).Format(time.RFC3339)
	return t, b, nil
}

// WindowOpenUntil reports whether every window of in is open at t and, if
// so, until when the current allowed interval lasts (the first instant at
// which some window closes). A scheduler uses it to stop starting actions in
// time. An interval that is still open at t+horizon is reported as ending
// there.
func WindowOpenUntil(t time.Time, in Inputs) (until time.Time, open bool, err error) {
	cs, err := in.constraints()
	if err != nil {
		return time.Time{}, false, err
	}
	limit := t.Add(in.horizon())
	until = limit
	for _, c := range cs {
		s := newStream(c, t, limit)
		iv, ok := s.firstEndingAfter(t)
		if !ok || iv.start.After(t) {
			return time.Time{}, false, nil
		}
		end := s.openUntil(iv)
		if end.Before(until) {
			until = end
		}
	}
	return until, true, nil
}

// Allowed reports whether every window of in is open at t.
func Allowed(t time.Time, in Inputs) (bool, error) {
	_, open, err := WindowOpenUntil(t, in)
	return open, err
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// interval is a half-open span of instants [start, end).
type interval struct {
	start, end time.Time
}

// stream lazily lists one constraint's open intervals, local day by local
// day, as absolute instants.
type stream struct {
	c        *constraint
	ivs      []interval // sorted, merged
	nextDay  time.Time  // next civil date to generate, as UTC midnight
	complete time.Time  // every open instant before this is in ivs
	limit    time.Time  // stop generating past this (plus a margin)
	// offMin and offMax bound the zone's UTC offset over the search: the
	// instants of one local date D lie in [D−offMax, D+24h−offMin).
	offMin, offMax time.Duration
}

func newStream(c *constraint, from, limit time.Time) stream {
	offMin, offMax := offsetRange(c.loc, from.Add(-48*time.Hour), limit.Add(96*time.Hour))
	// Instants from `from` on have local dates from that of from+offMin on.
	u := from.Add(offMin).UTC()
	day := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return stream{c: c, nextDay: day, complete: day.Add(-offMax), limit: limit,
		offMin: offMin, offMax: offMax, ivs: make([]interval, 0, 8)}
}

// offsetRange returns the smallest and largest UTC offset loc uses between
// a and b.
func offsetRange(loc *time.Location, a, b time.Time) (lo, hi time.Duration) {
	first := true
	for x := a; ; {
		lx := x.In(loc)
		_, sec := lx.Zone()
		off := time.Duration(sec) * time.Second
		if first || off < lo {
			lo = off
		}
		if first || off > hi {
			hi = off
		}
		first = false
		_, pe := lx.ZoneBounds()
		if pe.IsZero() || !pe.After(x) || !pe.Before(b) {
			return lo, hi
		}
		x = pe
	}
}

// extend generates one more local date. It returns false once past limit.
func (s *stream) extend() bool {
	if s.complete.After(s.limit.Add(48 * time.Hour)) {
		return false
	}
	day := s.nextDay
	n := len(s.ivs)
	s.ivs = s.c.appendDay(s.ivs, day, day.Add(-s.offMax), day.Add(24*time.Hour-s.offMin))
	s.nextDay = day.AddDate(0, 0, 1)
	s.complete = s.nextDay.Add(-s.offMax)
	if len(s.ivs) > n {
		s.ivs = mergeIntervals(s.ivs)
	}
	return true
}

// firstEndingAfter returns the first open interval that ends after t: it
// contains t when its start is not after t.
func (s *stream) firstEndingAfter(t time.Time) (interval, bool) {
	for {
		i := sort.Search(len(s.ivs), func(i int) bool { return s.ivs[i].end.After(t) })
		if i < len(s.ivs) && s.ivs[i].start.Before(s.complete) {
			return s.ivs[i], true
		}
		if !s.extend() {
			return interval{}, false
		}
	}
}

// openUntil returns the end of iv once merged with any interval that
// follows it without a gap.
func (s *stream) openUntil(iv interval) time.Time {
	for {
		i := sort.Search(len(s.ivs), func(i int) bool { return s.ivs[i].end.After(iv.start) })
		cur := s.ivs[i]
		if cur.end.Before(s.complete) {
			return cur.end
		}
		if !s.extend() {
			return cur.end
		}
	}
}

func mergeIntervals(ivs []interval) []interval {
	if !slices.IsSortedFunc(ivs, cmpStart) { // usually they come in order
		slices.SortFunc(ivs, cmpStart)
	}
	out := ivs[:0]
	for _, iv := range ivs {
		if n := len(out); n > 0 && !iv.start.After(out[n-1].end) {
			if iv.end.After(out[n-1].end) {
				out[n-1].end = iv.end
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

func cmpStart(a, b interval) int { return a.start.Compare(b.start) }

// appendDay appends the open intervals of local civil date day (given as
// UTC midnight) in c's zone; the date's instants lie within [from, stop).
// They are split into segments of constant UTC offset (one, or two on a
// DST day); within a segment wall clock = instant + offset, so a wall-clock
// range maps to an instant range.
func (c *constraint) appendDay(dst []interval, day, from, stop time.Time) []interval {
	if c.holidays && IsFederalHoliday(day.Year(), day.Month(), day.Day()) {
		return dst
	}
	ranges := c.w.Ranges(day.Weekday())
	if len(ranges) == 0 {
		return dst
	}
	for x := from; x.Before(stop); {
		lx := x.In(c.loc)
		_, offSec := lx.Zone()
		off := time.Duration(offSec) * time.Second
		_, pe := lx.ZoneBounds()
		a, b := day.Add(-off), day.Add(24*time.Hour-off)
		if a.Before(x) {
			a = x
		}
		if !pe.IsZero() && pe.Before(b) {
			b = pe
		}
		if a.Before(b) {
			for _, r := range ranges {
				s := day.Add(time.Duration(r.Start)*time.Minute - off)
				e := day.Add(time.Duration(r.End)*time.Minute - off)
				if s.Before(a) {
					s = a
				}
				if e.After(b) {
					e = b
				}
				if s.Before(e) {
					dst = append(dst, interval{s, e})
				}
			}
		}
		if pe.IsZero() || !pe.After(x) {
			break
		}
		x = pe
	}
	return dst
}
