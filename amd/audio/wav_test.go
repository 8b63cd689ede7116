package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawWAV builds a WAV file with an arbitrary fmt chunk, for the reader tests.
func rawWAV(tag uint16, channels, rate, bits int, data []byte) []byte {
	le := binary.LittleEndian
	block := channels * bits / 8
	b := []byte("RIFF")
	b = le.AppendUint32(b, uint32(36+len(data)))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, tag)
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*block))
	b = le.AppendUint16(b, uint16(block))
	b = le.AppendUint16(b, uint16(bits))
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

func tone(rate int, hz, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

func pcmBytes(s []int16) []byte {
	b := make([]byte, 0, 2*len(s))
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func rms(s []int16) float64 {
	sum := 0.0
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	in := tone(Rate, 440, 12000, 4000)
	in = append(in, math.MaxInt16, math.MinInt16, 0, -1)
	var buf bytes.Buffer
	require.NoError(t, EncodeWAV(&buf, in))
	require.Equal(t, 44+2*len(in), buf.Len())
	out, err := DecodeWAV(&buf)
	require.NoError(t, err)
	require.Equal(t, in, out)
}

func TestEncodeWAVEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, EncodeWAV(&buf, nil))
	out, err := DecodeWAV(&buf)
	require.NoError(t, err)
	require.Empty(t, out)
}

// Resampling keeps an in-band tone's level and removes what lies above 4 kHz
// instead of folding it back into the band.
func TestDecodeWAVResamples(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{16000, 24000, 32000, 48000} {
		inBand := tone(rate, 1000, 10000, rate) // 1 s
		out, err := DecodeWAV(bytes.NewReader(rawWAV(formatPCM, 1, rate, 16, pcmBytes(inBand))))
		require.NoError(t, err, "rate %d", rate)
		require.Len(t, out, Rate, "rate %d", rate)
		require.InDelta(t, 10000/math.Sqrt2, rms(out[200:len(out)-200]), 150, "rate %d: 1 kHz level", rate)

		// 5 kHz would alias to 3 kHz with naive decimation.
		above := tone(rate, 5000, 10000, rate)
		out, err = DecodeWAV(bytes.NewReader(rawWAV(formatPCM, 1, rate, 16, pcmBytes(above))))
		require.NoError(t, err)
		require.Less(t, rms(out[200:len(out)-200]), 10.0, "rate %d: 5 kHz must be filtered out", rate)
	}
}

func TestDecodeWAVFormats(t *testing.T) {
	t.Parallel()
	ref := tone(Rate, 700, 8000, 800)
	ulaw := EncodeULaw(make([]byte, len(ref)), ref)
	alaw := EncodeALaw(make([]byte, len(ref)), ref)
	var stereo []int16
	for _, v := range ref {
		stereo = append(stereo, v, v/3) // average = 2v/3
	}
	u8 := make([]byte, len(ref))
	for i, v := range ref {
		u8[i] = byte(int(v>>8) + 128)
	}
	cases := []struct {
		name string
		file []byte
		want func(i int) float64
		tol  float64
	}{
		{"mulaw", rawWAV(formatULaw, 1, Rate, 8, ulaw), func(i int) float64 { return float64(ref[i]) }, 300},
		{"alaw", rawWAV(formatALaw, 1, Rate, 8, alaw), func(i int) float64 { return float64(ref[i]) }, 300},
		{"stereo", rawWAV(formatPCM, 2, Rate, 16, pcmBytes(stereo)), func(i int) float64 { return float64(ref[i]) * 2 / 3 }, 2},
		{"pcm8", rawWAV(formatPCM, 1, Rate, 8, u8), func(i int) float64 { return float64(ref[i]) }, 256},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := DecodeWAV(bytes.NewReader(tc.file))
			require.NoError(t, err)
			require.Len(t, out, len(ref))
			for i, v := range out {
				require.InDelta(t, tc.want(i), float64(v), tc.tol, "sample %d", i)
			}
		})
	}
}

// WAVE_FORMAT_EXTENSIBLE carries the real tag in its sub-format GUID, and
// unknown chunks before "data" (LIST, fact) are skipped, odd sizes padded.
func TestDecodeWAVExtensibleAndChunks(t *testing.T) {
	t.Parallel()
	le := binary.LittleEndian
	pcm := tone(Rate, 500, 5000, 100)
	b := []byte("RIFF\x00\x00\x00\x00WAVE")
	b = append(b, "LIST"...)
	b = le.AppendUint32(b, 3)
	b = append(b, 'a', 'b', 'c', 0) // odd chunk + pad byte
	b = append(b, "fmt "...)
	b = le.AppendUint32(b, 40)
	b = le.AppendUint16(b, formatExtensible)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint32(b, Rate)
	b = le.AppendUint32(b, Rate*2)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 16)
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, 16)
	b = le.AppendUint32(b, 4)
	b = le.AppendUint16(b, formatPCM)
	b = append(b, make([]byte, 14)...)
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(2*len(pcm)))
	b = append(b, pcmBytes(pcm)...)
	out, err := DecodeWAV(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, pcm, out)
}

func TestDecodeWAVErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"text", []byte("hello, this is not audio\n"), "not a RIFF/WAVE file"},
		{"empty", nil, "not a RIFF/WAVE file"},
		{"24-bit", rawWAV(formatPCM, 1, Rate, 24, make([]byte, 30)), "bits per sample 24"},
		{"11 kHz", rawWAV(formatPCM, 1, 11025, 16, make([]byte, 30)), "sample rate 11025 Hz"},
		{"44.1 kHz", rawWAV(formatPCM, 1, 44100, 16, make([]byte, 30)), "sample rate 44100 Hz"},
		{"float", rawWAV(3, 1, Rate, 32, make([]byte, 32)), "format tag 3"},
		{"gsm", rawWAV(0x31, 1, Rate, 0, nil), "format tag 49"},
		{"3 channels", rawWAV(formatPCM, 3, Rate, 16, make([]byte, 30)), "channels 3"},
		{"16-bit law", rawWAV(formatULaw, 1, Rate, 16, make([]byte, 30)), "G.711 must be 8-bit"},
		{"no data", rawWAV(formatPCM, 1, Rate, 16, nil)[:36], "no data chunk"},
		{"no fmt", []byte("RIFF\x04\x00\x00\x00WAVEdata\x00\x00\x00\x00"), "no fmt chunk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeWAV(bytes.NewReader(tc.file))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// A data chunk whose declared size runs past the end (a recorder that was cut
// off, or 0xFFFFFFFF from a streaming writer) yields the samples present.
func TestDecodeWAVTruncated(t *testing.T) {
	t.Parallel()
	pcm := tone(Rate, 300, 3000, 100)
	var buf bytes.Buffer
	require.NoError(t, EncodeWAV(&buf, pcm))
	b := buf.Bytes()[:buf.Len()-51] // 25.5 samples missing
	out, err := DecodeWAV(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, pcm[:74], out)
}

func FuzzDecodeWAV(f *testing.F) {
	var buf bytes.Buffer
	_ = EncodeWAV(&buf, tone(Rate, 440, 1000, 64))
	f.Add(buf.Bytes())
	f.Add(rawWAV(formatULaw, 2, 16000, 8, make([]byte, 64)))
	f.Add(rawWAV(formatPCM, 1, 48000, 16, make([]byte, 200)))
	f.Add([]byte(strings.Repeat("RIFF", 10)))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := DecodeWAV(bytes.NewReader(b))
		if err != nil {
			require.Nil(t, pcm)
			return
		}
		// Whatever decodes must survive a round trip unchanged.
		var out bytes.Buffer
		require.NoError(t, EncodeWAV(&out, pcm))
		again, err := DecodeWAV(&out)
		require.NoError(t, err)
		require.Equal(t, len(pcm), len(again))
		if len(pcm) > 0 {
			require.Equal(t, pcm, again)
		}
	})
}
