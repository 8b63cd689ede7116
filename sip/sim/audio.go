package sim

import (
	"bytes"
	"embed"
	"fmt"
	"math"
	"path"
	"sync"

	"github.com/cadenza-dialer/cadenza/amd/audio"
)

//go:embed audio/*.wav
var audioFS embed.FS

// clips are the decoded bundled WAVs, read once per Simulator.
type clips struct {
	hellos    [][]int16
	greetings map[string][]int16 // short, medium, long
	announce  []int16
	message   []int16
}

var loadOnce = sync.OnceValues(loadClips)

func loadClips() (*clips, error) {
	read := func(name string) ([]int16, error) {
		b, err := audioFS.ReadFile(path.Join("audio", name))
		if err != nil {
			return nil, err
		}
		pcm, err := audio.DecodeWAV(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", name, err)
		}
		return pcm, nil
	}
	c := &clips{greetings: map[string][]int16{}}
	for _, n := range []string{"hello1.wav", "hello2.wav", "hello3.wav"} {
		pcm, err := read(n)
		if err != nil {
			return nil, err
		}
		c.hellos = append(c.hellos, pcm)
	}
	for _, n := range []string{"short", "medium", "long"} {
		pcm, err := read("greeting_" + n + ".wav")
		if err != nil {
			return nil, err
		}
		c.greetings[n] = pcm
	}
	var err error
	if c.announce, err = read("announce.wav"); err != nil {
		return nil, err
	}
	if c.message, err = read("message.wav"); err != nil {
		return nil, err
	}
	return c, nil
}

// MessageAudio is a bundled spoken voicemail message (8 kHz PCM, ~7 s) for
// tests and the demo to leave after the beep. The slice is shared: do not
// modify it.
func MessageAudio() ([]int16, error) {
	c, err := loadOnce()
	if err != nil {
		return nil, err
	}
	return c.message, nil
}

// greetingFor returns a greeting of exactly length: the bundled greeting
// that is closest, cut or padded with silence.
func (c *clips) greetingFor(length int) []int16 {
	best := c.greetings["long"]
	for _, n := range []string{"short", "medium", "long"} {
		if g := c.greetings[n]; len(g) >= length {
			best = g
			break
		}
	}
	out := make([]int16, length)
	n := copy(out, best)
	if n < len(best) {
		fadeOut(out[:n], 400)
	}
	return out
}

// fadeOut ramps the last n samples to zero so a cut greeting does not click.
func fadeOut(pcm []int16, n int) {
	n = min(n, len(pcm))
	for i := range n {
		j := len(pcm) - n + i
		pcm[j] = int16(float64(pcm[j]) * float64(n-i) / float64(n))
	}
}

// tone synthesizes a sine of freq Hz for n samples at amplitude amp
// (0..1 of full scale), with 5 ms ramps.
func tone(freq float64, n int, amp float64) []int16 {
	out := make([]int16, n)
	ramp := 40
	for i := range out {
		a := amp
		if i < ramp {
			a *= float64(i) / float64(ramp)
		} else if n-i < ramp {
			a *= float64(n-i) / float64(ramp)
		}
		out[i] = int16(a * 32767 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return out
}

// sitTones is the standard three-tone special information sequence
// (913.8, 1370.6, 1776.7 Hz; 274, 274, 380 ms) followed by the announcement.
func (c *clips) sitTones() []int16 {
	var out []int16
	out = append(out, tone(913.8, 2192, 0.3)...)
	out = append(out, tone(1370.6, 2192, 0.3)...)
	out = append(out, tone(1776.7, 3040, 0.3)...)
	out = append(out, make([]int16, 800)...)
	return append(out, c.announce...)
}
