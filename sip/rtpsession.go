package sip

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// RTPSession is the driver's RTP media path (symmetric RTP, reorder
// buffer, G.711, 20 ms pacing) for other user agents in this module: the
// carrier simulator uses it so both ends of a test speak the same code.
type RTPSession struct{ m *media }

// RTPStats counts one session's packets; final once Close has returned.
type RTPStats struct {
	Received, Sent, Lost, Late uint64
}

// NewRTPSession starts receiving on conn; onAudio gets decoded 8 kHz PCM in
// order from one goroutine (the slice is reused: copy what you keep).
func NewRTPSession(conn *net.UDPConn, onAudio func([]int16)) *RTPSession {
	return &RTPSession{m: newMedia(conn, onAudio, mediaCounters{})}
}

// LocalPort is the port to advertise in SDP.
func (s *RTPSession) LocalPort() int { return s.m.LocalPort() }

// SetRemote sets where to send and with which payload type (PCMU or PCMA).
func (s *RTPSession) SetRemote(ap netip.AddrPort, pt uint8) { s.m.setRemote(ap, pt) }

// Play sends pcm paced in real time until done, ctx ends or stop closes.
func (s *RTPSession) Play(ctx context.Context, stop <-chan struct{}, pcm []int16) (time.Duration, error) {
	return s.m.play(ctx, stop, pcm)
}

// Write sends one packet of pcm (at most 60 ms) at once, unpaced: for
// echoing what was received. It continues the sequence and clock of Play;
// do not call it while a Play is running.
func (s *RTPSession) Write(pcm []int16) error {
	if len(pcm) > maxPayload {
		pcm = pcm[:maxPayload]
	}
	s.m.playMu.Lock()
	defer s.m.playMu.Unlock()
	ts := s.m.tsBase + uint32(time.Since(s.m.started).Nanoseconds()*sampleRate/int64(time.Second))
	return s.m.writeFrame(pcm, ts, false)
}

// Close stops receiving and releases the port; onAudio is not called after.
func (s *RTPSession) Close() { s.m.close() }

// Stats returns the packet counters (exact after Close).
func (s *RTPSession) Stats() RTPStats {
	st := RTPStats{Received: s.m.received.Load(), Sent: s.m.sent.Load()}
	select {
	case <-s.m.done:
		st.Lost, st.Late = s.m.jb.Lost, s.m.jb.Late
	default:
	}
	return st
}

// CheckRTPReadBuffer opens one RTP socket on ip as sessions do and logs a
// warning when the kernel granted less receive buffer than we ask for
// (Linux caps it at net.core.rmem_max): under load that loses packets.
func CheckRTPReadBuffer(log *slog.Logger, ip netip.Addr) { checkRTPReadBuffer(log, ip) }
