//go:build unix

package amd

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user+system) this process has used. On a
// shared machine, wall time per op overstates the cost; CPU time does not.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
