package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Rate is the sample rate, in Hz, of everything DecodeWAV returns and
// EncodeWAV writes: the narrow-band telephone rate.
const Rate = 8000

// MaxWAVBytes bounds what DecodeWAV reads, so a hostile or broken upload
// cannot make us allocate without limit (about 35 minutes of 48 kHz stereo).
const MaxWAVBytes = 400 << 20

// WAV format tags that DecodeWAV accepts.
const (
	formatPCM        = 1
	formatALaw       = 6
	formatULaw       = 7
	formatExtensible = 0xFFFE
)

// ErrNotWAV is returned (wrapped) when the input is not a RIFF/WAVE file.
var ErrNotWAV = errors.New("not a RIFF/WAVE file")

// wavFormat is the content of the "fmt " chunk that matters to us.
type wavFormat struct {
	tag        uint16
	channels   int
	rate       int
	blockAlign int
	bits       int
}

// DecodeWAV reads a whole WAV file and returns its audio as 8 kHz mono 16-bit
// PCM. It accepts linear PCM (8-bit unsigned or 16-bit signed) and G.711
// A-law (format tag 6) and µ-law (tag 7), also inside WAVE_FORMAT_EXTENSIBLE,
// mono or stereo (stereo is averaged), at 8, 16, 24, 32 or 48 kHz; higher
// rates are low-pass filtered before decimation so nothing above 4 kHz folds
// back into the band. Anything else is an error that names the offending
// field (for example "bits per sample 24: only 8- and 16-bit PCM").
func DecodeWAV(r io.Reader) ([]int16, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxWAVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("wav: read: %w", err)
	}
	if len(raw) > MaxWAVBytes {
		return nil, fmt.Errorf("wav: file larger than %d bytes", MaxWAVBytes)
	}
	if len(raw) < 12 || string(raw[0:4]) != "RIFF" || string(raw[8:12]) != "WAVE" {
		return nil, fmt.Errorf("wav: %w (missing RIFF/WAVE header)", ErrNotWAV)
	}
	var (
		f       *wavFormat
		data    []byte
		hasData bool
	)
	for p := 12; p+8 <= len(raw); {
		id := string(raw[p : p+4])
		size := int64(binary.LittleEndian.Uint32(raw[p+4 : p+8]))
		body := raw[p+8:]
		if size > int64(len(body)) {
			// A truncated last chunk (or a streaming writer's 0xFFFFFFFF size):
			// take what is there.
			size = int64(len(body))
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if f, err = parseFormat(body); err != nil {
				return nil, err
			}
		case "data":
			data, hasData = body, true
		}
		if hasData && f != nil {
			break
		}
		p += 8 + int(size) + int(size&1)
	}
	if f == nil {
		return nil, errors.New("wav: no fmt chunk")
	}
	if !hasData {
		return nil, errors.New("wav: no data chunk")
	}
	mono := decodeSamples(f, data)
	return resampleTo8k(mono, f.rate), nil
}

func parseFormat(b []byte) (*wavFormat, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("wav: fmt chunk is %d bytes, want at least 16", len(b))
	}
	f := &wavFormat{
		tag:        binary.LittleEndian.Uint16(b[0:2]),
		channels:   int(binary.LittleEndian.Uint16(b[2:4])),
		rate:       int(binary.LittleEndian.Uint32(b[4:8])),
		blockAlign: int(binary.LittleEndian.Uint16(b[12:14])),
		bits:       int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if f.tag == formatExtensible {
		if len(b) < 26 {
			return nil, fmt.Errorf("wav: WAVE_FORMAT_EXTENSIBLE fmt chunk is %d bytes, want 40", len(b))
		}
		// The sub-format GUID starts with the real format tag.
		f.tag = binary.LittleEndian.Uint16(b[24:26])
	}
	switch f.tag {
	case formatPCM:
		if f.bits != 8 && f.bits != 16 {
			return nil, fmt.Errorf("wav: bits per sample %d: only 8- and 16-bit PCM are supported", f.bits)
		}
	case formatALaw, formatULaw:
		if f.bits != 8 {
			return nil, fmt.Errorf("wav: bits per sample %d: G.711 must be 8-bit", f.bits)
		}
	default:
		return nil, fmt.Errorf("wav: format tag %d: only PCM (1), A-law (6) and µ-law (7) are supported", f.tag)
	}
	if f.channels != 1 && f.channels != 2 {
		return nil, fmt.Errorf("wav: channels %d: only mono and stereo are supported", f.channels)
	}
	switch f.rate {
	case 8000, 16000, 24000, 32000, 48000:
	default:
		return nil, fmt.Errorf("wav: sample rate %d Hz: only 8000, 16000, 24000, 32000 and 48000 Hz are supported", f.rate)
	}
	if want := f.channels * f.bits / 8; f.blockAlign != want {
		return nil, fmt.Errorf("wav: block align %d: want %d for %d channel(s) of %d bits", f.blockAlign, want, f.channels, f.bits)
	}
	return f, nil
}

// decodeSamples turns the data chunk into mono linear samples at the file's
// rate. A trailing partial frame is dropped.
func decodeSamples(f *wavFormat, data []byte) []int16 {
	n := len(data) / f.blockAlign
	out := make([]int16, n)
	bps := f.bits / 8
	for i := range n {
		frame := data[i*f.blockAlign:]
		sum := 0
		for c := range f.channels {
			s := frame[c*bps:]
			switch {
			case f.tag == formatALaw:
				sum += int(alawDecode[s[0]])
			case f.tag == formatULaw:
				sum += int(ulawDecode[s[0]])
			case bps == 1:
				sum += (int(s[0]) - 128) << 8
			default:
				sum += int(int16(binary.LittleEndian.Uint16(s)))
			}
		}
		out[i] = int16(sum / f.channels)
	}
	return out
}

// resampleTo8k decimates in by rate/8000 after a windowed-sinc low-pass
// (Blackman window, cut-off 3.6 kHz, 32 taps per output sample), which keeps
// aliases of anything above 4 kHz below about -70 dB.
func resampleTo8k(in []int16, rate int) []int16 {
	m := rate / Rate
	if m == 1 {
		return in
	}
	taps := lowPass(32*m+1, 3600/float64(rate))
	half := len(taps) / 2
	out := make([]int16, len(in)/m)
	for o := range out {
		c := o * m
		acc := 0.0
		for k, h := range taps {
			j := c + k - half
			if j >= 0 && j < len(in) {
				acc += h * float64(in[j])
			}
		}
		out[o] = clip16(acc)
	}
	return out
}

// lowPass returns n taps of a Blackman-windowed sinc with cut-off fc in
// cycles per sample, normalised to unit gain at DC.
func lowPass(n int, fc float64) []float64 {
	h := make([]float64, n)
	mid := float64(n-1) / 2
	sum := 0.0
	for i := range h {
		x := float64(i) - mid
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/float64(n-1))
		h[i] = s * w
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}

func clip16(v float64) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(v))
}

// EncodeWAV writes pcm as a canonical 44-byte-header WAV: 8 kHz, mono,
// 16-bit little-endian linear PCM.
func EncodeWAV(w io.Writer, pcm []int16) error {
	dataLen := 2 * len(pcm)
	if uint64(dataLen)+36 > math.MaxUint32 {
		return fmt.Errorf("wav: %d samples do not fit a WAV file", len(pcm))
	}
	le := binary.LittleEndian
	b := make([]byte, 0, 44+dataLen)
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, uint32(36+dataLen))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, formatPCM)
	b = le.AppendUint16(b, 1) // channels
	b = le.AppendUint32(b, Rate)
	b = le.AppendUint32(b, Rate*2) // bytes per second
	b = le.AppendUint16(b, 2)      // block align
	b = le.AppendUint16(b, 16)     // bits per sample
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(dataLen))
	for _, s := range pcm {
		b = le.AppendUint16(b, uint16(s))
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("wav: write: %w", err)
	}
	return nil
}
