package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParsePortRange(t *testing.T) {
	t.Parallel()
	lo, hi, err := parsePortRange("20000-20999")
	require.NoError(t, err)
	require.Equal(t, 20000, lo)
	require.Equal(t, 20999, hi)
	lo, hi, err = parsePortRange("")
	require.NoError(t, err)
	require.Zero(t, lo+hi)
	for _, bad := range []string{"1-2", "20000", "30000-20000", "a-b", "20000-70000"} {
		_, _, err := parsePortRange(bad)
		require.ErrorContains(t, err, "--rtp-ports", bad)
	}
}

func TestSimCommandStartsAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cmd := newSimCommand()
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0"})
	require.NoError(t, cmd.ExecuteContext(ctx))
	require.Contains(t, stderr.String(), "carrier simulator listening on 127.0.0.1:")
	cmd = newSimCommand()
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"--rtp-ports", "5-6"})
	require.ErrorContains(t, cmd.ExecuteContext(ctx), "--rtp-ports")
	cmd = newSimCommand()
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"--tls-listen", "127.0.0.1:0"})
	require.ErrorContains(t, cmd.ExecuteContext(ctx), "needs --tls-cert")
	cmd = newSimCommand()
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"--tls-listen", "127.0.0.1:0", "--tls-cert", "nope.pem", "--tls-key", "nope.key"})
	require.ErrorContains(t, cmd.ExecuteContext(ctx), "--tls-cert")
}
