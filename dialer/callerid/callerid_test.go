package callerid_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestMemoryCounters(t *testing.T) {
	t.Parallel()
	runSuite(t, func(t *testing.T) callerid.Counters { return callerid.NewMemoryCounters() })
}

func TestRedisCounters(t *testing.T) {
	t.Parallel()
	c := testRedis(t)
	runSuite(t, func(t *testing.T) callerid.Counters {
		var b [4]byte
		_, _ = rand.Read(b[:])
		return callerid.NewRedisCounters(c, fmt.Sprintf("cadenza-test:%s:%s:", t.Name(), hex.EncodeToString(b[:])))
	})
}

// testRedis connects to CADENZA_TEST_REDIS_URL (set by make test).
func testRedis(t testing.TB) *redis.Client {
	t.Helper()
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
	require.NoError(t, c.Ping(context.Background()).Err())
	return c
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	clk := newClock(monday9)
	s, err := callerid.New(callerid.NewMemoryCounters(), []callerid.PoolConfig{pool("p", callerid.Caps{DailyCap: 1}, a)}, clk.Now, callerid.Options{Registerer: reg})
	require.NoError(t, err)
	pick(t, s, callerid.Request{Pool: "p"})
	_, err = s.Pick(context.Background(), callerid.Request{Pool: "p"})
	require.ErrorIs(t, err, callerid.ErrExhausted)
	require.ErrorContains(t, err, `caller-ID pool "p" (rotating): no usable caller ID: 1 daily cap`)
	_, err = s.Pick(context.Background(), callerid.Request{Pool: "unknown"})
	require.Error(t, err)
	require.NoError(t, testutil.GatherAndCompare(reg, stringsReader(`
# HELP cadenza_callerid_exhausted_total Picks that found no usable number (all resting, cooling down or capped), by pool and strategy.
# TYPE cadenza_callerid_exhausted_total counter
cadenza_callerid_exhausted_total{pool="p",strategy="rotating"} 1
# HELP cadenza_callerid_picks_total Caller IDs picked, by pool and strategy.
# TYPE cadenza_callerid_picks_total counter
cadenza_callerid_picks_total{pool="p",strategy="rotating"} 1
`), "cadenza_callerid_exhausted_total", "cadenza_callerid_picks_total"))
	// A second Service on the same registry is refused, not silently merged.
	_, err = callerid.New(callerid.NewMemoryCounters(), nil, clk.Now, callerid.Options{Registerer: reg})
	require.Error(t, err)
}

func TestExhaustionLoggedOncePerRunOut(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	var mu sync.Mutex
	clk := newClock(monday9)
	s, err := callerid.New(callerid.NewMemoryCounters(), []callerid.PoolConfig{pool("p", callerid.Caps{PerMinute: 1}, a)}, clk.Now,
		callerid.Options{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
	require.NoError(t, err)
	pick(t, s, callerid.Request{Pool: "p"})
	for range 3 {
		_, err := s.Pick(context.Background(), callerid.Request{Pool: "p"})
		require.ErrorIs(t, err, callerid.ErrExhausted)
	}
	clk.Advance(time.Minute)
	pick(t, s, callerid.Request{Pool: "p"})
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, strings.Count(logs.String(), "pool exhausted"), logs.String())
	require.Equal(t, 1, strings.Count(logs.String(), "usable again"), logs.String())
	require.NotContains(t, logs.String(), a, "phone numbers stay out of logs")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestPoolsJSON pins the shape GET /v1/callerid-pools serves.
func TestPoolsJSON(t *testing.T) {
	t.Parallel()
	clk := newClock(monday9)
	p := pool("sales", callerid.Caps{DailyCap: 2, Cooldown: 30 * time.Second}, a, b)
	p.Strategy = callerid.LocalPresence
	s, err := callerid.New(callerid.NewMemoryCounters(), []callerid.PoolConfig{p}, clk.Now, callerid.Options{})
	require.NoError(t, err)
	require.Equal(t, a, pick(t, s, callerid.Request{Pool: "sales", To: "+12125550000"}))
	require.NoError(t, s.Rest(context.Background(), b, monday9.Add(time.Hour)))
	st, err := s.Pools(context.Background())
	require.NoError(t, err)
	got, err := json.Marshal(st)
	require.NoError(t, err)
	require.JSONEq(t, `[{
		"name": "sales", "default_strategy": "local_presence",
		"strategies": ["random", "rotating", "local_presence", "sticky", "fixed"],
		"time_zone": "UTC", "usable": 0,
		"numbers": [
			{"e164": "+12125550101", "area_code": "212", "state": "NY", "daily_cap": 2, "cooldown_seconds": 30,
			 "today": 1, "cooling_down_until": "2026-11-23T09:00:30Z", "usable": false},
			{"e164": "+16465550102", "area_code": "646", "state": "NY", "daily_cap": 2, "cooldown_seconds": 30,
			 "today": 0, "resting_until": "2026-11-23T10:00:00Z", "usable": false}
		]}]`, string(got))
}
