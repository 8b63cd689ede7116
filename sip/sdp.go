package sip

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// RTP payload types we speak (RFC 3551 static types, and the dynamic type we
// offer for RFC 4733 telephone events).
const (
	PayloadPCMU           uint8 = 0
	PayloadPCMA           uint8 = 8
	PayloadTelephoneEvent uint8 = 101
)

// MediaDesc is what we need from a peer's SDP: where to send audio and which
// payload types it accepts, in its order of preference.
type MediaDesc struct {
	// Addr is the RTP address (connection address + audio port).
	Addr netip.AddrPort
	// Payloads are the audio formats of the m=audio line, in order.
	Payloads []uint8
	// TelephoneEvent is the payload type of telephone-event, or -1.
	TelephoneEvent int
	// Direction is sendrecv, sendonly, recvonly or inactive.
	Direction string
}

// Choose returns the first of prefs the peer also accepts (our preference
// order for offers we answer; the peer's order is honoured by passing its
// Payloads as prefs).
func (m MediaDesc) Choose(prefs []uint8) (uint8, bool) {
	for _, p := range prefs {
		for _, q := range m.Payloads {
			if p == q {
				return p, true
			}
		}
	}
	return 0, false
}

// ParseSDP extracts the first audio stream of an SDP body. It rejects bodies
// without an RTP/AVP audio stream, a usable connection address or a port.
func ParseSDP(body []byte) (MediaDesc, error) {
	var s sdp.SessionDescription
	if err := s.UnmarshalString(string(body)); err != nil {
		return MediaDesc{}, fmt.Errorf("sdp: %w", err)
	}
	md := MediaDesc{TelephoneEvent: -1, Direction: "sendrecv"}
	for _, a := range s.Attributes {
		if isDirection(a.Key) {
			md.Direction = a.Key
		}
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		if !strings.HasPrefix(strings.Join(m.MediaName.Protos, "/"), "RTP/AVP") {
			continue
		}
		port := m.MediaName.Port.Value
		if port < 1 || port > 65535 {
			return MediaDesc{}, fmt.Errorf("sdp: m=audio port: must be 1..65535, got %d", port)
		}
		ci := s.ConnectionInformation
		if m.ConnectionInformation != nil {
			ci = m.ConnectionInformation
		}
		if ci == nil || ci.Address == nil {
			return MediaDesc{}, fmt.Errorf("sdp: c=: no connection address")
		}
		host, _, _ := strings.Cut(ci.Address.Address, "/")
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return MediaDesc{}, fmt.Errorf("sdp: c=: address %q: %w", ci.Address.Address, err)
		}
		md.Addr = netip.AddrPortFrom(ip.Unmap(), uint16(port))
		for _, f := range m.MediaName.Formats {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n > 127 {
				return MediaDesc{}, fmt.Errorf("sdp: m=audio format %q: must be 0..127", f)
			}
			md.Payloads = append(md.Payloads, uint8(n))
		}
		for _, a := range m.Attributes {
			switch {
			case isDirection(a.Key):
				md.Direction = a.Key
			case a.Key == "rtpmap":
				pt, enc, _ := strings.Cut(a.Value, " ")
				if strings.HasPrefix(strings.ToLower(enc), "telephone-event/") {
					if n, err := strconv.Atoi(pt); err == nil && n >= 0 && n <= 127 {
						md.TelephoneEvent = n
					}
				}
			}
		}
		if len(md.Payloads) == 0 {
			return MediaDesc{}, fmt.Errorf("sdp: m=audio: no formats")
		}
		return md, nil
	}
	return MediaDesc{}, fmt.Errorf("sdp: no RTP/AVP audio stream")
}

func isDirection(k string) bool {
	switch k {
	case "sendrecv", "sendonly", "recvonly", "inactive":
		return true
	}
	return false
}

// BuildSDP writes an SDP body offering (or answering with) payloads plus
// telephone-event when dtmf is set, for audio at ip:port.
func BuildSDP(ip netip.Addr, port int, sessID uint64, payloads []uint8, dtmf bool) []byte {
	ipv := "IP4"
	if ip.Is6() && !ip.Is4In6() {
		ipv = "IP6"
	}
	addr := ip.Unmap().String()
	var b strings.Builder
	b.Grow(320)
	id := strconv.FormatUint(sessID, 10)
	b.WriteString("v=0\r\no=cadenza " + id + " " + id + " IN " + ipv + " " + addr + "\r\n")
	b.WriteString("s=cadenza\r\nc=IN " + ipv + " " + addr + "\r\nt=0 0\r\n")
	b.WriteString("m=audio " + strconv.Itoa(port) + " RTP/AVP")
	for _, p := range payloads {
		b.WriteString(" " + strconv.Itoa(int(p)))
	}
	if dtmf {
		b.WriteString(" " + strconv.Itoa(int(PayloadTelephoneEvent)))
	}
	b.WriteString("\r\n")
	for _, p := range payloads {
		switch p {
		case PayloadPCMU:
			b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		case PayloadPCMA:
			b.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		}
	}
	if dtmf {
		b.WriteString("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n")
	}
	b.WriteString("a=ptime:20\r\na=sendrecv\r\n")
	return []byte(b.String())
}
