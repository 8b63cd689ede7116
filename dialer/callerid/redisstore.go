package callerid

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/reserve.lua
var reserveLua string

// chunkSize is how many candidates the round-th script run checks: the
// first candidate is usually free, so the first run sends few keys; a pool
// whose numbers are mostly capped still costs only a few round trips.
func chunkSize(round int) int {
	switch round {
	case 0:
		return 2
	case 1:
		return 8
	}
	return 32
}

// RedisCounters keep caller-ID counters in Redis so that every node shares
// caps, cooldowns, rests and the rotation index. Windows are named from the
// caller's clock (the injected one), so nodes' clocks should agree to well
// under a minute. All keys share one hash tag (a reservation touches several
// numbers' keys).
type RedisCounters struct {
	c       redis.UniversalClient
	base    string
	reserve *redis.Script
}

var _ Counters = (*RedisCounters)(nil)

// NewRedisCounters returns counters on c under prefix.
func NewRedisCounters(c redis.UniversalClient, prefix string) *RedisCounters {
	return &RedisCounters{c: c, base: prefix + "{callerid}:", reserve: redis.NewScript(reserveLua)}
}

func (r *RedisCounters) restKey(n string) string { return r.base + "rest:" + n }
func (r *RedisCounters) coolKey(n string) string { return r.base + "cool:" + n }
func (r *RedisCounters) dayKey(u Use) string     { return r.base + "d:" + u.Number + ":" + u.Day }

// ReserveFirst implements Counters.
func (r *RedisCounters) ReserveFirst(ctx context.Context, now time.Time, uses []Use) (int, []Reason, error) {
	reasons := make([]Reason, 0, len(uses))
	minute := strconv.FormatInt(now.Unix()/60, 10)
	hour := strconv.FormatInt(now.Unix()/3600, 10)
	for start, round := 0, 0; start < len(uses); start, round = start+chunkSize(round), round+1 {
		chunk := uses[start:min(start+chunkSize(round), len(uses))]
		keys := make([]string, 0, 5*len(chunk))
		args := make([]any, 0, 1+5*len(chunk))
		args = append(args, strconv.FormatInt(now.UnixMilli(), 10))
		for _, u := range chunk {
			keys = append(keys, r.restKey(u.Number), r.coolKey(u.Number),
				r.base+"m:"+u.Number+":"+minute, r.base+"h:"+u.Number+":"+hour, r.dayKey(u))
			args = append(args, u.Caps.DailyCap, u.Caps.PerMinute, u.Caps.PerHour,
				u.Caps.Cooldown.Milliseconds(), max(u.DayEnd.Sub(now), 0).Milliseconds()+3600_000)
		}
		res, err := r.reserve.Run(ctx, r.c, keys, args...).Slice()
		if err != nil {
			return -1, nil, fmt.Errorf("reserve caller ID: %w", err)
		}
		if len(res) == 0 {
			return -1, nil, errors.New("reserve caller ID: empty script result")
		}
		idx, ok := res[0].(int64)
		if !ok {
			return -1, nil, fmt.Errorf("reserve caller ID: unexpected result %v", res)
		}
		if idx >= 0 {
			return start + int(idx), nil, nil
		}
		for _, v := range res[1:] {
			s, _ := v.(string)
			reasons = append(reasons, Reason(s))
		}
	}
	return -1, reasons, nil
}

// Next implements Counters.
func (r *RedisCounters) Next(ctx context.Context, pool string) (uint64, error) {
	n, err := r.c.Incr(ctx, r.base+"rot:"+pool).Uint64()
	if err != nil {
		return 0, fmt.Errorf("rotate pool %q: %w", pool, err)
	}
	return n, nil
}

// Rest implements Counters.
func (r *RedisCounters) Rest(ctx context.Context, now time.Time, number string, until time.Time) error {
	var err error
	if d := until.Sub(now); d <= 0 {
		err = r.c.Del(ctx, r.restKey(number)).Err()
	} else {
		err = r.c.Set(ctx, r.restKey(number), until.UnixMilli(), max(d, time.Millisecond)).Err()
	}
	if err != nil {
		return fmt.Errorf("rest %s: %w", number, err)
	}
	return nil
}

// Usage implements Counters.
func (r *RedisCounters) Usage(ctx context.Context, now time.Time, uses []Use) ([]Usage, error) {
	pipe := r.c.Pipeline()
	cmds := make([][3]*redis.StringCmd, len(uses))
	for i, u := range uses {
		cmds[i] = [3]*redis.StringCmd{
			pipe.Get(ctx, r.dayKey(u)),
			pipe.Get(ctx, r.restKey(u.Number)),
			pipe.Get(ctx, r.coolKey(u.Number)),
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("caller-ID usage: %w", err)
	}
	out := make([]Usage, len(uses))
	for i, c := range cmds {
		if n, err := c[0].Int(); err == nil {
			out[i].Today = n
		}
		if ms, err := c[1].Int64(); err == nil && ms > now.UnixMilli() {
			out[i].RestingUntil = time.UnixMilli(ms)
		}
		if ms, err := c[2].Int64(); err == nil && ms > now.UnixMilli() {
			out[i].CoolingUntil = time.UnixMilli(ms)
		}
	}
	return out, nil
}
