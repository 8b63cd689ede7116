package sip_test

import (
	"net/netip"
	"testing"

	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/stretchr/testify/require"
)

func TestSDPRoundTrip(t *testing.T) {
	t.Parallel()
	body := sip.BuildSDP(netip.MustParseAddr("192.0.2.10"), 20000, 42, []uint8{sip.PayloadPCMU, sip.PayloadPCMA}, true)
	md, err := sip.ParseSDP(body)
	require.NoError(t, err)
	require.Equal(t, netip.MustParseAddrPort("192.0.2.10:20000"), md.Addr)
	require.Equal(t, []uint8{0, 8, 101}, md.Payloads)
	require.Equal(t, 101, md.TelephoneEvent)
	require.Equal(t, "sendrecv", md.Direction)
	pt, ok := md.Choose([]uint8{8, 0})
	require.True(t, ok)
	require.EqualValues(t, 8, pt)

	body6 := sip.BuildSDP(netip.MustParseAddr("2001:db8::1"), 30000, 1, []uint8{sip.PayloadPCMA}, false)
	md, err = sip.ParseSDP(body6)
	require.NoError(t, err)
	require.Equal(t, netip.MustParseAddrPort("[2001:db8::1]:30000"), md.Addr)
	require.Equal(t, -1, md.TelephoneEvent)
}

func TestParseSDP(t *testing.T) {
	t.Parallel()
	const head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
	tests := []struct {
		name, body, err string
		addr            string
	}{
		{"media-level c", head + "t=0 0\r\nm=audio 4000 RTP/AVP 8 0\r\nc=IN IP4 192.0.2.7\r\na=recvonly\r\n", "", "192.0.2.7:4000"},
		{"session-level c", head + "c=IN IP4 192.0.2.8\r\nt=0 0\r\nm=video 5000 RTP/AVP 31\r\nm=audio 4002 RTP/AVP 0\r\n", "", "192.0.2.8:4002"},
		{"no audio", head + "c=IN IP4 192.0.2.8\r\nt=0 0\r\nm=video 5000 RTP/AVP 31\r\n", "no RTP/AVP audio", ""},
		{"srtp only", head + "c=IN IP4 192.0.2.8\r\nt=0 0\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 0\r\n", "no RTP/AVP audio", ""},
		{"port zero", head + "c=IN IP4 192.0.2.8\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n", "port: must be 1..65535", ""},
		{"no c", head + "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "no connection address", ""},
		{"bad c", head + "c=IN IP4 not-an-ip\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "c=: address", ""},
		{"bad format", head + "c=IN IP4 192.0.2.8\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 abc\r\n", "format", ""},
		{"garbage", "hello", "sdp:", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			md, err := sip.ParseSDP([]byte(tc.body))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, netip.MustParseAddrPort(tc.addr), md.Addr)
		})
	}
}

func FuzzParseSDP(f *testing.F) {
	f.Add(sip.BuildSDP(netip.MustParseAddr("192.0.2.10"), 20000, 42, []uint8{0, 8}, true))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4/127\r\nt=0 0\r\nm=audio 1/2 RTP/AVP 0\r\n"))
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := sip.ParseSDP(b)
		if err != nil {
			return
		}
		if !md.Addr.IsValid() || md.Addr.Port() == 0 || len(md.Payloads) == 0 {
			t.Fatalf("accepted SDP without a usable stream: %+v", md)
		}
		for _, p := range md.Payloads {
			if p > 127 {
				t.Fatalf("payload type %d", p)
			}
		}
	})
}
