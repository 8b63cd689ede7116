// Package audio holds the small audio plumbing every part of Cadenza shares:
// G.711 µ-law and A-law codecs, WAV reading and writing, and resampling to the
// 8 kHz 16-bit mono PCM that the dialer, AMD and the carrier simulator speak.
// It depends on the standard library only.
package audio

// G.711 tables are computed once per process from the ITU reference
// algorithms; decoding is then a table lookup. They are constants in spirit:
// built by an init-free function call and never written after.
var (
	ulawDecode = buildULawDecode()
	alawDecode = buildALawDecode()
)

func buildULawDecode() (t [256]int16) {
	for i := range 256 {
		u := ^byte(i)
		sign := u & 0x80
		exponent := (u >> 4) & 0x07
		mantissa := u & 0x0F
		sample := ((int(mantissa) << 3) + 0x84) << exponent
		sample -= 0x84
		if sign != 0 {
			sample = -sample
		}
		t[i] = int16(sample)
	}
	return t
}

func buildALawDecode() (t [256]int16) {
	for i := range 256 {
		a := byte(i) ^ 0x55
		sign := a & 0x80
		exponent := (a >> 4) & 0x07
		mantissa := int(a & 0x0F)
		var sample int
		if exponent == 0 {
			sample = (mantissa << 4) + 8
		} else {
			sample = ((mantissa << 4) + 0x108) << (exponent - 1)
		}
		if sign == 0 {
			sample = -sample
		}
		t[i] = int16(sample)
	}
	return t
}

// ULawDecode returns the linear sample of a µ-law byte.
func ULawDecode(u byte) int16 { return ulawDecode[u] }

// ALawDecode returns the linear sample of an A-law byte.
func ALawDecode(a byte) int16 { return alawDecode[a] }

// ULawEncode compresses a linear sample to µ-law (G.711, with the 0x84 bias
// and clipping at 32635).
func ULawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > clip {
		v = clip
	}
	v += bias
	exponent := 7
	for mask := 0x4000; v&mask == 0 && exponent > 0; mask >>= 1 {
		exponent--
	}
	mantissa := (v >> (exponent + 3)) & 0x0F
	return ^byte(sign | exponent<<4 | mantissa)
}

// ALawEncode compresses a linear sample to A-law.
func ALawEncode(s int16) byte {
	v := int(s)
	sign := 0x80
	if v < 0 {
		v = -v - 1
		sign = 0
	}
	if v > 32767 {
		v = 32767
	}
	var out int
	if v < 256 {
		out = v >> 4
	} else {
		exponent := 1
		for e := v >> 8; e > 1; e >>= 1 {
			exponent++
		}
		out = exponent<<4 | (v>>(exponent+3))&0x0F
	}
	return byte(out|sign) ^ 0x55
}

// DecodeULaw decodes src into dst (len(dst) ≥ len(src)) and returns dst[:len(src)].
func DecodeULaw(dst []int16, src []byte) []int16 {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = ulawDecode[b]
	}
	return dst
}

// DecodeALaw decodes src into dst (len(dst) ≥ len(src)) and returns dst[:len(src)].
func DecodeALaw(dst []int16, src []byte) []int16 {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = alawDecode[b]
	}
	return dst
}

// EncodeULaw encodes src into dst (len(dst) ≥ len(src)) and returns dst[:len(src)].
func EncodeULaw(dst []byte, src []int16) []byte {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = ULawEncode(s)
	}
	return dst
}

// EncodeALaw encodes src into dst (len(dst) ≥ len(src)) and returns dst[:len(src)].
func EncodeALaw(dst []byte, src []int16) []byte {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = ALawEncode(s)
	}
	return dst
}
