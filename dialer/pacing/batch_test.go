package pacing

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// frozenClock is a clock set by hand; After is never used by TryAcquire.
type frozenClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *frozenClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *frozenClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *frozenClock) After(time.Duration) <-chan time.Time { return nil }

// TestRedisBatchMatchesLocal checks the batch script decision by decision
// against the in-process pacer, the reference: random batches of decisions
// (many on one key, so the script's in-run bookkeeping of GCRA, the window
// log and the channel counts is exercised) are run through the script, then
// the same decisions are made in order by Local at the script's server time.
// Grants, reasons and waits must be identical.
func TestRedisBatchMatchesLocal(t *testing.T) {
	t.Parallel()
	url := os.Getenv("CADENZA_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("CADENZA_TEST_REDIS_URL is empty but CADENZA_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("CADENZA_TEST_REDIS_URL not set; it is set by make test")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })

	limits := map[string]Limits{
		"smooth":   {CPS: 5000, Burst: 3},
		"window":   {CPS: 100, Burst: 100}, // the window binds right after the burst
		"channels": {MaxChannels: 5},
		"both":     {CPS: 2000, Burst: 20, MaxChannels: 30},
		"fast":     {CPS: 50000, Burst: 1},
		"pair":     {CPS: 2, Burst: 2}, // a run can grant its whole window
		GlobalKey:  {CPS: 20000, Burst: 40, MaxChannels: 60},
	}
	names := []string{"smooth", "window", "channels", "both", "fast", "pair", GlobalKey}
	ctx := context.Background()
	prefix := fmt.Sprintf("cadenza-test:batch:%d:", time.Now().UnixNano())
	rp, err := NewRedis(c, prefix, limits, RedisOptions{NodeID: "n", LeaseTTL: time.Minute})
	require.NoError(t, err)
	// A pacing state born long ago: no warm-up.
	require.NoError(t, c.Set(ctx, rp.epochKey, "1", time.Minute).Err())
	clock := &frozenClock{}
	lp, err := NewLocal(clock, limits, LocalOptions{})
	require.NoError(t, err)

	rng := rand.New(rand.NewPCG(1, 2))
	b := rp.newBatcher()
	type pair struct{ r, l Slot }
	var held []pair
	reasons := map[string]int{}
	for run := range 300 {
		batch := make([]*decisionReq, 1+rng.IntN(48))
		for i := range batch {
			batch[i] = &decisionReq{rk: rp.keys[names[rng.IntN(len(names))]]}
		}
		res := b.run(ctx, batch)
		for i, r := range res {
			require.NoError(t, r.err)
			at := time.UnixMicro(r.now)
			clock.set(at)
			d, err := lp.TryAcquire(ctx, batch[i].rk.name)
			require.NoError(t, err)
			where := fmt.Sprintf("run %d decision %d on %q", run, i, batch[i].rk.name)
			require.Equal(t, d.Slot != nil, r.granted, where)
			require.Equal(t, d.Reason, r.reason, where)
			require.Equal(t, d.Wait, time.Duration(r.wait)*time.Microsecond, where)
			if r.granted {
				require.Equal(t, fmt.Sprintf("n:%d", rp.nextID.Load()-uint64(len(batch)-1-i)), r.id, where)
				held = append(held, pair{&redisSlot{p: rp, rk: batch[i].rk, id: r.id, at: at}, d.Slot})
			}
			reasons[r.reason]++
		}
		// Calls end in random order.
		for len(held) > 0 && rng.IntN(3) > 0 {
			j := rng.IntN(len(held))
			held[j].r.Release()
			held[j].l.Release()
			held = append(held[:j], held[j+1:]...)
		}
		if run%10 == 0 {
			time.Sleep(time.Millisecond) // let the clocks move on
		}
	}
	for _, reason := range []string{"", ReasonCPS, ReasonWindow, ReasonChannels} {
		require.Positive(t, reasons[reason], "no decision with reason %q: %v", reason, reasons)
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.NoError(t, c.Del(ctx, keys...).Err())
}
