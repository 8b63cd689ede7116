package callerid

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Errors Pick returns, wrapped with the pool and the details.
var (
	// ErrUnknownPool: the request names no configured pool.
	ErrUnknownPool = errors.New("unknown caller-ID pool")
	// ErrBadRequest: the request itself is wrong (strategy, fixed number…).
	ErrBadRequest = errors.New("bad caller-ID request")
	// ErrExhausted: every candidate number is resting, cooling down or
	// capped. The error is an *ExhaustedError that counts the reasons.
	ErrExhausted = errors.New("no usable caller ID")
)

// ExhaustedError says why no number of a pool could be used.
type ExhaustedError struct {
	Pool     string
	Strategy string
	// Reasons counts the candidates refused for each reason.
	Reasons map[Reason]int
}

func (e *ExhaustedError) Error() string {
	keys := make([]string, 0, len(e.Reasons))
	for r := range e.Reasons {
		keys = append(keys, string(r))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", e.Reasons[Reason(k)], strings.ReplaceAll(k, "_", " "))
	}
	return fmt.Sprintf("caller-ID pool %q (%s): %v: %s", e.Pool, e.Strategy, ErrExhausted, strings.Join(parts, ", "))
}

// Unwrap lets errors.Is(err, ErrExhausted) match.
func (e *ExhaustedError) Unwrap() error { return ErrExhausted }

// Options configure a Service.
type Options struct {
	// Registerer receives the caller-ID metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger gets one line when a pool runs out of usable numbers and one
	// when it has some again (default slog.Default()).
	Logger *slog.Logger
	// Shuffle orders candidates for random and local presence (default
	// math/rand/v2); tests pass a deterministic one.
	Shuffle func(n int, swap func(i, j int))
}

// Service picks caller IDs from configured pools; it implements Picker.
type Service struct {
	store   Counters
	clock   func() time.Time
	pools   map[string]*pool
	order   []string
	shuffle func(n int, swap func(i, j int))
	log     *slog.Logger
	m       *metrics

	mu        sync.Mutex
	exhausted map[string]bool // pools whose last pick found no number
}

var _ Picker = (*Service)(nil)

// pool is a validated PoolConfig with its numbers resolved.
type pool struct {
	cfg      PoolConfig
	loc      *time.Location
	strategy string
	numbers  []number
	index    map[string]int
}

type number struct {
	e164  string
	npa   string
	state string
	caps  Caps
}

// New returns a Service over pools. clock is the time source (windows,
// cooldowns, rests); nil means time.Now.
func New(store Counters, pools []PoolConfig, clock func() time.Time, opts Options) (*Service, error) {
	if store == nil {
		return nil, errors.New("callerid: nil counters")
	}
	if err := ValidatePools(pools); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Shuffle == nil {
		opts.Shuffle = rand.Shuffle
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Service{store: store, clock: clock, pools: map[string]*pool{}, shuffle: opts.Shuffle,
		log: opts.Logger.With("component", "callerid"), m: m, exhausted: map[string]bool{}}
	for _, pc := range pools {
		p := &pool{cfg: pc, loc: time.UTC, strategy: pc.Strategy, index: map[string]int{}}
		if pc.TimeZone != "" {
			p.loc, _ = time.LoadLocation(pc.TimeZone) // validated above
		}
		if p.strategy == "" {
			p.strategy = Rotating
		}
		for i, n := range pc.Numbers {
			npa, _ := AreaCode(n.E164)
			st := n.State
			if st == "" {
				st = StateOfAreaCode(npa)
			}
			p.numbers = append(p.numbers, number{e164: n.E164, npa: npa, state: st, caps: n.Caps.over(pc.Caps)})
			p.index[n.E164] = i
		}
		s.pools[pc.Name] = p
		s.order = append(s.order, pc.Name)
	}
	return s, nil
}

// day returns the pool's calendar day containing now: its name and end.
func (p *pool) day(now time.Time) (string, time.Time) {
	y, mo, d := now.In(p.loc).Date()
	start := time.Date(y, mo, d, 0, 0, 0, 0, p.loc)
	return start.Format("2006-01-02"), start.AddDate(0, 0, 1)
}

// uses builds the Counters view of the pool numbers idx at now.
func (p *pool) uses(idx []int, now time.Time) []Use {
	day, end := p.day(now)
	out := make([]Use, len(idx))
	for i, k := range idx {
		n := p.numbers[k]
		out[i] = Use{Number: n.e164, Caps: n.caps, Day: day, DayEnd: end}
	}
	return out
}

// Pick implements Picker.
func (s *Service) Pick(ctx context.Context, req Request) (string, error) {
	if req.Pool == "" && req.Strategy == Fixed {
		// A fixed number outside any pool: used as is, no caps to apply.
		if !ValidE164(req.Fixed) {
			return "", fmt.Errorf("%w: fixed: %q is not an E.164 number", ErrBadRequest, req.Fixed)
		}
		s.m.picks.WithLabelValues("", Fixed).Inc()
		return req.Fixed, nil
	}
	p, ok := s.pools[req.Pool]
	if !ok {
		return "", fmt.Errorf("pick caller ID: %w %q", ErrUnknownPool, req.Pool)
	}
	strategy := req.Strategy
	if strategy == "" {
		strategy = p.strategy
	}
	if !validStrategy(strategy) {
		return "", fmt.Errorf("%w: strategy: %q is not one of %v", ErrBadRequest, strategy, Strategies())
	}
	cands, tiers, err := s.candidates(ctx, p, strategy, req)
	if err != nil {
		return "", err
	}
	now := s.clock()
	uses := p.uses(cands, now)
	idx, reasons, err := s.store.ReserveFirst(ctx, now, uses)
	if err != nil {
		if ctx.Err() == nil {
			s.m.storeErrors.Inc()
		}
		return "", fmt.Errorf("pick caller ID from %q: %w", p.cfg.Name, err)
	}
	if idx < 0 {
		s.m.exhausted.WithLabelValues(p.cfg.Name, strategy).Inc()
		e := &ExhaustedError{Pool: p.cfg.Name, Strategy: strategy, Reasons: map[Reason]int{}}
		for _, r := range reasons {
			e.Reasons[r]++
		}
		if s.setExhausted(p.cfg.Name, true) {
			s.log.Warn("caller-ID pool exhausted: calls from it fail until a number is usable", "pool", p.cfg.Name, "strategy", strategy, "why", e.Error())
		}
		return "", e
	}
	if s.setExhausted(p.cfg.Name, false) {
		s.log.Info("caller-ID pool usable again", "pool", p.cfg.Name)
	}
	s.m.picks.WithLabelValues(p.cfg.Name, strategy).Inc()
	if tiers != nil {
		s.m.presence.WithLabelValues(p.cfg.Name, tiers[idx]).Inc()
	}
	return uses[idx].Number, nil
}

// setExhausted records whether pool's last pick found no number and reports
// whether that changed (so each run-out is logged once, not per call).
func (s *Service) setExhausted(pool string, v bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exhausted[pool] == v {
		return false
	}
	s.exhausted[pool] = v
	return true
}

// Local-presence match tiers (the "match" label).
const (
	matchAreaCode = "area_code"
	matchState    = "state"
	matchFallback = "fallback"
)

// candidates returns the pool's number indexes in the order strategy tries
// them, and for local presence the match tier of each.
func (s *Service) candidates(ctx context.Context, p *pool, strategy string, req Request) ([]int, []string, error) {
	n := len(p.numbers)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	switch strategy {
	case Random:
		s.shuffle(n, func(i, j int) { all[i], all[j] = all[j], all[i] })
		return all, nil, nil
	case Rotating:
		// The shared counter picks where this call starts; on a refusal the
		// next numbers in pool order are tried.
		k, err := s.store.Next(ctx, p.cfg.Name)
		if err != nil {
			if ctx.Err() == nil {
				s.m.storeErrors.Inc()
			}
			return nil, nil, fmt.Errorf("pick caller ID from %q: %w", p.cfg.Name, err)
		}
		start := int((k - 1) % uint64(n))
		return append(all[start:], all[:start]...), nil, nil
	case Sticky:
		key := req.ContactKey
		if key == "" {
			key = req.To
		}
		if key == "" {
			return nil, nil, fmt.Errorf("%w: contact_key: required for sticky", ErrBadRequest)
		}
		// Rendezvous hashing: each contact ranks the numbers by
		// hash(contact, number), the same on every node, and a number
		// added to or removed from the pool moves only its own contacts.
		score := make([]uint64, n)
		for i, num := range p.numbers {
			h := fnv.New64a()
			h.Write([]byte(key))
			h.Write([]byte{0})
			h.Write([]byte(num.e164))
			score[i] = h.Sum64()
		}
		slices.SortFunc(all, func(a, b int) int {
			switch {
			case score[a] > score[b]:
				return -1
			case score[a] < score[b]:
				return 1
			}
			return 0
		})
		return all, nil, nil
	case Fixed:
		want := req.Fixed
		if want == "" {
			want = p.numbers[0].e164
		}
		i, ok := p.index[want]
		if !ok {
			return nil, nil, fmt.Errorf("%w: fixed: %s is not in pool %q", ErrBadRequest, want, p.cfg.Name)
		}
		return []int{i}, nil, nil
	case LocalPresence:
		npa, _ := AreaCode(req.To)
		state := req.ContactState
		if state == "" {
			state = StateOfAreaCode(npa)
		}
		state = strings.ToUpper(state)
		var same, near, rest []int
		for i, num := range p.numbers {
			switch {
			case npa != "" && num.npa == npa:
				same = append(same, i)
			case state != "" && num.state == state:
				near = append(near, i)
			default:
				rest = append(rest, i)
			}
		}
		var order []int
		var tiers []string
		for _, t := range []struct {
			idx  []int
			name string
		}{{same, matchAreaCode}, {near, matchState}, {rest, matchFallback}} {
			s.shuffle(len(t.idx), func(i, j int) { t.idx[i], t.idx[j] = t.idx[j], t.idx[i] })
			order = append(order, t.idx...)
			for range t.idx {
				tiers = append(tiers, t.name)
			}
		}
		return order, tiers, nil
	}
	return nil, nil, fmt.Errorf("%w: strategy %q", ErrBadRequest, strategy)
}

// Rest stops number (in any pool) from being used until until; an until not
// after now ends the rest.
func (s *Service) Rest(ctx context.Context, number string, until time.Time) error {
	found := false
	for _, p := range s.pools {
		if _, ok := p.index[number]; ok {
			found = true
			break
		}
	}
	if !found {
		return fmt.Errorf("rest: number %s is in no caller-ID pool", number)
	}
	if err := s.store.Rest(ctx, s.clock(), number, until); err != nil {
		return fmt.Errorf("rest: %w", err)
	}
	return nil
}
