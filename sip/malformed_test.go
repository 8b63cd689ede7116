package sip_test

import (
	"strings"
	"testing"

	"github.com/cadenza-dialer/cadenza/sip"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"
)

const badReq = "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n" +
	"To: sip:user@example.com\r\nFrom: sip:caller@example.net;tag=384\r\nMax-Forwards: 3\r\n" +
	"Call-ID: novelsc.asdfasser0q239nwsdfasdkl34\r\nCSeq: 3923423 OPTIONS\r\n" +
	"Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\nContent-Length: 0\r\n\r\n"

func TestUnparsableResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, msg, status string
	}{
		{"unknown scheme", badReq, "SIP/2.0 416 Unsupported URI Scheme"},
		{"bad version", strings.Replace(badReq, "soap.beep://192.0.2.103:3002 SIP/2.0", "sip:a@b SIP/3.0", 1), "SIP/2.0 505"},
		{"other", strings.Replace(badReq, "soap.beep://192.0.2.103:3002", "sip:a@b", 1), "SIP/2.0 400"},
		{"compact and folded", "INVITE sip:a@b SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\nf: <sip:c@d>\n ;tag=1\nt: <sip:a@b>\ni: x\nCSeq: 1 INVITE\n\n", "SIP/2.0 400"},
		{"response", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", ""},
		{"ack", strings.Replace(badReq, "OPTIONS soap.beep://192.0.2.103:3002", "ACK sip:a@b", 1), ""},
		{"no call-id", strings.Replace(badReq, "Call-ID", "X-Call", 1), ""},
		{"garbage", "\x00\x01", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := sip.UnparsableResponse([]byte(tc.msg))
			if tc.status == "" {
				require.Nil(t, res)
				return
			}
			require.True(t, strings.HasPrefix(string(res), tc.status), string(res))
			// What we send must itself be a well-formed SIP response.
			m, err := gosip.NewParser().ParseSIP(res)
			require.NoError(t, err, string(res))
			r := m.(*gosip.Response)
			require.NotNil(t, r.Via())
			require.NotNil(t, r.CallID())
			_, hasTag := r.To().Params.Get("tag")
			require.True(t, hasTag)
		})
	}
}

func FuzzUnparsableResponse(f *testing.F) {
	f.Add([]byte(badReq))
	f.Add([]byte("INVITE sip:a@b SIP/2.0\nv: x\nf: y\nt: z\ni: w\nCSeq: 1 INVITE\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res := sip.UnparsableResponse(b)
		if res == nil {
			return
		}
		if !strings.HasPrefix(string(res), "SIP/2.0 ") || !strings.HasSuffix(string(res), "\r\n\r\n") {
			t.Fatalf("malformed answer %q", res)
		}
		// Exactly one blank line: no header injection through CR/LF.
		if strings.Count(string(res), "\r\n\r\n") != 1 || strings.Count(string(res), "\n") != strings.Count(string(res), "\r\n") {
			t.Fatalf("answer with stray line breaks %q", res)
		}
	})
}
