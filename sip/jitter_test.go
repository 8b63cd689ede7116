package sip

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

type emitted struct {
	first byte
	lost  int
}

func runJitter(depth int, seqs []uint16) (*jitterBuffer, []emitted) {
	j := newJitterBuffer(depth)
	var out []emitted
	for _, s := range seqs {
		j.push(s, PayloadPCMU, []byte{byte(s)}, func(_ uint8, p []byte, lost, _ int) {
			out = append(out, emitted{p[0], lost})
		})
	}
	return j, out
}

func TestJitterBuffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		seqs       []uint16
		want       []emitted
		lost, late uint64
	}{
		{"in order", []uint16{1, 2, 3}, []emitted{{1, 0}, {2, 0}, {3, 0}}, 0, 0},
		{"swap", []uint16{1, 3, 2, 4}, []emitted{{1, 0}, {2, 0}, {3, 0}, {4, 0}}, 0, 0},
		{"late after loss declared", []uint16{1, 3, 4, 5, 6, 2}, []emitted{{1, 0}, {3, 1}, {4, 0}, {5, 0}, {6, 0}}, 1, 1},
		{"duplicate", []uint16{1, 2, 2, 3}, []emitted{{1, 0}, {2, 0}, {3, 0}}, 0, 1},
		{"wrap", []uint16{65534, 65535, 1, 0}, []emitted{{254, 0}, {255, 0}, {0, 0}, {1, 0}}, 0, 0},
		{"jump resets", []uint16{1, 2, 1000, 1001}, []emitted{{1, 0}, {2, 0}, {1000 & 0xff, 0}, {1001 & 0xff, 0}}, 0, 0},
		{"burst loss", []uint16{1, 6, 7, 8, 9}, []emitted{{1, 0}, {6, 4}, {7, 0}, {8, 0}, {9, 0}}, 4, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j, out := runJitter(3, tc.seqs)
			require.Equal(t, tc.want, out)
			require.Equal(t, tc.lost, j.Lost)
			require.Equal(t, tc.late, j.Late)
		})
	}
}

func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		j := newJitterBuffer(3)
		n := 0
		for i := 0; i+1 < len(b); i += 2 {
			seq := uint16(b[i])<<8 | uint16(b[i+1])
			j.push(seq, 0, []byte{1}, func(_ uint8, _ []byte, lost, _ int) {
				n++
				if lost < 0 || lost > maxGapFill {
					t.Fatalf("lost %d", lost)
				}
			})
		}
		if j.held < 0 || j.held > jitterSlots {
			t.Fatalf("held %d", j.held)
		}
		if n > len(b)/2 {
			t.Fatalf("emitted %d packets from %d pushed", n, len(b)/2)
		}
	})
}

func TestPortRange(t *testing.T) {
	t.Parallel()
	// Find a free even block to use.
	base := 0
	for p := 41000; p < 60000; p += 16 {
		c, err := listenRTP(netip.MustParseAddrPort("127.0.0.1:" + strconv.Itoa(p)))
		if err == nil {
			c.Close()
			base = p
			break
		}
	}
	require.NotZero(t, base)
	r := &PortRange{Min: base, Max: base + 5} // ports base, base+2, base+4
	ip := netip.MustParseAddr("127.0.0.1")
	var conns []*net.UDPConn
	for range 3 {
		c, err := r.Listen(ip)
		if err != nil {
			t.Skipf("port range in use by another process: %v", err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		require.GreaterOrEqual(t, port, base)
		require.LessOrEqual(t, port, base+5)
		require.Zero(t, port%2-base%2)
		conns = append(conns, c)
	}
	_, err := r.Listen(ip)
	require.ErrorContains(t, err, "no free port", "all three ports are taken")
	conns[1].Close()
	c, err := r.Listen(ip)
	require.NoError(t, err, "a freed port is reused")
	c.Close()
	conns[0].Close()
	conns[2].Close()
}
