package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/compliance"
)

// The scenario language (engine/testdata/scenarios/*.txt), one command a
// line, "#" starts a comment:
//
//	business calls=3/24h sms=2/24h zone=America/New_York   (before the first enroll)
//	cadence ALIAS FILE            create an active cadence from cadences/FILE.json
//	                              (testdata/scenarios/cadences, then configs/cadences)
//	update ALIAS FILE             save FILE as the cadence's new version
//	status ALIAS active|inactive|archived
//	contact PHONE key=value…      tz=, state=, zip=, first_name=, owner=, fields.X=
//	outcomes SPEC                 what calls return (engine.ParseOutcomeScript;
//	                              "requeue:5m": not placed, no agent, try again in 5m)
//	enroll [PHONE] [in ALIAS] at TIME
//	enroll-fails [PHONE] [in ALIAS] at TIME ~SUBSTRING
//	run until TIME                play the schedule on the simulated clock
//	advance DURATION              move the clock (then nothing runs until "run")
//	crash [dialing]               a node claims the next due action at its due time
//	                              and dies (after handing it to the dialer with "dialing")
//	agent [PHONE] CODE            an agent posts CODE on the phone's last call
//	dnc [PHONE]                   put the number on the do-not-call list
//	stop [PHONE]                  stop the phone's enrollments (through the engine)
//	expect TYPE [PHONE] [at TIME] [key=value…] [reason~SUBSTRING]
//	                              the phone's next unconsumed event of TYPE
//	                              (call, sms, blocked, enrolled, completed, stopped)
//	expect no TYPE [PHONE]        no unconsumed event of TYPE is left for the phone
//	expect count TYPE [PHONE] N   the phone has N events of TYPE in all
//
// TIME is "[Mon] 2026-03-09 08:55 America/New_York" or RFC 3339. PHONE may
// be left out after the first contact line: it defaults to the last one.

type scenario struct {
	t        *testing.T
	ctx      context.Context
	store    engine.ScheduleStore
	clock    *engine.SimClock
	eng      *engine.Engine
	script   *engine.OutcomeScript
	business []compliance.Limit
	zone     *time.Location
	cadences map[string]engine.Cadence
	first    string
	contacts map[string]engine.Contact
	last     string
	events   []engine.Event
	used     []bool
}

func TestScenarios(t *testing.T) {
	runScenarios(t, func(t *testing.T) engine.ScheduleStore { return newMemStore(t) })
}

func TestScenariosPostgres(t *testing.T) {
	runScenarios(t, newPostgresStore)
}

func runScenarios(t *testing.T, newStore func(t *testing.T) engine.ScheduleStore) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 30, "the scenario suite")
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			runScenario(t, f, newStore(t))
		})
	}
}

func runScenario(t *testing.T, file string, store engine.ScheduleStore) {
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	s := &scenario{t: t, ctx: t.Context(), store: store, clock: engine.NewSimClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		cadences: map[string]engine.Cadence{}, contacts: map[string]engine.Contact{}}
	s.script, _ = engine.ParseOutcomeScript("")
	for i, line := range strings.Split(string(b), "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if err := s.exec(line); err != nil {
			t.Fatalf("%s:%d: %s\n  %v\nevents:\n%s", file, i+1, line, err, s.dump())
		}
	}
}

func (s *scenario) dump() string {
	var b strings.Builder
	for i, e := range s.events {
		mark := " "
		if s.used[i] {
			mark = "✓"
		}
		local := ""
		if !e.Local.IsZero() {
			local = e.Local.Format("Mon 2006-01-02 15:04 MST")
		}
		fmt.Fprintf(&b, "  %s %-9s %s %s step=%d attempt=%d disp=%s code=%s next=%s reason=%s\n", mark, e.Type, e.Phone, local,
			e.Step, e.Attempt, e.Disposition, e.Code, e.Next.Format(time.RFC3339), e.Reason)
	}
	return b.String()
}

func (s *scenario) engine() (*engine.Engine, error) {
	if s.eng != nil {
		return s.eng, nil
	}
	if s.zone == nil {
		s.zone, _ = time.LoadLocation("America/New_York")
	}
	e, err := engine.New(engine.Options{Store: s.store, Now: s.clock.Now, BusinessZone: s.zone, BusinessLimits: s.business,
		Dialer: engine.NewScriptedDialer(s.script, s.clock.Now), Messenger: &engine.AcceptingMessenger{}, Lease: 10 * time.Minute,
		OnEvent: func(ev engine.Event) { s.events = append(s.events, ev); s.used = append(s.used, false) }})
	s.eng = e
	return e, err
}

func (s *scenario) loadDef(name string) (engine.Definition, error) {
	for _, dir := range []string{"testdata/scenarios/cadences", "../configs/cadences"} {
		b, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			continue
		}
		def, ferrs := engine.ImportDocument(b)
		if len(ferrs) > 0 {
			return engine.Definition{}, fmt.Errorf("cadence %s: %v", name, ferrs)
		}
		return def, nil
	}
	return engine.Definition{}, fmt.Errorf("cadence file %s.json not found", name)
}

// phoneArg takes a leading phone from args, or the last contact's.
func (s *scenario) phoneArg(args []string) (string, []string) {
	if len(args) > 0 && strings.HasPrefix(args[0], "+") {
		return args[0], args[1:]
	}
	return s.last, args
}

var weekdays = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// parseTime reads "[Mon] 2006-01-02 15:04 Zone" or RFC 3339 from args and
// returns the rest.
func parseTime(args []string) (time.Time, []string, error) {
	if len(args) == 0 {
		return time.Time{}, nil, fmt.Errorf("time: missing")
	}
	if t, err := time.Parse(time.RFC3339, args[0]); err == nil {
		return t, args[1:], nil
	}
	wd, hasWD := weekdays[strings.ToLower(args[0])]
	if hasWD {
		args = args[1:]
	}
	if len(args) < 3 {
		return time.Time{}, nil, fmt.Errorf("time: want [Mon] 2006-01-02 15:04 Zone")
	}
	loc, err := time.LoadLocation(args[2])
	if err != nil {
		return time.Time{}, nil, err
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", args[0]+" "+args[1], loc)
	if err != nil {
		return time.Time{}, nil, err
	}
	if hasWD && t.Weekday() != wd {
		return time.Time{}, nil, fmt.Errorf("time: %s is a %s", args[0], t.Weekday())
	}
	return t, args[3:], nil
}

func (s *scenario) cadenceArg(args []string) (engine.Cadence, []string, error) {
	alias := s.first
	if len(args) >= 2 && args[0] == "in" {
		alias, args = args[1], args[2:]
	}
	c, ok := s.cadences[alias]
	if !ok {
		return engine.Cadence{}, nil, fmt.Errorf("no cadence %q", alias)
	}
	return c, args, nil
}

func (s *scenario) exec(line string) error {
	f := strings.Fields(line)
	cmd, args := f[0], f[1:]
	switch cmd {
	case "business":
		for _, a := range args {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "zone":
				z, err := time.LoadLocation(v)
				if err != nil {
					return err
				}
				s.zone = z
			case "calls", "sms":
				n, p, _ := strings.Cut(v, "/")
				max, err := strconv.Atoi(n)
				if err != nil {
					return err
				}
				d, err := engine.ParseDuration(p)
				if err != nil {
					return err
				}
				scope := compliance.ScopeCalls
				if k == "sms" {
					scope = compliance.ScopeSMS
				}
				s.business = append(s.business, compliance.Limit{Max: max, Period: d.D(), Scope: scope, Source: "business"})
			default:
				return fmt.Errorf("business: unknown %q", k)
			}
		}
		return nil
	case "cadence", "update":
		if len(args) != 2 {
			return fmt.Errorf("want %s ALIAS FILE", cmd)
		}
		def, err := s.loadDef(args[1])
		if err != nil {
			return err
		}
		if cmd == "update" {
			c, err := s.store.UpdateCadence(s.ctx, s.cadences[args[0]].ID, def, 0, s.clock.Now())
			s.cadences[args[0]] = c
			return err
		}
		c, err := s.store.CreateCadence(s.ctx, def, engine.StatusActive, s.clock.Now())
		if err != nil {
			return err
		}
		s.cadences[args[0]] = c
		if s.first == "" {
			s.first = args[0]
		}
		// Cadences may name each other by alias ("@ALIAS") in forward and
		// after-runs targets: resolve them once all are created.
		return s.resolveAliases()
	case "status":
		c, err := s.store.SetCadenceStatus(s.ctx, s.cadences[args[0]].ID, engine.Status(args[1]), s.clock.Now())
		s.cadences[args[0]] = c
		return err
	case "contact":
		c := engine.Contact{Phone: args[0], Fields: map[string]string{}}
		for _, a := range args[1:] {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "tz":
				c.TimeZone = v
			case "state":
				c.State = v
			case "zip":
				c.Zip = v
			case "first_name":
				c.FirstName = v
			case "owner":
				c.Owner = v
			default:
				name, ok := strings.CutPrefix(k, "fields.")
				if !ok {
					return fmt.Errorf("contact: unknown %q", k)
				}
				c.Fields[name] = v
			}
		}
		e, err := s.engine()
		if err != nil {
			return err
		}
		out, err := e.UpsertContact(s.ctx, c)
		if err != nil {
			return err
		}
		s.contacts[out.Phone] = out
		s.last = out.Phone
		return nil
	case "outcomes":
		sc, err := engine.ParseOutcomeScript(strings.Join(args, " "))
		if err != nil {
			return err
		}
		*s.script = *sc
		return nil
	case "enroll", "enroll-fails":
		phone, rest := s.phoneArg(args)
		cad, rest, err := s.cadenceArg(rest)
		if err != nil {
			return err
		}
		if len(rest) == 0 || rest[0] != "at" {
			return fmt.Errorf("want at TIME")
		}
		at, rest, err := parseTime(rest[1:])
		if err != nil {
			return err
		}
		s.clock.Set(at)
		e, err := s.engine()
		if err != nil {
			return err
		}
		_, err = e.Enroll(s.ctx, engine.EnrollRequest{CadenceID: cad.ID, ContactID: s.contacts[phone].ID})
		if cmd == "enroll" {
			return err
		}
		if err == nil {
			return fmt.Errorf("enroll succeeded")
		}
		if len(rest) == 1 && !strings.Contains(err.Error(), strings.TrimPrefix(rest[0], "~")) {
			return fmt.Errorf("error %q does not contain %q", err, rest[0])
		}
		return nil
	case "run":
		if len(args) < 2 || args[0] != "until" {
			return fmt.Errorf("want run until TIME")
		}
		end, _, err := parseTime(args[1:])
		if err != nil {
			return err
		}
		e, err := s.engine()
		if err != nil {
			return err
		}
		return e.RunUntil(s.ctx, s.clock, end)
	case "advance":
		d, err := engine.ParseDuration(args[0])
		if err != nil {
			return err
		}
		s.clock.Advance(d.D())
		return nil
	case "crash":
		at, ok, err := s.store.NextDue(s.ctx)
		if err != nil || !ok {
			return fmt.Errorf("crash: nothing due (%v)", err)
		}
		s.clock.Set(at)
		claimed, err := s.store.Claim(s.ctx, engine.ClaimRequest{Owner: "dead-node", Now: s.clock.Now(), Limit: 1, Lease: 10 * time.Minute,
			HistorySince: s.clock.Now().Add(-31 * 24 * time.Hour)}, func(c engine.ClaimCandidate) (engine.ClaimVerdict, error) {
			return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
		})
		if err != nil || len(claimed) != 1 {
			return fmt.Errorf("crash: claim: %v (%d)", err, len(claimed))
		}
		if len(args) > 0 && args[0] == "dialing" {
			return s.store.MarkDialing(s.ctx, claimed[0].Action.ID, claimed[0].Fence, s.clock.Now())
		}
		return nil
	case "agent":
		phone, rest := s.phoneArg(args)
		var last string
		for _, ev := range s.events {
			if ev.Type == engine.EventCall && ev.Phone == phone && ev.Code != "agent" {
				last = ev.ActionID
			}
		}
		if last == "" {
			return fmt.Errorf("agent: no call to %s", phone)
		}
		return s.eng.PostDisposition(s.ctx, last, rest[0], s.clock.Now())
	case "dnc":
		phone, _ := s.phoneArg(args)
		e, err := s.engine()
		if err != nil {
			return err
		}
		_, err = e.AddDNC(s.ctx, phone, "opt-out")
		return err
	case "stop":
		phone, _ := s.phoneArg(args)
		for _, ev := range s.events {
			if ev.Type == engine.EventEnrolled && ev.Phone == phone {
				en, err := s.store.GetEnrollment(s.ctx, ev.Enrollment)
				if err != nil {
					return err
				}
				if en.Status == engine.EnrollmentActive {
					if _, err := s.eng.StopEnrollment(s.ctx, en.ID, "operator"); err != nil {
						return err
					}
				}
			}
		}
		return nil
	case "expect":
		return s.expect(args)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// resolveAliases rewrites "@ALIAS" cadence targets to cadence IDs, saving a
// new version where needed (before any enrollment, so nothing pins the old).
func (s *scenario) resolveAliases() error {
	for alias, c := range s.cadences {
		def := c.Definition.Clone()
		changed := false
		fix := func(id *string) {
			if a, ok := strings.CutPrefix(*id, "@"); ok {
				if t, ok := s.cadences[a]; ok {
					*id, changed = t.ID, true
				}
			}
		}
		fix(&def.Runs.After.Cadence)
		for i := range def.Routing {
			fix(&def.Routing[i].Action.Cadence)
		}
		for i := range def.Steps {
			for j := range def.Steps[i].Routing {
				fix(&def.Steps[i].Routing[j].Action.Cadence)
			}
		}
		if changed {
			n, err := s.store.UpdateCadence(s.ctx, c.ID, def, 0, s.clock.Now())
			if err != nil {
				return err
			}
			s.cadences[alias] = n
		}
	}
	return nil
}

func (s *scenario) expect(args []string) error {
	switch {
	case len(args) >= 2 && args[0] == "no":
		typ := engine.EventType(args[1])
		phone, _ := s.phoneArg(args[2:])
		for i, ev := range s.events {
			if !s.used[i] && ev.Type == typ && ev.Phone == phone {
				return fmt.Errorf("unexpected %s at %s (%s)", typ, ev.Local.Format(time.RFC3339), ev.Reason)
			}
		}
		return nil
	case len(args) >= 3 && args[0] == "count":
		typ := engine.EventType(args[1])
		phone, rest := s.phoneArg(args[2:])
		want, err := strconv.Atoi(rest[0])
		if err != nil {
			return err
		}
		n := 0
		for _, ev := range s.events {
			if ev.Type == typ && ev.Phone == phone && ev.Code != "agent" {
				n++
			}
		}
		if n != want {
			return fmt.Errorf("%d %s events, want %d", n, typ, want)
		}
		return nil
	}
	typ := engine.EventType(args[0])
	phone, rest := s.phoneArg(args[1:])
	var at time.Time
	if len(rest) > 0 && rest[0] == "at" {
		var err error
		if at, rest, err = parseTime(rest[1:]); err != nil {
			return err
		}
	}
	idx := -1
	for i, ev := range s.events {
		if !s.used[i] && ev.Type == typ && ev.Phone == phone {
			idx = i
			break
		}
	}
	if idx < 0 {
		return fmt.Errorf("no %s event left for %s", typ, phone)
	}
	s.used[idx] = true
	ev := s.events[idx]
	if !at.IsZero() && !ev.At.Equal(at) {
		return fmt.Errorf("%s at %s, want %s", typ, ev.At.In(at.Location()).Format(time.RFC3339), at.Format(time.RFC3339))
	}
	for _, a := range rest {
		if k, v, ok := strings.Cut(a, "~"); ok && k == "reason" {
			if !strings.Contains(ev.Reason, v) {
				return fmt.Errorf("reason %q does not contain %q", ev.Reason, v)
			}
			continue
		}
		k, v, _ := strings.Cut(a, "=")
		var got string
		switch k {
		case "disposition":
			got = ev.Disposition
		case "step":
			got = strconv.Itoa(ev.Step)
		case "attempt":
			got = strconv.Itoa(ev.Attempt)
		case "run":
			got = strconv.Itoa(ev.Run)
		case "code":
			got = ev.Code
		case "local":
			got = ev.Local.Format("15:04")
		default:
			return fmt.Errorf("expect: unknown key %q", k)
		}
		if got != v {
			return fmt.Errorf("%s=%s, want %s", k, got, v)
		}
	}
	return nil
}
