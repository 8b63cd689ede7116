package api

import (
	"bytes"
	"encoding/binary"
	"math"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/cadenza-dialer/cadenza/engine"
)

// wavBytes writes a linear-PCM WAV of a 440 Hz tone: frames samples per
// channel at rate Hz, with bits per sample (16 or 24 here) — written by
// hand so that the test does not trust the code under test's encoder.
func wavBytes(t testing.TB, rate, channels, bits, frames int) []byte {
	t.Helper()
	le := binary.LittleEndian
	bps := bits / 8
	data := make([]byte, 0, frames*channels*bps)
	for i := range frames {
		v := int32(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		for range channels {
			switch bits {
			case 16:
				data = le.AppendUint16(data, uint16(int16(v)))
			case 24:
				u := uint32(v << 8)
				data = append(data, byte(u>>8), byte(u>>16), byte(u>>24))
			default:
				t.Fatalf("bits %d", bits)
			}
		}
	}
	b := []byte("RIFF")
	b = le.AppendUint32(b, uint32(36+len(data)))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*channels*bps))
	b = le.AppendUint16(b, uint16(channels*bps))
	b = le.AppendUint16(b, uint16(bits))
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

func TestAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.MaxAssetBytes = 200 << 10 })
	wav := func(name string, body []byte, hdr ...string) resp {
		if len(hdr) == 0 {
			hdr = []string{"Content-Type", "audio/wav"}
		}
		return e.do("POST", "/v1/assets?name="+name, e.manager, body, hdr...)
	}

	// 8 kHz as is; 16 kHz stereo and 48 kHz are normalized to 8 kHz mono.
	var a8, a16, a48 engine.Asset
	wav("vm-intro", wavBytes(t, 8000, 1, 16, 8000)).ok(t, http.StatusCreated, &a8)
	require.Equal(t, int64(1000), a8.DurationMS)
	wav("greeting-16k", wavBytes(t, 16000, 2, 16, 8000), "Content-Type", "audio/x-wav").ok(t, http.StatusCreated, &a16)
	require.Equal(t, int64(500), a16.DurationMS)
	wav("safe.harbor", wavBytes(t, 48000, 1, 16, 24000)).ok(t, http.StatusCreated, &a48)
	require.Equal(t, int64(500), a48.DurationMS)

	// Unsupported audio is a 422 naming what is wrong.
	p := wav("text", []byte("this is not audio at all")).problem(t, http.StatusUnprocessableEntity, "body")
	require.Contains(t, p.Detail, "RIFF")
	p = wav("deep", wavBytes(t, 8000, 1, 24, 800)).problem(t, http.StatusUnprocessableEntity, "body")
	require.Contains(t, p.Detail, "24")
	p = wav("odd-rate", wavBytes(t, 11025, 1, 16, 1100)).problem(t, http.StatusUnprocessableEntity, "body")
	require.Contains(t, p.Detail, "11025")
	wav("empty", wavBytes(t, 8000, 1, 16, 0)).problem(t, http.StatusUnprocessableEntity, "body")
	wav("json", wavBytes(t, 8000, 1, 16, 80), "Content-Type", "application/json").problem(t, http.StatusUnsupportedMediaType, "Content-Type")
	wav("none", wavBytes(t, 8000, 1, 16, 80), "Content-Type", "").problem(t, http.StatusUnsupportedMediaType, "Content-Type")
	wav("", wavBytes(t, 8000, 1, 16, 80)).problem(t, http.StatusUnprocessableEntity, "name")
	wav("-bad/name", wavBytes(t, 8000, 1, 16, 80)).problem(t, http.StatusUnprocessableEntity, "name")
	wav("vm-intro", wavBytes(t, 8000, 1, 16, 80)).problem(t, http.StatusConflict, "name")
	wav("big", wavBytes(t, 48000, 1, 16, 120000)).problem(t, http.StatusRequestEntityTooLarge, "")

	// Listing, metadata, download.
	var page listPage[engine.Asset]
	e.do("GET", "/v1/assets?limit=2", e.viewer, nil).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 2)
	require.NotEmpty(t, page.Next)
	e.do("GET", "/v1/assets?limit=2&after="+page.Next, e.viewer, nil).ok(t, http.StatusOK, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, a48.ID, page.Items[0].ID)

	var meta engine.Asset
	e.do("GET", "/v1/assets/"+a8.ID, e.viewer, nil).ok(t, http.StatusOK, &meta)
	require.Equal(t, "vm-intro", meta.Name)
	r := e.do("GET", "/v1/assets/vm-intro?format=wav", e.viewer, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "audio/wav", r.header.Get("Content-Type"))
	pcm, err := audio.DecodeWAV(bytes.NewReader(r.body))
	require.NoError(t, err)
	require.Len(t, pcm, 8000)
	orig, err := audio.DecodeWAV(bytes.NewReader(wavBytes(t, 8000, 1, 16, 8000)))
	require.NoError(t, err)
	require.Equal(t, orig, pcm, "8 kHz audio is stored unchanged")
	e.do("GET", "/v1/assets/"+a8.ID+"?format=mp3", e.viewer, nil).problem(t, http.StatusUnprocessableEntity, "format")
	e.do("GET", "/v1/assets/nope", e.viewer, nil).problem(t, http.StatusNotFound, "")

	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/assets/"+a16.ID, e.manager, nil).status)
	e.do("DELETE", "/v1/assets/"+a16.ID, e.manager, nil).problem(t, http.StatusNotFound, "")
	e.do("DELETE", "/v1/assets/"+a8.ID, e.viewer, nil).problem(t, http.StatusForbidden, "")
}
