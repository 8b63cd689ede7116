package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGatherSlots: a saturated scheduler claims again once a quarter batch
// is free, or after slotGather with fewer; it never hangs.
func TestGatherSlots(t *testing.T) {
	t.Parallel()
	full := func() *Scheduler {
		s := &Scheduler{e: &Engine{batch: 8}, slots: make(chan struct{}, 8), freed: make(chan struct{}, 1)}
		for range cap(s.slots) {
			s.slots <- struct{}{}
		}
		return s
	}
	free := func(s *Scheduler) {
		<-s.slots
		select {
		case s.freed <- struct{}{}:
		default:
		}
	}

	t.Run("one slot waits out the gather window", func(t *testing.T) {
		t.Parallel()
		s := full()
		free(s)
		t0 := time.Now()
		s.gatherSlots(context.Background())
		require.GreaterOrEqual(t, time.Since(t0), slotGather)
		require.Equal(t, 1, cap(s.slots)-len(s.slots))
	})
	t.Run("a quarter batch ends the wait", func(t *testing.T) {
		t.Parallel()
		s := full()
		free(s)
		go func() {
			time.Sleep(time.Millisecond)
			free(s)
		}()
		t0 := time.Now()
		s.gatherSlots(context.Background())
		// Back before the window ended only with two of eight (a quarter)
		// free; a slow goroutine may leave it to the deadline.
		if time.Since(t0) < slotGather {
			require.Equal(t, 2, cap(s.slots)-len(s.slots))
		}
	})
	t.Run("enough free already", func(t *testing.T) {
		t.Parallel()
		s := full()
		free(s)
		free(s)
		t0 := time.Now()
		s.gatherSlots(context.Background())
		require.Less(t, time.Since(t0), time.Second, "no wait with a quarter batch free")
	})
	t.Run("stop ends the wait", func(t *testing.T) {
		t.Parallel()
		s := full()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s.gatherSlots(ctx) // nothing free, cancelled: returns
	})
}
