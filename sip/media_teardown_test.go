package sip

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

// A receive goroutine that runs behind (here: a consumer that blocks)
// leaves packets queued in the socket; close still takes them in, so the
// counters do not call them lost.
func TestCloseTakesInQueuedPackets(t *testing.T) {
	t.Parallel()
	conn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	var delivered int
	m := newMedia(conn, func([]int16) {
		delivered++
		if delivered == 1 {
			close(entered)
			<-release
		}
	}, mediaCounters{})
	peer := udpPeer(t)
	const n = 10
	for i := range n {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: PayloadPCMU, SequenceNumber: uint16(100 + i), SSRC: 9}, Payload: make([]byte, 160)}
		raw, err := pkt.Marshal()
		require.NoError(t, err)
		_, err = peer.WriteToUDP(raw, conn.LocalAddr().(*net.UDPAddr))
		require.NoError(t, err)
	}
	<-entered // the first packet is being consumed, the other nine wait in the socket
	closed := make(chan struct{})
	go func() { m.close(); close(closed) }()
	require.Eventually(t, m.closing.Load, 5*time.Second, time.Millisecond)
	close(release)
	<-closed
	require.EqualValues(t, n, m.received.Load(), "every packet that arrived before close is counted")
	require.Equal(t, n, delivered)
	require.Zero(t, m.jb.Lost)
	_, _, err = conn.ReadFromUDPAddrPort(make([]byte, 10))
	require.ErrorIs(t, err, net.ErrClosed, "the port is released")
}

// The periodic keepalive stays quiet while audio went out recently.
func TestIdleKeepalive(t *testing.T) {
	t.Parallel()
	conn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	require.NoError(t, err)
	m := newMedia(conn, nil, mediaCounters{})
	defer m.close()
	m.idleKeepalive(time.Hour)
	require.Zero(t, m.sent.Load(), "no remote address yet")
	m.setRemote(udpPeer(t).LocalAddr().(*net.UDPAddr).AddrPort(), PayloadPCMU)
	m.idleKeepalive(time.Hour)
	require.EqualValues(t, 1, m.sent.Load(), "nothing sent ever: keepalive")
	m.idleKeepalive(time.Hour)
	require.EqualValues(t, 1, m.sent.Load(), "sent just now: no keepalive")
	m.idleKeepalive(time.Nanosecond)
	require.EqualValues(t, 2, m.sent.Load(), "idle for longer than the period: keepalive")
}

func TestReadBufferGrantedAndChecked(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("SO_RCVBUF read-back semantics checked on Linux")
	}
	conn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	require.NoError(t, err)
	defer conn.Close()
	got, err := readBufferSize(conn)
	require.NoError(t, err)
	require.Positive(t, got)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// Whatever this kernel allows, a petabyte is more: the shortfall is said.
	checkReadBuffer(log, "RTP", conn, 1<<50)
	require.Contains(t, logs.String(), "UDP receive buffer smaller than requested")
	require.Contains(t, logs.String(), "granted_bytes=")
	logs.Reset()
	checkReadBuffer(log, "RTP", conn, got)
	require.Empty(t, logs.String(), "enough buffer: no warning")
}
