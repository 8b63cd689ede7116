package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/cadenza-dialer/cadenza/api"
	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/ari"
	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/dialer/pacing"
	"github.com/cadenza-dialer/cadenza/dialer/sms"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/compliance"
	"github.com/cadenza-dialer/cadenza/sip"
)

// calling is the part of a server that places calls: drivers, pacing,
// caller IDs, the dialer and the engine's scheduler. It is built from the
// configuration and torn down in reverse order.
type calling struct {
	engine    *engine.Engine
	scheduler *engine.Scheduler
	callerIDs *callerid.Service
	agents    *liveAgents
	trunks    []config.Trunk
	zone      *time.Location
	limits    []compliance.Limit
	stops     []func() // in start order; run in reverse
}

// apiOptions fills the API's view of the calling side.
func (c *calling) apiOptions(o *api.Options, cfg *config.Config) {
	if c.engine != nil {
		o.Engine = c.engine
	}
	o.CallerIDs = c.callerIDs
	if cfg.SMS.Enabled() {
		o.SMSInbound = api.SMSInbound{AuthToken: cfg.SMS.AuthToken, URL: cfg.SMS.InboundURL}
	}
	if c.agents != nil {
		o.Agents = c.agents.roster
	}
	for _, t := range c.trunks {
		o.Trunks = append(o.Trunks, api.TrunkInfo{Name: t.Name, Driver: t.Driver, Host: t.Host, Port: t.Port,
			Transport: t.Transport, NumberFormat: t.NumberFormat, Codecs: t.Codecs,
			MaxChannels: t.MaxChannels, CPS: t.CPS, Endpoint: t.Endpoint})
	}
	// With a calling side configured, an active cadence must name pools
	// that exist; an API-only server (no trunks, no pools) does not check.
	if len(cfg.Pools) > 0 || len(c.trunks) > 0 {
		o.CallerIDPools = []string{}
		for _, p := range cfg.Pools {
			o.CallerIDPools = append(o.CallerIDPools, p.Name)
		}
	}
	o.DryRun = api.DryRunOptions{BusinessZone: c.zone, BusinessLimits: c.limits}
	for _, t := range cfg.Triggers {
		o.Triggers = append(o.Triggers, api.Trigger{Key: t.Key, CadenceID: t.CadenceID, Secret: t.Secret})
	}
}

// stop drains the scheduler first (no new claims, calls in flight finish),
// then the dialer, pacing and drivers.
func (c *calling) stop() {
	for i := len(c.stops) - 1; i >= 0; i-- {
		c.stops[i]()
	}
}

// startCalling wires and starts everything that places calls. With no
// trunks configured it returns an engine without a scheduler: the API still
// enrolls and schedules, nothing is dialed, and serve says so.
func startCalling(ctx context.Context, cfg *config.Config, st store, logger *slog.Logger, reg prometheus.Registerer) (*calling, error) {
	c := &calling{trunks: cfg.Trunks}
	ok := false
	defer func() {
		if !ok {
			c.stop()
		}
	}()

	// Pacing and caller-ID counters: Redis when several nodes share the work.
	limits := map[string]pacing.Limits{}
	for _, t := range cfg.Trunks {
		limits[t.Name] = pacing.Limits{CPS: t.CPS, Burst: 1, MaxChannels: t.MaxChannels}
	}
	if cfg.Pacing.CPS > 0 || cfg.Pacing.MaxChannels > 0 {
		limits[pacing.GlobalKey] = pacing.Limits{CPS: cfg.Pacing.CPS, Burst: 1, MaxChannels: cfg.Pacing.MaxChannels}
	}
	var pacer pacing.Pacer
	var counters callerid.Counters = callerid.NewMemoryCounters()
	if cfg.Redis.URL != "" {
		opt, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		client := redis.NewClient(opt)
		c.stops = append(c.stops, func() { client.Close() })
		rp, err := pacing.NewRedis(client, "cadenza:pacing:", limits, pacing.RedisOptions{Logger: logger.With("component", "pacing"), Registerer: reg})
		if err != nil {
			return nil, fmt.Errorf("pacing: %w", err)
		}
		if err := rp.Start(ctx); err != nil {
			return nil, fmt.Errorf("pacing: %w", err)
		}
		c.stops = append(c.stops, rp.Stop)
		pacer = rp
		counters = callerid.NewRedisCounters(client, "cadenza:callerid:")
	} else {
		lp, err := pacing.NewLocal(nil, limits, pacing.LocalOptions{Registerer: reg})
		if err != nil {
			return nil, fmt.Errorf("pacing: %w", err)
		}
		pacer = lp
	}
	ids, err := callerid.New(counters, cfg.Pools, nil, callerid.Options{Logger: logger.With("component", "callerid"), Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("pools: %w", err)
	}
	c.callerIDs = ids

	drivers, err := c.startDrivers(ctx, cfg, logger, reg)
	if err != nil {
		return nil, err
	}

	// Live agents: a human answer on a queue goes to an agent of this
	// node's roster; agent-mode calls wait at the gate for their agent.
	la, err := startAgents(ctx, st, drivers, logger, reg)
	if err != nil {
		return nil, err
	}
	c.agents = la
	c.stops = append(c.stops, la.stop)

	var dial engine.Dialer
	if len(drivers) > 0 {
		d, err := dialer.New(dialer.Options{Drivers: drivers, Pacer: pacer, CallerIDs: ids, Connector: la.connector,
			Logger: logger.With("component", "dialer"), Registerer: reg})
		if err != nil {
			return nil, fmt.Errorf("dialer: %w", err)
		}
		if err := d.Start(ctx); err != nil {
			return nil, fmt.Errorf("dialer: %w", err)
		}
		c.stops = append(c.stops, d.Stop)
		gate, err := la.wrapGate(d, logger, reg)
		if err != nil {
			return nil, err
		}
		// Stopping runs in reverse: waiting calls give up before the
		// dialer drains.
		c.stops = append(c.stops, gate.Close)
		dial = gate
	}

	zone, err := time.LoadLocation(cfg.Business.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("business.time_zone: %w", err)
	}
	trunk := cfg.Dialer.DefaultTrunk
	if trunk == "" && len(cfg.Trunks) > 0 {
		trunk = cfg.Trunks[0].Name
	}
	host, _ := os.Hostname()
	var waker engine.Waker
	if w, ok := st.(engine.Waker); ok {
		waker = w
	}
	c.zone = zone
	c.limits = []compliance.Limit{
		{Max: cfg.Business.Harassment.Calls.Max, Period: cfg.Business.Harassment.Calls.Period, Scope: compliance.ScopeCalls},
		{Max: cfg.Business.Harassment.SMS.Max, Period: cfg.Business.Harassment.SMS.Period, Scope: compliance.ScopeSMS},
	}
	var messenger engine.Messenger
	if cfg.SMS.Enabled() {
		m, err := sms.New(cfg.SMS.Gateway(), nil, reg)
		if err != nil {
			return nil, fmt.Errorf("sms: %w", err)
		}
		messenger = m
		logger.Info("sms gateway configured", "provider", cfg.SMS.Provider)
	}
	e, err := engine.New(engine.Options{
		Messenger:       messenger,
		Owners:          owners{roster: la.roster},
		SafeHarborAsset: cfg.Dialer.SafeHarborAsset,
		Store:           st,
		Dialer:          dial,
		Logger:          logger,
		BusinessZone:    zone,
		BusinessLimits:  c.limits,
		Owner:           fmt.Sprintf("%s-%d", host, os.Getpid()),
		Concurrency:     cfg.Dialer.Concurrency,
		Trunk:           trunk,
		Waker:           waker,
	})
	if err != nil {
		return nil, err
	}
	c.engine = e
	// Texts go out even on a node without trunks: calls then end as
	// failed ("no dialer configured") and are routed as such.
	if dial != nil || messenger != nil {
		c.scheduler = e.NewScheduler(engine.SchedulerOptions{})
		if err := c.scheduler.Start(ctx); err != nil {
			return nil, err
		}
		c.stops = append(c.stops, c.scheduler.Stop)
		logger.Info("scheduler started", "trunk", trunk)
	} else {
		logger.Warn("no trunks and no sms gateway configured: cadences are scheduled but nothing is dialed or sent")
	}
	ok = true
	return c, nil
}

// startDrivers starts one native SIP driver for every sip trunk and one ARI
// driver for every ari trunk.
func (c *calling) startDrivers(ctx context.Context, cfg *config.Config, logger *slog.Logger, reg prometheus.Registerer) (map[string]dialer.Driver, error) {
	drivers := map[string]dialer.Driver{}
	var sipTrunks []sip.Trunk
	var ariTrunks []config.Trunk
	for _, t := range cfg.Trunks {
		switch t.Driver {
		case config.TrunkARI:
			ariTrunks = append(ariTrunks, t)
		default:
			if err := t.CheckPassword(); err != nil {
				return nil, err
			}
			sipTrunks = append(sipTrunks, t.Trunk)
		}
	}
	if len(sipTrunks) > 0 {
		listen := cfg.Dialer.SIPListen
		if listen == "" {
			listen = net.JoinHostPort(localIPFor(sipTrunks[0]), "0")
		}
		d, err := sip.NewDriver(sip.Options{Trunks: sipTrunks, ListenAddr: listen, AdvertiseIP: cfg.Dialer.AdvertiseIP,
			UserAgent: "cadenza/" + version, Logger: logger, Registerer: reg, Getenv: os.Getenv})
		if err != nil {
			return nil, fmt.Errorf("sip: %w", err)
		}
		if err := d.Start(ctx); err != nil {
			return nil, fmt.Errorf("sip: %w", err)
		}
		c.stops = append(c.stops, d.Stop)
		for _, t := range sipTrunks {
			drivers[t.Name] = d
		}
		logger.Info("sip driver listening", "addr", d.Addr(), "trunks", len(sipTrunks))
	}
	if len(ariTrunks) > 0 {
		if cfg.ARI.Password == "" {
			return nil, fmt.Errorf("ari: %s (ari.password_env) is not set", cfg.ARI.PasswordEnv)
		}
		o := ariOptions(cfg.ARI, ariTrunks)
		o.Logger, o.Registerer = logger, reg
		d, err := ari.New(o)
		if err != nil {
			return nil, err
		}
		// Start returns at once; calls are refused until the events
		// WebSocket is up, and the driver reconnects by itself.
		if err := d.Start(ctx); err != nil {
			return nil, err
		}
		c.stops = append(c.stops, d.Stop)
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := d.WaitConnected(wctx); err != nil {
			logger.Warn("asterisk not reachable yet; retrying in the background", "url", o.URL, "err", errors.Unwrap(err))
		}
		cancel()
		for _, t := range ariTrunks {
			drivers[t.Name] = d
		}
	}
	return drivers, nil
}
