package dialer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cadenza-dialer/cadenza/amd"
	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/dialer/pacing"
)

// Defaults for Options fields left zero.
const (
	// LegalMinRingTimeout is the shortest ring the law allows (47 CFR
	// 64.1200(a)(6): 15 seconds or four rings).
	LegalMinRingTimeout    = 15 * time.Second
	DefaultRingTimeout     = 30 * time.Second
	DefaultMaxDuration     = 2 * time.Hour
	DefaultDrainTimeout    = 30 * time.Second
	DefaultAMDTimeout      = 15 * time.Second
	DefaultBeepTimeout     = 45 * time.Second
	DefaultTeardownTimeout = 5 * time.Second
	DefaultMaxPause        = time.Hour
)

// Detail prefixes of outcomes for calls that were never placed. Such an
// outcome has a zero Timings.InviteSent (see Outcome.Placed); the engine may
// retry it without counting a call against the contact.
const (
	DetailPacingUnavailable = "pacing unavailable"
	DetailNotRunning        = "dialer not running"
	DetailCancelled         = "cancelled before placing"
)

// Connector bridges an answered human to the step's destination (an agent,
// a queue, an AI endpoint). It is the extension point of the human branch
// (issue 8); without one, "connect" hangs up and reports human.
type Connector interface {
	// Connect bridges leg to c.OnHuman.Destination and returns once the two
	// are talking, or an error. ctx carries the legal 2 s deadline: a human
	// not connected by then is an abandoned call.
	Connect(ctx context.Context, leg Leg, c Call) error
}

// Options configure a Dialer. Drivers and Pacer are required.
type Options struct {
	// Drivers maps a trunk name to the driver that dials it.
	Drivers map[string]Driver
	// Pacer grants every call a CPS token and a channel slot; no call is
	// placed without a grant.
	Pacer pacing.Pacer
	// CallerIDs picks the presented number when a Call has no fixed CallerID.
	// It may be nil when every Call carries its CallerID.
	CallerIDs callerid.Picker
	// Connector runs the "connect" human action; nil hangs up and reports human.
	Connector Connector
	// Logger receives call logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the dialer's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Now is the clock for outcome timings; nil means time.Now.
	Now func() time.Time
	// DrainTimeout is how long Stop lets calls in flight finish before
	// hanging them up (default 30 s).
	DrainTimeout time.Duration
	// MinRingTimeout raises shorter Call.RingTimeout values (default and
	// production value: 15 s, the legal floor). Only tests and the simulator
	// set it lower.
	MinRingTimeout time.Duration
	// DefaultRingTimeout applies when a Call has none (default 30 s).
	DefaultRingTimeout time.Duration
	// DefaultMaxDuration applies when a Call has none (default 2 h).
	DefaultMaxDuration time.Duration
	// AMDTimeout is a wall-clock backstop after answer: with no AMD verdict
	// by then (no audio is arriving) the call is treated as silence
	// (default 15 s; the detector itself decides within a few seconds of audio).
	AMDTimeout time.Duration
	// BeepTimeout is a wall-clock backstop for the beep wait: the message is
	// played when it passes (default 45 s; the beep watcher has its own
	// maximum wait in audio time).
	BeepTimeout time.Duration
	// TeardownTimeout bounds a hang-up and the wait for the leg to end (default 5 s).
	TeardownTimeout time.Duration
	// MaxPause caps a carrier's Retry-After passed to the pacer (default 1 h).
	MaxPause time.Duration
}

// Dialer places calls: Dial runs one call from pacing to outcome. It is safe
// for thousands of concurrent Dial calls. Start it before dialing; Stop drains.
type Dialer struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	mu       sync.Mutex
	started  bool
	stopping bool
	inflight sync.WaitGroup

	// stopCtx ends when Stop begins: calls not yet placed give up.
	stopCtx    context.Context
	stopCancel context.CancelFunc
	// hardStop ends when the drain timeout passes: calls in flight hang up,
	// and an Originate that hangs is cancelled.
	hardStop       context.Context
	hardStopCancel context.CancelFunc
	stopOnce       sync.Once
}

// New checks opts and builds a Dialer.
func New(opts Options) (*Dialer, error) {
	if len(opts.Drivers) == 0 {
		return nil, errors.New("dialer options: drivers: at least one trunk driver is required")
	}
	for name, drv := range opts.Drivers {
		if strings.TrimSpace(name) == "" {
			return nil, errors.New("dialer options: drivers: empty trunk name")
		}
		if drv == nil {
			return nil, fmt.Errorf("dialer options: drivers[%q]: nil driver", name)
		}
	}
	if opts.Pacer == nil {
		return nil, errors.New("dialer options: pacer: required (no call is placed without a pacing grant)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	setDefault(&opts.DrainTimeout, DefaultDrainTimeout)
	setDefault(&opts.MinRingTimeout, LegalMinRingTimeout)
	setDefault(&opts.DefaultRingTimeout, DefaultRingTimeout)
	setDefault(&opts.DefaultMaxDuration, DefaultMaxDuration)
	setDefault(&opts.AMDTimeout, DefaultAMDTimeout)
	setDefault(&opts.BeepTimeout, DefaultBeepTimeout)
	setDefault(&opts.TeardownTimeout, DefaultTeardownTimeout)
	setDefault(&opts.MaxPause, DefaultMaxPause)

	trunks := make([]string, 0, len(opts.Drivers))
	for name := range opts.Drivers {
		trunks = append(trunks, name)
	}
	sort.Strings(trunks)
	m, err := newMetrics(opts.Registerer, trunks)
	if err != nil {
		return nil, fmt.Errorf("dialer metrics: %w", err)
	}
	stopCtx, stopCancel := context.WithCancel(context.Background())
	hardStop, hardStopCancel := context.WithCancel(context.Background())
	return &Dialer{
		opts:           opts,
		log:            opts.Logger.With("component", "dialer"),
		now:            opts.Now,
		metrics:        m,
		stopCtx:        stopCtx,
		stopCancel:     stopCancel,
		hardStop:       hardStop,
		hardStopCancel: hardStopCancel,
	}, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Start lets the dialer accept calls. It returns at once; ctx is not kept
// (Stop, not a cancelled context, drains the dialer, so that a signal can
// let the calls in flight finish).
func (d *Dialer) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start dialer: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.stopping:
		return errors.New("start dialer: already stopped")
	case d.started:
		return errors.New("start dialer: already started")
	}
	d.started = true
	return nil
}

// Stop drains the dialer: new calls are refused, calls waiting for pacing
// or caller ID give up unplaced, calls in flight may finish for up to
// DrainTimeout and are then hung up. It returns when every Dial has returned.
// It is idempotent and safe to call concurrently.
func (d *Dialer) Stop() {
	d.stopOnce.Do(func() {
		d.mu.Lock()
		d.stopping = true
		d.mu.Unlock()
		d.stopCancel()

		done := make(chan struct{})
		go func() {
			d.inflight.Wait()
			close(done)
		}()
		timer := time.NewTimer(d.opts.DrainTimeout)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			d.log.Warn("drain timeout: hanging up the calls in flight", "drain_timeout", d.opts.DrainTimeout)
			d.hardStopCancel()
			<-done
		}
	})
}

// enter registers a call in flight; false when the dialer is not accepting calls.
func (d *Dialer) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started || d.stopping {
		return false
	}
	d.inflight.Add(1)
	return true
}

// Dial runs one call: pacing → caller ID → originate → AMD → voicemail or
// human action → hang up, and returns its outcome. It blocks for the whole
// call. Cancelling ctx hangs the call up (or abandons it unplaced). Problems
// never come back as errors: they are outcomes (failed, invalid_number …)
// with a Detail, and Outcome.Placed tells whether a call went out.
func (d *Dialer) Dial(ctx context.Context, c Call) Outcome {
	if c.ID == "" {
		c.ID = uuid.NewString() // every call is traceable in logs and headers
	}
	out := Outcome{
		CallID:   c.ID,
		To:       c.To,
		Trunk:    c.Trunk,
		CallerID: c.CallerID,
		Timings:  Timings{Queued: d.now()},
	}
	if !d.enter() {
		return d.notPlaced(out, Failed, reasonStopping, DetailNotRunning+": call not placed")
	}
	defer d.inflight.Done()

	drv, params, disp, err := d.check(c)
	if err != nil {
		return d.notPlaced(out, disp, reasonInvalid, err.Error())
	}
	cr := &callRun{
		d:      d,
		c:      c,
		drv:    drv,
		params: params,
		out:    out,
		log:    d.log.With("call_id", c.ID, "trunk", c.Trunk),
	}
	return cr.run(ctx)
}

// check validates a call before anything is spent on it.
func (d *Dialer) check(c Call) (Driver, amd.Params, Disposition, error) {
	if !validE164(c.To) {
		return nil, amd.Params{}, InvalidNumber, fmt.Errorf("to: %q is not an E.164 number (+ and 7 to 15 digits)", c.To)
	}
	drv, ok := d.opts.Drivers[c.Trunk]
	if !ok {
		return nil, amd.Params{}, Failed, fmt.Errorf("trunk: unknown trunk %q", c.Trunk)
	}
	params, err := amd.ProfileParams(c.AMDProfile)
	if err != nil {
		return nil, amd.Params{}, Failed, fmt.Errorf("amd_profile: %w", err)
	}
	switch c.OnHuman.Kind {
	case "", HumanConnect, HumanMessage:
	default:
		return nil, amd.Params{}, Failed, fmt.Errorf("on_human.kind: must be connect, message or empty, got %q", c.OnHuman.Kind)
	}
	if c.CallerID == "" && d.opts.CallerIDs == nil {
		return nil, amd.Params{}, Failed, errors.New("caller_id: no caller ID set and no caller-ID picker configured")
	}
	if c.CallerID != "" && !validE164(c.CallerID) {
		return nil, amd.Params{}, Failed, fmt.Errorf("caller_id: %q is not an E.164 number", c.CallerID)
	}
	return drv, params, "", nil
}

// notPlaced finishes the outcome of a call that never went out.
func (d *Dialer) notPlaced(out Outcome, disp Disposition, reason, detail string) Outcome {
	out.Disposition = disp
	out.Detail = detail
	d.metrics.notPlaced.WithLabelValues(d.metrics.trunkLabel(out.Trunk), reason).Inc()
	return out
}

// validE164 is the one E.164 check of the dialer and the caller-ID pools:
// + and 7 to 15 digits, the first not 0.
func validE164(s string) bool { return callerid.ValidE164(s) }

// ringTimeout applies the default and the legal floor.
func (d *Dialer) ringTimeout(c Call) time.Duration {
	rt := c.RingTimeout
	if rt <= 0 {
		rt = d.opts.DefaultRingTimeout
	}
	return max(rt, d.opts.MinRingTimeout)
}

func (d *Dialer) maxDuration(c Call) time.Duration {
	if c.MaxDuration > 0 {
		return c.MaxDuration
	}
	return d.opts.DefaultMaxDuration
}
