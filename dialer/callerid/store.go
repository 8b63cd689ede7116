package callerid

import (
	"context"
	"sync"
	"time"
)

// Reason says why a number could not be used.
type Reason string

// Reasons a number is refused, checked in this order.
const (
	ReasonResting   Reason = "resting"
	ReasonCooldown  Reason = "cooling_down"
	ReasonPerMinute Reason = "per_minute_cap"
	ReasonPerHour   Reason = "per_hour_cap"
	ReasonDaily     Reason = "daily_cap"
)

// Use is one candidate number with its effective caps and the calendar day
// (in its pool's zone) that the daily cap counts.
type Use struct {
	Number string
	Caps   Caps
	// Day names the day window ("2026-11-23"); DayEnd is when it ends.
	Day    string
	DayEnd time.Time
}

// Usage is the state of one number.
type Usage struct {
	// Today is how many calls it placed in its day window.
	Today int
	// RestingUntil and CoolingUntil are zero when not in force.
	RestingUntil time.Time
	CoolingUntil time.Time
}

// Counters is the state caller-ID picking shares across nodes: per-number
// use counters, cooldowns and rests, and the rotating strategy's index.
// NewMemoryCounters is the in-process one; NewRedisCounters the shared one.
type Counters interface {
	// ReserveFirst atomically finds the first usable number of uses at now
	// (not resting, not cooling down, under its caps), counts one call on it
	// and starts its cooldown. It returns its index, or -1 and why each
	// number was refused (reasons[i] for uses[i]; reasons may be nil on
	// success).
	ReserveFirst(ctx context.Context, now time.Time, uses []Use) (int, []Reason, error)
	// Next returns the next value of the pool's rotation counter.
	Next(ctx context.Context, pool string) (uint64, error)
	// Rest stops number from being used until until; an until not after
	// now ends the rest.
	Rest(ctx context.Context, now time.Time, number string, until time.Time) error
	// Usage reports the state of each number at now.
	Usage(ctx context.Context, now time.Time, uses []Use) ([]Usage, error)
}

// MemoryCounters is the in-process Counters of the embedded mode.
type MemoryCounters struct {
	mu   sync.Mutex
	nums map[string]*memNumber
	rot  map[string]uint64
}

var _ Counters = (*MemoryCounters)(nil)

// memNumber holds one number's windows: each counter remembers which window
// it counts, so a new window starts at zero without any sweeping.
type memNumber struct {
	resting time.Time
	cooling time.Time
	minute  int64 // unix minute of minuteN
	minuteN int
	hour    int64 // unix hour of hourN
	hourN   int
	day     string
	dayN    int
}

// NewMemoryCounters returns empty in-process counters.
func NewMemoryCounters() *MemoryCounters {
	return &MemoryCounters{nums: map[string]*memNumber{}, rot: map[string]uint64{}}
}

func (m *MemoryCounters) num(n string) *memNumber {
	s, ok := m.nums[n]
	if !ok {
		s = &memNumber{}
		m.nums[n] = s
	}
	return s
}

// windowCounts returns the counts of s in the windows containing now.
func (s *memNumber) windowCounts(now time.Time, day string) (minute, hour, today int) {
	if s.minute == now.Unix()/60 {
		minute = s.minuteN
	}
	if s.hour == now.Unix()/3600 {
		hour = s.hourN
	}
	if s.day == day {
		today = s.dayN
	}
	return minute, hour, today
}

// refusal returns why u cannot be used now, or "".
func refusal(u Use, now time.Time, resting, cooling time.Time, minute, hour, today int) Reason {
	switch {
	case resting.After(now):
		return ReasonResting
	case cooling.After(now):
		return ReasonCooldown
	case u.Caps.PerMinute > 0 && minute >= u.Caps.PerMinute:
		return ReasonPerMinute
	case u.Caps.PerHour > 0 && hour >= u.Caps.PerHour:
		return ReasonPerHour
	case u.Caps.DailyCap > 0 && today >= u.Caps.DailyCap:
		return ReasonDaily
	}
	return ""
}

// ReserveFirst implements Counters.
func (m *MemoryCounters) ReserveFirst(ctx context.Context, now time.Time, uses []Use) (int, []Reason, error) {
	if err := ctx.Err(); err != nil {
		return -1, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var reasons []Reason // only built when a number is refused
	for i, u := range uses {
		s := m.num(u.Number)
		minute, hour, today := s.windowCounts(now, u.Day)
		if r := refusal(u, now, s.resting, s.cooling, minute, hour, today); r != "" {
			if reasons == nil {
				reasons = make([]Reason, len(uses))
			}
			reasons[i] = r
			continue
		}
		s.minute, s.minuteN = now.Unix()/60, minute+1
		s.hour, s.hourN = now.Unix()/3600, hour+1
		s.day, s.dayN = u.Day, today+1
		if u.Caps.Cooldown > 0 {
			s.cooling = now.Add(u.Caps.Cooldown)
		}
		return i, nil, nil
	}
	return -1, reasons, nil
}

// Next implements Counters.
func (m *MemoryCounters) Next(ctx context.Context, pool string) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rot[pool]++
	return m.rot[pool], nil
}

// Rest implements Counters.
func (m *MemoryCounters) Rest(ctx context.Context, now time.Time, number string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.num(number).resting = until
	return nil
}

// Usage implements Counters.
func (m *MemoryCounters) Usage(ctx context.Context, now time.Time, uses []Use) ([]Usage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Usage, len(uses))
	for i, u := range uses {
		s, ok := m.nums[u.Number]
		if !ok {
			continue
		}
		_, _, out[i].Today = s.windowCounts(now, u.Day)
		if s.resting.After(now) {
			out[i].RestingUntil = s.resting
		}
		if s.cooling.After(now) {
			out[i].CoolingUntil = s.cooling
		}
	}
	return out, nil
}
