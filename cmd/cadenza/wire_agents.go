package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cadenza-dialer/cadenza/api"
	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/dialer/predictive"
	"github.com/cadenza-dialer/cadenza/engine"
)

// liveAgents is the live-agent side of a server: the roster of this node's
// agents, the predictive pacer with its abandonment ledger, the connector
// that puts a human answer through to an agent, and the gate that holds
// agent-mode calls until an agent is theirs.
type liveAgents struct {
	roster    *agents.Roster
	pacer     *predictive.Pacer
	connector *agents.QueueConnector
	gate      *agents.Gate
	store     engine.AgentStore
	stop      func()
}

// startAgents builds the roster from the store and the connector around
// the drivers' own bridges. The gate comes later (wrapGate), once the
// dialer that uses the connector exists.
func startAgents(ctx context.Context, st store, drivers map[string]dialer.Driver, logger *slog.Logger, reg prometheus.Registerer) (*liveAgents, error) {
	la := &liveAgents{}
	roster, err := agents.NewRoster(agents.Options{})
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	la.roster = roster
	if as, ok := st.(engine.AgentStore); ok {
		la.store = as
		if err := api.LoadAgents(ctx, as, roster); err != nil {
			return nil, fmt.Errorf("agents: %w", err)
		}
	}
	ledger := predictive.NewLedger()
	if err := seedLedger(ctx, st, ledger, time.Now()); err != nil {
		return nil, err
	}
	la.pacer, err = predictive.NewPacer(predictive.Config{}, predictive.Estimates{}, ledger, reg)
	if err != nil {
		return nil, fmt.Errorf("predictive: %w", err)
	}
	la.connector, err = agents.NewQueueConnector(agents.ConnectorOptions{Roster: roster, Inner: dialer.DriverConnector(drivers),
		Registerer: reg, Logger: logger.With("component", "agents")})
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	// Wrap-ups end and reservations expire on the roster's own schedule;
	// ticking delivers those state changes to the agents' streams on time.
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case now := <-t.C:
				roster.Tick(now)
			}
		}
	}()
	la.stop = func() { cancel(); <-done }
	return la, nil
}

// wrapGate puts the gate in front of the dialer: agent-mode calls wait for
// their agent there; agentless calls pass straight through.
func (la *liveAgents) wrapGate(d agents.Dialer, logger *slog.Logger, reg prometheus.Registerer) (*agents.Gate, error) {
	g, err := agents.NewGate(agents.GateOptions{Dialer: d, Connector: la.connector, Pacer: la.pacer,
		MaxWait: la.maxWait(), Registerer: reg, Logger: logger.With("component", "agents")})
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	la.gate = g
	return g, nil
}

// maxWait reads a queue's max_wait from the store, cached for a few
// seconds: the gate asks once per agent-mode call.
func (la *liveAgents) maxWait() func(string) time.Duration {
	type entry struct {
		d  time.Duration
		at time.Time
	}
	var mu sync.Mutex
	cache := map[string]entry{}
	return func(queue string) time.Duration {
		if la.store == nil || queue == "" {
			return 0
		}
		mu.Lock()
		e, ok := cache[queue]
		mu.Unlock()
		if ok && time.Since(e.at) < 10*time.Second {
			return e.d
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		q, err := la.store.GetQueue(ctx, queue)
		d := time.Duration(0) // the gate's default
		if err == nil {
			d = q.MaxWait.D()
		}
		mu.Lock()
		cache[queue] = entry{d: d, at: time.Now()}
		mu.Unlock()
		return d
	}
}

// seedLedger rebuilds the rolling 30-day abandonment ledger from the
// store's attempts, so a restart forgets nothing the law counts.
func seedLedger(ctx context.Context, st store, l *predictive.Ledger, now time.Time) error {
	rs, ok := st.(engine.ReadStore)
	if !ok {
		return nil
	}
	buckets, err := rs.AbandonmentHistory(ctx, now.Add(-30*24*time.Hour))
	if err != nil {
		return fmt.Errorf("abandonment history: %w", err)
	}
	for _, b := range buckets {
		for range b.Abandoned {
			l.Record(b.CadenceID, b.Hour, true)
		}
		for range b.Live - b.Abandoned {
			l.Record(b.CadenceID, b.Hour, false)
		}
	}
	return nil
}

// owners adapts the roster to the engine's owner assignment: round robin
// among the queue's logged-in agents, or a first-to-answer prompt whose
// accept the API records as the new owner.
type owners struct{ roster *agents.Roster }

func (o owners) RoundRobin(queue string) (string, error) {
	a, err := o.roster.AssignRoundRobin(queue, time.Now())
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

func (o owners) PromptOwner(queue, contactID, cadenceID, contact, script string) error {
	_, err := o.roster.Prompt(queue, agents.PromptInfo{Contact: contact, Script: script, ContactID: contactID, CadenceID: cadenceID}, time.Now())
	return err
}
