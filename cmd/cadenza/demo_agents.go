package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// demoTeamSize is the demo's sales floor: agents whose phones are the
// carrier simulator's agent lines (they answer, greet, listen and hang up
// after a few seconds), in both queues the example cadences connect people
// to. The demo dials without holding calls for agents (its clock runs fast,
// a person's does not), so the floor is as large as the most people who
// can answer at once, and nobody is abandoned; agents take no wrap-up.
const demoTeamSize = 20

// demoConnector logs the team in and returns the connector that bridges a
// person's answer to the longest-idle free agent of the call's queue
// through the SIP driver (a B2BUA relaying RTP both ways).
func demoConnector(simAddr string, drv dialer.Driver, logger *slog.Logger, reg prometheus.Registerer) (*agents.QueueConnector, error) {
	roster, err := agents.NewRoster(agents.Options{DefaultWrapUp: -1})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for i := range demoTeamSize {
		id := fmt.Sprintf("agent-%02d", i+1)
		err := roster.Add(agents.Agent{ID: id, Name: fmt.Sprintf("Agent %d", i+1), Destination: "sip:" + id + "@" + simAddr,
			Queues: []string{"sales", "inbound-leads"}})
		if err == nil {
			err = roster.Login(id, now)
		}
		if err != nil {
			return nil, fmt.Errorf("demo agent %s: %w", id, err)
		}
	}
	return agents.NewQueueConnector(agents.ConnectorOptions{Roster: roster,
		Inner: dialer.DriverConnector(map[string]dialer.Driver{demoTrunk: drv}), Registerer: reg, Logger: logger})
}

// isAgentLeg tells the simulator's records of the bridge legs to agents
// from the calls the dialer placed to contacts.
func isAgentLeg(r sim.CallRecord) bool { return strings.HasPrefix(r.To, "agent") }
