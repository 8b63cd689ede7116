package ari

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/drivertest"
)

// TestRealAsterisk runs the shared driver scenarios against a running
// Asterisk (deploy/asterisk, with the cadenza-test dialplan context), when
// CADENZA_TEST_ARI_URL points at one. Asterisk is not packaged for this
// project's test machines, so make test does not start one.
//
//	CADENZA_TEST_ARI_URL=http://127.0.0.1:8088/ari CADENZA_TEST_ARI_USER=cadenza \
//	CADENZA_TEST_ARI_PASSWORD=… go test ./dialer/ari -run TestRealAsterisk
func TestRealAsterisk(t *testing.T) {
	url := os.Getenv("CADENZA_TEST_ARI_URL")
	if url == "" {
		t.Skip("CADENZA_TEST_ARI_URL not set: no Asterisk to test against (optional; see deploy/asterisk)")
	}
	endpoint := os.Getenv("CADENZA_TEST_ARI_ENDPOINT")
	if endpoint == "" {
		endpoint = "Local/{number}@cadenza-test"
	}
	numbers := map[drivertest.Behaviour]string{
		drivertest.Human: "+15550000010", drivertest.HangsUp: "+15550000011", drivertest.Busy: "+15550000007",
		drivertest.NoAnswer: "+15550000008", drivertest.Invalid: "+15550000009", drivertest.Rejected: "+15550000006",
		drivertest.Failure: "+15550000005",
	}
	drivertest.Run(t, func(t *testing.T) drivertest.Env {
		drv, err := New(Options{URL: url, Username: os.Getenv("CADENZA_TEST_ARI_USER"), Password: os.Getenv("CADENZA_TEST_ARI_PASSWORD"),
			App: "cadenza-test", Trunks: []Trunk{{Name: "asterisk", Endpoint: endpoint}}, MediaHost: os.Getenv("CADENZA_TEST_ARI_MEDIA_HOST")})
		require.NoError(t, err)
		require.NoError(t, drv.Start(context.Background()))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, drv.WaitConnected(ctx))
		t.Cleanup(drv.Stop)
		return drivertest.Env{Driver: drv, Trunk: "asterisk", Number: func(b drivertest.Behaviour) string { return numbers[b] }}
	})
}
