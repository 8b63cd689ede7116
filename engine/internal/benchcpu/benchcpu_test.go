package benchcpu

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestProcessTimes checks both readings move with work done: this
// process's own time through getrusage, and its /proc entry, which is how
// the server's processes are read.
func TestProcessTimes(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system: the server side is not measured here")
	}
	self0 := selfCPU()
	proc0, ok := procCPU(os.Getpid())
	require.True(t, ok)
	// Spin until the kernel's 10 ms tick has counted some of it.
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for {
		for i := range 1_000_000 {
			x += i
		}
		proc1, _ := procCPU(os.Getpid())
		if proc1 > proc0 || time.Now().After(deadline) {
			break
		}
	}
	proc1, ok := procCPU(os.Getpid())
	require.True(t, ok)
	require.Greater(t, proc1, proc0, "the /proc reading moved (%d)", x)
	require.Greater(t, selfCPU(), self0)
	_, ok = procCPU(-1)
	require.False(t, ok, "no such process")
}
