package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/compliance"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
)

// DryRunOptions configure POST /v1/cadences/{id}/dryrun, which plays a
// cadence like `cadenza dryrun`: the real engine on a private in-memory
// SQLite store, a simulated clock and a scripted dialer.
type DryRunOptions struct {
	// BusinessZone and BusinessLimits are the server's business settings
	// (as engine.Options); America/New_York and none when zero.
	BusinessZone   *time.Location
	BusinessLimits []compliance.Limit
	// MaxDays, MaxContacts and MaxEvents bound one run; 31, 100 and 10000
	// when 0. Timeout bounds its wall time; 30 s when 0.
	MaxDays     int
	MaxContacts int
	MaxEvents   int
	Timeout     time.Duration
}

func (o DryRunOptions) withDefaults() DryRunOptions {
	if o.MaxDays <= 0 {
		o.MaxDays = 31
	}
	if o.MaxContacts <= 0 {
		o.MaxContacts = 100
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 10000
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return o
}

// dryrunBody is the request: when to start, how long to play, who to
// enroll and what their calls return (engine.OutcomeScript's text form).
type dryrunBody struct {
	Start    *time.Time    `json:"start,omitempty"`
	Days     *int          `json:"days,omitempty"`
	Contacts []contactBody `json:"contacts"`
	Outcomes string        `json:"outcomes,omitempty"`
}

// dryrunResult is the answer: every event in order, and the contacts that
// could not enroll.
type dryrunResult struct {
	Events []engine.Event `json:"events"`
	// Truncated is set when the run stopped at the event limit.
	Truncated bool          `json:"truncated,omitempty"`
	Errors    []importError `json:"errors"`
}

// errTooManyEvents stops a run at the event limit.
var errTooManyEvents = errors.New("event limit reached")

// dryrun plays the cadence's current definition, whatever its status, for
// the given contacts. Nothing of the server's data is read or written
// besides the cadence: forwards to other cadences show as blocked events.
func (s *Server) dryrun(r *request) (*reply, error) {
	o := s.dryrunOpts.withDefaults()
	var b dryrunBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	var ferrs engine.FieldErrors
	start := s.now().UTC().Truncate(time.Minute)
	if b.Start != nil {
		start = *b.Start
		if start.Year() < 2000 || start.Year() > 2100 {
			ferrs = append(ferrs, fieldErr("start", "must be between the years 2000 and 2100"))
		}
	}
	days := 7
	if b.Days != nil {
		days = *b.Days
		if days < 1 || days > o.MaxDays {
			ferrs = append(ferrs, fieldErr("days", fmt.Sprintf("must be from 1 to %d", o.MaxDays)))
		}
	}
	if len(b.Contacts) == 0 || len(b.Contacts) > o.MaxContacts {
		ferrs = append(ferrs, fieldErr("contacts", fmt.Sprintf("1 to %d contacts are required", o.MaxContacts)))
	}
	contacts := make([]engine.Contact, 0, len(b.Contacts))
	for i, cb := range b.Contacts {
		c, errs := cb.contact(fmt.Sprintf("contacts[%d].", i))
		ferrs = append(ferrs, errs...)
		contacts = append(contacts, c)
	}
	script, err := engine.ParseOutcomeScript(b.Outcomes)
	if err != nil {
		ferrs = append(ferrs, fieldErr("outcomes", strings.TrimPrefix(err.Error(), "outcomes: ")))
	}
	if len(ferrs) > 0 {
		return nil, ferrs
	}
	id := r.PathValue("id")
	cad, err := s.store.GetCadence(r.Context(), id)
	if err != nil {
		return nil, storeError(err, "cadence", id, "get cadence")
	}

	ctx, cancel := context.WithTimeout(r.Context(), o.Timeout)
	defer cancel()
	res, err := playDryrun(ctx, o, cad.Definition, contacts, script, start, days)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
			return nil, newProblem(http.StatusUnprocessableEntity, "too-long",
				fmt.Sprintf("the simulation did not finish within %s; try fewer days or contacts", o.Timeout))
		}
		return nil, fmt.Errorf("dry run: %w", err)
	}
	if wantsNDJSON(r.Header.Get("Accept")) {
		return ndjsonReply(res)
	}
	return jsonReply(http.StatusOK, res)
}

// ndjsonMediaType is one JSON document per line, as `cadenza dryrun` prints.
const ndjsonMediaType = "application/x-ndjson"

// wantsNDJSON reports whether the Accept header asks for NDJSON.
func wantsNDJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mt), ndjsonMediaType) {
			return true
		}
	}
	return false
}

// ndjsonReply renders the events one per line. Enrollment errors and
// truncation, which are not events, are left to the JSON form.
func ndjsonReply(res dryrunResult) (*reply, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, ev := range res.Events {
		if err := enc.Encode(ev); err != nil {
			return nil, fmt.Errorf("encode event: %w", err)
		}
	}
	return &reply{status: http.StatusOK, header: http.Header{"Content-Type": {ndjsonMediaType}}, body: buf.Bytes()}, nil
}

// playDryrun runs the engine on a private in-memory store.
func playDryrun(ctx context.Context, o DryRunOptions, def engine.Definition, contacts []engine.Contact,
	script *engine.OutcomeScript, start time.Time, days int) (dryrunResult, error) {
	res := dryrunResult{Events: []engine.Event{}, Errors: []importError{}}
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		return res, err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return res, err
	}
	cad, err := store.CreateCadence(ctx, def, engine.StatusActive, start)
	if err != nil {
		return res, fmt.Errorf("load cadence: %w", err)
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	clock := engine.NewSimClock(start)
	eng, err := engine.New(engine.Options{
		Store: store, Now: clock.Now, BusinessZone: o.BusinessZone, BusinessLimits: o.BusinessLimits,
		Dialer: engine.NewScriptedDialer(script, clock.Now), Messenger: &engine.AcceptingMessenger{},
		OnEvent: func(ev engine.Event) {
			if len(res.Events) >= o.MaxEvents {
				res.Truncated = true
				stop(errTooManyEvents)
				return
			}
			res.Events = append(res.Events, ev)
		},
	})
	if err != nil {
		return res, err
	}
	for i := range contacts {
		if _, err := eng.Enroll(ctx, engine.EnrollRequest{CadenceID: cad.ID, Contact: &contacts[i]}); err != nil {
			if ctx.Err() != nil {
				break
			}
			res.Errors = append(res.Errors, importError{Row: i, Field: fmt.Sprintf("contacts[%d]", i), Message: err.Error()})
		}
	}
	err = eng.RunUntil(ctx, clock, start.Add(time.Duration(days)*24*time.Hour))
	if res.Truncated {
		return res, nil
	}
	if err == nil {
		err = context.Cause(ctx)
	}
	return res, err
}
