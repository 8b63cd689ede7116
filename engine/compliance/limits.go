package compliance

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Channel is how a contact is reached; the values match the engine's step
// types.
type Channel string

// The two channels.
const (
	ChannelCall Channel = "call"
	ChannelSMS  Channel = "sms"
)

func (c Channel) valid() bool { return c == ChannelCall || c == ChannelSMS }

// Scope says which channels a Limit counts and restricts.
type Scope uint8

// Scopes: calls only, texts only, or both together (Maryland counts calls
// and texts in one cap).
const (
	ScopeCalls Scope = 1 << iota
	ScopeSMS
	ScopeBoth = ScopeCalls | ScopeSMS
)

// Has reports whether ch falls under s.
func (s Scope) Has(ch Channel) bool {
	switch ch {
	case ChannelCall:
		return s&ScopeCalls != 0
	case ChannelSMS:
		return s&ScopeSMS != 0
	}
	return false
}

func (s Scope) String() string {
	switch s {
	case ScopeCalls:
		return "calls"
	case ScopeSMS:
		return "sms"
	case ScopeBoth:
		return "calls+sms"
	}
	return fmt.Sprintf("Scope(%d)", uint8(s))
}

// ParseScope reads "calls", "sms" or "calls+sms" (also "both").
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "calls", "call":
		return ScopeCalls, nil
	case "sms", "texts":
		return ScopeSMS, nil
	case "calls+sms", "sms+calls", "both":
		return ScopeBoth, nil
	}
	return 0, fmt.Errorf("%q: want calls, sms or calls+sms", s)
}

// Limit is "at most Max actions of Scope in any rolling Period". An action
// counts during the half-open interval (at, at+Period]: an event exactly
// Period ago no longer counts.
type Limit struct {
	Max    int
	Period time.Duration
	Scope  Scope
	// Source says where the limit comes from ("business", "cadence",
	// "state FL"), for block reasons.
	Source string
}

func (l Limit) String() string {
	s := fmt.Sprintf("%d %s per %s", l.Max, l.Scope, fmtPeriod(l.Period))
	if l.Source != "" {
		s += " (" + l.Source + ")"
	}
	return s
}

// Validate checks a limit; errors name the field.
func (l Limit) Validate() error {
	switch {
	case l.Max < 1:
		return fmt.Errorf("max: %d must be ≥ 1", l.Max)
	case l.Period <= 0:
		return fmt.Errorf("period: %s must be positive", l.Period)
	case l.Scope == 0 || l.Scope&^ScopeBoth != 0:
		return fmt.Errorf("scope: %d is not calls, sms or calls+sms", l.Scope)
	}
	return nil
}

func fmtPeriod(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := d / (24 * time.Hour)
		if n == 1 {
			return "24h"
		}
		return fmt.Sprintf("%dd", n)
	}
	return d.String()
}

// Event is one past (or claimed, in-flight) action to a contact, from any
// cadence.
type Event struct {
	At      time.Time
	Channel Channel
}

// EffectiveLimits combines the business defaults, the cadence's own limits
// and the state rules of the contact. The strictest wins: every limit holds
// at once (a cadence can tighten the business defaults, never loosen them;
// a state cap holds whatever the business says). Limits made redundant by a
// stricter one (same or wider scope, at most the same Max, at least the same
// Period) are dropped, so the result is the smallest equivalent set, sorted
// for stable output. Invalid limits are an error naming their origin.
func EffectiveLimits(business, cadence []Limit, states []StateRule) ([]Limit, error) {
	var all []Limit
	add := func(origin string, ls []Limit) error {
		for i, l := range ls {
			if err := l.Validate(); err != nil {
				return fmt.Errorf("%s[%d].%w", origin, i, err)
			}
			if l.Source == "" {
				l.Source = origin
			}
			all = append(all, l)
		}
		return nil
	}
	if err := add("business", business); err != nil {
		return nil, err
	}
	if err := add("cadence", cadence); err != nil {
		return nil, err
	}
	for _, s := range states {
		if err := add("state "+s.State, s.Limits); err != nil {
			return nil, err
		}
	}
	var out []Limit
	for i, l := range all {
		redundant := false
		for j, m := range all {
			if i == j || !dominates(m, l) {
				continue
			}
			// Of two equivalent limits keep the first.
			if dominates(l, m) && j > i {
				continue
			}
			redundant = true
			break
		}
		if !redundant {
			out = append(out, l)
		}
	}
	slices.SortStableFunc(out, func(a, b Limit) int {
		if a.Scope != b.Scope {
			return int(a.Scope) - int(b.Scope)
		}
		if a.Period != b.Period {
			return cmp.Compare(a.Period, b.Period)
		}
		return a.Max - b.Max
	})
	return out, nil
}

// dominates reports whether m blocks whenever l blocks: m applies to every
// channel l applies to, counts at least the same events over at least as long
// a period, and allows no more of them.
func dominates(m, l Limit) bool {
	return m.Scope&l.Scope == l.Scope && m.Period >= l.Period && m.Max <= l.Max
}

// CheckLimits decides whether one more action on channel ch is allowed at
// now, given the contact's history across all cadences and both channels.
// When it is not, next is the earliest instant at which every limit allows
// it — when enough of the oldest counted events have aged out — and reason
// names the binding limit. Counts only fall as time passes (no new events),
// so the instants allowed by the limits are exactly [next, ∞).
func CheckLimits(now time.Time, ch Channel, history []Event, limits []Limit) (ok bool, next time.Time, reason string, err error) {
	if !ch.valid() {
		return false, time.Time{}, "", fmt.Errorf("channel: %q is not call or sms", ch)
	}
	next = now
	var (
		buf []time.Time
		why strings.Builder
	)
	for i, l := range limits {
		if err := l.Validate(); err != nil {
			return false, time.Time{}, "", fmt.Errorf("limits[%d].%w", i, err)
		}
		if !l.Scope.Has(ch) {
			continue
		}
		// Events that count at now: at > now-Period (future ones too: a
		// claimed, in-flight action counts as soon as it is claimed).
		cutoff := now.Add(-l.Period)
		buf = buf[:0]
		for _, e := range history {
			if l.Scope.Has(e.Channel) && e.At.After(cutoff) {
				buf = append(buf, e.At)
			}
		}
		if len(buf) < l.Max {
			continue
		}
		slices.SortFunc(buf, func(a, b time.Time) int { return a.Compare(b) })
		// One more is allowed once the count is Max-1: the k-th oldest
		// event must have aged out, at its time + Period.
		k := len(buf) - l.Max // 0-based index of the k-th oldest
		free := buf[k].Add(l.Period)
		if free.After(next) {
			next = free
		}
		if why.Len() > 0 {
			why.WriteString("; ")
		}
		fmt.Fprintf(&why, "harassment limit %s reached (%d in the last %s); frees up at %s",
			l, len(buf), fmtPeriod(l.Period), free.Format(time.RFC3339))
	}
	if why.Len() == 0 {
		return true, now, "", nil
	}
	return false, next, why.String(), nil
}

// errNoChannel guards NextEligible's inputs.
var errNoChannel = errors.New("channel: required")

// NextEligible is the earliest instant ≥ now at which an action on
// in.Channel satisfies both the limits (given history) and every window of
// in. Because the limits allow exactly an interval [t, ∞), one call to
// NextAllowed from t suffices. The returned Block explains the first reason
// the action could not go at now (limits before windows); it is nil when the
// action can go at now.
func NextEligible(now time.Time, history []Event, limits []Limit, in Inputs) (time.Time, *Block, error) {
	if in.Channel == "" {
		return time.Time{}, nil, errNoChannel
	}
	ok, free, reason, err := CheckLimits(now, in.Channel, history, limits)
	if err != nil {
		return time.Time{}, nil, err
	}
	t, wb, err := NextAllowed(free, in)
	if err != nil {
		return time.Time{}, nil, err
	}
	switch {
	case !ok:
		b := &Block{Code: BlockLimit, Reason: reason, Next: t}
		if wb != nil {
			b.Reason += "; then " + wb.Reason
		}
		return t, b, nil
	case wb != nil:
		return t, wb, nil
	}
	return t, nil, nil
}
