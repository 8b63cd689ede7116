package agents

import "time"

// Clock is the time source of the Gate and the QueueConnector: Now for the
// Roster's transitions and outcome timings, After for bounded waits (agent
// waits, prompt expiry, re-checks). pacing.SystemClock satisfies it; tests
// inject a manual clock so that waits of minutes take no time.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// systemClock is the wall clock.
type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
