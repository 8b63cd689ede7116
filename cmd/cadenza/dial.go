package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cadenza-dialer/cadenza/amd"
	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/ari"
	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/dialer/pacing"
	"github.com/cadenza-dialer/cadenza/sip"
)

// dialEnv is what `cadenza dial` takes from its surroundings, so tests can
// run it in-process.
type dialEnv struct {
	getenv func(string) string
	// minRing is the dialer's ring-timeout floor: the legal 15 s, lowered
	// only by tests against the simulator.
	minRing time.Duration
}

// dialFlags are the command line of `cadenza dial`.
type dialFlags struct {
	config      string
	trunk       string
	trunkURI    string
	username    string
	password    string
	fromDomain  string
	from        string
	pool        string
	strategy    string
	to          string
	count       int
	cps         float64
	ringTimeout time.Duration
	maxDuration time.Duration
	amdProfile  string
	voicemail   string
	connect     string
	safeHarbor  string
	listen      string
	advertiseIP string
	jsonOut     bool
	verbose     bool
	// Ad-hoc ARI trunk.
	ariURL      string
	ariUser     string
	ariPassword string
	ariEndpoint string
	ariApp      string
	mediaHost   string
}

func newDialCommand() *cobra.Command {
	return newDialCommandWith(dialEnv{getenv: os.Getenv, minRing: dialer.LegalMinRingTimeout})
}

func newDialCommandWith(env dialEnv) *cobra.Command {
	var f dialFlags
	cmd := &cobra.Command{
		Use:   "dial --to NUMBER (--trunk-uri sip:HOST[:PORT][;transport=udp|tcp|tls] | --ari-url URL --ari-endpoint TEMPLATE | --config FILE --trunk NAME)",
		Short: "Place test calls through a trunk and print one JSON outcome per call",
		Long: `dial places calls through the full dialer path — pacing, caller ID, SIP,
RTP, answering-machine detection, voicemail drop — and prints one JSON
outcome per call (to, caller_id, disposition, sip_code, timings, AMD verdict,
voicemail details). A trunk provider can test a trunk in one line:

  cadenza dial --trunk-uri sip:203.0.113.5:5060 --to +15551234567 --from +15557654321

The password comes from --password or, better, CADENZA_DIAL_PASSWORD.
A configured trunk comes from the server configuration (its trunks and
pools sections, or the files it includes: configs/trunks.yaml and
configs/callerid-pools.yaml): its password from the environment variable
named by password_env, its cps and max_channels as pacing limits, and the
caller ID from one of its pools:

  cadenza dial --config configs/cadenza.yaml --trunk sim --to +15550100004 \
    --pool sales-national

A trunk with driver: ari goes through Asterisk instead, and so does an
ad-hoc Asterisk trunk without any configuration file:

  CADENZA_ARI_PASSWORD=… cadenza dial --ari-url http://127.0.0.1:8088/ari \
    --ari-user cadenza --ari-endpoint 'PJSIP/{number}@carrier' \
    --to +15551234567 --from +15557654321

--connect bridges a human answer to a SIP URI within the legal 2 s (the
driver calls the agent itself and relays the audio both ways); the outcome
then has connected_ms, or disposition abandoned when no agent answered in
time, after --safe-harbor's message when one is given:

  cadenza dial --trunk-uri sip:127.0.0.1:5070 --to +15550100001 \
    --from +15557654321 --connect sip:agent-1@127.0.0.1:5070

--count calls run concurrently, paced at --cps calls per second.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runDial(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f, cmd.Flags().Changed("cps"), env)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "configuration file with trunks and caller-ID pools (use with --trunk)")
	fl.StringVar(&f.trunk, "trunk", "", "trunk name from the configuration (driver sip or ari)")
	fl.StringVar(&f.trunkURI, "trunk-uri", "", "ad-hoc trunk: sip:HOST[:PORT][;transport=udp|tcp|tls]")
	fl.StringVar(&f.username, "username", "", "digest username for the ad-hoc trunk")
	fl.StringVar(&f.password, "password", "", "digest password for the ad-hoc trunk (prefer env CADENZA_DIAL_PASSWORD)")
	fl.StringVar(&f.fromDomain, "from-domain", "", "host part of our From URI (default: the trunk host)")
	fl.StringVar(&f.from, "from", "", "caller ID to present, E.164 (required unless --pool picks one)")
	fl.StringVar(&f.pool, "pool", "", "caller-ID pool from the configuration")
	fl.StringVar(&f.strategy, "strategy", "", "caller-ID strategy for --pool: random, rotating, local_presence, sticky (default: the pool's)")
	fl.StringVar(&f.to, "to", "", "number to call, E.164 (required)")
	fl.IntVar(&f.count, "count", 1, "how many calls to place (concurrently, paced by --cps)")
	fl.Float64Var(&f.cps, "cps", 1, "calls per second")
	fl.DurationVar(&f.ringTimeout, "ring-timeout", 30*time.Second, "how long to ring (at least 15s)")
	fl.DurationVar(&f.maxDuration, "max-duration", 2*time.Minute, "cap on an answered call")
	fl.StringVar(&f.amdProfile, "amd-profile", "balanced", "answering-machine detection profile: balanced, human_first, voicemail_drop")
	fl.StringVar(&f.voicemail, "voicemail", "", "WAV message to leave after the beep (none: hang up on machines)")
	fl.StringVar(&f.connect, "connect", "", "bridge a human answer to this SIP URI (sip:agent@host[:port]); none: hang up on humans")
	fl.StringVar(&f.safeHarbor, "safe-harbor", "", "WAV message played when --connect fails, before hanging up (seller, callback number, opt-out)")
	fl.StringVar(&f.listen, "listen", "", "local SIP address host:port (default: the address that routes to the trunk, any port)")
	fl.StringVar(&f.advertiseIP, "advertise-ip", "", "IP to put in Contact and SDP when behind NAT")
	fl.BoolVar(&f.jsonOut, "json", true, "print one JSON object per call (the only format)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log SIP and dialer progress to stderr")
	fl.StringVar(&f.ariURL, "ari-url", "", "ad-hoc Asterisk trunk: ARI base URL, e.g. http://127.0.0.1:8088/ari")
	fl.StringVar(&f.ariUser, "ari-user", "", "ARI username (ari.conf)")
	fl.StringVar(&f.ariPassword, "ari-password", "", "ARI password (prefer env CADENZA_ARI_PASSWORD)")
	fl.StringVar(&f.ariEndpoint, "ari-endpoint", "", "Asterisk dial string with {number}, e.g. 'PJSIP/{number}@carrier'")
	fl.StringVar(&f.ariApp, "ari-app", "cadenza", "Stasis application name")
	fl.StringVar(&f.mediaHost, "media-host", "127.0.0.1", "our IP as Asterisk reaches it (externalMedia RTP for AMD)")
	return cmd
}

// dialLine is one line of output: the outcome, with sip_code always present
// and the durations a provider looks at first.
type dialLine struct {
	dialer.Outcome
	SIPCode int `json:"sip_code"`
	// PostDialDelayMS is INVITE → first ring or early media.
	PostDialDelayMS *int64 `json:"post_dial_delay_ms,omitempty"`
	// AnswerMS is INVITE → answer; TalkMS is answer → hang-up.
	AnswerMS *int64 `json:"answer_ms,omitempty"`
	TalkMS   *int64 `json:"talk_ms,omitempty"`
	// Connected says, with --connect, whether a human was bridged to the
	// URI (connected_ms then says when, from answer).
	Connected *bool `json:"connected,omitempty"`
}

func newDialLine(o dialer.Outcome) dialLine {
	l := dialLine{Outcome: o, SIPCode: o.SIPCode}
	t := o.Timings
	ms := func(a, b time.Time) *int64 {
		if a.IsZero() || b.IsZero() {
			return nil
		}
		v := b.Sub(a).Milliseconds()
		return &v
	}
	l.PostDialDelayMS = ms(t.InviteSent, t.FirstRing)
	l.AnswerMS = ms(t.InviteSent, t.Answered)
	l.TalkMS = ms(t.Answered, t.Hangup)
	return l
}

func (f *dialFlags) validate() error {
	var errs []error
	if f.to == "" {
		errs = append(errs, errors.New("--to: required"))
	}
	ways := 0
	for _, set := range []bool{f.trunkURI != "", f.ariURL != "", f.config != "" || f.trunk != ""} {
		if set {
			ways++
		}
	}
	switch {
	case ways > 1:
		errs = append(errs, errors.New("--trunk-uri: use one of --trunk-uri, --ari-url, or --config with --trunk"))
	case ways == 0:
		errs = append(errs, errors.New("--trunk-uri: required (or --ari-url URL --ari-endpoint TEMPLATE, or --config FILE --trunk NAME)"))
	case f.ariURL != "" && f.ariEndpoint == "":
		errs = append(errs, errors.New("--ari-endpoint: required with --ari-url, e.g. 'PJSIP/{number}@carrier'"))
	case f.ariURL != "" && f.ariUser == "":
		errs = append(errs, errors.New("--ari-user: required with --ari-url"))
	case f.config != "" && f.trunk == "":
		errs = append(errs, errors.New("--trunk: required with --config"))
	case f.trunk != "" && f.config == "":
		errs = append(errs, errors.New("--config: required with --trunk"))
	}
	switch {
	case f.pool != "" && f.config == "":
		errs = append(errs, errors.New("--pool: caller-ID pools come from --config"))
	case f.from == "" && f.pool == "":
		errs = append(errs, errors.New("--from: required: the caller ID to present, E.164 (or --config FILE --pool NAME)"))
	}
	if f.count < 1 {
		errs = append(errs, fmt.Errorf("--count: must be ≥ 1, got %d", f.count))
	}
	if f.cps <= 0 {
		errs = append(errs, fmt.Errorf("--cps: must be > 0, got %g", f.cps))
	}
	if f.ringTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--ring-timeout: must be > 0, got %v", f.ringTimeout))
	}
	if f.maxDuration <= 0 {
		errs = append(errs, fmt.Errorf("--max-duration: must be > 0, got %v", f.maxDuration))
	}
	if _, err := amd.ProfileParams(amdProfileName(f.amdProfile)); err != nil {
		errs = append(errs, fmt.Errorf("--amd-profile: %w", err))
	}
	if f.connect != "" {
		if _, err := sip.ParseAgentURI(f.connect); err != nil {
			errs = append(errs, fmt.Errorf("--connect: %w", err))
		}
	}
	if f.safeHarbor != "" && f.connect == "" {
		errs = append(errs, errors.New("--safe-harbor: only with --connect (it is played when the connect fails)"))
	}
	if !f.jsonOut {
		errs = append(errs, errors.New("--json: JSON lines are the only output format"))
	}
	return errors.Join(errs...)
}

// dialTarget is the trunk to dial through: a native SIP trunk, or an
// Asterisk endpoint reached through ARI.
type dialTarget struct {
	name string
	sip  *sip.Trunk
	ari  *ari.Options
}

// loadTrunk returns the trunk to dial, its pacing limits and the
// configuration's caller-ID pools (nil for ad-hoc trunks). cpsSet says
// whether --cps was given (it then overrides the trunk's cps).
func (f *dialFlags) loadTrunk(cpsSet bool, getenv func(string) string) (dialTarget, pacing.Limits, []callerid.PoolConfig, error) {
	lim := pacing.Limits{CPS: f.cps, Burst: 1, MaxChannels: f.count}
	switch {
	case f.trunkURI != "":
		t, err := sip.AdHocTrunk(f.trunkURI, f.username, f.password, f.fromDomain)
		if err != nil {
			return dialTarget{}, lim, nil, fmt.Errorf("--trunk-uri: %w", err)
		}
		return dialTarget{name: t.Name, sip: &t}, lim, nil, nil
	case f.ariURL != "":
		pw := f.ariPassword
		if pw == "" {
			pw = getenv("CADENZA_ARI_PASSWORD")
		}
		o := ari.Options{URL: f.ariURL, Username: f.ariUser, Password: pw, App: f.ariApp, MediaHost: f.mediaHost,
			Trunks: []ari.Trunk{{Name: "ari", Endpoint: f.ariEndpoint}}}
		if err := o.Validate(); err != nil {
			return dialTarget{}, lim, nil, fmt.Errorf("--ari-url: %w", err)
		}
		return dialTarget{name: "ari", ari: &o}, lim, nil, nil
	}
	cfg, err := config.Load(f.config, getenv)
	if err != nil {
		return dialTarget{}, lim, nil, fmt.Errorf("--config %s: %w", f.config, err)
	}
	t, ok := cfg.Trunk(f.trunk)
	if !ok {
		var names []string
		for _, t := range cfg.Trunks {
			names = append(names, t.Name)
		}
		return dialTarget{}, lim, nil, fmt.Errorf("--trunk: no trunk %q in %s (have %s)", f.trunk, f.config, strings.Join(names, ", "))
	}
	if !cpsSet && t.CPS > 0 {
		lim.CPS = t.CPS
	}
	if t.MaxChannels > 0 {
		lim.MaxChannels = min(lim.MaxChannels, t.MaxChannels)
	}
	if t.Driver == config.TrunkARI {
		if cfg.ARI.Password == "" {
			return dialTarget{}, lim, nil, fmt.Errorf("--trunk: %q is an ari trunk and %s (ari.password_env) is not set", t.Name, cfg.ARI.PasswordEnv)
		}
		o := ariOptions(cfg.ARI, []config.Trunk{t})
		return dialTarget{name: t.Name, ari: &o}, lim, cfg.Pools, nil
	}
	if err := t.CheckPassword(); err != nil {
		return dialTarget{}, lim, nil, fmt.Errorf("--trunk: %w", err)
	}
	st := t.Trunk
	return dialTarget{name: t.Name, sip: &st}, lim, cfg.Pools, nil
}

// ariOptions builds the ARI driver's options from the configuration.
func ariOptions(c config.ARI, trunks []config.Trunk) ari.Options {
	o := ari.Options{URL: c.URL, Username: c.Username, Password: c.Password, App: c.App, MediaHost: c.MediaHost, RTPPortMin: c.RTPPortMin, RTPPortMax: c.RTPPortMax, AgentEndpoint: c.AgentEndpoint}
	for _, t := range trunks {
		if t.Driver == config.TrunkARI {
			o.Trunks = append(o.Trunks, ari.Trunk{Name: t.Name, Endpoint: t.Endpoint, StripPlus: t.StripPlus})
		}
	}
	return o
}

// startDriver starts the driver for the target; stop releases it.
func (f *dialFlags) startDriver(ctx context.Context, target dialTarget, logger *slog.Logger, getenv func(string) string) (drv dialer.Driver, stop func(), err error) {
	if target.ari != nil {
		o := *target.ari
		o.Logger = logger
		d, err := ari.New(o)
		if err != nil {
			return nil, nil, err
		}
		if err := d.Start(ctx); err != nil {
			return nil, nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := d.WaitConnected(wctx); err != nil {
			d.Stop()
			return nil, nil, fmt.Errorf("asterisk at %s: %w", o.URL, err)
		}
		return d, d.Stop, nil
	}
	trunk := *target.sip
	listen := f.listen
	if listen == "" {
		listen = net.JoinHostPort(localIPFor(trunk), "0")
	}
	d, err := sip.NewDriver(sip.Options{
		Trunks:      []sip.Trunk{trunk},
		ListenAddr:  listen,
		AdvertiseIP: f.advertiseIP,
		UserAgent:   "cadenza-dial/" + version,
		Logger:      logger,
		Getenv:      getenv,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, nil, err
	}
	return d, d.Stop, nil
}

// picker returns the caller-ID picker for --pool, or nil for --from.
func (f *dialFlags) picker(pools []callerid.PoolConfig, logger *slog.Logger) (callerid.Picker, error) {
	if f.pool == "" {
		return nil, nil
	}
	var names []string
	for _, p := range pools {
		names = append(names, p.Name)
	}
	if !slices.Contains(names, f.pool) {
		return nil, fmt.Errorf("--pool: no pool %q in %s (have %s)", f.pool, f.config, strings.Join(names, ", "))
	}
	svc, err := callerid.New(callerid.NewMemoryCounters(), pools, nil, callerid.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("--pool: %w", err)
	}
	return svc, nil
}

func runDial(ctx context.Context, stdout, stderr io.Writer, f dialFlags, cpsSet bool, env dialEnv) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.password == "" {
		f.password = env.getenv("CADENZA_DIAL_PASSWORD")
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	target, limits, pools, err := f.loadTrunk(cpsSet, env.getenv)
	if err != nil {
		return err
	}
	picker, err := f.picker(pools, logger)
	if err != nil {
		return err
	}
	var vm []int16
	if f.voicemail != "" {
		if vm, err = readWAV(f.voicemail); err != nil {
			return fmt.Errorf("--voicemail: %w", err)
		}
	}
	var safeHarbor []int16
	if f.safeHarbor != "" {
		if safeHarbor, err = readWAV(f.safeHarbor); err != nil {
			return fmt.Errorf("--safe-harbor: %w", err)
		}
	}
	drv, stopDriver, err := f.startDriver(ctx, target, logger, env.getenv)
	if err != nil {
		return err
	}
	defer stopDriver()
	var connector dialer.Connector
	onHuman := dialer.HumanAction{}
	if f.connect != "" {
		c, ok := drv.(dialer.Connector)
		if !ok {
			return fmt.Errorf("--connect: trunk %q cannot connect calls yet (only native SIP trunks can)", target.name)
		}
		connector = c
		onHuman = dialer.HumanAction{Kind: dialer.HumanConnect, Destination: f.connect}
	}

	pacer, err := pacing.NewLocal(nil, map[string]pacing.Limits{target.name: limits}, pacing.LocalOptions{})
	if err != nil {
		return fmt.Errorf("pacing: %w", err)
	}
	d, err := dialer.New(dialer.Options{
		Drivers:        map[string]dialer.Driver{target.name: drv},
		Pacer:          pacer,
		CallerIDs:      picker,
		Connector:      connector,
		Logger:         logger,
		MinRingTimeout: env.minRing,
		DrainTimeout:   5 * time.Second,
	})
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		return err
	}
	defer d.Stop()
	if f.ringTimeout < env.minRing {
		fmt.Fprintf(stderr, "cadenza dial: --ring-timeout %v raised to the legal minimum %v\n", f.ringTimeout, env.minRing)
	}

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		enc   = json.NewEncoder(stdout)
		werr  error
		tally = map[dialer.Disposition]int{}
	)
	for i := range f.count {
		wg.Go(func() {
			out := d.Dial(ctx, dialer.Call{
				ID:               "dial-" + strconv.Itoa(i+1),
				To:               f.to,
				Trunk:            target.name,
				CallerID:         f.from,
				CallerIDPool:     f.pool,
				CallerIDStrategy: dialer.CallerIDStrategy(f.strategy),
				ContactKey:       f.to,
				RingTimeout:      f.ringTimeout,
				MaxDuration:      f.maxDuration,
				AMDProfile:       amdProfileName(f.amdProfile),
				VoicemailAudio:   vm,
				OnHuman:          onHuman,
				SafeHarborAudio:  safeHarbor,
			})
			line := newDialLine(out)
			if f.connect != "" {
				connected := out.ConnectedMS > 0
				line.Connected = &connected
			}
			mu.Lock()
			defer mu.Unlock()
			tally[out.Disposition]++
			if err := enc.Encode(line); err != nil && werr == nil {
				werr = fmt.Errorf("write outcome: %w", err)
			}
		})
	}
	wg.Wait()
	fmt.Fprintf(stderr, "cadenza dial: %d call(s): %s\n", f.count, summarize(tally))
	return werr
}

// summarize renders the disposition counts in the dialer's stable order.
func summarize(tally map[dialer.Disposition]int) string {
	var parts []string
	for _, d := range dialer.Dispositions {
		if n := tally[d]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", d, n))
		}
	}
	return strings.Join(parts, ", ")
}

// amdProfileName maps the flag's "balanced" to the dialer's default profile.
func amdProfileName(s string) string {
	if s == "balanced" {
		return ""
	}
	return s
}

func readWAV(path string) ([]int16, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	pcm, err := audio.DecodeWAV(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("%s: no audio", path)
	}
	return pcm, nil
}

// localIPFor finds the local address that routes to the trunk (a UDP
// "connect" sends nothing), so a one-line test call advertises an address
// the carrier can reach; loopback when the trunk is local or unresolvable.
func localIPFor(t sip.Trunk) string {
	host := t.Host
	if t.OutboundProxy != "" {
		host, _, _ = net.SplitHostPort(t.OutboundProxy)
	}
	c, err := net.Dial("udp", net.JoinHostPort(host, "5060"))
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	ip := c.LocalAddr().(*net.UDPAddr).IP
	if ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return ip.String()
}
