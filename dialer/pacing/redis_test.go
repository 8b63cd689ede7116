package pacing_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/pacing"
	"github.com/cadenza-dialer/cadenza/dialer/pacing/pacingtest"
)

// testRedis connects to CADENZA_TEST_REDIS_URL (set by make test).
func testRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv("CADENZA_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			tb.Fatal("CADENZA_TEST_REDIS_URL is empty but CADENZA_TEST_REQUIRE_SERVICES=1")
		}
		tb.Skip("CADENZA_TEST_REDIS_URL not set; it is set by make test")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(tb, err)
	opt.PoolSize = 64
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	require.NoError(tb, c.Ping(context.Background()).Err())
	return c
}

func testPrefix(tb testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("cadenza-test:%s:%s:", tb.Name(), hex.EncodeToString(b[:]))
}

// newRedisNode starts a pacer on c under prefix and stops it at cleanup.
func newRedisNode(t testing.TB, c redis.UniversalClient, prefix string, limits map[string]pacing.Limits, opts pacing.RedisOptions) *pacing.Redis {
	t.Helper()
	p, err := pacing.NewRedis(c, prefix, limits, opts)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background()))
	t.Cleanup(p.Stop)
	return p
}

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	pacingtest.Run(t, func(t *testing.T, limits map[string]pacing.Limits, nodes int) []pacing.Pacer {
		prefix := testPrefix(t)
		ps := make([]pacing.Pacer, nodes)
		for i := range ps {
			ps[i] = newRedisNode(t, c, prefix, limits, pacing.RedisOptions{NodeID: fmt.Sprintf("node%d", i)})
		}
		return ps
	})
}

// TestRedisConformanceUnbatched runs the suite with every decision its own
// script run from the caller (MaxBatch 1).
func TestRedisConformanceUnbatched(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	pacingtest.Run(t, func(t *testing.T, limits map[string]pacing.Limits, nodes int) []pacing.Pacer {
		prefix := testPrefix(t)
		ps := make([]pacing.Pacer, nodes)
		for i := range ps {
			ps[i] = newRedisNode(t, c, prefix, limits, pacing.RedisOptions{NodeID: fmt.Sprintf("node%d", i), MaxBatch: 1})
		}
		return ps
	})
}

func TestRedisDeadNodeSlotsComeBack(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	prefix := testPrefix(t)
	limits := map[string]pacing.Limits{"k": {MaxChannels: 1}}
	opts := pacing.RedisOptions{LeaseTTL: 400 * time.Millisecond, RenewEvery: 100 * time.Millisecond}
	dead, err := pacing.NewRedis(c, prefix, limits, opts)
	require.NoError(t, err)
	require.NoError(t, dead.Start(context.Background()))
	ctx := context.Background()
	s, err := dead.Acquire(ctx, "k")
	require.NoError(t, err)
	dead.Stop() // the node dies holding the slot: no renewal, no release
	dead.Stop() // idempotent

	alive := newRedisNode(t, c, prefix, limits, opts)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s2, err := alive.Acquire(wctx, "k")
	require.NoError(t, err)
	defer s2.Release()
	held := s2.(pacing.TimedSlot).GrantedAt().Sub(s.(pacing.TimedSlot).GrantedAt())
	require.GreaterOrEqual(t, held, opts.LeaseTTL, "slot came back before its lease expired")
}

func TestRedisRenewalKeepsSlot(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	prefix := testPrefix(t)
	limits := map[string]pacing.Limits{"k": {MaxChannels: 1}}
	opts := pacing.RedisOptions{LeaseTTL: 300 * time.Millisecond, RenewEvery: 50 * time.Millisecond}
	a := newRedisNode(t, c, prefix, limits, opts)
	b := newRedisNode(t, c, prefix, limits, opts)
	ctx := context.Background()
	s, err := a.Acquire(ctx, "k")
	require.NoError(t, err)
	// Three lease lengths later the renewed slot is still held.
	wctx, cancel := context.WithTimeout(ctx, 3*opts.LeaseTTL)
	defer cancel()
	_, err = b.Acquire(wctx, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	s.Release()
	s, err = b.Acquire(ctx, "k")
	require.NoError(t, err)
	s.Release()
}

func TestRedisFailClosedAndRecovers(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	p := newRedisNode(t, c, "fc:", map[string]pacing.Limits{"k": {CPS: 1000, Burst: 100, MaxChannels: 10}}, pacing.RedisOptions{
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
		Registerer: reg,
		LeaseTTL:   300 * time.Millisecond,
		RenewEvery: 50 * time.Millisecond,
	})
	failClosed := collectorNamed(t, reg, "cadenza_pacing_fail_closed")
	ctx := context.Background()

	s, err := p.Acquire(ctx, "k")
	require.NoError(t, err)
	s.Release()
	require.Equal(t, 0.0, testutil.ToFloat64(failClosed))

	m.Close()
	for range 3 {
		_, err = p.Acquire(ctx, "k")
		require.ErrorIs(t, err, pacing.ErrUnavailable)
	}
	require.ErrorIs(t, p.PauseUntil(ctx, "k", time.Now().Add(time.Second)), pacing.ErrUnavailable)
	require.True(t, p.Unavailable())
	require.Equal(t, 1.0, testutil.ToFloat64(failClosed))
	require.Equal(t, 1, strings.Count(logs.String(), "fail closed"), "one log line per outage:\n%s", logs.String())

	require.NoError(t, m.Restart())
	// The renewer's probe notices the recovery without any call trying.
	require.Eventually(t, func() bool { return !p.Unavailable() }, 5*time.Second, 10*time.Millisecond)
	s, err = p.Acquire(ctx, "k")
	require.NoError(t, err)
	s.Release()
	require.False(t, p.Unavailable())
	require.Equal(t, 0.0, testutil.ToFloat64(failClosed))
	require.Equal(t, 1, strings.Count(logs.String(), "pacing resumed"), logs.String())
}

func TestRedisScriptCacheFlushed(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	p := newRedisNode(t, c, testPrefix(t), map[string]pacing.Limits{"k": {CPS: 100, Burst: 10}}, pacing.RedisOptions{})
	ctx := context.Background()
	s, err := p.Acquire(ctx, "k")
	require.NoError(t, err)
	s.Release()
	require.NoError(t, c.ScriptFlush(ctx).Err())
	s, err = p.Acquire(ctx, "k") // NOSCRIPT → EVAL fallback
	require.NoError(t, err)
	s.Release()
}

func TestRedisLifecycle(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	limits := map[string]pacing.Limits{"k": {CPS: 10}}
	p, err := pacing.NewRedis(c, testPrefix(t), limits, pacing.RedisOptions{})
	require.NoError(t, err)
	_, err = p.Acquire(context.Background(), "k")
	require.ErrorContains(t, err, "not started")
	p.Stop() // before Start: no-op
	require.NoError(t, p.Start(context.Background()))
	require.Error(t, p.Start(context.Background()))
	p.Stop()
	p.Stop()

	_, err = pacing.NewRedis(c, "lc:", limits, pacing.RedisOptions{LeaseTTL: time.Second, RenewEvery: 2 * time.Second})
	require.ErrorContains(t, err, "renew_every")
	_, err = pacing.NewRedis(c, "lc:", map[string]pacing.Limits{"k": {MaxChannels: -1}}, pacing.RedisOptions{})
	require.ErrorContains(t, err, "max_channels")
	_, err = pacing.NewRedis(nil, "lc:", limits, pacing.RedisOptions{})
	require.Error(t, err)
	_, err = pacing.NewRedis(c, "lc:", map[string]pacing.Limits{"": {}}, pacing.RedisOptions{})
	require.ErrorContains(t, err, "empty key")
}

func TestRedisRefusalMetrics(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	reg := prometheus.NewRegistry()
	p := newRedisNode(t, c, testPrefix(t), map[string]pacing.Limits{"k": {CPS: 1, Burst: 1, MaxChannels: 5}, "warm": {}}, pacing.RedisOptions{Registerer: reg})
	ctx := context.Background()
	warmUp(t, p)
	d, err := p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.NotNil(t, d.Slot)
	d2, err := p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.Nil(t, d2.Slot)
	require.Equal(t, pacing.ReasonCPS, d2.Reason)
	require.InDelta(t, time.Second, d2.Wait, float64(100*time.Millisecond))
	require.Equal(t, 1.0, testutil.ToFloat64(activeSlots(t, reg, "k")))
	d.Slot.Release()
	require.Equal(t, 0.0, testutil.ToFloat64(activeSlots(t, reg, "k")))
	require.Equal(t, 1.0, testutil.ToFloat64(refusals(t, reg, "k", pacing.ReasonCPS)))
}

// warmUp waits out the one-second warm-up of a fresh prefix (see
// TestRedisLostStateWarmsUp) through the unlimited key "warm".
func warmUp(t *testing.T, p *pacing.Redis) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := p.Acquire(ctx, "warm")
	require.NoError(t, err)
	s.Release()
}

// refusals re-exposes one series of the refusals counter for testutil.
func refusals(t *testing.T, reg *prometheus.Registry, key, reason string) prometheus.Collector {
	t.Helper()
	return prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() != "cadenza_pacing_refusals_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, lp := range m.GetLabel() {
					labels[lp.GetName()] = lp.GetValue()
				}
				if labels["key"] == key && labels["reason"] == reason {
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("c", "h", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
				}
			}
		}
	})
}

// TestRedisLostStateWarmsUp: when Redis loses the pacing state (a restart
// without persistence), the grants of the last second are forgotten, so
// nothing is granted for a second, on any node.
func TestRedisLostStateWarmsUp(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	prefix := testPrefix(t)
	limits := map[string]pacing.Limits{"k": {CPS: 5, Burst: 5}, "warm": {}}
	a := newRedisNode(t, c, prefix, limits, pacing.RedisOptions{})
	b := newRedisNode(t, c, prefix, limits, pacing.RedisOptions{})
	ctx := context.Background()
	d, err := a.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.Nil(t, d.Slot, "a fresh state must warm up")
	require.Equal(t, pacing.ReasonWarmup, d.Reason)
	require.InDelta(t, time.Second, d.Wait, float64(200*time.Millisecond))
	warmUp(t, a)
	for range 5 {
		s, err := a.Acquire(ctx, "k")
		require.NoError(t, err)
		s.Release()
	}
	// Redis loses everything under the prefix.
	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	require.NoError(t, c.Del(ctx, keys...).Err())
	d, err = b.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.Nil(t, d.Slot, "burst granted again right after the state was lost")
	require.Equal(t, pacing.ReasonWarmup, d.Reason)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// collectorNamed re-exposes one unlabelled gauge of reg for testutil.
func collectorNamed(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == name {
				for _, m := range mf.GetMetric() {
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "h", nil, nil), prometheus.GaugeValue, m.GetGauge().GetValue())
				}
			}
		}
	})
}

// TestRedisConcurrentDecisionsExact fires many non-blocking decisions at once
// (bypassing the per-key queue, so the dispatchers batch them) and checks
// that exactly the burst, and exactly the channel cap, are granted.
func TestRedisConcurrentDecisionsExact(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	p := newRedisNode(t, c, testPrefix(t), map[string]pacing.Limits{
		"burst":    {CPS: 1, Burst: 5},
		"channels": {CPS: 100000, Burst: 1000, MaxChannels: 20},
		"warm":     {},
	}, pacing.RedisOptions{})
	warmUp(t, p)
	for _, tc := range []struct {
		key    string
		want   int
		reason string
	}{{"burst", 5, pacing.ReasonCPS}, {"channels", 20, pacing.ReasonChannels}} {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			granted []pacing.Slot
			reasons = map[string]int{}
		)
		for range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := p.TryAcquire(context.Background(), tc.key)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					reasons[err.Error()]++
				case d.Slot != nil:
					granted = append(granted, d.Slot)
				default:
					reasons[d.Reason]++
				}
			}()
		}
		wg.Wait()
		require.Len(t, granted, tc.want, tc.key)
		require.Equal(t, map[string]int{tc.reason: 60 - tc.want}, reasons, tc.key)
		for _, s := range granted {
			s.Release()
		}
	}
}
