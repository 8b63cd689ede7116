package sip_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/cadenza-dialer/cadenza/sip/sim"
	"github.com/stretchr/testify/require"
)

// sippPath finds sipp or skips (fails under CADENZA_TEST_REQUIRE_SERVICES=1).
func sippPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("sipp not found: %v", err)
		}
		t.Skip("sipp not installed; make test installs it")
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sippRun is one sipp process running a scenario from testdata/sipp.
type sippRun struct {
	port int
	done chan error
	out  *bytes.Buffer
}

func startSipp(t *testing.T, scenario string, args ...string) *sippRun {
	t.Helper()
	bin := sippPath(t)
	r := &sippRun{port: freePort(t), done: make(chan error, 1), out: &bytes.Buffer{}}
	base := []string{"-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(r.port), "-mp", strconv.Itoa(freePort(t)),
		"-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error"}
	cmd := exec.Command(bin, append(base, args...)...)
	cmd.Dir = "testdata/sipp"
	cmd.Stdout, cmd.Stderr = r.out, r.out
	require.NoError(t, cmd.Start())
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.done
	})
	return r
}

// wait returns sipp's exit error (nil: every call succeeded).
func (r *sippRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(25 * time.Second):
		t.Fatalf("sipp did not finish:\n%s", r.out.String())
	}
	return nil
}

func sippDriver(t *testing.T, port int, trunk sip.Trunk) *sip.Driver {
	t.Helper()
	trunk.Name, trunk.Host, trunk.Port = "sipp", "127.0.0.1", port
	d, err := sip.NewDriver(sip.Options{Trunks: []sip.Trunk{trunk}, Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(d.Stop)
	return d
}

func TestSippAnswerWithAudio(t *testing.T) {
	t.Parallel()
	r := startSipp(t, "uas_answer_audio.xml")
	d := sippDriver(t, r.port, sip.Trunk{})
	sink := &audioSink{}
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sipp", To: "+15550000001", From: "+15551110000", RingTimeout: 10 * time.Second, OnAudio: sink.onAudio,
	})
	require.NoError(t, err)
	seen := waitEvent(t, leg, dialer.EventAnswered, 10*time.Second)
	require.Equal(t, dialer.EventAnswered, seen[len(seen)-1], "%v\n%s", seen, r.out)
	// sipp streams hello.ulaw (1.9 s of speech) as PCMU.
	require.Eventually(t, func() bool { _, v := sink.stats(); return v >= 20 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, leg.Hangup(context.Background()))
	require.Equal(t, "us", leg.Result().HangupBy)
	require.NoError(t, r.wait(t), r.out.String())
}

func TestSippEchoesOurRTP(t *testing.T) {
	t.Parallel()
	r := startSipp(t, "uas_answer_echo.xml", "-rtp_echo")
	d := sippDriver(t, r.port, sip.Trunk{})
	sink := &audioSink{}
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sipp", To: "+15550000001", From: "+15551110000", RingTimeout: 10 * time.Second, OnAudio: sink.onAudio,
	})
	require.NoError(t, err)
	waitEvent(t, leg, dialer.EventAnswered, 10*time.Second)
	msg, err := sim.MessageAudio()
	require.NoError(t, err)
	_, err = leg.Play(context.Background(), msg[:16000])
	require.NoError(t, err)
	// Everything that comes back is our own audio, echoed by sipp.
	require.Eventually(t, func() bool { n, v := sink.stats(); return n >= 12000 && v >= 20 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, leg.Hangup(context.Background()))
	require.NoError(t, r.wait(t), r.out.String())
}

func TestSippBusy(t *testing.T) {
	t.Parallel()
	r := startSipp(t, "uas_busy.xml")
	d := sippDriver(t, r.port, sip.Trunk{})
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sipp", To: "+15550000001", From: "+15551110000", RingTimeout: 10 * time.Second,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 15*time.Second)
	require.Equal(t, dialer.Busy, res.Disposition)
	require.Equal(t, 486, res.SIPCode)
	require.Equal(t, 17, res.Q850Cause)
	require.NoError(t, r.wait(t), r.out.String())
}

func TestSippDigestAuth(t *testing.T) {
	t.Parallel()
	r := startSipp(t, "uas_auth.xml")
	d := sippDriver(t, r.port, sip.Trunk{Username: "alice", Password: "pw"})
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sipp", To: "+15550000001", From: "+15551110000", RingTimeout: 10 * time.Second,
	})
	require.NoError(t, err)
	seen := waitEvent(t, leg, dialer.EventAnswered, 10*time.Second)
	require.Equal(t, dialer.EventAnswered, seen[len(seen)-1], "%v %+v\n%s", seen, leg.Result(), r.out)
	require.NoError(t, leg.Hangup(context.Background()))
	require.NoError(t, r.wait(t), r.out.String())
}

func TestSippRingTimeoutCancel(t *testing.T) {
	t.Parallel()
	r := startSipp(t, "uas_ring_cancel.xml")
	d := sippDriver(t, r.port, sip.Trunk{})
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sipp", To: "+15550000001", From: "+15551110000", RingTimeout: 500 * time.Millisecond,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 15*time.Second)
	require.Equal(t, dialer.NoAnswer, res.Disposition)
	require.Equal(t, 487, res.SIPCode)
	require.Contains(t, res.Detail, "ring timeout")
	require.NoError(t, r.wait(t), r.out.String())
}

func TestSippCallsTheSimulator(t *testing.T) {
	t.Parallel()
	s, err := sim.New(sim.Options{Listen: "127.0.0.1:0", Ring: 20 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	bin := sippPath(t)
	cmd := exec.Command(bin, "-sf", "uac_to_sim.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)),
		"-mp", strconv.Itoa(freePort(t)), "-s", "15550000001", "-m", "5", "-r", "5", "-l", "5",
		"-nostdin", "-timeout", "20s", "-timeout_error", s.Addr())
	cmd.Dir = "testdata/sipp"
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	calls := waitCalls(t, s, 5)
	for _, c := range calls {
		require.Equal(t, sim.Human, c.Behavior)
		require.Equal(t, 200, c.FinalCode)
		require.Equal(t, "caller", c.HangupBy)
	}
}

func TestSippAnswerRacesCancel(t *testing.T) {
	t.Parallel()
	r := startSipp(t, "uas_answer_on_cancel.xml")
	d := sippDriver(t, r.port, sip.Trunk{})
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "sipp", To: "+15550000001", From: "+15551110000", RingTimeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 15*time.Second)
	require.Equal(t, dialer.NoAnswer, res.Disposition, "%+v", res)
	require.Equal(t, 200, res.SIPCode)
	require.Contains(t, res.Detail, "ACK and BYE sent")
	// sipp only passes if it got the ACK and the BYE.
	require.NoError(t, r.wait(t), r.out.String())
}
