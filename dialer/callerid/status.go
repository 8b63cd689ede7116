package callerid

import (
	"context"
	"fmt"
	"time"
)

// PoolStatus is one pool as GET /v1/callerid-pools shows it.
type PoolStatus struct {
	Name string `json:"name"`
	// DefaultStrategy is used when a cadence step names none.
	DefaultStrategy string `json:"default_strategy"`
	// Strategies lists the strategies a step may use with this pool.
	Strategies []string `json:"strategies"`
	TimeZone   string   `json:"time_zone"`
	// Usable counts the numbers a pick could use right now.
	Usable  int            `json:"usable"`
	Numbers []NumberStatus `json:"numbers"`
}

// NumberStatus is one number of a pool with its effective caps and state.
type NumberStatus struct {
	E164            string  `json:"e164"`
	AreaCode        string  `json:"area_code,omitempty"`
	State           string  `json:"state,omitempty"`
	DailyCap        int     `json:"daily_cap,omitempty"`
	PerMinute       int     `json:"per_minute,omitempty"`
	PerHour         int     `json:"per_hour,omitempty"`
	CooldownSeconds float64 `json:"cooldown_seconds,omitempty"`
	// Today is how many calls it placed today (the pool's calendar day).
	Today int `json:"today"`
	// RestingUntil and CoolingDownUntil are set while in force.
	RestingUntil     *time.Time `json:"resting_until,omitempty"`
	CoolingDownUntil *time.Time `json:"cooling_down_until,omitempty"`
	// Usable is false while resting, cooling down or at the daily cap
	// (minute and hour caps are not shown: they lift within the hour).
	Usable bool `json:"usable"`
}

// Pools lists every pool, in configuration order, with each number's
// counts and rest/cooldown state.
func (s *Service) Pools(ctx context.Context) ([]PoolStatus, error) {
	now := s.clock()
	out := make([]PoolStatus, 0, len(s.order))
	for _, name := range s.order {
		p := s.pools[name]
		all := make([]int, len(p.numbers))
		for i := range all {
			all[i] = i
		}
		uses := p.uses(all, now)
		usage, err := s.store.Usage(ctx, now, uses)
		if err != nil {
			return nil, fmt.Errorf("caller-ID pool %q status: %w", name, err)
		}
		ps := PoolStatus{Name: name, DefaultStrategy: p.strategy, Strategies: Strategies(), TimeZone: p.loc.String()}
		for i, n := range p.numbers {
			u := usage[i]
			ns := NumberStatus{
				E164: n.e164, AreaCode: n.npa, State: n.state,
				DailyCap: n.caps.DailyCap, PerMinute: n.caps.PerMinute, PerHour: n.caps.PerHour,
				CooldownSeconds: n.caps.Cooldown.Seconds(),
				Today:           u.Today,
			}
			if !u.RestingUntil.IsZero() {
				t := u.RestingUntil
				ns.RestingUntil = &t
			}
			if !u.CoolingUntil.IsZero() {
				t := u.CoolingUntil
				ns.CoolingDownUntil = &t
			}
			ns.Usable = ns.RestingUntil == nil && ns.CoolingDownUntil == nil && (n.caps.DailyCap == 0 || u.Today < n.caps.DailyCap)
			if ns.Usable {
				ps.Usable++
			}
			ps.Numbers = append(ps.Numbers, ns)
		}
		out = append(out, ps)
	}
	return out, nil
}
