package audio

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every code decodes to a value that encodes back to the same code (0x7F/0xFF
// and A-law's two zeros aside, which share a linear value).
func TestG711RoundTrip(t *testing.T) {
	t.Parallel()
	for i := range 256 {
		u := byte(i)
		got := ULawEncode(ULawDecode(u))
		require.Equal(t, ULawDecode(u), ULawDecode(got), "µ-law %#x", u)
		a := byte(i)
		require.Equal(t, ALawDecode(a), ALawDecode(ALawEncode(ALawDecode(a))), "A-law %#x", a)
	}
}

// Known reference points of G.711.
func TestG711Reference(t *testing.T) {
	t.Parallel()
	require.Equal(t, byte(0xFF), ULawEncode(0))
	require.Equal(t, int16(0), ULawDecode(0xFF))
	require.Equal(t, int16(-32124), ULawDecode(0x00))
	require.Equal(t, int16(32124), ULawDecode(0x80))
	require.Equal(t, byte(0xD5), ALawEncode(0))
	require.Equal(t, int16(8), ALawDecode(0xD5))
	require.Equal(t, int16(-32256), ALawDecode(0x2A))
	require.Equal(t, int16(32256), ALawDecode(0xAA))
}

// Quantisation error stays within G.711's step size across the range.
func TestG711Error(t *testing.T) {
	t.Parallel()
	for s := -32768; s <= 32767; s += 7 {
		v := int16(s)
		for name, rt := range map[string]int16{"ulaw": ULawDecode(ULawEncode(v)), "alaw": ALawDecode(ALawEncode(v))} {
			diff := int(rt) - int(v)
			if diff < 0 {
				diff = -diff
			}
			limit := 1100 // the largest segment's half step, plus clipping near full scale
			if abs(s) < 1000 {
				limit = 40
			}
			require.LessOrEqual(t, diff, limit, "%s %d → %d", name, v, rt)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func BenchmarkULawDecode160(b *testing.B) {
	src := make([]byte, 160)
	dst := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		DecodeULaw(dst, src)
	}
}
