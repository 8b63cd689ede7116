package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// demoTeamSize is the demo's sales floor: agents whose phones are the
// carrier simulator's agent lines (they answer, greet, listen and hang up
// after a few seconds), in both queues the example cadences connect people
// to. The demo dials without holding calls for agents (its clock runs fast,
// a person's does not), so the floor is as large as the most people who
// can answer at once, and nobody is abandoned; agents take no wrap-up.
const demoTeamSize = 20

// demoAgentNames are the sales floor's people: the store keeps them, so
// the cadences' round-robin owners are real agents and a text reads "this
// is Maya from Acme Solar".
var demoAgentNames = [demoTeamSize]string{
	"Maya Chen", "Diego Alvarez", "Priya Nair", "Sam Okafor", "Lena Fischer",
	"Tom Becker", "Aisha Khan", "Marco Rossi", "Hannah Lee", "Omar Haddad",
	"Grace Kim", "Luis Ortega", "Nora Walsh", "Ravi Patel", "Zoe Martin",
	"Ethan Brooks", "Ines Duarte", "Kofi Mensah", "Julia Novak", "Ben Carter",
}

// demoConnector stores the team, logs it in and returns the roster and the
// connector that bridges a person's answer to the longest-idle free agent
// of the call's queue through the SIP driver (a B2BUA relaying RTP both
// ways).
func demoConnector(ctx context.Context, st engine.AgentStore, simAddr string, drv dialer.Driver, logger *slog.Logger,
	reg prometheus.Registerer, now time.Time) (*agents.QueueConnector, *agents.Roster, error) {
	roster, err := agents.NewRoster(agents.Options{DefaultWrapUp: -1})
	if err != nil {
		return nil, nil, err
	}
	queues := []string{"sales", "inbound-leads"}
	for _, q := range queues {
		if _, err := st.CreateQueue(ctx, engine.Queue{Name: q,
			Description: "demo queue: simulated agents, who take no wrap-up time"}, now); err != nil {
			return nil, nil, fmt.Errorf("demo queue %s: %w", q, err)
		}
	}
	for i, name := range demoAgentNames {
		// The simulator answers any user starting with "agent" as an
		// agent's phone.
		dest := fmt.Sprintf("sip:agent-%02d@%s", i+1, simAddr)
		a, err := st.CreateAgent(ctx, engine.Agent{Name: name, Destination: dest, Queues: queues}, now)
		if err == nil {
			err = roster.Add(agents.Agent{ID: a.ID, Name: name, Destination: dest, Queues: queues})
		}
		if err == nil {
			err = roster.Login(a.ID, time.Now())
		}
		if err != nil {
			return nil, nil, fmt.Errorf("demo agent %s: %w", name, err)
		}
	}
	conn, err := agents.NewQueueConnector(agents.ConnectorOptions{Roster: roster,
		Inner: dialer.DriverConnector(map[string]dialer.Driver{demoTrunk: drv}), Registerer: reg, Logger: logger})
	return conn, roster, err
}

// isAgentLeg tells the simulator's records of the bridge legs to agents
// from the calls the dialer placed to contacts.
func isAgentLeg(r sim.CallRecord) bool { return strings.HasPrefix(r.To, "agent") }
