package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// zoneAtMidday picks a time zone where it is now between 10:00 and 18:00,
// so a call placed now is inside the legal window whatever the hour of the
// test run.
func zoneAtMidday(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "Europe/London", "Europe/Berlin", "Asia/Dubai", "Asia/Kolkata", "Asia/Bangkok", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo"} {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		if h := time.Now().In(loc).Hour(); h >= 10 && h < 18 {
			return name
		}
	}
	t.Fatal("no zone at midday")
	return ""
}

// e2eServer is a real `serve` on SQLite with the carrier simulator as its
// only trunk, and an admin key to call it with.
type e2eServer struct {
	sim  *sim.Simulator
	base string
}

const e2eAdmin = "cdz_e2e_admin_key_0123456789"

func startE2E(t *testing.T, extraYAML string) *e2eServer {
	t.Helper()
	s, err := sim.New(sim.Options{Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	host, port, _ := strings.Cut(s.Addr(), ":")

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "cadenza.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
http: {addr: "127.0.0.1:0"}
database: {url: "sqlite:%s"}
log: {level: warn}
trunks:
  - {name: sim, host: %s, port: %s, transport: udp, max_channels: 5, cps: 5}
pools:
  - name: main
    numbers: [{e164: "+12125550131"}, {e164: "+13125550132"}]
`, filepath.Join(dir, "e2e.db"), host, port)+extraYAML), 0o600))
	cfg, err := config.Load(cfgPath, func(k string) string {
		if k == "CADENZA_ADMIN_KEY" {
			return e2eAdmin
		}
		return ""
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, serveIO{out: io.Discard, log: io.Discard, ready: func(a string) { ready <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	select {
	case a := <-ready:
		return &e2eServer{sim: s, base: "http://" + a}
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	return nil
}

// call sends a JSON request with the admin key, checks the status and
// decodes the answer into out (when not nil).
func (e *e2eServer) call(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e2eAdmin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, data)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out))
	}
}

// The whole server, for real: an enrollment posted to the API is scheduled
// by the engine, claimed, dialed through pacing, caller ID and the native
// SIP driver to the carrier simulator, answered by a person (AMD hears the
// hello), and the outcome finishes the enrollment.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	e := startE2E(t, "")
	s := e.sim
	call := func(method, path string, body any, want int, out any) {
		t.Helper()
		e.call(t, method, path, body, want, out)
	}

	var trunks struct {
		Items []struct{ Name, Driver string }
	}
	call("GET", "/v1/trunks", nil, 200, &trunks)
	require.Equal(t, "sim", trunks.Items[0].Name)

	var cad struct{ ID string }
	call("POST", "/v1/cadences", map[string]any{
		"name": "e2e", "runs": map[string]any{"total": 1},
		"steps": []any{map[string]any{"name": "call", "type": "call", "timing": map[string]any{"delay": "0s"},
			"call": map[string]any{"caller_id": map[string]any{"strategy": "random", "pool": "main"}, "on_human": map[string]any{"action": "connect", "destination": "sip:agent-1@" + s.Addr()}}}},
	}, 201, &cad)
	call("POST", "/v1/cadences/"+cad.ID+"/activate", nil, 200, nil)

	var enr struct{ ID, Status string }
	call("POST", "/v1/cadences/"+cad.ID+"/enrollments", map[string]any{
		"contact": map[string]any{"phone": "+12125550100", "first_name": "Ada", "timezone": zoneAtMidday(t)},
	}, 201, &enr)

	require.Eventually(t, func() bool {
		call("GET", "/v1/enrollments/"+enr.ID, nil, 200, &enr)
		return enr.Status != "active"
	}, 40*time.Second, 200*time.Millisecond, "the enrollment finishes after its one call")
	require.Equal(t, "completed", enr.Status)

	// The customer call and, on the human answer, the bridge to the agent.
	var customer, agent *sim.CallRecord
	require.Eventually(t, func() bool {
		customer, agent = nil, nil
		for _, c := range s.Calls() {
			if strings.HasPrefix(c.To, "agent") {
				agent = &c
			} else {
				customer = &c
			}
		}
		return customer != nil && agent != nil && !agent.Hangup.IsZero()
	}, 20*time.Second, 100*time.Millisecond, "the human was bridged to the agent")
	require.Equal(t, 200, customer.FinalCode)
	require.Contains(t, []string{"+12125550131", "+13125550132"}, customer.From, "the caller ID came from the pool")
	require.Equal(t, 200, agent.FinalCode)
	require.Positive(t, agent.AgentReceivedMS, "the customer's audio reached the agent")
}
