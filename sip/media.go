package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/pion/rtp"
)

// Media constants: G.711 at 8 kHz in 20 ms packets.
const (
	sampleRate       = 8000
	frameSamples     = 160
	frameDuration    = 20 * time.Millisecond
	rtpHeaderSize    = 12
	socketReadBuffer = 256 << 10 // absorbs bursts when the receive goroutine is descheduled under load
	sipReadBuffer    = 4 << 20   // the signalling socket: bursts at hundreds of calls per second
	jitterDepth      = 3
)

// PortRange hands out local RTP ports from [Min, Max] (even ports, RTCP
// would take the odd one), round robin, skipping ports in use.
type PortRange struct {
	Min, Max int
	next     atomic.Uint32
}

// Listen binds a UDP socket on ip at the next free port of the range (any
// port when the range is empty) with a large receive buffer.
func (r *PortRange) Listen(ip netip.Addr) (*net.UDPConn, error) {
	if r == nil || r.Min == 0 || r.Max <= r.Min {
		return listenRTP(netip.AddrPortFrom(ip, 0))
	}
	span := (r.Max - r.Min + 1) / 2
	if span < 1 {
		span = 1
	}
	var lastErr error
	for range min(span, 64) {
		i := int(r.next.Add(1)-1) % span
		port := r.Min + 2*i
		c, err := listenRTP(netip.AddrPortFrom(ip, uint16(port)))
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("rtp ports %d-%d: no free port: %w", r.Min, r.Max, lastErr)
}

func listenRTP(ap netip.AddrPort) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(socketReadBuffer) // best effort: the kernel caps it at rmem_max (checkRTPReadBuffer says so once)
	return c, nil
}

// checkRTPReadBuffer opens one RTP socket as the calls will and warns when
// the kernel granted less receive buffer than we ask for: under load the
// receive goroutines are descheduled for a while and a small buffer then
// drops packets (netstat -su: "receive buffer errors").
func checkRTPReadBuffer(log *slog.Logger, ip netip.Addr) {
	c, err := listenRTP(netip.AddrPortFrom(ip, 0))
	if err != nil {
		return // the calls will report it
	}
	defer c.Close()
	checkReadBuffer(log, "RTP", c, socketReadBuffer)
}

// checkReadBuffer warns when c got less than want bytes of receive buffer.
func checkReadBuffer(log *slog.Logger, what string, c *net.UDPConn, want int) {
	got, err := readBufferSize(c)
	if err != nil {
		return
	}
	// Linux reports double the usable size; other kernels report it as is.
	if got < want {
		log.Warn("UDP receive buffer smaller than requested: raise the kernel's cap (Linux: sysctl -w net.core.rmem_max=4194304) or expect packet loss under load",
			"socket", what, "requested_bytes", want, "granted_bytes", got)
	}
}

// mediaCounters are the per-trunk RTP counters (nil-safe).
type mediaCounters struct {
	in, out, lost, late interface{ Add(float64) }
}

// media is one RTP session: a socket, the peer's address (latched to the
// source of the first packet: symmetric RTP), a reorder buffer on receive
// and a paced sender.
type media struct {
	conn    *net.UDPConn
	onAudio func([]int16)
	cnt     mediaCounters

	remote  atomic.Pointer[netip.AddrPort]
	latched atomic.Bool
	sendPT  atomic.Uint32

	// Receive side, owned by the receive goroutine. emit is m.deliver,
	// bound once: a method value made per packet would allocate.
	jb   *jitterBuffer
	pcm  []int16
	emit emitFunc

	// Send side, serialized by playMu.
	playMu  sync.Mutex
	seq     uint16
	ssrc    uint32
	tsBase  uint32
	started time.Time
	sendBuf [rtpHeaderSize + maxPayload]byte

	received atomic.Uint64
	sent     atomic.Uint64
	lastSend atomic.Int64 // UnixNano of the last packet out

	// tap, when set, also receives the decoded audio: a bridge relays it to
	// the other leg (connect.go). It runs on the receive goroutine.
	tap atomic.Pointer[func([]int16)]
	// bridged turns keepalive off while a bridge sends this session's audio
	// (the bridge sends its own keepalive when the relay is idle).
	bridged atomic.Bool

	closing   atomic.Bool
	closeOnce sync.Once
	done      chan struct{} // closed when the receive goroutine exits
}

func newMedia(conn *net.UDPConn, onAudio func([]int16), cnt mediaCounters) *media {
	m := &media{
		conn:    conn,
		onAudio: onAudio,
		cnt:     cnt,
		jb:      newJitterBuffer(jitterDepth),
		// One 20 ms frame; deliver grows it (once) for longer packets or
		// silence standing in for lost ones.
		pcm:     make([]int16, 0, frameSamples),
		seq:     uint16(rand.Uint32()),
		ssrc:    rand.Uint32(),
		tsBase:  rand.Uint32(),
		started: time.Now(),
		done:    make(chan struct{}),
	}
	m.emit = m.deliver
	m.sendPT.Store(uint32(PayloadPCMU))
	go m.receive()
	return m
}

// LocalPort is the port to advertise in SDP.
func (m *media) LocalPort() int { return m.conn.LocalAddr().(*net.UDPAddr).Port }

// setRemote sets the peer's RTP address and payload type from its SDP. A
// new address (e.g. 200 OK after 183 from another media server) re-arms
// the symmetric-RTP latch.
func (m *media) setRemote(ap netip.AddrPort, pt uint8) {
	if old := m.remote.Load(); old == nil || *old != ap {
		m.remote.Store(&ap)
		m.latched.Store(false)
	}
	m.sendPT.Store(uint32(pt))
}

func (m *media) receive() {
	defer close(m.done)
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, src, err := m.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if m.closing.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
				// close: take in what has already arrived, then stop
				// (the raw read needs the deadline lifted).
				_ = m.conn.SetReadDeadline(time.Time{})
				drainSocket(m.conn, buf, func(p []byte) { m.handle(&pkt, p, netip.AddrPort{}) })
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		m.handle(&pkt, buf[:n], src)
	}
}

// handle takes one datagram from src (invalid src: do not latch).
func (m *media) handle(pkt *rtp.Packet, p []byte, src netip.AddrPort) {
	if err := pkt.Unmarshal(p); err != nil || pkt.Version != 2 {
		return
	}
	m.received.Add(1)
	if m.cnt.in != nil {
		m.cnt.in.Add(1)
	}
	if src.IsValid() && !m.latched.Load() {
		// A fresh variable: taking src's address would move src to the
		// heap on every packet, not just the first.
		ap := netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		m.remote.Store(&ap)
		m.latched.Store(true)
	}
	lost, late := m.jb.Lost, m.jb.Late
	m.jb.push(pkt.SequenceNumber, pkt.PayloadType, pkt.Payload, m.emit)
	if m.cnt.lost != nil && m.jb.Lost != lost {
		m.cnt.lost.Add(float64(m.jb.Lost - lost))
	}
	if m.cnt.late != nil && m.jb.Late != late {
		m.cnt.late.Add(float64(m.jb.Late - late))
	}
}

// deliver decodes one ordered payload (after silence for lost packets) and
// hands it to onAudio.
func (m *media) deliver(pt uint8, payload []byte, lost, lastLen int) {
	tap := m.tap.Load()
	if m.onAudio == nil && tap == nil {
		return
	}
	pcm := m.pcm[:0]
	for range lost * lastLen {
		pcm = append(pcm, 0)
	}
	// Decode after the silence that stands in for lost packets (the
	// decoders write from the start of the slice they are given).
	n := len(pcm)
	switch pt {
	case PayloadPCMU:
		pcm = slices.Grow(pcm, len(payload))[:n+len(payload)]
		audio.DecodeULaw(pcm[n:], payload)
	case PayloadPCMA:
		pcm = slices.Grow(pcm, len(payload))[:n+len(payload)]
		audio.DecodeALaw(pcm[n:], payload)
	default:
		// telephone-event, comfort noise and unknown types carry no PCM.
		if len(pcm) == 0 {
			return
		}
	}
	m.pcm = pcm
	if m.onAudio != nil {
		m.onAudio(pcm)
	}
	if tap != nil {
		(*tap)(pcm)
	}
}

// play sends samples as 20 ms packets paced on the wall clock (each packet
// is due at start + i·20 ms, so scheduling delays do not accumulate). It
// stops early when ctx or stop ends and reports how much audio went out.
func (m *media) play(ctx context.Context, stop <-chan struct{}, samples []int16) (time.Duration, error) {
	m.playMu.Lock()
	defer m.playMu.Unlock()
	frames := (len(samples) + frameSamples - 1) / frameSamples
	if frames == 0 {
		return 0, nil
	}
	start := time.Now()
	// The RTP clock follows the wall clock between talk spurts.
	ts := m.tsBase + uint32(time.Since(m.started).Nanoseconds()*sampleRate/int64(time.Second))
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	var frame [frameSamples]int16
	sent := 0
	for i := range frames {
		chunk := samples[i*frameSamples : min(len(samples), (i+1)*frameSamples)]
		if len(chunk) < frameSamples {
			n := copy(frame[:], chunk)
			clear(frame[n:])
			chunk = frame[:]
		}
		if err := m.writeFrame(chunk, ts+uint32(i*frameSamples), i == 0); err != nil {
			return time.Duration(sent) * time.Second / sampleRate, fmt.Errorf("rtp send: %w", err)
		}
		sent += min(frameSamples, len(samples)-i*frameSamples)
		if i == frames-1 {
			break
		}
		timer.Reset(time.Until(start.Add(time.Duration(i+1) * frameDuration)))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return time.Duration(sent) * time.Second / sampleRate, ctx.Err()
		case <-stop:
			return time.Duration(sent) * time.Second / sampleRate, errLegOver
		}
	}
	// The last packet plays for 20 ms after it is sent.
	timer.Reset(time.Until(start.Add(time.Duration(frames) * frameDuration)))
	select {
	case <-timer.C:
	case <-ctx.Done():
	case <-stop:
	}
	return time.Duration(sent) * time.Second / sampleRate, nil
}

// keepalive sends one 20 ms silence packet unless a Play is running: it
// opens NAT bindings and the far end's symmetric-RTP latch (many SBCs send
// nothing until they hear from us) and keeps RTP inactivity timers quiet
// while we only listen.
func (m *media) keepalive() {
	if m.bridged.Load() || m.remote.Load() == nil || !m.playMu.TryLock() {
		return
	}
	defer m.playMu.Unlock()
	m.sendSilence()
}

// idleKeepalive is keepalive for a periodic timer: it sends only when
// nothing went out for every (a Play that just ended keeps the path open
// as well as a silence packet does).
func (m *media) idleKeepalive(every time.Duration) {
	if last := m.lastSend.Load(); last != 0 && time.Since(time.Unix(0, last)) < every-every/10 {
		return
	}
	m.keepalive()
}

func (m *media) sendSilence() {
	var silence [frameSamples]int16
	ts := m.tsBase + uint32(time.Since(m.started).Nanoseconds()*sampleRate/int64(time.Second))
	_ = m.writeFrame(silence[:], ts, false)
}

// writeFrame encodes and sends one packet without allocating.
func (m *media) writeFrame(pcm []int16, ts uint32, marker bool) error {
	rp := m.remote.Load()
	if rp == nil {
		return errors.New("no remote RTP address")
	}
	pt := uint8(m.sendPT.Load())
	h := rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: m.seq, Timestamp: ts, SSRC: m.ssrc}
	n, err := h.MarshalTo(m.sendBuf[:])
	if err != nil {
		return err
	}
	var payload []byte
	if pt == PayloadPCMA {
		payload = audio.EncodeALaw(m.sendBuf[n:n], pcm)
	} else {
		payload = audio.EncodeULaw(m.sendBuf[n:n], pcm)
	}
	m.seq++
	if _, err := m.conn.WriteToUDPAddrPort(m.sendBuf[:n+len(payload)], *rp); err != nil {
		return err
	}
	m.sent.Add(1)
	m.lastSend.Store(time.Now().UnixNano())
	if m.cnt.out != nil {
		m.cnt.out.Add(1)
	}
	return nil
}

// close stops the receive goroutine and releases the port; it waits for
// the goroutine so onAudio is never called after close returns. Packets
// that arrived before close are still taken in (counted, delivered): a
// receive goroutine running behind under load would otherwise leave them
// unread in the socket and they would look lost.
func (m *media) close() {
	m.closeOnce.Do(func() {
		m.closing.Store(true)
		if err := m.conn.SetReadDeadline(time.Now()); err != nil {
			_ = m.conn.Close()
		}
		<-m.done
		_ = m.conn.Close()
	})
}
