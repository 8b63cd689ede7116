package aritest

import (
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/cadenza-dialer/cadenza/amd/audio"
)

// fakeChannel is one channel of the fake Asterisk: a dialed call following
// its script, or an externalMedia (UnicastRTP) channel.
type fakeChannel struct {
	s       *Server
	id      string
	name    string
	app     string
	number  string
	script  Script
	timeout time.Duration
	rec     *CallRecord
	media   bool
	rtp     *net.UDPConn
	rtpTo   *net.UDPAddr

	mu         sync.Mutex
	state      string
	vars       map[string]string
	answeredAt time.Time
	destroyed  bool
	quit       chan struct{}
	quitOnce   sync.Once
}

func (c *fakeChannel) json() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	vars := map[string]string{}
	if c.media {
		for k, v := range c.vars {
			vars[k] = v
		}
	}
	return map[string]any{
		"id":           c.id,
		"name":         c.name,
		"state":        c.state,
		"protocol_id":  "",
		"caller":       map[string]string{"name": "", "number": ""},
		"connected":    map[string]string{"name": "", "number": c.number},
		"accountcode":  "",
		"dialplan":     map[string]any{"context": "default", "exten": "s", "priority": 1, "app_name": "Stasis", "app_data": c.app},
		"creationtime": time.Now().UTC().Format("2006-01-02T15:04:05.000-0700"),
		"language":     "en",
		"channelvars":  vars,
	}
}

func (c *fakeChannel) setState(state string) {
	c.mu.Lock()
	c.state = state
	c.mu.Unlock()
	c.s.send(map[string]any{"type": "ChannelStateChange", "application": c.app, "channel": c.json()})
}

func (c *fakeChannel) wait(d time.Duration) bool {
	select {
	case <-c.quit:
		return false
	case <-time.After(d):
		return true
	}
}

// run plays the dialed channel's script: created, ringing, then answer or end.
func (c *fakeChannel) run() {
	c.s.send(map[string]any{"type": "ChannelCreated", "application": c.app, "channel": c.json()})
	c.s.send(map[string]any{"type": "ChannelVarset", "application": c.app, "variable": "CADENZA_CALL_ID", "value": c.vars["CADENZA_CALL_ID"], "channel": c.json()})
	if !c.wait(20 * time.Millisecond) {
		return
	}
	c.setState("Ringing")
	c.s.send(map[string]any{"type": "Dial", "application": c.app, "dialstatus": "RINGING", "peer": c.json()})
	ring := c.script.RingFor
	giveUp := c.timeout > 0 && (ring >= c.timeout || (!c.script.Answer && c.script.Cause == 0))
	if giveUp {
		ring = c.timeout
	}
	if !c.wait(ring) {
		return
	}
	switch {
	case giveUp:
		c.destroy(19, "No user responding", "")
	case c.script.Answer:
		c.mu.Lock()
		c.answeredAt = time.Now()
		c.rec.Answered = true
		c.mu.Unlock()
		c.setState("Up")
		c.s.send(map[string]any{"type": "ChannelToneDetected", "application": c.app, "channel": c.json()})
		c.s.send(map[string]any{"type": "StasisStart", "application": c.app, "args": []string{"dial"}, "channel": c.json()})
	default:
		c.destroy(c.script.Cause, "", "")
	}
}

// talk sends the script's audio through the media channel as RTP in real
// time, then hangs up if the script says so.
func (c *fakeChannel) talk(m *fakeChannel) {
	c.mu.Lock()
	answeredAt := c.answeredAt
	c.mu.Unlock()
	seq, ts := uint16(1000), uint32(8000)
	payload := make([]byte, 160)
	buf := make([]byte, 12+160)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	samples := c.script.Audio
	for off := 0; off < len(samples); off += 160 {
		end := min(off+160, len(samples))
		p := payload[:end-off]
		audio.EncodeULaw(p, samples[off:end])
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: 0x0A51E12}, Payload: p}
		n, err := pkt.MarshalTo(buf)
		if err == nil {
			_, _ = m.rtp.WriteToUDP(buf[:n], m.rtpTo)
		}
		seq++
		ts += 160
		select {
		case <-c.quit:
			return
		case <-m.quit:
			return
		case <-tick.C:
		}
	}
	c.s.mu.Lock()
	c.rec.AudioEnd = time.Since(answeredAt)
	c.s.mu.Unlock()
	if c.script.HangupAfter > 0 && c.wait(c.script.HangupAfter) {
		c.destroy(16, "Normal Clearing", "far_end")
	}
}

// receive records what we send back on the media channel.
func (m *fakeChannel) receive(call *fakeChannel) {
	call.mu.Lock()
	answeredAt := call.answeredAt
	call.mu.Unlock()
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := m.rtp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		samples := audio.DecodeULaw(pcm, pkt.Payload)
		var peak int
		for _, v := range samples {
			peak = max(peak, abs(int(v)))
		}
		call.s.mu.Lock()
		call.rec.ReceivedRTP++
		if peak > 500 { // not silence: part of a message
			if call.rec.MessageMS == 0 {
				call.rec.MessageStart = time.Since(answeredAt)
			}
			call.rec.MessageMS += len(samples) / 8
		}
		call.s.mu.Unlock()
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// destroy ends the channel as Asterisk does: a hangup request, then
// ChannelDestroyed with the cause. by is "us", "far_end" or "" (unanswered).
func (c *fakeChannel) destroy(cause int, causeTxt, by string) {
	c.mu.Lock()
	if c.destroyed {
		c.mu.Unlock()
		return
	}
	c.destroyed = true
	c.mu.Unlock()
	c.quitOnce.Do(func() { close(c.quit) })
	if c.rtp != nil {
		c.rtp.Close()
	}
	c.s.mu.Lock()
	_, known := c.s.channels[c.id]
	delete(c.s.channels, c.id)
	if known {
		c.s.leaveBridgesLocked(c.id)
	}
	if c.rec != nil {
		c.rec.Cause = cause
		if by != "" {
			c.rec.HungUpBy = by
		}
	}
	c.s.mu.Unlock()
	if !known { // forgotten by a restart: Asterisk says nothing
		return
	}
	c.s.send(map[string]any{"type": "ChannelHangupRequest", "application": c.app, "cause": cause, "soft": false, "channel": c.json()})
	if !c.media {
		c.s.send(map[string]any{"type": "StasisEnd", "application": c.app, "channel": c.json()})
	}
	c.s.send(map[string]any{"type": "ChannelDestroyed", "application": c.app, "cause": cause, "cause_txt": causeTxt, "channel": c.json()})
}

// stop ends the channel quietly (server shutdown).
func (c *fakeChannel) stop() {
	c.quitOnce.Do(func() { close(c.quit) })
	if c.rtp != nil {
		c.rtp.Close()
	}
}

// silence is a restart: the channel is gone without events.
func (c *fakeChannel) silence() {
	c.mu.Lock()
	c.destroyed = true
	c.mu.Unlock()
	c.stop()
}
