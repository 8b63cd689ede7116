package agents

import (
	"slices"
	"time"
)

// Stats are a queue's agent counts, what the predictive pacer reads.
type Stats struct {
	// Counts by state (LoggedIn = everything but logged out).
	Available, Reserved, OnCall, WrapUp, Paused, LoggedIn int
	// SoonFree counts on-call and wrap-up agents expected free within the
	// window passed to Stats (see FreeEstimates for the estimate).
	SoonFree int
	// SoonFreeSure is the part of SoonFree whose free time is known, not
	// estimated: agents in wrap-up ending within the window.
	SoonFreeSure int
	// MeanHandle is the roster's running mean call duration.
	MeanHandle time.Duration
}

// FreeEstimate says when a busy agent is expected to be available again.
type FreeEstimate struct {
	AgentID string
	State   State
	FreeAt  time.Time
}

// Stats counts the agents of queue ("" = all) as of now; SoonFree uses the
// window (typically the mean time from dial to answer).
func (r *Roster) Stats(queue string, now time.Time, window time.Duration) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	s := Stats{MeanHandle: r.meanHandleDur()}
	horizon := now.Add(window)
	for _, id := range r.ids {
		rec := r.agents[id]
		if !rec.a.InQueue(queue) {
			continue
		}
		if rec.state.LoggedIn() {
			s.LoggedIn++
		}
		switch rec.state {
		case Available:
			s.Available++
		case Reserved:
			s.Reserved++
		case OnCall:
			s.OnCall++
		case WrapUp:
			s.WrapUp++
		case Paused:
			s.Paused++
		}
		if at, ok := r.freeAt(rec, now); ok && !at.After(horizon) {
			s.SoonFree++
			if rec.state == WrapUp {
				s.SoonFreeSure++
			}
		}
	}
	return s
}

// FreeEstimates returns, for every on-call and wrap-up agent of queue, when
// it is expected to be available, earliest first.
func (r *Roster) FreeEstimates(queue string, now time.Time) []FreeEstimate {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	var out []FreeEstimate
	for _, id := range r.ids {
		rec := r.agents[id]
		if !rec.a.InQueue(queue) {
			continue
		}
		if at, ok := r.freeAt(rec, now); ok {
			out = append(out, FreeEstimate{AgentID: id, State: rec.state, FreeAt: at})
		}
	}
	slices.SortFunc(out, func(a, b FreeEstimate) int { return byTime(a.FreeAt, b.FreeAt, a.AgentID, b.AgentID) })
	return out
}

// freeAt estimates when rec is available again. Wrap-up: its known end. On
// call: connect time + mean handle time + the queue's wrap-up; a call that
// already ran past the mean is assumed to end now at the earliest (a mean is
// all we know, and "overdue" calls are the ones most likely to end soon
// relative to the others).
func (r *Roster) freeAt(rec *agentRec, now time.Time) (time.Time, bool) {
	switch rec.state {
	case WrapUp:
		return rec.deadline, true
	case OnCall:
		end := rec.callSince.Add(r.meanHandleDur())
		if end.Before(now) {
			end = now
		}
		if w := r.wrapUp(rec.queue); w > 0 {
			end = end.Add(w)
		}
		return end, true
	}
	return time.Time{}, false
}

func (r *Roster) meanHandleDur() time.Duration {
	return time.Duration(r.meanHandle * float64(time.Second))
}

// StateTimes returns, summed over all agents, how long they spent in each
// state up to now (the current state counted up to now). HandleOccupancy
// (the contact-center occupancy) and Occupancy (talk only) are computed from it.
func (r *Roster) StateTimes(now time.Time) map[State]time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	out := make(map[State]time.Duration, numStates)
	for _, id := range r.ids {
		rec := r.agents[id]
		for s, d := range rec.totals {
			out[State(s)] += d
		}
		if !rec.since.IsZero() && now.After(rec.since) {
			out[rec.state] += now.Sub(rec.since)
		}
	}
	return out
}

// Occupancy is talk occupancy: time on call divided by working time (logged
// in and not paused; wrap-up, reserved and idle time count as working, not
// on call), from StateTimes. It is 0 when nobody worked. It leaves after-call
// work out of the numerator, so it is not what contact centers report as
// occupancy; see HandleOccupancy.
func Occupancy(times map[State]time.Duration) float64 {
	return share(times, OnCall)
}

// HandleOccupancy is occupancy as contact centers define and report it:
// handle time (talk plus after-call work, i.e. OnCall + WrapUp) divided by
// working time (Available + Reserved + OnCall + WrapUp; Paused and LoggedOut
// excluded), from StateTimes. After-call work is part of handling a contact
// in the standard definitions (handle time = talk + hold + after-call work;
// occupancy = handle time ÷ (handle time + available time), e.g. ICMI and
// COPC usage), and an agent in wrap-up cannot take a call either. Reserved
// time stays in the denominator only: it is an agent waiting for a dialed
// call to be answered, which is idle time however short. It is 0 when
// nobody worked.
func HandleOccupancy(times map[State]time.Duration) float64 {
	return share(times, OnCall, WrapUp)
}

func share(times map[State]time.Duration, busy ...State) float64 {
	var working time.Duration
	for s, d := range times {
		if s.Working() {
			working += d
		}
	}
	if working <= 0 {
		return 0
	}
	var num time.Duration
	for _, s := range busy {
		num += times[s]
	}
	return float64(num) / float64(working)
}
