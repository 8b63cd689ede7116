package compliance

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed states.csv
var statesCSV []byte

// StateRule is what one state's law adds to the federal default: a calling
// window (intersected with the default), frequency caps, and whether legal
// holidays are closed.
type StateRule struct {
	// State is the USPS code ("FL").
	State string
	// Window is the state's own window in the contact's local time;
	// unrestricted when the state only sets caps.
	Window WeeklyWindows
	// Limits are the state's caps (e.g. FL: 3 calls per 24 h).
	Limits []Limit
	// ClosedOnHolidays closes US federal holidays (see Holiday).
	ClosedOnHolidays bool
	// Citation is the statute, for block reasons and audits.
	Citation string
}

// Rules is the legal part of compliance: the window that applies to every
// contact and the per-state additions. Load it with DefaultRules or
// LoadRules; it is read-only afterwards and safe to share.
type Rules struct {
	// LegalDefault is the window that always applies (federal: 08:00–21:00).
	LegalDefault WeeklyWindows
	// DefaultCitation cites LegalDefault.
	DefaultCitation string
	// States maps a USPS code to its rule.
	States map[string]StateRule
}

// DefaultRules returns the rules shipped in states.csv.
func DefaultRules() (*Rules, error) {
	r, err := LoadRules(bytes.NewReader(statesCSV))
	if err != nil {
		return nil, fmt.Errorf("embedded states.csv: %w", err)
	}
	return r, nil
}

// StateRulesFor returns the rules of the given states that have one, in
// the order given (duplicates once).
func (r *Rules) StateRulesFor(states []string) []StateRule {
	var out []StateRule
	seen := map[string]bool{}
	for _, s := range states {
		s = strings.ToUpper(strings.TrimSpace(s))
		if seen[s] {
			continue
		}
		seen[s] = true
		if sr, ok := r.States[s]; ok {
			out = append(out, sr)
		}
	}
	return out
}

var rulesHeader = []string{"state", "days", "start", "end", "max_calls", "max_period", "counts", "holidays", "citation"}

// LoadRules reads a rules table in the format of the shipped states.csv:
// a header row (state, days, start, end, max_calls, max_period, counts,
// holidays, citation), "#" comment lines, one or more rows per state and
// exactly one state "*" for the default window. Parsing is strict: an
// unknown column, a bad value or two rows of one state that disagree on
// caps are errors naming the line and the field.
func LoadRules(rd io.Reader) (*Rules, error) {
	cr := csv.NewReader(rd)
	cr.Comment = '#'
	cr.FieldsPerRecord = len(rulesHeader)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", csvErr(err))
	}
	for i, h := range rulesHeader {
		if strings.TrimSpace(header[i]) != h {
			line, _ := cr.FieldPos(i)
			return nil, fmt.Errorf("line %d: column %d is %q, want %q", line, i+1, header[i], h)
		}
	}
	type acc struct {
		rule      StateRule
		limitLine int
		anyWindow bool
	}
	states := map[string]*acc{}
	var order []string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		fail := func(field string, err error) error {
			return fmt.Errorf("line %d: field %s: %w", line, field, err)
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		state := strings.ToUpper(rec[0])
		if state != "*" && !isStateCode(state) {
			return nil, fail("state", fmt.Errorf("%q is not a two-letter USPS code or \"*\"", rec[0]))
		}
		if rec[8] == "" {
			return nil, fail("citation", errors.New("required: every rule names its statute"))
		}
		a := states[state]
		if a == nil {
			a = &acc{rule: StateRule{State: state, Citation: rec[8]}}
			states[state] = a
			order = append(order, state)
		}
		// Window.
		switch {
		case rec[1] == "" && rec[2] == "" && rec[3] == "":
		case rec[1] == "":
			return nil, fail("days", errors.New("required when start and end are set"))
		default:
			if err := a.rule.Window.AddWindow([]string{rec[1]}, rec[2], rec[3]); err != nil {
				f, rest, _ := strings.Cut(err.Error(), ": ")
				return nil, fail(strings.TrimSuffix(f, "[0]"), errors.New(rest))
			}
			a.anyWindow = true
		}
		// Caps: all three columns or none.
		if rec[4] != "" || rec[5] != "" || rec[6] != "" {
			lim, field, err := parseLimitColumns(rec[4], rec[5], rec[6])
			if err != nil {
				return nil, fail(field, err)
			}
			lim.Source = "state " + state
			if a.limitLine != 0 {
				if len(a.rule.Limits) != 1 || a.rule.Limits[0] != lim {
					return nil, fail("max_calls", fmt.Errorf("state %s already has different caps on line %d", state, a.limitLine))
				}
			} else {
				a.rule.Limits = []Limit{lim}
				a.limitLine = line
			}
		}
		switch rec[7] {
		case "":
		case "closed":
			a.rule.ClosedOnHolidays = true
		default:
			return nil, fail("holidays", fmt.Errorf("%q: want empty or \"closed\"", rec[7]))
		}
	}
	def, ok := states["*"]
	if !ok || !def.anyWindow {
		return nil, errors.New("no \"*\" row: the default legal window is required")
	}
	if len(def.rule.Limits) > 0 || def.rule.ClosedOnHolidays {
		return nil, errors.New("state \"*\": only a window is allowed on the default row")
	}
	out := &Rules{LegalDefault: def.rule.Window, DefaultCitation: def.rule.Citation, States: map[string]StateRule{}}
	sort.Strings(order)
	for _, s := range order {
		if s != "*" {
			out.States[s] = states[s].rule
		}
	}
	return out, nil
}

// parseLimitColumns reads max_calls, max_period and counts; it returns the
// name of the failing field with the error.
func parseLimitColumns(maxS, periodS, countsS string) (Limit, string, error) {
	if maxS == "" {
		return Limit{}, "max_calls", errors.New("required with max_period and counts")
	}
	n, err := strconv.Atoi(maxS)
	if err != nil || n < 1 {
		return Limit{}, "max_calls", fmt.Errorf("%q: want a whole number ≥ 1", maxS)
	}
	if periodS == "" {
		return Limit{}, "max_period", errors.New("required with max_calls")
	}
	p, err := parsePeriod(periodS)
	if err != nil {
		return Limit{}, "max_period", err
	}
	if countsS == "" {
		return Limit{}, "counts", errors.New("required with max_calls: calls, sms or calls+sms")
	}
	sc, err := ParseScope(countsS)
	if err != nil {
		return Limit{}, "counts", err
	}
	return Limit{Max: n, Period: p, Scope: sc}, "", nil
}

// parsePeriod reads a Go duration or whole days ("24h", "7d", "1d12h").
func parsePeriod(s string) (time.Duration, error) {
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 3660 {
			return 0, fmt.Errorf("%q: want a duration such as \"24h\" or \"7d\"", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration such as \"24h\" or \"7d\"", s)
		}
		d = v
	}
	d += days
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be positive", s)
	}
	return d, nil
}

func isStateCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// csvErr turns encoding/csv's errors into "line N: …" form.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %w", pe.Line, pe.Err)
	}
	return err
}
