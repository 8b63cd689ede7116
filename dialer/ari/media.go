package ari

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/cadenza-dialer/cadenza/amd/audio"
)

const (
	frameSamples = 160 // 20 ms at 8 kHz
	payloadPCMU  = 0
)

// mediaPort is our end of an externalMedia channel: Asterisk sends the
// bridged callee audio here as µ-law RTP, and we send voicemail messages
// back. The far address is learnt from UNICASTRTP_LOCAL_* and confirmed by
// the first packet (symmetric RTP), so NAT between us and Asterisk works.
type mediaPort struct {
	conn    *net.UDPConn
	onAudio func([]int16)
	metrics *metrics

	mu     sync.Mutex
	remote *net.UDPAddr

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	// sender state, used by one Play at a time
	playMu sync.Mutex
	seq    uint16
	ts     uint32
	ssrc   uint32
}

// listenMedia binds a UDP port on host, in [minPort, maxPort] when a range is
// given, else any free port.
func listenMedia(host string, minPort, maxPort int, onAudio func([]int16), m *metrics) (*mediaPort, error) {
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, fmt.Errorf("media host %q is not an IP address", host)
	}
	var conn *net.UDPConn
	var err error
	if minPort == 0 {
		conn, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	} else {
		n := maxPort - minPort + 1
		var b [2]byte
		_, _ = rand.Read(b[:])
		start := int(binary.BigEndian.Uint16(b[:])) % n
		for i := 0; i < n; i++ {
			port := minPort + (start+i)%n
			if port%2 == 1 { // RTP on even ports, by convention
				continue
			}
			conn, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
			if err == nil {
				break
			}
		}
		if conn == nil && err == nil {
			err = errors.New("no even port in range")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listen rtp: %w", err)
	}
	_ = conn.SetReadBuffer(1 << 20)
	var b [8]byte
	_, _ = rand.Read(b[:])
	p := &mediaPort{
		conn:    conn,
		onAudio: onAudio,
		metrics: m,
		done:    make(chan struct{}),
		seq:     binary.BigEndian.Uint16(b[0:2]),
		ts:      binary.BigEndian.Uint32(b[2:6]),
		ssrc:    binary.BigEndian.Uint32(b[4:8]),
	}
	p.wg.Add(1)
	go p.readLoop()
	return p, nil
}

// Addr is where Asterisk should send RTP.
func (p *mediaPort) Addr() *net.UDPAddr { return p.conn.LocalAddr().(*net.UDPAddr) }

// SetRemote sets where our RTP goes (Asterisk's UNICASTRTP_LOCAL_*).
func (p *mediaPort) SetRemote(a *net.UDPAddr) {
	p.mu.Lock()
	p.remote = a
	p.mu.Unlock()
}

func (p *mediaPort) remoteAddr() *net.UDPAddr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.remote
}

func (p *mediaPort) readLoop() {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	var pkt rtp.Packet
	var haveSeq bool
	var lastSeq uint16
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			p.metrics.rtpBad.Inc()
			continue
		}
		if pkt.PayloadType != payloadPCMU {
			p.metrics.rtpBad.Inc()
			continue
		}
		// Symmetric RTP: answer where the audio really comes from.
		p.mu.Lock()
		if p.remote == nil || !p.remote.IP.Equal(from.IP) || p.remote.Port != from.Port {
			p.remote = from
		}
		p.mu.Unlock()
		if haveSeq {
			d := int16(pkt.SequenceNumber - lastSeq)
			if d <= 0 { // duplicate or late: its moment has passed
				p.metrics.rtpLate.Inc()
				continue
			}
			if d > 1 {
				p.metrics.rtpLost.Add(float64(d - 1))
			}
		}
		haveSeq, lastSeq = true, pkt.SequenceNumber
		p.metrics.rtpIn.Inc()
		if p.onAudio != nil && len(pkt.Payload) > 0 {
			p.onAudio(audio.DecodeULaw(pcm, pkt.Payload))
		}
	}
}

// Play sends samples as 20 ms µ-law packets in real time. It returns how
// much audio went out.
func (p *mediaPort) Play(ctx context.Context, samples []int16) (time.Duration, error) {
	p.playMu.Lock()
	defer p.playMu.Unlock()
	remote := p.remoteAddr()
	if remote == nil {
		return 0, errors.New("no RTP address for the call yet")
	}
	payload := make([]byte, frameSamples)
	raw := make([]byte, 12+frameSamples)
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for sent < len(samples) {
		end := min(sent+frameSamples, len(samples))
		frame := payload[:end-sent]
		audio.EncodeULaw(frame, samples[sent:end])
		for i := len(frame); i < frameSamples; i++ { // pad the last frame with silence
			payload[i] = 0xFF
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: payloadPCMU, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc, Marker: sent == 0}, Payload: payload}
		n, err := pkt.MarshalTo(raw)
		if err != nil {
			return played(sent), fmt.Errorf("rtp marshal: %w", err)
		}
		if _, err := p.conn.WriteToUDP(raw[:n], p.remoteAddr()); err != nil {
			return played(sent), fmt.Errorf("rtp send: %w", err)
		}
		p.metrics.rtpOut.Inc()
		p.seq++
		p.ts += frameSamples
		sent = end
		if sent >= len(samples) {
			break
		}
		select {
		case <-ctx.Done():
			return played(sent), ctx.Err()
		case <-p.done:
			return played(sent), errCallEnded
		case <-tick.C:
		}
	}
	// Let the last frame's 20 ms elapse so "played" means heard.
	if rest := played(sent) - time.Since(start); rest > 0 {
		select {
		case <-time.After(rest):
		case <-p.done:
		case <-ctx.Done():
		}
	}
	return played(sent), nil
}

var errCallEnded = errors.New("call ended")

func played(samples int) time.Duration { return time.Duration(samples) * time.Second / 8000 }

// Close stops the port; idempotent.
func (p *mediaPort) Close() {
	p.closeOnce.Do(func() {
		close(p.done)
		p.conn.Close()
	})
	p.wg.Wait()
}
