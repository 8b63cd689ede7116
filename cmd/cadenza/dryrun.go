package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/compliance"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
)

// dryrunFlags are the command line of `cadenza dryrun`.
type dryrunFlags struct {
	cadence  string
	contacts string
	start    string
	days     int
	outcomes string
	config   string
}

func newDryrunCommand() *cobra.Command {
	var f dryrunFlags
	cmd := &cobra.Command{
		Use:   "dryrun",
		Short: "Play a cadence for a list of contacts on a simulated clock and print every action and block",
		Long: `dryrun runs the real engine — the same scheduler, compliance rules and SQLite
store code as the server — on an in-memory database with a simulated clock and
a scripted dialer, and prints one JSON object per line for every action,
block and enrollment change.

Contacts CSV: a header row with phone (required), first_name, last_name,
timezone, state, zip; other columns become custom fields. Bad rows are
reported on stderr and skipped.

--outcomes scripts what calls return:
  spec  = rule *( ";" rule )
  rule  = [ target "=" ] seq        target = E.164 number | "*"
  seq   = disposition *( "," disposition )
Each number plays its own copy of its sequence; the last disposition repeats.
Examples: "no_answer", "busy,no_answer,human",
"+15551234567=busy,human;*=no_answer". Dispositions: human, voicemail,
machine, no_answer, busy, invalid_number, rejected, failed, abandoned, unknown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDryrun(cmd.Context(), f, os.Getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cadence, "cadence", "", "cadence document (JSON, as exported)")
	fl.StringVar(&f.contacts, "contacts", "", "contacts CSV")
	fl.StringVar(&f.start, "start", "", "simulated start, RFC 3339 (e.g. 2026-03-09T08:00:00-05:00); default now")
	fl.IntVar(&f.days, "days", 7, "how many days to simulate")
	fl.StringVar(&f.outcomes, "outcomes", "no_answer", "what calls return (see above)")
	fl.StringVar(&f.config, "config", "", "server config file (business time zone and harassment rules)")
	_ = cmd.MarkFlagRequired("cadence")
	_ = cmd.MarkFlagRequired("contacts")
	return cmd
}

// dryrunLine is one printed line.
type dryrunLine struct {
	At          string `json:"at"`
	Local       string `json:"local,omitempty"`
	Phone       string `json:"phone"`
	Enrollment  string `json:"enrollment,omitempty"`
	Step        int    `json:"step,omitempty"`
	Attempt     int    `json:"attempt,omitempty"`
	Run         int    `json:"run,omitempty"`
	Type        string `json:"type"`
	Disposition string `json:"disposition,omitempty"`
	Code        string `json:"code,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Next        string `json:"next,omitempty"`
}

func runDryrun(ctx context.Context, f dryrunFlags, getenv func(string) string, stdout, stderr io.Writer) error {
	if f.days < 1 || f.days > 366 {
		return fmt.Errorf("--days: %d must be between 1 and 366", f.days)
	}
	start := time.Now().UTC().Truncate(time.Minute)
	if f.start != "" {
		t, err := time.Parse(time.RFC3339, f.start)
		if err != nil {
			return fmt.Errorf("--start: %q is not RFC 3339 (e.g. 2026-03-09T08:00:00-05:00)", f.start)
		}
		start = t
	}
	cfg, err := config.Load(f.config, getenv)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	zone, err := time.LoadLocation(cfg.Business.TimeZone)
	if err != nil {
		return fmt.Errorf("--config: business.time_zone: %w", err)
	}
	var limits []compliance.Limit
	if l := cfg.Business.Harassment.Calls; l.Max > 0 {
		limits = append(limits, compliance.Limit{Max: l.Max, Period: l.Period, Scope: compliance.ScopeCalls, Source: "business"})
	}
	if l := cfg.Business.Harassment.SMS; l.Max > 0 {
		limits = append(limits, compliance.Limit{Max: l.Max, Period: l.Period, Scope: compliance.ScopeSMS, Source: "business"})
	}
	doc, err := os.ReadFile(f.cadence)
	if err != nil {
		return fmt.Errorf("--cadence: %w", err)
	}
	def, ferrs := engine.ImportDocument(doc)
	if len(ferrs) > 0 {
		return fmt.Errorf("--cadence %s: %w", f.cadence, ferrs)
	}
	script, err := engine.ParseOutcomeScript(f.outcomes)
	if err != nil {
		return fmt.Errorf("--outcomes: %w", err)
	}
	contacts, err := readDryrunContacts(f.contacts, stderr)
	if err != nil {
		return err
	}

	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	clock := engine.NewSimClock(start)
	cad, err := store.CreateCadence(ctx, def, engine.StatusActive, start)
	if err != nil {
		return fmt.Errorf("--cadence: %w", err)
	}
	enc := json.NewEncoder(stdout)
	var writeErr error
	eng, err := engine.New(engine.Options{
		Store: store, Now: clock.Now, BusinessZone: zone, BusinessLimits: limits,
		Dialer: engine.NewScriptedDialer(script, clock.Now), Messenger: &engine.AcceptingMessenger{},
		OnEvent: func(ev engine.Event) {
			if writeErr == nil {
				writeErr = enc.Encode(toDryrunLine(ev))
			}
		},
	})
	if err != nil {
		return err
	}
	for _, c := range contacts {
		if _, err := eng.Enroll(ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &c.contact}); err != nil {
			fmt.Fprintf(stderr, "%s:%d: %v\n", f.contacts, c.line, err)
		}
	}
	if err := eng.RunUntil(ctx, clock, start.Add(time.Duration(f.days)*24*time.Hour)); err != nil {
		return err
	}
	return writeErr
}

func toDryrunLine(ev engine.Event) dryrunLine {
	l := dryrunLine{At: ev.At.UTC().Format(time.RFC3339), Phone: ev.Phone, Enrollment: ev.Enrollment, Step: ev.Step,
		Attempt: ev.Attempt, Run: ev.Run, Type: string(ev.Type), Disposition: ev.Disposition, Code: ev.Code, Reason: ev.Reason}
	loc := time.UTC
	if !ev.Local.IsZero() {
		loc = ev.Local.Location()
		l.Local = ev.Local.Format(time.RFC3339)
	}
	if !ev.Next.IsZero() {
		l.Next = ev.Next.In(loc).Format(time.RFC3339)
	}
	return l
}

type dryrunContact struct {
	line    int
	contact engine.Contact
}

// readDryrunContacts reads the contacts CSV; bad rows are reported to
// stderr and skipped, a bad header is an error.
func readDryrunContacts(path string, stderr io.Writer) ([]dryrunContact, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--contacts: %w", err)
	}
	defer fh.Close()
	return parseDryrunContacts(fh, path, stderr)
}

func parseDryrunContacts(r io.Reader, name string, stderr io.Writer) ([]dryrunContact, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "" {
			return nil, fmt.Errorf("%s: header column %d: empty name", name, i+1)
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s: header column %d: %q appears twice", name, i+1, h)
		}
		col[h] = i
	}
	if _, ok := col["phone"]; !ok {
		return nil, fmt.Errorf("%s: header: a phone column is required", name)
	}
	known := map[string]bool{"phone": true, "first_name": true, "last_name": true, "timezone": true, "state": true, "zip": true}
	var out []dryrunContact
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				fmt.Fprintf(stderr, "%s:%d: %v\n", name, pe.Line, pe.Err)
				continue
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			fmt.Fprintf(stderr, "%s:%d: %d columns, header has %d\n", name, line, len(rec), len(header))
			continue
		}
		get := func(k string) string {
			if i, ok := col[k]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		c := engine.Contact{FirstName: get("first_name"), LastName: get("last_name"), TimeZone: get("timezone"),
			State: get("state"), Zip: get("zip")}
		phone, err := engine.NormalizePhone(get("phone"))
		if err != nil {
			fmt.Fprintf(stderr, "%s:%d: %v\n", name, line, err)
			continue
		}
		if prev, dup := seen[phone]; dup {
			fmt.Fprintf(stderr, "%s:%d: phone: %s already on line %d\n", name, line, phone, prev)
			continue
		}
		seen[phone] = line
		c.Phone = phone
		if c.TimeZone != "" {
			if _, err := time.LoadLocation(c.TimeZone); err != nil {
				fmt.Fprintf(stderr, "%s:%d: timezone: %q is not an IANA time zone\n", name, line, c.TimeZone)
				continue
			}
		}
		for h, i := range col {
			if !known[h] && strings.TrimSpace(rec[i]) != "" {
				if c.Fields == nil {
					c.Fields = map[string]string{}
				}
				c.Fields[h] = strings.TrimSpace(rec[i])
			}
		}
		out = append(out, dryrunContact{line: line, contact: c})
	}
	return out, nil
}
