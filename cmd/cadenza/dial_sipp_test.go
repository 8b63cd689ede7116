package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// TestDialSippConfigTrunk is issue #4's "done when": `cadenza dial --config
// FILE --trunk NAME` through a configured trunk to a real sipp UAS reports
// human for an answered call, busy for 486 and no_answer for a ring timeout,
// honours --cps (checked on the INVITEs sipp received), and sipp's own
// message log and statistics agree with our outcomes call by call. The same
// is then done against `cadenza sim`, compared with its JSON call log.
//
// The ring timeout is 1 s here: runDialCmd lowers the dialer's ring floor
// for tests only; the command's production floor stays the legal 15 s.
func TestDialSippConfigTrunk(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		scenario string
		count    int
		cps      int
		args     []string
		disp     dialer.Disposition
		code     int
	}{
		// sipp answers, streams a short "Hello?" then silence, waits for BYE.
		{"answered is human", "sipp_uas_human.xml", 2, 2, nil, dialer.Human, 200},
		// 100, 486 Busy Here. More calls here to see the pacing.
		{"486 is busy", "sipp_uas_busy.xml", 6, 3, nil, dialer.Busy, 486},
		// 180 until our CANCEL, then 487.
		{"ring timeout is no_answer", "sipp_uas_ring.xml", 2, 2, []string{"--ring-timeout", "1s"}, dialer.NoAnswer, 487},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			uas := startSippUAS(t, tc.scenario, tc.count)
			// The trunk's own cps (1) is overridden by --cps.
			cfg := writeTrunkConfig(t, "127.0.0.1", uas.port, 1)
			args := append([]string{"--config", cfg, "--trunk", "carrier", "--to", "+15550100001", "--from", "+15557650000",
				"--count", strconv.Itoa(tc.count), "--cps", strconv.Itoa(tc.cps)}, tc.args...)
			lines, stderr, err := runDialCmd(t, nil, args...)
			require.NoError(t, err, stderr)
			require.Len(t, lines, tc.count, stderr)
			require.NoError(t, uas.wait(t), "sipp failed: %s", uas.out.String())

			// Our outcomes.
			for _, l := range lines {
				require.Equal(t, tc.disp, l.Disposition, rawLines(t, lines))
				require.Equal(t, "carrier", l.Trunk)
				require.Equal(t, "+15550100001", l.To)
				require.Equal(t, "+15557650000", l.CallerID)
				require.Equal(t, tc.code, l.SIPCode, rawLines(t, lines))
				if tc.disp == dialer.Human {
					require.Equal(t, "human", l.AMD.Verdict, rawLines(t, lines))
					require.NotNil(t, l.AnswerMS)
				}
				if tc.disp == dialer.NoAnswer {
					rang := l.Timings.Hangup.Sub(l.Timings.InviteSent)
					require.GreaterOrEqual(t, rang, time.Second, "rang for the ring timeout")
					require.Less(t, rang, 5*time.Second)
				}
			}

			// What sipp saw, call by call (matched on our X-Cadenza-Attempt).
			calls := uas.calls(t)
			require.Len(t, calls, tc.count, "sipp saw a different number of calls")
			var invites []time.Time
			for _, l := range lines {
				c, ok := calls[l.CallID]
				require.True(t, ok, "sipp never saw attempt %s", l.CallID)
				invites = append(invites, c.invite)
				require.Equal(t, "+15550100001", c.to, "E.164 on the wire (no number format rules)")
				require.Positive(t, c.invites)
				require.Equal(t, tc.code, c.final, "final response sipp sent for %s", l.CallID)
				switch tc.disp {
				case dialer.Human:
					require.True(t, c.bye, "we hung up the answered call with BYE")
					require.False(t, c.cancel)
				case dialer.Busy:
					require.True(t, c.ack, "we ACKed the 486")
					require.False(t, c.cancel || c.bye)
				case dialer.NoAnswer:
					require.True(t, c.cancel, "the ring timeout sent CANCEL")
					require.True(t, c.ack, "we ACKed the 487")
					require.False(t, c.bye)
				}
			}
			requirePaced(t, invites, tc.cps)

			// sipp's own statistics: every call completed its scenario.
			ok, failed := uas.stats(t)
			require.Equal(t, tc.count, ok, "sipp successful calls")
			require.Zero(t, failed, "sipp failed calls")
		})
	}

	t.Run("cadenza sim call log", func(t *testing.T) {
		t.Parallel()
		testDialSimCallLog(t)
	})
}

// testDialSimCallLog dials human, busy and no-answer numbers through a
// configured trunk to `cadenza sim` and checks its JSON call log call by
// call, and the pacing on the simulator's INVITE times.
func testDialSimCallLog(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "calls.jsonl")
	ctx, stop := context.WithCancel(context.Background())
	simCmd := newSimCommand()
	var simErr sippLockedBuf
	simCmd.SetErr(&simErr)
	simCmd.SetOut(&simErr)
	simCmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--log", logPath, "--ring", "100ms", "--max-call", "20s"})
	done := make(chan error, 1)
	go func() { done <- simCmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		stop()
		<-done
	})
	addrRE := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	var addr string
	require.Eventually(t, func() bool {
		m := addrRE.FindStringSubmatch(simErr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, "cadenza sim did not start: %s", simErr.String())
	host, portS, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(portS)
	require.NoError(t, err)
	cfg := writeTrunkConfig(t, host, port, 1)

	const cps = 2
	want := map[string]struct {
		disp     dialer.Disposition
		behavior sim.Kind
		code     int
	}{
		"+15550100001": {dialer.Human, sim.Human, 200},
		"+15550100007": {dialer.Busy, sim.Busy, 486},
		"+15550100008": {dialer.NoAnswer, sim.NoAnswer, 487},
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []dialLine
	)
	for to := range want {
		wg.Go(func() {
			lines, stderr, err := runDialCmd(t, nil, "--config", cfg, "--trunk", "carrier", "--to", to,
				"--from", "+15557650000", "--count", "2", "--cps", strconv.Itoa(cps), "--ring-timeout", "1s")
			if !assertNoErr(t, err, stderr) {
				return
			}
			mu.Lock()
			all = append(all, lines...)
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Len(t, all, 6)

	// The log is written when each call's transaction is done: poll.
	var recs []sim.CallRecord
	require.Eventually(t, func() bool {
		recs = readSimLog(t, logPath)
		return len(recs) >= 6
	}, 10*time.Second, 20*time.Millisecond)
	require.Len(t, recs, 6)
	// Each run of the command names its calls dial-1, dial-2: match on
	// (number, attempt).
	byKey := map[string]sim.CallRecord{}
	for _, r := range recs {
		byKey[r.To+"/"+r.Attempt] = r
	}
	perRun := map[string][]time.Time{}
	for _, l := range all {
		w := want[l.To]
		require.Equal(t, w.disp, l.Disposition, rawLines(t, all))
		r, ok := byKey[strings.TrimPrefix(l.To, "+")+"/"+l.CallID]
		if !ok {
			r, ok = byKey[l.To+"/"+l.CallID]
		}
		require.True(t, ok, "no call log record for %s %s in %v", l.To, l.CallID, recs)
		require.Equal(t, w.behavior, r.Behavior)
		require.Equal(t, w.code, r.FinalCode)
		require.Equal(t, "+15557650000", "+"+strings.TrimPrefix(r.From, "+"))
		switch w.disp {
		case dialer.Human:
			require.Equal(t, 200, l.SIPCode)
			require.False(t, r.Answered.IsZero())
			require.Equal(t, "caller", r.HangupBy, "we hung up")
			require.Positive(t, r.PacketsIn, "our RTP reached the simulator")
			require.Positive(t, r.PacketsOut)
		case dialer.Busy:
			require.Equal(t, 486, l.SIPCode)
			require.True(t, r.Answered.IsZero())
		case dialer.NoAnswer:
			require.True(t, r.Cancelled, "the simulator saw our CANCEL")
			require.True(t, r.Answered.IsZero())
		}
		perRun[l.To] = append(perRun[l.To], r.Invited)
	}
	for to, invites := range perRun {
		t.Logf("%s: INVITEs at the simulator %v apart", to, sippSpan(invites))
		requirePaced(t, invites, cps)
	}
}

func assertNoErr(t *testing.T, err error, stderr string) bool {
	t.Helper()
	if err != nil {
		t.Errorf("dial: %v\n%s", err, stderr)
		return false
	}
	return true
}

func readSimLog(t *testing.T, path string) []sim.CallRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var recs []sim.CallRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var r sim.CallRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			return nil // a line still being written
		}
		recs = append(recs, r)
	}
	return recs
}

// writeTrunkConfig writes a configuration with one SIP trunk "carrier".
func writeTrunkConfig(t *testing.T, host string, port, cps int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cadenza.yaml")
	require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, `trunks:
  - name: carrier
    host: %s
    port: %d
    transport: udp
    cps: %d
    max_channels: 10
`, host, port, cps), 0o600))
	return path
}

// sippWindowSlack is how much earlier than a second apart two INVITEs may
// arrive and still count as a second apart: the pacer spaces them exactly,
// loopback delivery and scheduling add a few milliseconds of jitter.
const sippWindowSlack = 50 * time.Millisecond

// requirePaced checks that no window of one second (less the slack) holds
// more than cps INVITEs, and that the calls were not spread much more
// thinly than cps asks (the trunk's configured cps of 1 would be).
func requirePaced(t *testing.T, invites []time.Time, cps int) {
	t.Helper()
	ts := slices.Clone(invites)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	for i := range ts {
		n := 0
		for j := i; j < len(ts) && ts[j].Sub(ts[i]) < time.Second-sippWindowSlack; j++ {
			n++
		}
		require.LessOrEqual(t, n, cps, "%d INVITEs within a second from %s (cps %d): %v", n, ts[i].Format(time.StampMicro), cps, ts)
	}
	span := sippSpan(ts)
	wantMin := time.Duration(float64(len(ts)-1) / float64(cps) * float64(time.Second))
	require.GreaterOrEqual(t, span, wantMin-sippWindowSlack, "paced at --cps %d", cps)
	require.Less(t, span, wantMin+time.Second, "--cps %d overrides the trunk's cps of 1", cps)
}

func sippSpan(ts []time.Time) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	lo, hi := slices.MinFunc(ts, time.Time.Compare), slices.MaxFunc(ts, time.Time.Compare)
	return hi.Sub(lo)
}

// sippUAS is one sipp process playing the far end of the trunk, with its
// message log and statistics in files.
type sippUAS struct {
	port    int
	dir     string
	done    chan error
	out     *sippLockedBuf
	msgLog  string
	statLog string
}

func sippBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("sipp not found: %v", err)
		}
		t.Skip("sipp not installed; make test installs it (Debian sip-tester)")
	}
	return p
}

func sippFreePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startSippUAS runs scenario (from testdata) for exactly calls calls.
func startSippUAS(t *testing.T, scenario string, calls int) *sippUAS {
	t.Helper()
	bin := sippBinary(t)
	td, err := filepath.Abs("testdata")
	require.NoError(t, err)
	dir := t.TempDir()
	u := &sippUAS{port: sippFreePort(t), dir: dir, done: make(chan error, 1), out: &sippLockedBuf{},
		msgLog: filepath.Join(dir, "messages.log"), statLog: filepath.Join(dir, "stat.csv")}
	cmd := exec.Command(bin, "-sf", filepath.Join(td, scenario),
		"-i", "127.0.0.1", "-p", strconv.Itoa(u.port), "-mp", strconv.Itoa(sippFreePort(t)),
		"-m", strconv.Itoa(calls), "-nostdin", "-timeout", "30s", "-timeout_error",
		"-trace_msg", "-message_file", u.msgLog,
		"-trace_stat", "-stf", u.statLog, "-fd", "1")
	cmd.Dir = td // rtp_stream files are relative to it
	cmd.Stdout, cmd.Stderr = u.out, u.out
	require.NoError(t, cmd.Start())
	go func() { u.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-u.done
	})
	// sipp binds its port shortly after starting: wait until it is taken.
	require.Eventually(t, func() bool {
		c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(u.port)))
		if err != nil {
			return true
		}
		c.Close()
		return false
	}, 10*time.Second, 10*time.Millisecond, "sipp did not bind: %s", u.out.String())
	return u
}

// wait returns sipp's exit status: nil when every call succeeded.
func (u *sippUAS) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-u.done:
		u.done <- err
		return err
	case <-time.After(40 * time.Second):
		t.Fatalf("sipp did not finish:\n%s", u.out.String())
	}
	return nil
}

// sippCall is one call as sipp's message log tells it.
type sippCall struct {
	to                    string
	invite                time.Time // first INVITE received
	invites               int
	final                 int // final response sent to the INVITE
	ack, cancel, bye      bool
	callID, attemptHeader string
}

var (
	sippSepRE  = regexp.MustCompile(`^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)`)
	sippRURIRE = regexp.MustCompile(`^INVITE sip:([^@;>]+)@`)
)

// calls parses sipp's message log into calls keyed by our attempt ID.
func (u *sippUAS) calls(t *testing.T) map[string]*sippCall {
	t.Helper()
	data, err := os.ReadFile(u.msgLog)
	require.NoError(t, err)
	type msg struct {
		at       time.Time
		received bool
		lines    []string
	}
	var msgs []*msg
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := sippSepRE.FindStringSubmatch(line); m != nil {
			at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", m[1], time.Local)
			require.NoError(t, err, line)
			msgs = append(msgs, &msg{at: at})
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		cur := msgs[len(msgs)-1]
		switch {
		case len(cur.lines) == 0 && strings.Contains(line, "message received"):
			cur.received = true
		case len(cur.lines) == 0 && strings.Contains(line, "message sent"):
		case len(cur.lines) == 0 && line == "":
		default:
			cur.lines = append(cur.lines, line)
		}
	}
	header := func(m *msg, name string) string {
		for _, l := range m.lines {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	byCallID := map[string]*sippCall{}
	for _, m := range msgs {
		if len(m.lines) == 0 {
			continue
		}
		id := header(m, "Call-ID")
		c := byCallID[id]
		if c == nil {
			c = &sippCall{callID: id}
			byCallID[id] = c
		}
		first := m.lines[0]
		method := strings.Fields(header(m, "CSeq"))
		switch {
		case m.received && strings.HasPrefix(first, "INVITE "):
			c.invites++
			if c.invite.IsZero() {
				c.invite = m.at
			}
			if r := sippRURIRE.FindStringSubmatch(first); r != nil {
				c.to = r[1]
			}
			c.attemptHeader = header(m, "X-Cadenza-Attempt")
		case m.received && strings.HasPrefix(first, "ACK "):
			c.ack = true
		case m.received && strings.HasPrefix(first, "CANCEL "):
			c.cancel = true
		case m.received && strings.HasPrefix(first, "BYE "):
			c.bye = true
		case !m.received && strings.HasPrefix(first, "SIP/2.0 ") && len(method) == 2 && method[1] == "INVITE":
			code, err := strconv.Atoi(strings.Fields(first)[1])
			require.NoError(t, err, first)
			if code >= 200 {
				c.final = code
			}
		}
	}
	out := map[string]*sippCall{}
	for _, c := range byCallID {
		require.NotEmpty(t, c.attemptHeader, "INVITE %s without X-Cadenza-Attempt", c.callID)
		out[c.attemptHeader] = c
	}
	return out
}

// stats reads sipp's final statistics line: successful and failed calls.
func (u *sippUAS) stats(t *testing.T) (ok, failed int) {
	t.Helper()
	data, err := os.ReadFile(u.statLog)
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.GreaterOrEqual(t, len(rows), 2, "sipp statistics: %s", data)
	head := strings.Split(rows[0], ";")
	last := strings.Split(rows[len(rows)-1], ";")
	col := func(name string) int {
		i := slices.Index(head, name)
		require.GreaterOrEqual(t, i, 0, "no %s column in sipp statistics", name)
		require.Less(t, i, len(last))
		v, err := strconv.Atoi(last[i])
		require.NoError(t, err, name)
		return v
	}
	return col("SuccessfulCall(C)"), col("FailedCall(C)")
}

// sippLockedBuf is a bytes.Buffer safe for a writer and a reader in
// different goroutines.
type sippLockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *sippLockedBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *sippLockedBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
