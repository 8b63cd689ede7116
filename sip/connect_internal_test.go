package sip

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

// TestRelayTranscodes: µ-law packets arriving on one leg leave the other
// leg as A-law (the agent chose PCMA), one packet per 20 ms, with the
// sending leg's own SSRC, consecutive sequence numbers, a continuous RTP
// clock and the marker on the first packet only.
func TestRelayTranscodes(t *testing.T) {
	t.Parallel()
	src, dst := udpPeer(t), udpPeer(t)
	inConn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	require.NoError(t, err)
	outConn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	require.NoError(t, err)
	in := newMedia(inConn, nil, mediaCounters{})
	out := newMedia(outConn, nil, mediaCounters{})
	defer in.close()
	defer out.close()
	out.setRemote(dst.LocalAddr().(*net.UDPAddr).AddrPort(), PayloadPCMA)
	var r relay
	fwd := func(pcm []int16) { r.forward(out, pcm) }
	in.tap.Store(&fwd)

	// 5 packets of a ramp, µ-law, to the "customer" side.
	const packets = 5
	want := make([][]int16, packets)
	for i := range packets {
		pcm := make([]int16, frameSamples)
		for j := range pcm {
			pcm[j] = int16((i*frameSamples + j) * 20)
		}
		payload := audio.EncodeULaw(make([]byte, len(pcm)), pcm)
		want[i] = audio.DecodeULaw(make([]int16, len(payload)), payload) // what survives µ-law
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: PayloadPCMU, SequenceNumber: uint16(100 + i), Timestamp: uint32(i * frameSamples), SSRC: 7}, Payload: payload}
		b, err := p.Marshal()
		require.NoError(t, err)
		_, err = src.WriteTo(b, inConn.LocalAddr())
		require.NoError(t, err)
	}
	buf := make([]byte, 1500)
	var prev rtp.Packet
	for i := range packets {
		require.NoError(t, dst.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, _, err := dst.ReadFrom(buf)
		require.NoError(t, err)
		var p rtp.Packet
		require.NoError(t, p.Unmarshal(buf[:n]))
		require.Equal(t, uint8(PayloadPCMA), p.PayloadType)
		require.Equal(t, out.ssrc, p.SSRC, "the agent sees our stream, not the customer's")
		require.Equal(t, i == 0, p.Marker)
		got := audio.DecodeALaw(make([]int16, len(p.Payload)), p.Payload)
		require.Len(t, got, frameSamples)
		for j := range got {
			require.InDelta(t, want[i][j], got[j], float64(abs16(want[i][j]))/16+16, "sample %d of packet %d", j, i)
		}
		if i > 0 {
			require.Equal(t, prev.SequenceNumber+1, p.SequenceNumber)
			require.Equal(t, prev.Timestamp+frameSamples, p.Timestamp)
		}
		prev = p
	}
}

// TestDeliverFillsLostPacketsWithSilence: the audio after a loss keeps its
// timing (the silence for the lost packets comes first), for AMD and for
// the relay alike.
func TestDeliverFillsLostPacketsWithSilence(t *testing.T) {
	t.Parallel()
	var got []int16
	m := &media{pcm: make([]int16, 0, 64), onAudio: func(pcm []int16) { got = append(got[:0], pcm...) }}
	payload := make([]byte, frameSamples)
	for i := range payload {
		payload[i] = 0x80 // µ-law near full scale
	}
	m.deliver(PayloadPCMU, payload, 2, frameSamples)
	require.Len(t, got, 3*frameSamples)
	for _, v := range got[:2*frameSamples] {
		require.Zero(t, v)
	}
	require.NotZero(t, got[2*frameSamples])
	m.deliver(PayloadPCMA, payload[:80], 0, frameSamples)
	require.Len(t, got, 80)
}

func abs16(v int16) int {
	if v < 0 {
		return -int(v)
	}
	return int(v)
}

// TestRelayKeepalive: an idle direction gets one silence packet, a busy
// one none (forward and keepalive are synchronous, so counters tell).
func TestRelayKeepalive(t *testing.T) {
	t.Parallel()
	dst := udpPeer(t)
	conn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	require.NoError(t, err)
	m := newMedia(conn, nil, mediaCounters{})
	defer m.close()
	var r relay
	r.keepalive(m)
	require.Zero(t, m.sent.Load(), "no remote address yet: nothing to send")
	m.setRemote(dst.LocalAddr().(*net.UDPAddr).AddrPort(), PayloadPCMU)
	r.keepalive(m)
	require.EqualValues(t, 1, m.sent.Load(), "idle since ever: one silence packet")
	r.forward(m, make([]int16, 2*frameSamples+40))
	require.EqualValues(t, 4, m.sent.Load(), "440 samples go out as 160+160+120")
	r.keepalive(m)
	require.EqualValues(t, 4, m.sent.Load(), "audio was just relayed: no keepalive")
	// A bridged session's own keepalive is off: the bridge sends them.
	m.bridged.Store(true)
	m.keepalive()
	require.EqualValues(t, 4, m.sent.Load())
}

// BenchmarkBridgeRelayPacket is one relayed 20 ms packet: receive-side
// decode through the reorder buffer, the tap, re-encode and the socket
// write on the other leg.
func BenchmarkBridgeRelayPacket(b *testing.B) {
	dst, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	outConn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		b.Fatal(err)
	}
	out := newMedia(outConn, nil, mediaCounters{})
	defer out.close()
	out.setRemote(dst.LocalAddr().(*net.UDPAddr).AddrPort(), PayloadPCMA)
	var r relay
	fwd := func(pcm []int16) { r.forward(out, pcm) }
	in := &media{jb: newJitterBuffer(jitterDepth), pcm: make([]int16, 0, 4096)}
	in.tap.Store(&fwd)
	payload := make([]byte, frameSamples)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		in.jb.push(uint16(i), PayloadPCMU, payload, in.deliver)
	}
}
