package callerid_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
)

// benchPick picks from a 50-number local-presence pool with generous caps.
func benchPick(b *testing.B, store callerid.Counters) {
	var nums []string
	for i := range 50 {
		nums = append(nums, fmt.Sprintf("+1%d555%04d", []int{212, 305, 415, 312, 512}[i%5], i))
	}
	p := pool("bench", callerid.Caps{DailyCap: 1 << 30}, nums...)
	s, err := callerid.New(store, []callerid.PoolConfig{p}, time.Now, callerid.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Pick(ctx, callerid.Request{Pool: "bench", Strategy: callerid.LocalPresence, To: "+17185550000"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPickMemory(b *testing.B) { benchPick(b, callerid.NewMemoryCounters()) }

func BenchmarkPickRedis(b *testing.B) {
	c := testRedis(b)
	benchPick(b, callerid.NewRedisCounters(c, fmt.Sprintf("cadenza-bench:%d:", time.Now().UnixNano())))
}
