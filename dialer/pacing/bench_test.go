package pacing_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
// decisions/s, grants/s and the p50 and p99 latency of one decision. Granted
// slots are kept until the end (as calls would be), so the channel zsets
// fill up as on a busy trunk and Release round trips stay out of the
// measurement. With c (the Redis of p) it also reports the CPU time of
// the Redis server and of this process per decision, and the decisions
// per script run. It returns the
// decision rate.
func benchDecisions(b *testing.B, p tryAcquirer, keys []string, c *redis.Client) float64 {
	var (
		mu     sync.Mutex
		lat    []time.Duration
		held   []pacing.Slot
		grants atomic.Int64
		next   atomic.Uint64
	)
	ctx := context.Background()
	var s0, c0, r0 float64
	if c != nil {
		s0, c0, r0 = redisStats(b, c)
	}
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
	if c != nil {
		s1, c1, r1 := redisStats(b, c)
		b.ReportMetric((s1-s0)*1e6/float64(b.N), "redis-cpu-µs/decision")
		b.ReportMetric((c1-c0)*1e6/float64(b.N), "client-cpu-µs/decision")
		b.ReportMetric(float64(b.N)/(r1-r0), "decisions/run")
	}
	for _, s := range held {
		s.Release()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	b.ReportMetric(float64(b.N)/el, "decisions/s")
	b.ReportMetric(float64(grants.Load())/el, "grants/s")
	return float64(b.N) / el
}

// trivialScript is the cheapest script run: the ceiling of one round trip
// with one EVALSHA, against which the decision rate is compared.
var trivialScript = redis.NewScript("return 1")

// reportCeiling runs the trivial script for d from goroutines callers (the
// same number as the decision benchmark, on the same Redis, right after it:
// the shared CPU is in the same state) and reports its rate and the ratio
// of the decision rate to it.
func reportCeiling(b *testing.B, c *redis.Client, goroutines int, d time.Duration, decisions float64) {
	ctx := context.Background()
	if err := trivialScript.Load(ctx, c).Err(); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := trivialScript.EvalSha(ctx, c, nil).Err(); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	rate := float64(n.Load()) / time.Since(start).Seconds()
	b.ReportMetric(rate, "ceiling-evalsha/s")
	b.ReportMetric(decisions/rate, "x-ceiling")
}

// redisStats is the CPU time used so far by the Redis server (INFO cpu)
// and by this process (getrusage), and the number of EVALSHA calls Redis
// has served. Under a shared CPU CPU time per decision is steadier than
// rates: it does not count the time spent waiting for a core.
func redisStats(b *testing.B, c *redis.Client) (server, client, runs float64) {
	info, err := c.Info(context.Background(), "cpu", "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	num := func(v string) float64 {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		switch {
		case !ok:
		case k == "used_cpu_sys" || k == "used_cpu_user":
			server += num(v)
		case k == "cmdstat_evalsha":
			calls, _, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
			runs = num(calls)
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return server, client, runs
}

// BenchmarkRedisDecision: decisions from many goroutines (SetParallelism ×
// GOMAXPROCS), either each its own EVALSHA from the caller (batch=1) or
// gathered by the pacer's dispatchers (pipelines) into script runs of up
// to batch decisions. After each run the same goroutines run a trivial
// EVALSHA for 300 ms: the round-trip ceiling on the same CPU at that moment.
func BenchmarkRedisDecision(b *testing.B) {
	for _, tc := range []struct{ batch, pipelines, par int }{
		{1, 0, 8},
		{1, 0, 32},
		{16, 4, 8},
		{16, 4, 32},
		{64, 2, 8},
		{64, 2, 16},
		{64, 2, 32},
		{64, 1, 32},
	} {
		name := fmt.Sprintf("batch=%d/pipelines=%d/goroutines=%dxGOMAXPROCS", tc.batch, tc.pipelines, tc.par)
		b.Run(name, func(b *testing.B) {
			c := testRedis(b)
			limits, keys := benchLimits()
			p := newRedisNode(b, c, testPrefix(b), limits, pacing.RedisOptions{MaxBatch: tc.batch, Pipelines: tc.pipelines})
			s, err := p.Acquire(context.Background(), keys[0]) // wait out the warm-up
			if err != nil {
				b.Fatal(err)
			}
			s.Release()
			b.SetParallelism(tc.par)
			rate := benchDecisions(b, p, keys, c)
			reportCeiling(b, c, tc.par*runtime.GOMAXPROCS(0), 300*time.Millisecond, rate)
		})
	}
}

func BenchmarkLocalDecision(b *testing.B) {
	limits, keys := benchLimits()
	p, err := pacing.NewLocal(pacing.SystemClock{}, limits, pacing.LocalOptions{})
	if err != nil {
		b.Fatal(err)
	}
	benchDecisions(b, p, keys, nil)
}
