package sip

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

func udpPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSymmetricRTP: the SDP says A, but the far end's audio comes from B
// (NAT, an SBC): we latch onto B and send there.
func TestSymmetricRTP(t *testing.T) {
	t.Parallel()
	a, b := udpPeer(t), udpPeer(t)
	conn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	require.NoError(t, err)
	got := make(chan int, 16)
	m := newMedia(conn, func(pcm []int16) { got <- len(pcm) }, mediaCounters{})
	defer m.close()
	m.setRemote(a.LocalAddr().(*net.UDPAddr).AddrPort(), PayloadPCMA)

	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: PayloadPCMA, SequenceNumber: 7, SSRC: 9}, Payload: make([]byte, 160)}
	raw, err := pkt.Marshal()
	require.NoError(t, err)
	_, err = b.WriteToUDP(raw, conn.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	select {
	case n := <-got:
		require.Equal(t, 160, n, "A-law payload decoded to 160 samples")
	case <-time.After(5 * time.Second):
		t.Fatal("no audio delivered")
	}
	require.Eventually(t, m.latched.Load, 5*time.Second, time.Millisecond)

	sent, err := m.play(context.Background(), nil, make([]int16, 320))
	require.NoError(t, err)
	require.Equal(t, 40*time.Millisecond, sent)
	buf := make([]byte, 1500)
	require.NoError(t, b.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, _, err := b.ReadFromUDP(buf)
	require.NoError(t, err, "our audio goes to where theirs came from")
	require.NoError(t, pkt.Unmarshal(buf[:n]))
	require.Equal(t, PayloadPCMA, pkt.PayloadType)
	require.True(t, pkt.Marker, "first packet of a talk spurt")
	require.Len(t, pkt.Payload, 160)
}
