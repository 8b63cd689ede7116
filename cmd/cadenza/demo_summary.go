package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// demoSummary is the end-of-run table: the engine's and the dialer's view
// of the campaign, checked against the simulator's own call log.
type demoSummary struct {
	Contacts int
	Enrolled int
	Refused  map[string]int
	// Attempts are the calls the dialer placed (an INVITE went out);
	// SimInvites the INVITEs the simulator logged.
	Attempts   int
	SimInvites int
	Disp       map[string]int
	// Reached counts contacts a person answered for; Converted those the
	// (simulated) agents marked with a conversion disposition.
	Reached   int
	Converted int
	// AttemptsToContact is the mean number of calls it took to reach the
	// reached contacts, the answered call included.
	AttemptsToContact float64
	// Voicemails dropped per the engine; per the simulator's log, how many
	// of them started after the beep had ended and how many were clipped.
	Voicemails    int
	VMAfterBeep   int
	VMClipped     int
	SMS           int
	Blocks        map[string]int
	CallerIDs     map[string]int
	SimStart      time.Time
	SimEnd        time.Time
	Real          time.Duration
	Unmatched     int // placed calls without a simulator record
	AMDAgreeHuman [2]int
	AMDAgreeVM    [2]int
	// Bridged calls a person answered were put through to an agent, from
	// answer to bridge in ConnectMedianMS (median) and ConnectMaxMS; the
	// simulator logged AgentLegs answered agent phones, AgentHeard of
	// which heard the contact.
	Bridged, AgentLegs, AgentHeard int
	ConnectMedianMS, ConnectMaxMS  int64
	// Analytics are the engine's rates over the run (seed 000's
	// definitions: contacts ÷ attempts, conversions ÷ contacts).
	Analytics engine.Analytics
}

// buildDemoSummary joins the tally with the simulator's call log (by the
// attempt ID the SIP driver sends in X-Cadenza-Attempt).
func buildDemoSummary(t *demoTally, calls []sim.CallRecord, contacts int) demoSummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := demoSummary{Contacts: contacts, Enrolled: t.enrolled, Refused: t.refused, Disp: t.disp, SMS: t.sms,
		Blocks: t.blocks, CallerIDs: map[string]int{}}
	byAttempt := make(map[string]sim.CallRecord, len(calls))
	for _, r := range calls {
		if isAgentLeg(r) {
			// The bridge legs to the agents' phones: answered, and the
			// agent heard the contact (audio relayed both ways).
			if r.FinalCode == 200 {
				s.AgentLegs++
				if r.AgentReceivedMS > 0 {
					s.AgentHeard++
				}
			}
			continue
		}
		s.SimInvites++
		byAttempt[r.Attempt] = r
	}
	var connected []int64
	for id, o := range t.outcomes {
		if !o.Placed() {
			continue
		}
		s.Attempts++
		s.CallerIDs[o.CallerID]++
		if o.ConnectedMS > 0 {
			connected = append(connected, o.ConnectedMS)
		}
		r, ok := byAttempt[id]
		if !ok {
			s.Unmatched++
			continue
		}
		switch r.Behavior {
		case sim.Human:
			s.AMDAgreeHuman[1]++
			// Abandoned: AMD heard a person; no agent was free.
			if o.Disposition == dialer.Human || o.Disposition == dialer.Abandoned {
				s.AMDAgreeHuman[0]++
			}
		case sim.Voicemail:
			s.AMDAgreeVM[1]++
			if o.Disposition == dialer.Voicemail || o.Disposition == dialer.Machine {
				s.AMDAgreeVM[0]++
			}
		}
		if o.Disposition == dialer.Voicemail {
			s.Voicemails++
			if r.MessageStartMS != nil && *r.MessageStartMS >= 0 {
				s.VMAfterBeep++
			}
			if r.Clipped {
				s.VMClipped++
			}
		}
	}
	sum := 0
	for _, c := range t.contacts {
		if c.reachedAt > 0 {
			s.Reached++
			sum += c.reachedAt
		}
		if c.converted {
			s.Converted++
		}
	}
	if s.Reached > 0 {
		s.AttemptsToContact = float64(sum) / float64(s.Reached)
	}
	s.Bridged = len(connected)
	if len(connected) > 0 {
		slices.Sort(connected)
		s.ConnectMedianMS, s.ConnectMaxMS = connected[len(connected)/2], connected[len(connected)-1]
	}
	return s
}

func pct(n, of int) string {
	if of == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(of))
}

func joinCounts(m map[string]int) string {
	var parts []string
	for _, c := range sortedCounts(m) {
		parts = append(parts, fmt.Sprintf("%s %d", c.k, c.v))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// write prints the summary table.
func (s demoSummary) write(w io.Writer) error {
	zone := demoBusinessZone()
	var b strings.Builder
	fmt.Fprintf(&b, "\nCadenza demo summary: simulated %s → %s (%s) in %.1f s real\n\n",
		s.SimStart.In(zone).Format("Mon 2006-01-02 15:04 MST"), s.SimEnd.In(zone).Format("Mon 2006-01-02 15:04 MST"),
		simSpan(s.SimEnd.Sub(s.SimStart)), s.Real.Seconds())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	refused := 0
	for _, n := range s.Refused {
		refused += n
	}
	if refused > 0 {
		row("contacts", fmt.Sprintf("%d (%d enrolled, %d refused: %s)", s.Contacts, s.Enrolled, refused, joinCounts(s.Refused)))
	} else {
		row("contacts", fmt.Sprintf("%d (%d enrolled)", s.Contacts, s.Enrolled))
	}
	row("call attempts", fmt.Sprintf("%d (simulator call log: %d INVITEs)", s.Attempts, s.SimInvites))
	var parts []string
	for _, d := range dialer.Dispositions {
		if n := s.Disp[string(d)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", d, n))
		}
	}
	row("dispositions", strings.Join(parts, ", "))
	a := s.Analytics
	row("contact rate", fmt.Sprintf("%s (%d contacts in %d attempts; %d of %d enrolled people reached)", pct(a.Contacts, a.Attempts), a.Contacts, a.Attempts, s.Reached, s.Enrolled))
	row("conversion rate", fmt.Sprintf("%s (%d conversions of %d contacts, posted by the demo's simulated agents)", pct(a.Conversions, a.Contacts), a.Conversions, a.Contacts))
	row("avg attempts to contact", fmt.Sprintf("%.2f (calls until a person answered, that call included; %d contacted enrollments)", a.AverageAttemptsBeforeContact, a.ContactedEnrollments))
	row("agents", fmt.Sprintf("%d people put through to %d agents, median %d ms after answer (max %d ms); simulator: %d agent phones answered, %d heard the contact",
		s.Bridged, demoTeamSize, s.ConnectMedianMS, s.ConnectMaxMS, s.AgentLegs, s.AgentHeard))
	row("voicemails dropped", fmt.Sprintf("%d (simulator: %d started after the beep, %d clipped)", s.Voicemails, s.VMAfterBeep, s.VMClipped))
	row("AMD vs simulator", fmt.Sprintf("persons %d/%d judged human, voicemail boxes %d/%d judged machine",
		s.AMDAgreeHuman[0], s.AMDAgreeHuman[1], s.AMDAgreeVM[0], s.AMDAgreeVM[1]))
	row("SMS sent", fmt.Sprintf("%d (in-process SMS log: no carrier)", s.SMS))
	row("compliance blocks", joinCounts(s.Blocks))
	row("calls per caller ID", joinCounts(s.CallerIDs))
	if s.Unmatched > 0 {
		row("unmatched calls", fmt.Sprintf("%d placed calls have no simulator record", s.Unmatched))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// simSpan renders a simulated duration in days, hours and minutes.
func simSpan(d time.Duration) string {
	d = d.Round(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	if days > 0 {
		return fmt.Sprintf("%dd %dh %dm", days, h, m)
	}
	return fmt.Sprintf("%dh %dm", h, m)
}
