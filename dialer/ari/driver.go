// Package ari is the dialer's Asterisk driver: it places calls through
// Asterisk's REST Interface (ARI) on the trunks Asterisk already has (PJSIP
// endpoints), and runs Cadenza's own AMD on the callee's audio, which it gets
// from an externalMedia channel (UnicastRTP, µ-law) bridged with the call.
// Voicemail messages go back over the same RTP stream, after the beep.
//
// It is built on github.com/CyCoreSystems/ari/v5 v5.3.1 (the newest served as
// /v5) for ARI's request model and ids, but not on its transport: the native
// client's REST calls take no context and have no timeout, its Connect can
// block forever, its event decoder reconnects or panics on event types it
// does not know (Asterisk 22 sends many), and its subscriptions drop events
// past a 100-slot buffer. So this package talks HTTP with a deadline on
// every request and reads the events WebSocket itself, ignoring unknown
// types and never dropping an event.
package ari

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// Trunk is an Asterisk-side trunk: a dial string template.
type Trunk struct {
	// Name is the trunk name calls refer to.
	Name string `yaml:"name"`
	// Endpoint is the dial string with {number} for the destination, e.g.
	// "PJSIP/{number}@carrier".
	Endpoint string `yaml:"endpoint"`
	// StripPlus dials "15551234567" instead of "+15551234567".
	StripPlus bool `yaml:"strip_plus"`
}

// Options configure the driver.
type Options struct {
	// URL is ARI's base, e.g. http://127.0.0.1:8088/ari.
	URL      string
	Username string
	Password string
	// App is the Stasis application name (ari.conf user's app).
	App    string
	Trunks []Trunk
	// MediaHost is our IP address as Asterisk reaches it; externalMedia
	// sends RTP there. Default 127.0.0.1.
	MediaHost string
	// RTPPortMin and RTPPortMax bound our RTP ports; 0 means any free port.
	RTPPortMin, RTPPortMax int
	// RequestTimeout bounds each REST request. Default 5 s.
	RequestTimeout time.Duration
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
	// Now is the clock for timings. Default time.Now.
	Now func() time.Time
	// AgentEndpoint is the PJSIP endpoint through which a connect
	// destination given as a sip: URI is dialed ("PJSIP/<AgentEndpoint>/<uri>").
	// Empty means sip: destinations are refused; Asterisk dial strings such
	// as PJSIP/agent-1 need no endpoint (see ParseAgentDestination).
	AgentEndpoint string
}

// Validate reports every problem with the options, naming the field.
func (o Options) Validate() error {
	var errs []error
	if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		errs = append(errs, fmt.Errorf("url: %q must be http(s)://host:port/ari", o.URL))
	}
	if o.Username == "" {
		errs = append(errs, errors.New("username: required"))
	}
	if o.Password == "" {
		errs = append(errs, errors.New("password: required (from the environment)"))
	}
	if o.App == "" {
		errs = append(errs, errors.New("app: required (the Stasis application name)"))
	}
	seen := map[string]bool{}
	for i, t := range o.Trunks {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("trunks[%d].name: required", i))
		} else if seen[t.Name] {
			errs = append(errs, fmt.Errorf("trunks[%d].name: duplicate %q", i, t.Name))
		}
		seen[t.Name] = true
		if !strings.Contains(t.Endpoint, "{number}") || !strings.Contains(t.Endpoint, "/") {
			errs = append(errs, fmt.Errorf("trunks[%d].endpoint: %q must be like PJSIP/{number}@carrier", i, t.Endpoint))
		}
	}
	if strings.ContainsAny(o.AgentEndpoint, "/@,:& \t") {
		errs = append(errs, fmt.Errorf("agent_endpoint: %q must be a bare PJSIP endpoint name", o.AgentEndpoint))
	}
	if o.MediaHost != "" && net.ParseIP(o.MediaHost) == nil {
		errs = append(errs, fmt.Errorf("media_host: %q is not an IP address", o.MediaHost))
	}
	if o.RTPPortMin != 0 || o.RTPPortMax != 0 {
		if o.RTPPortMin < 1024 || o.RTPPortMax > 65535 || o.RTPPortMin > o.RTPPortMax {
			errs = append(errs, fmt.Errorf("rtp_port_min/rtp_port_max: %d..%d must be a range within 1024..65535", o.RTPPortMin, o.RTPPortMax))
		}
	}
	return errors.Join(errs...)
}

// Driver places calls through ARI. It implements dialer.Driver.
type Driver struct {
	opts    Options
	ast     asterisk
	stream  *eventStream
	logger  *slog.Logger
	metrics *metrics
	trunks  map[string]Trunk
	now     func() time.Time

	mu      sync.Mutex
	legs    map[string]*leg // by channel id
	stopped bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ dialer.Driver = (*Driver)(nil)

// New checks the options and builds a driver; Start connects it.
func New(opts Options) (*Driver, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("ari: %w", err)
	}
	if opts.MediaHost == "" {
		opts.MediaHost = "127.0.0.1"
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("ari metrics: %w", err)
	}
	d := &Driver{
		opts:    opts,
		ast:     newREST(opts.URL, opts.Username, opts.Password, opts.App, opts.RequestTimeout),
		logger:  opts.Logger.With("component", "ari"),
		metrics: m,
		trunks:  map[string]Trunk{},
		now:     opts.Now,
		legs:    map[string]*leg{},
	}
	for _, t := range opts.Trunks {
		d.trunks[t.Name] = t
	}
	d.stream, err = newEventStream(opts.URL, opts.Username, opts.Password, opts.App, d.logger, d, m)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// AddTrunk registers a trunk after New (cadenza dial's ad-hoc trunk).
func (d *Driver) AddTrunk(t Trunk) error {
	if !strings.Contains(t.Endpoint, "{number}") || t.Name == "" {
		return fmt.Errorf("ari trunk %q: endpoint %q must be like PJSIP/{number}@carrier", t.Name, t.Endpoint)
	}
	d.mu.Lock()
	d.trunks[t.Name] = t
	d.mu.Unlock()
	return nil
}

// Start connects the events WebSocket in the background and returns at once.
func (d *Driver) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.stream.run(ctx)
	}()
	return nil
}

// WaitConnected blocks until the events WebSocket is up or ctx ends.
func (d *Driver) WaitConnected(ctx context.Context) error {
	select {
	case <-d.stream.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ari events not connected: %w", ctx.Err())
	}
}

// Stop hangs up every live leg, waits briefly for them to end, and closes
// the events connection. Idempotent.
func (d *Driver) Stop() {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		d.wg.Wait()
		return
	}
	d.stopped = true
	live := make([]*leg, 0, len(d.legs))
	for _, l := range d.legs {
		live = append(live, l)
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	for _, l := range live {
		_ = l.Hangup(ctx)
	}
	for _, l := range live {
		select {
		case <-l.Done():
		case <-ctx.Done():
			l.finish(dialer.LegResult{Disposition: dialer.Unknown, Detail: "driver stopped before Asterisk confirmed the hangup"})
		}
	}
	cancel()
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
}

// Originate places a call into our Stasis app. The leg is registered before
// the request so that no event can arrive for an unknown channel.
func (d *Driver) Originate(ctx context.Context, req dialer.OriginateRequest) (dialer.Leg, error) {
	d.mu.Lock()
	trunk, ok := d.trunks[req.Trunk]
	stopped := d.stopped
	d.mu.Unlock()
	if stopped {
		return nil, errors.New("ari: driver stopped")
	}
	if !ok {
		return nil, fmt.Errorf("ari: unknown trunk %q", req.Trunk)
	}
	if !d.stream.Connected() {
		// Originating blind would lose the call's events (ARI facts).
		return nil, errors.New("ari: events WebSocket not connected")
	}
	number := req.To
	if trunk.StripPlus {
		number = strings.TrimPrefix(number, "+")
	}
	l := &leg{
		d:        d,
		id:       "cdz-" + randomID(),
		trunk:    req.Trunk,
		onAudio:  req.OnAudio,
		events:   make(chan dialer.Event, 8),
		done:     make(chan struct{}),
		ringWait: req.RingTimeout,
	}
	l.result.Timings.Queued = d.now()
	d.mu.Lock()
	d.legs[l.id] = l
	d.mu.Unlock()
	d.metrics.active.WithLabelValues(req.Trunk).Inc()

	ring := req.RingTimeout
	if ring <= 0 {
		ring = 30 * time.Second
	}
	oreq := ariv5.OriginateRequest{
		Endpoint:  strings.ReplaceAll(trunk.Endpoint, "{number}", number),
		App:       d.opts.App,
		AppArgs:   "dial",
		CallerID:  req.From,
		Timeout:   int(math.Ceil(ring.Seconds())),
		ChannelID: l.id,
		Formats:   "ulaw",
	}
	vars := map[string]string{"CADENZA_CALL_ID": req.CallID}
	for k, v := range req.Variables {
		vars[k] = v
	}
	l.mu.Lock()
	l.result.Timings.InviteSent = d.now()
	l.mu.Unlock()
	if _, err := d.ast.Originate(ctx, oreq, vars); err != nil {
		d.forget(l)
		d.metrics.active.WithLabelValues(req.Trunk).Dec()
		return nil, fmt.Errorf("ari originate: %w", err)
	}
	d.metrics.originates.WithLabelValues(req.Trunk).Inc()
	l.emit(dialer.EventTrying)
	// Asterisk ends the dial itself at the originate timeout; this is the
	// backstop for a lost ChannelDestroyed.
	l.mu.Lock()
	if !l.finished {
		l.ringTimer = time.AfterFunc(ring+5*time.Second, l.ringTimedOut)
	}
	l.mu.Unlock()
	return l, nil
}

func (d *Driver) forget(l *leg) {
	d.mu.Lock()
	delete(d.legs, l.id)
	d.mu.Unlock()
}

func (d *Driver) legByChannel(id string) *leg {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.legs[id]; ok {
		return l
	}
	// Events of a leg's externalMedia and agent channels name the leg by prefix.
	if base, ok := strings.CutPrefix(id, "em-"); ok {
		return d.legs[base]
	}
	if base, ok := strings.CutPrefix(id, agentPrefix); ok {
		return d.legs[base]
	}
	return nil
}

// handleEvent is called in order from the events goroutine; it never blocks
// on the network (media setup runs on its own goroutine).
func (d *Driver) handleEvent(ev event) {
	l := d.legByChannel(ev.Channel.ID)
	if l == nil {
		return
	}
	if strings.HasPrefix(ev.Channel.ID, agentPrefix) {
		l.agentEvent(ev)
		return
	}
	isMedia := strings.HasPrefix(ev.Channel.ID, "em-")
	switch ev.Type {
	case "ChannelStateChange":
		if !isMedia && ev.Channel.State == "Ringing" {
			l.ringing()
		}
	case "StasisStart":
		if !isMedia {
			l.answeredInStasis()
		}
	case "ChannelDestroyed":
		if isMedia {
			if !l.isDone() && l.wasAnswered() {
				// Losing the media leg loses AMD and playback: end the call.
				go func() { _ = l.Hangup(context.Background()) }()
			}
			return
		}
		l.destroyed(ev.Cause, ev.CauseTxt)
	}
}

// resync ends legs whose channels vanished while events were disconnected
// (an Asterisk restart): the call may or may not have happened.
func (d *Driver) resync(ctx context.Context) {
	d.mu.Lock()
	n := len(d.legs)
	d.mu.Unlock()
	if n == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, d.opts.RequestTimeout)
	defer cancel()
	chans, err := d.ast.Channels(rctx)
	if err != nil {
		d.logger.Warn("ari resync: list channels", "err", err)
		return
	}
	alive := make(map[string]bool, len(chans))
	for _, c := range chans {
		alive[c.ID] = true
	}
	d.mu.Lock()
	var lost []*leg
	for id, l := range d.legs {
		if !alive[id] {
			lost = append(lost, l)
		}
	}
	d.mu.Unlock()
	for _, l := range lost {
		l.finish(dialer.LegResult{Disposition: dialer.Unknown, Detail: "channel vanished while ARI events were disconnected (Asterisk restart?)"})
	}
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostPort joins an address from UNICASTRTP_LOCAL_* variables.
func hostPort(addr, port string) (*net.UDPAddr, error) {
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return nil, fmt.Errorf("UNICASTRTP_LOCAL_PORT %q is not a port", port)
	}
	ip := net.ParseIP(addr)
	if ip == nil {
		return nil, fmt.Errorf("UNICASTRTP_LOCAL_ADDRESS %q is not an IP", addr)
	}
	return &net.UDPAddr{IP: ip, Port: p}, nil
}
