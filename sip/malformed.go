package sip

import (
	"bytes"
	"log/slog"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// UnparsableFilter is a sipgo transport read filter for UDP listeners. sipgo
// silently drops a datagram its parser rejects, so the sender retransmits
// into the void; this filter parses first and, for a request it can still
// read the routing headers of, answers on conn itself (400, 416 for an
// unknown URI scheme such as RFC 4475 novelsc, 505 for a bad version). The
// cost is a second parse of every UDP message. Stream transports pass
// through untouched (their reads are not message-aligned).
func UnparsableFilter(conn net.PacketConn, log *slog.Logger) sip.TransportReadFilter {
	parser := sip.NewParser() // the UDP read loop calls the filter from one goroutine
	return func(p sip.TransportReadProps, data []byte) ([]byte, error) {
		if !strings.EqualFold(p.Transport, "udp") || len(bytes.TrimSpace(data)) == 0 {
			return data, nil
		}
		if _, err := parser.ParseSIP(data); err == nil {
			return data, nil
		}
		if res := UnparsableResponse(data); res != nil && p.RemoteAddr != nil {
			if _, err := conn.WriteTo(res, p.RemoteAddr); err != nil {
				log.Debug("answer unparsable request", "to", p.RemoteAddr.String(), "error", err)
			}
		}
		return nil, nil // dropped, as sipgo would
	}
}

// compact header forms (RFC 3261 7.3.3) of the headers a response copies.
var compactNames = map[string]string{"v": "via", "f": "from", "t": "to", "i": "call-id"}

// UnparsableResponse builds the answer to a request that the SIP parser
// rejected, from a plain line scan of its headers: nil for responses, ACKs
// and requests missing Via, From, To, Call-ID or CSeq (those cannot be
// answered and are dropped).
func UnparsableResponse(data []byte) []byte {
	head := data
	if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
		head = head[:i]
	} else if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		head = head[:i]
	}
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	if len(lines) < 2 {
		return nil
	}
	reqLine := strings.Fields(lines[0])
	if len(reqLine) != 3 || strings.HasPrefix(strings.ToUpper(reqLine[0]), "SIP/") || strings.EqualFold(reqLine[0], "ACK") {
		return nil
	}
	// Unfold continuation lines, then pick the headers we copy.
	var unfolded []string
	for _, l := range lines[1:] {
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(unfolded) > 0 {
			unfolded[len(unfolded)-1] += " " + strings.TrimSpace(l)
			continue
		}
		unfolded = append(unfolded, l)
	}
	var vias []string
	hdr := map[string]string{}
	for _, l := range unfolded {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if long, ok := compactNames[name]; ok {
			name = long
		}
		value = strings.TrimSpace(value)
		if value == "" || strings.ContainsAny(value, "\r\n\x00") {
			continue
		}
		switch name {
		case "via":
			vias = append(vias, value)
		case "from", "to", "call-id", "cseq":
			if _, dup := hdr[name]; !dup {
				hdr[name] = value
			}
		}
	}
	if len(vias) == 0 || hdr["from"] == "" || hdr["to"] == "" || hdr["call-id"] == "" || hdr["cseq"] == "" {
		return nil
	}
	code, reason := "400", "Bad Request (unparsable message)"
	scheme, _, _ := strings.Cut(reqLine[1], ":")
	switch {
	case reqLine[2] != "SIP/2.0":
		code, reason = "505", "Version Not Supported"
	case !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") && !strings.EqualFold(scheme, "tel"):
		code, reason = "416", "Unsupported URI Scheme"
	}
	to := hdr["to"]
	if !strings.Contains(strings.ToLower(to), ";tag=") {
		to += ";tag=cadenza-malformed"
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 " + code + " " + reason + "\r\n")
	for _, v := range vias {
		b.WriteString("Via: " + v + "\r\n")
	}
	b.WriteString("From: " + hdr["from"] + "\r\nTo: " + to + "\r\nCall-ID: " + hdr["call-id"] + "\r\nCSeq: " + hdr["cseq"] + "\r\nContent-Length: 0\r\n\r\n")
	return []byte(b.String())
}
