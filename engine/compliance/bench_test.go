package compliance

import (
	"testing"
	"time"
)

func benchInputs(b *testing.B) Inputs {
	b.Helper()
	return Inputs{
		Channel:      ChannelCall,
		Rules:        mustRules(b),
		Contact:      Location{Zones: []*time.Location{mustZone(b, "America/New_York"), mustZone(b, "America/Chicago")}, States: []string{"FL"}},
		CadenceHours: mustWindows(b, Window{Days: []string{"mon-fri"}, Start: "09:00", End: "17:00"}),
		BusinessZone: mustZone(b, "America/Los_Angeles"),
		TargetHours:  mustWindows(b, Window{Days: []string{"mon-sat"}, Start: "10:00", End: "19:00"}),
	}
}

// BenchmarkNextAllowed: a contact in two zones with a state rule, cadence
// hours in a third zone and target hours (six constraints).
func BenchmarkNextAllowed(b *testing.B) {
	in := benchInputs(b)
	for _, bc := range []struct {
		name string
		now  time.Time
	}{
		{"open_now", at(b, "America/New_York", "2026-06-02 14:00")},
		{"next_morning", at(b, "America/New_York", "2026-06-02 19:30")},
		{"over_weekend", at(b, "America/New_York", "2026-06-05 19:30")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := NextAllowed(bc.now, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWindowOpenUntil(b *testing.B) {
	in := benchInputs(b)
	now := at(b, "America/New_York", "2026-06-02 14:00")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := WindowOpenUntil(now, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckLimits: 3 limits over a history of 50 events (30 days of a
// busy contact).
func BenchmarkCheckLimits(b *testing.B) {
	now := utc(b, "2026-06-02 12:00")
	var history []Event
	for i := range 50 {
		ch := ChannelCall
		if i%3 == 0 {
			ch = ChannelSMS
		}
		history = append(history, Event{At: now.Add(-time.Duration(i) * 14 * time.Hour), Channel: ch})
	}
	limits := []Limit{
		{Max: 3, Period: 24 * time.Hour, Scope: ScopeBoth},
		{Max: 10, Period: 7 * 24 * time.Hour, Scope: ScopeCalls},
		{Max: 2, Period: 24 * time.Hour, Scope: ScopeSMS},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := CheckLimits(now, ChannelCall, history, limits); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocate(b *testing.B) {
	l := mustLocator(b)
	for _, bc := range []struct {
		name string
		c    ContactLocation
	}{
		{"zip", ContactLocation{ZIP: "32401"}},
		{"phone", ContactLocation{Phone: "+18505550100"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Locate(bc.c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
