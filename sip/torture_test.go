package sip_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/cadenza-dialer/cadenza/sip/sim"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"
)

// RFC 4475 torture messages that sipgo's parser accepts although they are
// invalid: our request validation must answer them.
var tortureWant = map[string]int{
	"baddate":    400, // Date not in GMT
	"badvers":    505, // SIP/7.0
	"escruri":    400, // headers in the Request-URI
	"mismatch01": 400, // CSeq method ≠ request method
	"mismatch02": 400,
	"regbadct":   400, // Contact URI with '?' outside <>
	// sipgo's parser rejects this valid message (unknown URI scheme);
	// our read filter answers it as RFC 4475 expects.
	"novelsc": 416,
}

var callIDLine = regexp.MustCompile(`(?mi)^(call-id|i)[ \t]*:[ \t]*(\S+)`)

var viaSentBy = regexp.MustCompile(`(?mi)^((?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[ \t]*[0-9.]+[ \t]*/[ \t]*[A-Za-z]+[ \t]+)([^;,\s]+)`)

// sendTorture sends one message over UDP with its top Via pointing at our
// socket (so the answer comes back to us) and returns the first final
// response's status code (0: none within the wait).
func sendTorture(t *testing.T, conn *net.UDPConn, target, name string, msg []byte) int {
	t.Helper()
	// Several RFC 4475 messages share a branch; make it unique so each is a
	// new transaction rather than a retransmission of the previous one.
	msg = []byte(strings.Replace(string(msg), "branch=z9hG4bK", "branch=z9hG4bK"+name+"-", 1))
	replaced := false
	msg = viaSentBy.ReplaceAllFunc(msg, func(m []byte) []byte {
		if replaced {
			return m
		}
		replaced = true
		sub := viaSentBy.FindSubmatch(m)
		return append(append([]byte{}, sub[1]...), conn.LocalAddr().String()...)
	})
	raddr, err := net.ResolveUDPAddr("udp", target)
	require.NoError(t, err)
	_, err = conn.WriteToUDP(msg, raddr)
	require.NoError(t, err)
	callID := ""
	if m := callIDLine.FindSubmatch(msg); m != nil {
		callID = string(m[2])
	}
	parser := gosip.NewParser()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(250 * time.Millisecond)
	for {
		_ = conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			return 0
		}
		m, err := parser.ParseSIP(buf[:n])
		if err != nil {
			continue
		}
		// Earlier 4xx answers to INVITEs are retransmitted (we never ACK):
		// only count the answer to this message.
		if res, ok := m.(*gosip.Response); ok && res.StatusCode >= 200 && (callID == "" || res.CallID() != nil && res.CallID().Value() == callID) {
			return res.StatusCode
		}
	}
}

func tortureFiles(t *testing.T) []string {
	files, err := filepath.Glob("testdata/torture/*/*.dat")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	sort.Strings(files)
	return files
}

func runTorture(t *testing.T, target string) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer conn.Close()
	var summary []string
	for _, f := range tortureFiles(t) {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		name := strings.TrimSuffix(filepath.Base(f), ".dat")
		code := sendTorture(t, conn, target, name, data)
		summary = append(summary, fmt.Sprintf("%s/%s=%d", filepath.Base(filepath.Dir(f)), name, code))
		if want, ok := tortureWant[name]; ok {
			require.Equal(t, want, code, "%s must be answered %d", name, want)
		}
	}
	t.Logf("first final response per message (0 = none): %s", strings.Join(summary, " "))
	// Still alive and answering.
	opts := "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKalive1\r\n" +
		"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: alive@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	require.Equal(t, 200, sendTorture(t, conn, target, "alive", []byte(opts)))
}

func TestTortureSimulator(t *testing.T) {
	t.Parallel()
	// Every INVITE gets an immediate 404, so no call waits on the fake
	// hosts of the torture messages.
	s, err := sim.New(sim.Options{Listen: "127.0.0.1:0", Default: sim.Behavior{Kind: sim.Invalid}, Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	defer s.Stop()
	runTorture(t, s.Addr())
}

func TestTortureDriver(t *testing.T) {
	t.Parallel()
	d, err := sip.NewDriver(sip.Options{Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	defer d.Stop()
	runTorture(t, d.Addr())
}
