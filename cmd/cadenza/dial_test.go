package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// These tests run `cadenza dial` in-process against the carrier simulator
// over real SIP and RTP on loopback: the whole dialer path (pacing, caller
// ID, SIP, RTP, AMD, voicemail drop) with real time audio.

func startSim(t *testing.T) *sim.Simulator {
	t.Helper()
	s, err := sim.New(sim.Options{Listen: "127.0.0.1:0", Ring: 100 * time.Millisecond, MaxCall: 20 * time.Second})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	return s
}

// runDialCmd runs the command with a test ring floor of 1 s and returns the
// JSON lines it printed.
func runDialCmd(t *testing.T, env map[string]string, args ...string) ([]dialLine, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return runDialCmdCtx(ctx, t, env, args...)
}

func runDialCmdCtx(ctx context.Context, t *testing.T, env map[string]string, args ...string) ([]dialLine, string, error) {
	t.Helper()
	cmd := newDialCommandWith(dialEnv{
		getenv:  func(k string) string { return env[k] },
		minRing: time.Second,
	})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true // as under the root command
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	var lines []dialLine
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var l dialLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), sc.Text())
		lines = append(lines, l)
	}
	return lines, stderr.String(), err
}

func rawLines(t *testing.T, lines []dialLine) string {
	b, err := json.Marshal(lines)
	require.NoError(t, err)
	return string(b)
}

func TestDialAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	uri := "sip:" + s.Addr()
	for _, tc := range []struct {
		name, to string
		args     []string
		disp     dialer.Disposition
		code     int
	}{
		{"human", "+15550100001", nil, dialer.Human, 200},
		{"busy", "+15550100007", nil, dialer.Busy, 486},
		{"invalid", "+15550100009", nil, dialer.InvalidNumber, 404},
		{"no answer", "+15550100008", []string{"--ring-timeout", "1s"}, dialer.NoAnswer, 0},
		{"rejected", "+19991000001", nil, dialer.Rejected, 603},
		{"503 retry-after", "+19990000001", nil, dialer.Failed, 503},
		{"SIT in early media", "+19993000001", nil, dialer.InvalidNumber, 0},
		{"early media then human", "+19992000001", nil, dialer.Human, 200},
		{"human hangs up", "+19996000001", nil, dialer.Human, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--trunk-uri", uri, "--to", tc.to, "--from", "+15557650000"}, tc.args...)
			lines, stderr, err := runDialCmd(t, nil, args...)
			require.NoError(t, err, stderr)
			require.Len(t, lines, 1, stderr)
			o := lines[0]
			require.Equal(t, tc.disp, o.Disposition, rawLines(t, lines))
			require.Equal(t, tc.to, o.To)
			require.Equal(t, "+15557650000", o.CallerID)
			require.False(t, o.Timings.Queued.IsZero())
			require.False(t, o.Timings.InviteSent.IsZero())
			require.False(t, o.Timings.Hangup.IsZero())
			if tc.code != 0 {
				require.Equal(t, tc.code, o.SIPCode)
			}
			if tc.disp == dialer.Human {
				require.Equal(t, "human", o.AMD.Verdict)
				require.False(t, o.Timings.Answered.IsZero())
				require.NotNil(t, o.AnswerMS)
			}
			switch tc.name {
			case "503 retry-after":
				require.Positive(t, o.RetryAfter)
			case "SIT in early media":
				require.Contains(t, o.Detail, "SIT")
			}
			if tc.name == "no answer" {
				// Rang for the (test) ring timeout of 1 s, then CANCEL.
				rang := o.Timings.Hangup.Sub(o.Timings.InviteSent)
				require.GreaterOrEqual(t, rang, time.Second)
				require.Less(t, rang, 5*time.Second)
			}
		})
	}
}

func TestDialVoicemailDropAfterBeep(t *testing.T) {
	t.Parallel()
	wav := filepath.Join(t.TempDir(), "message.wav")
	writeToneWAV(t, wav, 1500*time.Millisecond)
	for _, tc := range []struct{ name, to string }{
		{"greeting 1.5s", "+15550100004"},
		{"greeting 3s", "+15550100005"},
		{"greeting 6s", "+15550100006"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t)
			lines, stderr, err := runDialCmd(t, nil,
				"--trunk-uri", "sip:"+s.Addr()+";transport=udp",
				"--to", tc.to,
				"--from", "+15557650000",
				"--amd-profile", "voicemail_drop",
				"--voicemail", wav)
			require.NoError(t, err, stderr)
			require.Len(t, lines, 1)
			o := lines[0]
			require.Equal(t, dialer.Voicemail, o.Disposition, rawLines(t, lines))
			require.NotNil(t, o.Voicemail)
			require.Equal(t, "beep", o.Voicemail.Trigger, rawLines(t, lines))
			require.True(t, o.Voicemail.Complete)
			require.InDelta(t, 1.5, o.Voicemail.SecondsPlayed, 0.1)
			require.Positive(t, o.Voicemail.BeepMS)

			// What really happened on the line, from the simulator's side.
			require.Eventually(t, func() bool { return len(s.Calls()) == 1 }, 10*time.Second, 10*time.Millisecond)
			rec := s.Calls()[0]
			require.Equal(t, sim.Voicemail, rec.Behavior)
			require.NotNil(t, rec.MessageStartMS, "the simulator heard no message")
			t.Logf("beep end %d ms after answer (dialer); message started %d ms after the beep ended, %d ms long (simulator)",
				o.Voicemail.BeepMS, *rec.MessageStartMS, rec.MessageMS)
			require.GreaterOrEqual(t, *rec.MessageStartMS, int64(0), "message started %d ms before the beep ended", -*rec.MessageStartMS)
			require.Less(t, *rec.MessageStartMS, int64(1500), "the message follows the beep promptly")
			require.False(t, rec.Clipped)
			require.InDelta(t, 1500, rec.MessageMS, 300)
			require.Equal(t, "caller", rec.HangupBy)
		})
	}
}

func TestDialCountAndCPS(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	start := time.Now()
	lines, stderr, err := runDialCmd(t, nil,
		"--trunk-uri", "sip:"+s.Addr(), "--to", "+15550100007", "--from", "+15557650000",
		"--count", "4", "--cps", "10")
	require.NoError(t, err, stderr)
	require.Len(t, lines, 4)
	var invites []time.Time
	ids := map[string]bool{}
	for _, l := range lines {
		require.Equal(t, dialer.Busy, l.Disposition)
		invites = append(invites, l.Timings.InviteSent)
		ids[l.CallID] = true
	}
	require.Len(t, ids, 4)
	// 4 calls at 10 cps: the last INVITE is at least ~300 ms after the first.
	first, last := invites[0], invites[0]
	for _, ts := range invites {
		if ts.Before(first) {
			first = ts
		}
		if ts.After(last) {
			last = ts
		}
	}
	require.GreaterOrEqual(t, last.Sub(first), 250*time.Millisecond)
	require.Less(t, time.Since(start), 20*time.Second)
	// The simulator logs a call when its transaction is done: poll.
	require.Eventually(t, func() bool { return len(s.Calls()) == 4 }, 10*time.Second, 10*time.Millisecond)
}

func TestDialDigestAuthFromEnvironment(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	lines, stderr, err := runDialCmd(t, map[string]string{"CADENZA_DIAL_PASSWORD": "secret"},
		"--trunk-uri", "sip:"+s.Addr(), "--username", "cadenza",
		"--to", "+19994000001", "--from", "+15557650000") // auth behaviour
	require.NoError(t, err, stderr)
	require.Len(t, lines, 1)
	require.Equal(t, dialer.Human, lines[0].Disposition, rawLines(t, lines))
	require.Eventually(t, func() bool { return len(s.Calls()) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.True(t, s.Calls()[0].Authenticated)
}

func TestDialFlagErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--trunk-uri", "sip:127.0.0.1:5999", "--from", "+15557650000"}, "--to: required"},
		{[]string{"--to", "+15550100001", "--from", "+15557650000"}, "--trunk-uri: required"},
		{[]string{"--trunk-uri", "sip:127.0.0.1", "--to", "+15550100001"}, "--from: required"},
		{[]string{"--config", "x.yaml", "--to", "+15550100001", "--from", "+15557650000"}, "--trunk: required with --config"},
		{[]string{"--trunk-uri", "sip:127.0.0.1", "--pool", "p", "--to", "+15550100001"}, "--pool: caller-ID pools come from --config"},
		{[]string{"--config", "/nonexistent.yaml", "--trunk", "t", "--to", "+15550100001", "--from", "+15557650000"}, "--config /nonexistent.yaml"},
		{[]string{"--trunk-uri", "sip:127.0.0.1", "--to", "+1555", "--from", "+15557650000", "--count", "0"}, "--count: must be ≥ 1"},
		{[]string{"--trunk-uri", "sip:127.0.0.1", "--to", "+15550100001", "--from", "+15557650000", "--cps", "0"}, "--cps: must be > 0"},
		{[]string{"--trunk-uri", "sip:127.0.0.1", "--to", "+15550100001", "--from", "+15557650000", "--amd-profile", "psychic"}, "--amd-profile"},
		{[]string{"--trunk-uri", "http://x", "--to", "+15550100001", "--from", "+15557650000"}, "trunk_uri"},
		{[]string{"--trunk-uri", "sip:127.0.0.1", "--to", "+15550100001", "--from", "+15557650000", "--voicemail", "/nonexistent.wav"}, "--voicemail"},
	} {
		_, _, err := runDialCmd(t, nil, tc.args...)
		require.ErrorContains(t, err, tc.want, strings.Join(tc.args, " "))
	}
}

func writeToneWAV(t *testing.T, path string, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * 8000)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, audio.EncodeWAV(f, pcm))
	require.NoError(t, f.Close())
}

func TestDialConfigTrunkAndPool(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	host, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	dir := t.TempDir()
	// The server configuration, with its trunks and pools in an included
	// file, as configs/cadenza.yaml does.
	cfg := filepath.Join(dir, "cadenza.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`include:
  - trunks.yaml
pools:
  - name: test
    strategy: rotating
    numbers:
      - e164: "+12125550101"
      - e164: "+13055550103"
`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trunks.yaml"), []byte(`trunks:
  - name: other
    host: 192.0.2.1
  - name: simtrunk
    host: `+host+`
    port: `+port+`
    transport: udp
    username: cadenza
    password_env: SIM_PASSWORD
    cps: 20
    max_channels: 2
`), 0o600))
	lines, stderr, err := runDialCmd(t, map[string]string{"SIM_PASSWORD": "secret"},
		"--config", cfg, "--trunk", "simtrunk", "--pool", "test",
		"--to", "+19994000002", "--count", "2") // digest auth behaviour: the password came from password_env
	require.NoError(t, err, stderr)
	require.Len(t, lines, 2)
	froms := map[string]bool{}
	for _, l := range lines {
		require.Equal(t, dialer.Human, l.Disposition, rawLines(t, lines))
		require.Equal(t, "simtrunk", l.Trunk)
		froms[l.CallerID] = true
	}
	require.Equal(t, map[string]bool{"+12125550101": true, "+13055550103": true}, froms, "rotating over the pool")
	require.Eventually(t, func() bool { return len(s.Calls()) == 2 }, 10*time.Second, 10*time.Millisecond)
	for _, rec := range s.Calls() {
		require.True(t, rec.Authenticated)
	}

	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"SIM_PASSWORD": "secret"}, []string{"--trunk", "nope"}, `--trunk: no trunk "nope"`},
		{nil, []string{"--trunk", "simtrunk"}, "SIM_PASSWORD"},
		{map[string]string{"SIM_PASSWORD": "secret"}, []string{"--trunk", "simtrunk", "--pool", "nope"}, `--pool: no pool "nope"`},
	} {
		args := append([]string{"--config", cfg, "--to", "+15550100001", "--from", "+15557650000"}, tc.args...)
		_, _, err = runDialCmd(t, tc.env, args...)
		require.ErrorContains(t, err, tc.want)
	}
}

// Ctrl-C (the command's context ends) hangs up the calls in flight and
// still prints their outcomes.
func TestDialInterruptCancelsRingingCall(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	lines, stderr, err := runDialCmdCtx(ctx, t, nil,
		"--trunk-uri", "sip:"+s.Addr(), "--to", "+15550100008", "--from", "+15557650000", "--ring-timeout", "30s")
	require.NoError(t, err, stderr)
	require.Less(t, time.Since(start), 10*time.Second)
	require.Len(t, lines, 1)
	require.Equal(t, dialer.NoAnswer, lines[0].Disposition, rawLines(t, lines))
	require.Contains(t, lines[0].Detail, "hung up: cancelled")
	require.Contains(t, stderr, "1 call(s): no_answer 1")
	require.Eventually(t, func() bool { return len(s.Calls()) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.True(t, s.Calls()[0].Cancelled, "the simulator saw a CANCEL")
}
