package pacing_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer/pacing"
)

// benchLimits are 64 trunks of 300 CPS and 200 channels under a global cap:
// a realistic large deployment, where most decisions under full load are
// refusals and the rest grants.
func benchLimits() (map[string]pacing.Limits, []string) {
	limits := map[string]pacing.Limits{pacing.GlobalKey: {CPS: 5000, Burst: 500, MaxChannels: 10000}}
	var keys []string
	for i := range 64 {
		k := fmt.Sprintf("trunk%02d", i)
		keys = append(keys, k)
		limits[k] = pacing.Limits{CPS: 300, Burst: 30, MaxChannels: 200}
	}
	return limits, keys
}

type tryAcquirer interface {
	TryAcquire(ctx context.Context, key string) (pacing.Decision, error)
}

// benchDecisions runs parallel non-blocking decisions and reports
// decisions/s, grants/s and the p99 decision latency. Granted slots are kept
// until the end (as calls would be), so the channel zsets fill up as on a
// busy trunk and Release round trips stay out of the measurement.
func benchDecisions(b *testing.B, p tryAcquirer, keys []string) {
	var (
		mu     sync.Mutex
		lat    []time.Duration
		held   []pacing.Slot
		grants atomic.Int64
		next   atomic.Uint64
	)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		var slots []pacing.Slot
		for pb.Next() {
			k := keys[next.Add(1)%uint64(len(keys))]
			t0 := time.Now()
			d, err := p.TryAcquire(ctx, k)
			local = append(local, time.Since(t0))
			if err != nil {
				b.Error(err)
				return
			}
			if d.Slot != nil {
				grants.Add(1)
				slots = append(slots, d.Slot)
			}
		}
		mu.Lock()
		lat = append(lat, local...)
		held = append(held, slots...)
		mu.Unlock()
	})
	el := time.Since(start).Seconds()
	b.StopTimer()
	for _, s := range held {
		s.Release()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	b.ReportMetric(float64(b.N)/el, "decisions/s")
	b.ReportMetric(float64(grants.Load())/el, "grants/s")
}

// BenchmarkRedisDecision: one Lua script run per decision from many
// goroutines (SetParallelism × GOMAXPROCS), either each as its own EVALSHA
// (batch=1) or gathered by the pacer into script runs of up to 16 or 64
// decisions.
func BenchmarkRedisDecision(b *testing.B) {
	for _, batch := range []int{1, 16, 64} {
		for _, par := range []int{8, 32} {
			b.Run(fmt.Sprintf("batch=%d/goroutines=%dxGOMAXPROCS", batch, par), func(b *testing.B) {
				c := testRedis(b)
				limits, keys := benchLimits()
				p := newRedisNode(b, c, testPrefix(b), limits, pacing.RedisOptions{MaxBatch: batch})
				s, err := p.Acquire(context.Background(), keys[0]) // wait out the warm-up
				if err != nil {
					b.Fatal(err)
				}
				s.Release()
				b.SetParallelism(par)
				benchDecisions(b, p, keys)
			})
		}
	}
}

func BenchmarkLocalDecision(b *testing.B) {
	limits, keys := benchLimits()
	p, err := pacing.NewLocal(pacing.SystemClock{}, limits, pacing.LocalOptions{})
	if err != nil {
		b.Fatal(err)
	}
	benchDecisions(b, p, keys)
}
