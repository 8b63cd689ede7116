package compliance_test

import (
	"fmt"
	"time"

	"github.com/cadenza-dialer/cadenza/engine/compliance"
)

// A Florida panhandle number (850: Eastern and Central), cadence hours 9–17
// in New York, asked at 07:30 New York time.
func ExampleNextAllowed() {
	rules, err := compliance.DefaultRules()
	if err != nil {
		panic(err)
	}
	locator, err := compliance.DefaultLocator()
	if err != nil {
		panic(err)
	}
	where, err := locator.Locate(compliance.ContactLocation{Phone: "+18505550100"})
	if err != nil {
		panic(err)
	}
	hours, err := compliance.ParseWindow([]string{"mon-fri"}, "09:00", "17:00")
	if err != nil {
		panic(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, time.March, 9, 7, 30, 0, 0, ny)
	next, block, err := compliance.NextAllowed(now, compliance.Inputs{
		Channel:      compliance.ChannelCall,
		CadenceHours: hours,
		BusinessZone: ny,
		Contact:      where,
		Rules:        rules,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(where.ZoneSource, where.States)
	fmt.Println(next.In(ny).Format(time.RFC3339))
	fmt.Println(block.Code)
	// Output:
	// area_code [FL]
	// 2026-03-09T09:00:00-04:00
	// legal_window
}

// Maryland counts calls and texts together: three in the last 24 h block a
// fourth until the oldest is 24 h old.
func ExampleCheckLimits() {
	rules, _ := compliance.DefaultRules()
	limits, _ := compliance.EffectiveLimits(nil, nil, rules.StateRulesFor([]string{"MD"}))
	now := time.Date(2026, time.June, 2, 12, 0, 0, 0, time.UTC)
	history := []compliance.Event{
		{At: now.Add(-20 * time.Hour), Channel: compliance.ChannelSMS},
		{At: now.Add(-3 * time.Hour), Channel: compliance.ChannelCall},
		{At: now.Add(-1 * time.Hour), Channel: compliance.ChannelSMS},
	}
	ok, next, _, _ := compliance.CheckLimits(now, compliance.ChannelCall, history, limits)
	fmt.Println(ok, next.Format(time.RFC3339))
	// Output: false 2026-06-02T16:00:00Z
}
