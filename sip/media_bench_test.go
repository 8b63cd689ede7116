package sip

import (
	"net"
	"net/netip"
	"testing"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/pion/rtp"
)

// BenchmarkRTPPacketEncode is the send path of one 20 ms packet without the
// socket: RTP header and G.711 µ-law payload into a reused buffer.
func BenchmarkRTPPacketEncode(b *testing.B) {
	pcm := make([]int16, frameSamples)
	for i := range pcm {
		pcm[i] = int16(i * 100)
	}
	var buf [rtpHeaderSize + maxPayload]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h := rtp.Header{Version: 2, PayloadType: PayloadPCMU, SequenceNumber: uint16(i), Timestamp: uint32(i * frameSamples), SSRC: 1}
		n, err := h.MarshalTo(buf[:])
		if err != nil {
			b.Fatal(err)
		}
		_ = audio.EncodeULaw(buf[n:n], pcm)
	}
}

// BenchmarkRTPPacketDecode is the receive path of one packet after the
// socket: header parse, reorder buffer, G.711 decode, delivery.
func BenchmarkRTPPacketDecode(b *testing.B) {
	m := &media{jb: newJitterBuffer(jitterDepth), pcm: make([]int16, 0, 4096), onAudio: func([]int16) {}}
	payload := make([]byte, frameSamples)
	pkts := make([][]byte, 1024)
	for i := range pkts {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: PayloadPCMU, SequenceNumber: uint16(i), Timestamp: uint32(i * frameSamples), SSRC: 1}, Payload: payload}
		pkts[i], _ = p.Marshal()
	}
	var pkt rtp.Packet
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		raw := pkts[i%len(pkts)]
		// Rewrite the sequence number so it keeps increasing.
		raw[2], raw[3] = byte(i>>8), byte(i)
		if err := pkt.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
		m.jb.push(pkt.SequenceNumber, pkt.PayloadType, pkt.Payload, m.deliver)
	}
}

// BenchmarkRTPSendLoopback is writeFrame with the real sendto(2) on
// loopback: the whole per-packet cost of our sender.
func BenchmarkRTPSendLoopback(b *testing.B) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := sink.ReadFromUDPAddrPort(buf); err != nil { // no net.Addr allocation
				return
			}
		}
	}()
	conn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		b.Fatal(err)
	}
	m := newMedia(conn, nil, mediaCounters{})
	defer m.close()
	m.setRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort(), PayloadPCMU)
	pcm := make([]int16, frameSamples)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := m.writeFrame(pcm, uint32(i*frameSamples), false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRTPRoundTripLoopback is one packet through both ends of the hot
// path on loopback: paced-sender encode and sendto(2), then the receiver's
// read, header parse, reorder buffer, decode and delivery. Allocations are
// counted process-wide, so the receive goroutine's are included: the goal
// is 0 allocs/op (no GC work per packet at thousands of calls).
func BenchmarkRTPRoundTripLoopback(b *testing.B) {
	got := make(chan struct{}, 1)
	rconn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		b.Fatal(err)
	}
	rx := newMedia(rconn, func([]int16) { got <- struct{}{} }, mediaCounters{})
	defer rx.close()
	sconn, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		b.Fatal(err)
	}
	tx := newMedia(sconn, nil, mediaCounters{})
	defer tx.close()
	tx.setRemote(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(rx.LocalPort())), PayloadPCMU)
	pcm := make([]int16, frameSamples)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := tx.writeFrame(pcm, uint32(i*frameSamples), false); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}
