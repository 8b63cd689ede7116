package sqlite_test

import (
	"testing"

	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestAgentsConformance(t *testing.T) {
	storetest.RunAgents(t, func(t *testing.T) storetest.AgentStore { return newStore(t) })
}
