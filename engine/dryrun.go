package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// OutcomeScript says what simulated calls return, per number. Its text form
// (cadenza dryrun --outcomes, the scenario tests' "outcomes" line):
//
//	spec  = rule *( ";" rule )
//	rule  = [ target "=" ] seq        target = E.164 number | "*"
//	seq   = item *( "," item )
//	item  = disposition | "requeue:" duration
//
// Each number plays its own copy of its sequence, one disposition per call;
// the last disposition repeats forever. A rule without a target, or with
// "*", applies to every number without a rule of its own. Dispositions are
// the system ones: human, voicemail, machine, no_answer, busy,
// invalid_number, rejected, failed (never placed), abandoned, unknown.
// "requeue:5m" is a call that was never placed because no agent was free:
// the engine tries the same attempt again 5 minutes later.
// Examples: "no_answer"; "busy,no_answer,human";
// "+15551234567=busy,human;*=no_answer"; "requeue:5m,human".
type OutcomeScript struct {
	byPhone  map[string][]scriptedOutcome
	fallback []scriptedOutcome
}

// scriptedOutcome is one item of a sequence: a disposition, or a requeue.
type scriptedOutcome struct {
	disposition dialer.Disposition
	requeue     time.Duration
}

// parseScriptedOutcome reads one item of a sequence.
func parseScriptedOutcome(s string) (scriptedOutcome, error) {
	if d, ok := strings.CutPrefix(s, "requeue:"); ok {
		dur, err := ParseDuration(d)
		if err != nil || dur <= 0 {
			return scriptedOutcome{}, fmt.Errorf("%q: want requeue:DURATION with a duration > 0, e.g. requeue:5m", s)
		}
		return scriptedOutcome{disposition: dialer.Failed, requeue: dur.D()}, nil
	}
	if !dialer.Disposition(s).Valid() {
		return scriptedOutcome{}, fmt.Errorf("%q is not a system disposition or requeue:DURATION", s)
	}
	return scriptedOutcome{disposition: dialer.Disposition(s)}, nil
}

// ParseOutcomeScript reads the text form; "" means every call is no_answer.
func ParseOutcomeScript(spec string) (*OutcomeScript, error) {
	s := &OutcomeScript{byPhone: map[string][]scriptedOutcome{}, fallback: []scriptedOutcome{{disposition: dialer.NoAnswer}}}
	if strings.TrimSpace(spec) == "" {
		return s, nil
	}
	for i, rule := range strings.Split(spec, ";") {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		target, seq, hasTarget := strings.Cut(rule, "=")
		if !hasTarget {
			target, seq = "*", rule
		}
		target = strings.TrimSpace(target)
		var ds []scriptedOutcome
		for j, d := range strings.Split(seq, ",") {
			o, err := parseScriptedOutcome(strings.TrimSpace(d))
			if err != nil {
				return nil, fmt.Errorf("outcomes: rule %d, item %d: %w", i+1, j+1, err)
			}
			ds = append(ds, o)
		}
		if target == "*" {
			s.fallback = ds
			continue
		}
		p, err := NormalizePhone(target)
		if err != nil {
			return nil, fmt.Errorf("outcomes: rule %d: %w", i+1, err)
		}
		s.byPhone[p] = ds
	}
	return s, nil
}

// ScriptedDialer is a Dialer that answers from an OutcomeScript at once,
// for dry runs and tests. Safe for concurrent use.
type ScriptedDialer struct {
	script *OutcomeScript
	now    func() time.Time
	mu     sync.Mutex
	calls  map[string]int
}

// NewScriptedDialer plays script; now stamps the outcomes' timings.
func NewScriptedDialer(script *OutcomeScript, now func() time.Time) *ScriptedDialer {
	return &ScriptedDialer{script: script, now: now, calls: map[string]int{}}
}

// Dial returns the number's next scripted disposition.
func (d *ScriptedDialer) Dial(_ context.Context, c dialer.Call) dialer.Outcome {
	d.mu.Lock()
	seq, ok := d.script.byPhone[c.To]
	if !ok {
		seq = d.script.fallback
	}
	n := d.calls[c.To]
	d.calls[c.To]++
	d.mu.Unlock()
	o := seq[min(n, len(seq)-1)]
	now := d.now()
	out := dialer.Outcome{CallID: c.ID, To: c.To, Trunk: c.Trunk, Disposition: o.disposition,
		Timings: dialer.Timings{Queued: now}, Requeue: o.requeue}
	if o.requeue > 0 {
		out.Detail = fmt.Sprintf("no agent of queue %q was free", c.Queue)
	}
	if o.disposition != dialer.Failed {
		out.Timings.InviteSent = now
	}
	return out
}

// Calls reports how many calls went to a number.
func (d *ScriptedDialer) Calls(phone string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[phone]
}

// AcceptingMessenger is a Messenger that accepts every message, for dry
// runs and tests; it keeps what it was given.
type AcceptingMessenger struct {
	mu   sync.Mutex
	sent []SentMessage
}

// SentMessage is one message an AcceptingMessenger accepted.
type SentMessage struct{ To, Text string }

// Send accepts the message.
func (m *AcceptingMessenger) Send(_ context.Context, to, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, SentMessage{to, text})
	return nil
}

// Sent returns the accepted messages.
func (m *AcceptingMessenger) Sent() []SentMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]SentMessage(nil), m.sent...)
}
