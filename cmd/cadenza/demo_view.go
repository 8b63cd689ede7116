package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
)

// isTerminal reports whether w is a terminal (the live view redraws there;
// anything else gets plain log lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// formatDemoEvent renders one engine event as a log line, in simulated
// time (business zone) and the contact's local time.
func formatDemoEvent(ev engine.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-9s %-13s", ev.At.In(demoBusinessZone()).Format("Mon 01-02 15:04 MST"), ev.Type, ev.Phone)
	if !ev.Local.IsZero() {
		fmt.Fprintf(&b, " local %s", ev.Local.Format("Mon 15:04 MST"))
	}
	if ev.Step > 0 {
		fmt.Fprintf(&b, "  step %d", ev.Step)
		if ev.Attempt > 1 {
			fmt.Fprintf(&b, " try %d", ev.Attempt)
		}
	}
	switch {
	case ev.Code == "agent":
		fmt.Fprintf(&b, "  agent: %s", ev.Disposition)
	case ev.Disposition != "":
		fmt.Fprintf(&b, "  → %s", ev.Disposition)
	case ev.Code != "":
		fmt.Fprintf(&b, "  %s", ev.Code)
	}
	if !ev.Next.IsZero() {
		fmt.Fprintf(&b, "  next %s", ev.Next.In(demoBusinessZone()).Format("Mon 01-02 15:04"))
	}
	return b.String()
}

// demoBusinessZone is where the demo's simulated clock is shown: the
// example cadences' business zone.
func demoBusinessZone() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil { // time/tzdata is embedded: cannot happen
		return time.UTC
	}
	return loc
}

// demoView shows the demo while it runs: a live panel redrawn in place on
// a terminal, plain log lines otherwise.
type demoView struct {
	w     io.Writer
	live  bool
	tally *demoTally
	now   func() time.Time // simulated
	start time.Time        // real
	total int              // contacts to enroll

	mu    sync.Mutex
	lines int // lines of the last frame, to redraw over
}

// event is called for every engine event (synchronously, in order).
func (v *demoView) event(ev engine.Event) {
	if v.live {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintln(v.w, formatDemoEvent(ev))
}

// draw redraws the live panel; plain output has nothing to redraw.
func (v *demoView) draw() {
	if !v.live {
		return
	}
	s := v.tally.snapshot()
	var b strings.Builder
	const width = 40
	done := 0
	if v.total > 0 {
		done = min(width, s.finished*width/v.total)
	}
	fmt.Fprintf(&b, "cadenza demo   simulated %s   real %.1fs\n",
		v.now().In(demoBusinessZone()).Format("Mon 2006-01-02 15:04 MST"), time.Since(v.start).Seconds())
	fmt.Fprintf(&b, "[%s%s] %d/%d enrollments finished\n", strings.Repeat("█", done), strings.Repeat("░", width-done), s.finished, v.total)
	fmt.Fprintf(&b, "calls in flight %-4d placed %-5d SMS %d\n", s.dialing, s.placed, s.sms)
	var parts []string
	for _, d := range dialer.Dispositions {
		if n := s.disp[string(d)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", d, n))
		}
	}
	fmt.Fprintf(&b, "dispositions: %s\n", strings.Join(parts, "  "))
	parts = parts[:0]
	for _, c := range sortedCounts(s.blocks) {
		parts = append(parts, fmt.Sprintf("%s %d", c.k, c.v))
	}
	fmt.Fprintf(&b, "blocks: %s\n", strings.Join(parts, "  "))
	fmt.Fprintf(&b, "last: %s\n", s.last)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.lines > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\x1b[J", v.lines)
	}
	// Long lines would wrap and break the redraw: cut them at 120 columns.
	out := b.String()
	var cut strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if r := []rune(strings.TrimSuffix(l, "\n")); len(r) > 120 {
			l = string(r[:120]) + "\n"
		}
		cut.WriteString(l)
	}
	fmt.Fprint(v.w, cut.String())
	v.lines = strings.Count(out, "\n")
}
