package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/cadenza-dialer/cadenza/api"
	"github.com/cadenza-dialer/cadenza/configs"
	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/dialer/pacing"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// demoFlags are the command line of `cadenza demo`.
type demoFlags struct {
	contacts    int
	speed       float64
	lookahead   time.Duration
	start       string
	days        int
	db          string
	callLog     string
	http        string
	keepRunning bool
	verbose     bool
	timeout     time.Duration
}

// demoTrunk names the simulator's trunk.
const demoTrunk = "sim"

func newDemoCommand() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a real campaign end to end against the built-in carrier simulator, in under a minute",
		Long: `demo starts, in one process, the embedded SQLite store, the in-process pacer,
the carrier simulator on a free loopback port and the API server (its URL and
an admin key are printed). It imports the example cadences (five-step and
speed-to-lead), uploads their voicemail messages, puts one number on the
do-not-call list and enrolls the demo contacts, spread over every US time
zone; their numbers pick what the simulator does (people, voicemail boxes
with beeps, busy lines, no answer, a number not in service).

Calls are real: every attempt goes through the engine's scheduler, windows
and limits, the dialer's pacing and caller-ID pools, SIP and RTP to the
simulator, answering-machine detection on the received audio and the
voicemail drop after the beep. Time is simulated: it jumps over nights,
weekends and delays, and flows at --speed × real time while calls are on the
wire; actions due within --lookahead of the oldest call in flight start
without waiting for it to end.

A live view runs on a terminal (plain log lines otherwise); at the end a
summary is checked against the simulator's call log. --keep-running leaves
the API up to explore.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			out := cmd.OutOrStdout()
			_, err := runDemo(ctx, f, demoIO{out: out, log: cmd.ErrOrStderr(), live: isTerminal(out)})
			return err
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.contacts, "contacts", 50, "how many of the demo's contacts to enroll (the first N; at most 50)")
	fl.Float64Var(&f.speed, "speed", 120, "simulated seconds per real second while calls are in flight (idle time is skipped)")
	fl.DurationVar(&f.lookahead, "lookahead", 4*time.Hour, "while calls are in flight, start actions due up to this long after the oldest one began (its outcome is then recorded up to this late); 0: wait for every call")
	fl.StringVar(&f.start, "start", "2026-03-02T08:00:00-05:00", "simulated start, RFC 3339 (default: a Monday 08:00 New York; the cadence crosses the DST change)")
	fl.IntVar(&f.days, "days", 21, "stop after this many simulated days even if actions remain")
	fl.StringVar(&f.db, "db", "", "SQLite database file (default: a temporary directory, removed at the end)")
	fl.StringVar(&f.callLog, "call-log", "", "write the carrier simulator's call log (one JSON object per call: what it heard and when) to this file")
	fl.StringVar(&f.http, "http", "127.0.0.1:0", "API listen address")
	fl.BoolVar(&f.keepRunning, "keep-running", false, "after the summary, keep the API up until interrupted")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log engine, dialer and SIP details to stderr")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "give up after this much real time")
	return cmd
}

// demoIO is where the demo writes; ready, when set, learns the API's URL.
type demoIO struct {
	out, log io.Writer
	live     bool
	ready    func(url, key string)
}

// demoResult is what a run leaves for tests.
type demoResult struct {
	Summary  demoSummary
	SimCalls []sim.CallRecord
	Events   []engine.Event
	Contacts []demoContact
	// Texts are the SMS the engine sent (to the in-process log).
	Texts []demoText
}

func (f demoFlags) validate() (time.Time, error) {
	var errs []error
	start, err := time.Parse(time.RFC3339, f.start)
	if err != nil {
		errs = append(errs, fmt.Errorf("--start: %q is not RFC 3339 (e.g. 2026-03-02T08:00:00-05:00)", f.start))
	}
	if f.contacts < 1 {
		errs = append(errs, fmt.Errorf("--contacts: must be ≥ 1, got %d", f.contacts))
	}
	if f.speed < 1 {
		errs = append(errs, fmt.Errorf("--speed: must be ≥ 1, got %g", f.speed))
	}
	if f.lookahead < 0 {
		errs = append(errs, fmt.Errorf("--lookahead: must be ≥ 0, got %v", f.lookahead))
	}
	if f.days < 1 || f.days > 366 {
		errs = append(errs, fmt.Errorf("--days: must be between 1 and 366, got %d", f.days))
	}
	if f.timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout: must be > 0, got %v", f.timeout))
	}
	return start, errors.Join(errs...)
}

// runDemo runs the whole demo and prints its summary.
func runDemo(ctx context.Context, f demoFlags, dio demoIO) (*demoResult, error) {
	start, err := f.validate()
	if err != nil {
		return nil, err
	}
	contacts, err := loadDemoContacts(f.contacts)
	if err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	realStart := time.Now()
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(dio.log, &slog.HandlerOptions{Level: level}))

	// The store.
	dbPath := f.db
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "cadenza-demo-")
		if err != nil {
			return nil, fmt.Errorf("temporary directory: %w", err)
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "cadenza.db")
	}
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", dbPath, err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	tracked := newTrackedStore(st)
	clock := newWarpClock(start, f.speed, time.Now)
	reg := prometheus.NewRegistry()

	var callLog io.Writer
	if f.callLog != "" {
		lf, err := os.Create(f.callLog)
		if err != nil {
			return nil, fmt.Errorf("--call-log: %w", err)
		}
		defer lf.Close()
		callLog = lf
	}

	// The carrier simulator: every call rings 50 ms before its answer or
	// busy, and no-answer lines give up after 0.3 s (a 480), so that a
	// ringing line does not hold a wave for the legal 25 s.
	// People say hello again after 1 s of silence and agents keep the
	// talk short: the calls stay real, the waves of a multi-day cadence
	// just take fewer real seconds each.
	simulator, err := sim.New(sim.Options{Listen: "127.0.0.1:0", Logger: logger, CallLog: callLog, Ring: 50 * time.Millisecond,
		NoAnswerTimeout: 300 * time.Millisecond, MaxCall: time.Minute, HelloRepeat: time.Second, AgentTalk: 300 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	if err := simulator.Start(ctx); err != nil {
		return nil, err
	}
	defer simulator.Stop()

	// The dialer: SIP driver, pacing, caller-ID pools.
	trunk, err := sip.AdHocTrunk("sip:"+simulator.Addr(), "", "", "")
	if err != nil {
		return nil, err
	}
	trunk.Name = demoTrunk
	drv, err := sip.NewDriver(sip.Options{Trunks: []sip.Trunk{trunk}, ListenAddr: "127.0.0.1:0",
		UserAgent: "cadenza-demo/" + version, Logger: logger, Registerer: reg})
	if err != nil {
		return nil, err
	}
	if err := drv.Start(ctx); err != nil {
		return nil, err
	}
	defer drv.Stop()
	pacer, err := pacing.NewLocal(nil, map[string]pacing.Limits{demoTrunk: {CPS: 80, Burst: 20, MaxChannels: 60}},
		pacing.LocalOptions{Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("pacing: %w", err)
	}
	pools, err := demoPools()
	if err != nil {
		return nil, err
	}
	picker, err := callerid.New(callerid.NewMemoryCounters(), pools, clock.Now, callerid.Options{Logger: logger, Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("caller-ID pools: %w", err)
	}
	connector, roster, err := demoConnector(ctx, st, simulator.Addr(), drv, logger, reg, clock.Now())
	if err != nil {
		return nil, err
	}
	d, err := dialer.New(dialer.Options{Drivers: map[string]dialer.Driver{demoTrunk: drv}, Pacer: pacer, CallerIDs: picker,
		Connector: connector, Logger: logger, Registerer: reg, DrainTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, err
	}
	defer d.Stop()

	// The engine.
	tally := newDemoTally()
	view := &demoView{w: dio.out, live: dio.live, tally: tally, now: clock.Now, start: realStart, total: 0}
	sms := &demoSMS{now: clock.Now}
	dd := &demoDialer{d: d, tally: tally}
	eng, err := engine.New(engine.Options{Store: trackedAgentStore{tracked, st}, Owners: owners{roster: roster},
		Dialer: dd, Messenger: sms, Now: clock.Now, Logger: logger,
		Concurrency: 60, Trunk: demoTrunk,
		// The lease is read on the simulated clock, which jumps hours while
		// calls are in flight: it must outlast any jump.
		Lease: 60 * 24 * time.Hour,
		OnEvent: func(ev engine.Event) {
			tally.onEvent(ev)
			view.event(ev)
		}})
	if err != nil {
		return nil, err
	}
	cadences, err := demoImport(ctx, st, clock.Now())
	if err != nil {
		return nil, err
	}

	// The API.
	key, err := api.BootstrapAdmin(ctx, st, "", clock.Now())
	if err != nil {
		return nil, err
	}
	srv, err := api.New(api.Options{Store: st, Logger: logger.With("component", "api"), Registerer: reg, Gatherer: reg,
		Now: clock.Now, CallerIDPools: []string{"main", "rotation"}, Version: version})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.http)
	if err != nil {
		return nil, fmt.Errorf("--http: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		_ = hs.Shutdown(sctx)
	}()
	url := "http://" + ln.Addr().String()
	if key == "" {
		key = "(none created: the --db database already has API keys)"
	}
	fmt.Fprintf(dio.out, "Cadenza demo: API %s  admin key %s\n", url, key)
	fmt.Fprintf(dio.out, "carrier simulator sip:%s; store %s; simulated start %s\n", simulator.Addr(), dbPath,
		start.In(demoBusinessZone()).Format("Mon 2006-01-02 15:04 MST"))
	if dio.ready != nil {
		dio.ready(url, key)
	}

	// Enroll: the do-not-call numbers go on the list first.
	for _, c := range contacts {
		if c.Note == "dnc" {
			if _, err := eng.AddDNC(ctx, c.Phone, "demo: asked not to be called"); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range contacts {
		cadID, ok := cadences[c.Cadence]
		if !ok {
			return nil, fmt.Errorf("demo contact %s: unknown cadence %q", c.Phone, c.Cadence)
		}
		_, err := eng.Enroll(ctx, engine.EnrollRequest{CadenceID: cadID, Contact: &engine.Contact{Phone: c.Phone,
			FirstName: c.FirstName, LastName: c.LastName, State: c.State}})
		switch {
		case errors.Is(err, engine.ErrDoNotCall):
			tally.refuse("do-not-call")
		case err != nil:
			return nil, err
		}
	}
	view.total = tally.snapshot().enrolled

	// Run: the scheduler claims on the warp clock; this loop moves the clock.
	sched := eng.NewScheduler(engine.SchedulerOptions{Poll: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, RescueEvery: time.Hour})
	if err := sched.Start(ctx); err != nil {
		return nil, err
	}
	horizon := start.Add(time.Duration(f.days) * 24 * time.Hour)
	agent := newDemoAgent()
	runErr := demoLoop(ctx, eng, tracked, clock, tally, agent, view, f.lookahead, horizon)
	sched.Stop()
	if runErr == nil {
		runErr = agent.work(ctx, eng, tally, clock.Now)
	}
	d.Stop()
	drv.Stop()
	simulator.Stop()
	view.draw()
	if runErr != nil {
		return nil, runErr
	}

	res := &demoResult{SimCalls: simulator.Calls(), Contacts: contacts, Texts: sms.texts()}
	res.Summary = buildDemoSummary(tally, res.SimCalls, len(contacts))
	// The rates are the engine's own analytics, the numbers
	// GET /v1/analytics/summary shows.
	an, err := st.Analytics(ctx, engine.AnalyticsFilter{}, eng.Catalog())
	if err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	res.Summary.Analytics = an
	res.Summary.SimStart, res.Summary.SimEnd, res.Summary.Real = start, clock.Now(), time.Since(realStart)
	tally.mu.Lock()
	res.Events = append([]engine.Event(nil), tally.events...)
	tally.mu.Unlock()
	if err := res.Summary.write(dio.out); err != nil {
		return nil, err
	}
	if f.verbose {
		writeDemoSMS(dio.log, sms)
	}
	if f.keepRunning {
		fmt.Fprintf(dio.out, "\nThe API stays up at %s (admin key %s); Ctrl-C to stop.\n", url, key)
		<-parent.Done() // not the --timeout: exploring takes as long as it takes
	}
	return res, nil
}

// demoLoop moves the warp clock until nothing is left to do, redrawing the
// live view and letting the simulated agent post its dispositions.
func demoLoop(ctx context.Context, eng *engine.Engine, tracked *trackedStore, clock *warpClock, tally *demoTally,
	agent *demoAgent, view *demoView, lookahead time.Duration, horizon time.Time) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lastDraw := time.Time{}
	for {
		if err := agent.work(ctx, eng, tally, clock.Now); err != nil {
			return err
		}
		step, err := tracked.advance(ctx, clock, lookahead, horizon)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("read the schedule: %w", err)
		}
		if step == warpFinished || step == warpHorizon {
			return nil
		}
		if step == warpJumped {
			// Whatever the jump made due is claimed now, not at the
			// scheduler's next poll: each of the run's many jumps
			// would otherwise wait for one.
			eng.Wake()
		}
		if time.Since(lastDraw) >= 150*time.Millisecond {
			view.draw()
			lastDraw = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: %w", ctx.Err())
		case <-tick.C:
		case <-tracked.landed:
		}
	}
}

// demoPools reads the embedded caller-ID pools.
func demoPools() ([]callerid.PoolConfig, error) {
	b, err := configs.DemoFile("callerid-pools.yaml")
	if err != nil {
		return nil, err
	}
	pools, err := callerid.DecodePools(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("demo caller-ID pools: %w", err)
	}
	return pools, nil
}

// demoImport imports the example cadences as active and uploads the
// voicemail messages they name; it returns the cadence IDs by example name.
func demoImport(ctx context.Context, st engine.Store, now time.Time) (map[string]string, error) {
	ids := map[string]string{}
	for _, name := range []string{"five-step", "speed-to-lead"} {
		doc, err := configs.Cadence(name)
		if err != nil {
			return nil, err
		}
		def, ferrs := engine.ImportDocument(doc)
		if len(ferrs) > 0 {
			return nil, fmt.Errorf("example cadence %s: %w", name, ferrs)
		}
		cad, err := st.CreateCadence(ctx, def, engine.StatusActive, now)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", name, err)
		}
		ids[name] = cad.ID
	}
	for _, name := range []string{"vm-intro", "vm-final"} {
		a, err := loadDemoAsset(name)
		if err != nil {
			return nil, err
		}
		// A reused --db already has them.
		if _, err := st.CreateAsset(ctx, a, now); err != nil && !errors.Is(err, engine.ErrConflict) {
			return nil, fmt.Errorf("upload %s: %w", name, err)
		}
	}
	return ids, nil
}
