package ari

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/ari/aritest"
	"github.com/cadenza-dialer/cadenza/dialer/drivertest"
)

// The shared driver scenarios, against the fake Asterisk.
func TestDriverScenarios(t *testing.T) {
	t.Parallel()
	numbers := map[drivertest.Behaviour]string{
		drivertest.Human:    "+15550000010",
		drivertest.HangsUp:  "+15550000011",
		drivertest.Busy:     "+15550000007",
		drivertest.NoAnswer: "+15550000008",
		drivertest.Invalid:  "+15550000009",
		drivertest.Rejected: "+15550000006",
		drivertest.Failure:  "+15550000005",
	}
	drivertest.Run(t, func(t *testing.T) drivertest.Env {
		fake := aritest.New("cadenza", "s3cret", scripts)
		drv, err := New(Options{URL: fake.URL(), Username: "cadenza", Password: "s3cret", App: "cadenza",
			Trunks: []Trunk{{Name: "carrier", Endpoint: "PJSIP/{number}@carrier"}}})
		require.NoError(t, err)
		require.NoError(t, drv.Start(context.Background()))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, drv.WaitConnected(ctx))
		t.Cleanup(func() {
			drv.Stop()
			fake.Close()
		})
		return drivertest.Env{
			Driver: drv,
			Trunk:  "carrier",
			Number: func(b drivertest.Behaviour) string { return numbers[b] },
			FarEnd: func(to string) (drivertest.FarEndCall, bool) {
				recs := fake.Records()
				for i := len(recs) - 1; i >= 0; i-- {
					if strings.Contains(recs[i].Endpoint, to) {
						r := recs[i]
						return drivertest.FarEndCall{Answered: r.Answered, HungUpBy: r.HungUpBy, MessageMS: r.MessageMS}, true
					}
				}
				return drivertest.FarEndCall{}, false
			},
		}
	})
}
