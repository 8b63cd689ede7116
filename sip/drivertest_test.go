package sip_test

import (
	"testing"

	"github.com/cadenza-dialer/cadenza/dialer/drivertest"
	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// simNumbers maps the conformance suite's behaviours onto the simulator's
// number table.
var simNumbers = map[drivertest.Behaviour]string{
	drivertest.Human:    "+15550000001",
	drivertest.HangsUp:  "+19996000001",
	drivertest.Busy:     "+15550000007",
	drivertest.NoAnswer: "+15550000008",
	drivertest.Invalid:  "+15550000009",
	drivertest.Rejected: "+19991000001",
	drivertest.Failure:  "+19990000001",
}

func TestDriverConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) drivertest.Env {
		r := newRig(t, sim.Options{}, sip.Trunk{})
		return drivertest.Env{
			Driver: r.drv,
			Trunk:  "sim",
			Number: func(b drivertest.Behaviour) string { return simNumbers[b] },
			FarEnd: func(to string) (drivertest.FarEndCall, bool) {
				calls := r.sim.Calls()
				for i := len(calls) - 1; i >= 0; i-- {
					c := calls[i]
					if c.To != to {
						continue
					}
					by := map[string]string{"caller": "us", "sim": "far_end"}[c.HangupBy]
					return drivertest.FarEndCall{Answered: !c.Answered.IsZero(), HungUpBy: by, MessageMS: int(c.CallerVoicedMS)}, true
				}
				return drivertest.FarEndCall{}, false
			},
		}
	})
}
