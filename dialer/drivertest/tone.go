package drivertest

import (
	"math"
	"time"
)

// tone makes d of a sine at hz, at a speech-like level, 8 kHz.
func tone(hz float64, d time.Duration) []int16 {
	out := make([]int16, int(d.Seconds()*8000))
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return out
}
