package pacing

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/acquire.lua
	acquireLua string
	//go:embed lua/renew.lua
	renewLua string
	//go:embed lua/pause.lua
	pauseLua string
)

// RedisOptions configure a Redis pacer. Zero values take the defaults.
type RedisOptions struct {
	// NodeID names this process in slot ids (default: random). Two live
	// pacers must not share one.
	NodeID string
	// LeaseTTL is how long a slot survives without renewal, i.e. how soon a
	// dead node's channels come back (default 15 s).
	LeaseTTL time.Duration
	// RenewEvery is the renewal period (default LeaseTTL/3).
	RenewEvery time.Duration
	// PollInterval bounds the sleep while every channel is held: a release
	// on another node is seen at the latest this much later (default 25 ms).
	// Releases in this process wake waiters at once.
	PollInterval time.Duration
	// OpTimeout bounds pipelined decisions, Release and renewal round trips
	// (default 2 s).
	OpTimeout time.Duration
	// MaxBatch is the most concurrent decisions made by one script run
	// (default 64, a run of about half a millisecond in Redis at most).
	// Batches form only under load: a lone decision is sent at once. 1 runs
	// every decision as its own EVALSHA from the caller.
	MaxBatch int
	// Pipelines is how many batches may be in flight at once (default 2:
	// one running in Redis while the next one forms; more only splits the
	// waiting decisions into smaller, costlier runs).
	Pipelines int
	// Clock times the waits (decisions use the Redis server's TIME).
	Clock Clock
	// Logger gets one line when Redis becomes unreachable and one when it
	// recovers (default slog.Default()).
	Logger *slog.Logger
	// Registerer receives the pacing metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Redis is the multi-node pacer: a decision is a Lua script run (EVALSHA,
// falling back to EVAL) that checks the GCRA token, the 1-second window and
// the channel cap of the key and of the global key atomically, on the Redis
// server's clock. Under load the concurrent decisions of this process are
// gathered (batch.go) into one run that decides them in order, reading and
// writing each key's state once: every decision still takes one round trip
// and is exactly what it would have been as a run of its own. Channel slots
// are zset members leased for LeaseTTL and renewed by Start's goroutine, so
// a dead node's slots expire. Any Redis error refuses the call (fail closed).
type Redis struct {
	client  redis.UniversalClient
	opts    RedisOptions
	log     *slog.Logger
	m       *metrics
	rel     broadcast
	keys    map[string]*redisKey
	acquire *redis.Script
	renew   *redis.Script
	pause   *redis.Script
	nextID  atomic.Uint64
	down    atomic.Bool
	downAt  atomic.Int64 // unix ns of the outage start, for the recovery line

	reqs       chan *decisionReq // to the batch dispatchers
	batchers   sync.Pool         // of *batcher, for unbatched decisions
	levels     []redisLevel      // every configured key, as the script takes it
	global     int               // GlobalKey's index in levels, or -1
	ttlArg     string            // LeaseTTL in µs, as the script takes it
	slotPrefix string            // NodeID + ":", the start of every slot id
	epochKey   string            // see acquire.lua: detects lost Redis state

	// renewing is held (write) by a renewal round and (read) by Release,
	// so a release never lands between a renewal's snapshot and its ZADD
	// (which would put the released slot back until its lease ran out).
	renewing sync.RWMutex

	mu      sync.Mutex
	held    map[*redisSlot]struct{}
	started bool
	quit    chan struct{} // closed by Stop
	stop    context.CancelFunc
	wg      sync.WaitGroup
	stopped sync.Once
}

var _ Pacer = (*Redis)(nil)

// redisKey is the precomputed script input of one key.
type redisKey struct {
	name   string
	level  int      // its index in Redis.levels
	zsets  []string // slot zsets this key's slots live in (levels with MaxChannels)
	levels []string // level names, for the active-slots gauge
	pause  string
	gate   chan struct{} // see acquire
}

// NewRedis returns a pacer on client. prefix namespaces every Redis key
// (tests use one per test). Call Start before Acquire and Stop at shutdown.
func NewRedis(client redis.UniversalClient, prefix string, limits map[string]Limits, opts RedisOptions) (*Redis, error) {
	if client == nil {
		return nil, errors.New("pacing: nil redis client")
	}
	if err := ValidateAll(limits); err != nil {
		return nil, err
	}
	if opts.NodeID == "" {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("node id: %w", err)
		}
		opts.NodeID = hex.EncodeToString(b[:])
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 15 * time.Second
	}
	if opts.RenewEvery <= 0 {
		opts.RenewEvery = opts.LeaseTTL / 3
	}
	if opts.RenewEvery >= opts.LeaseTTL {
		return nil, fmt.Errorf("renew_every: must be shorter than lease_ttl (%v ≥ %v)", opts.RenewEvery, opts.LeaseTTL)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 25 * time.Millisecond
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 2 * time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 64
	}
	if opts.Pipelines <= 0 {
		opts.Pipelines = 2
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	p := &Redis{
		client:  client,
		opts:    opts,
		log:     opts.Logger.With("component", "pacing"),
		m:       m,
		keys:    make(map[string]*redisKey, len(limits)),
		acquire: redis.NewScript(acquireLua),
		renew:   redis.NewScript(renewLua),
		pause:   redis.NewScript(pauseLua),
		held:    make(map[*redisSlot]struct{}),
		reqs:    make(chan *decisionReq),
		ttlArg:  strconv.FormatInt(opts.LeaseTTL.Microseconds(), 10),
	}
	p.batchers.New = func() any { return p.newBatcher() }
	// One hash tag for every pacing key: a decision touches the key and the
	// global key, which must live in one cluster slot.
	base := prefix + "{pacing}:"
	p.epochKey = base + "epoch"
	p.slotPrefix = opts.NodeID + ":"
	names := slices.Sorted(maps.Keys(limits))
	p.global = slices.Index(names, GlobalKey)
	for i, name := range names {
		l := limits[name]
		iv := l.Interval()
		p.levels = append(p.levels, redisLevel{
			keys: [3]string{base + "state:" + name, base + "log:" + name, base + "slots:" + name},
			args: [4]any{
				strconv.FormatInt(iv.Microseconds(), 10),
				strconv.FormatInt(int64(l.EffectiveBurst()-1)*iv.Microseconds(), 10),
				strconv.Itoa(l.WindowCap()),
				strconv.Itoa(l.MaxChannels),
			},
		})
		rk := &redisKey{name: name, level: i, pause: base + "state:" + name, gate: make(chan struct{}, 1)}
		levels := []string{name}
		if p.global >= 0 && name != GlobalKey {
			levels = append(levels, GlobalKey)
		}
		for _, lv := range levels {
			if limits[lv].MaxChannels > 0 {
				rk.zsets = append(rk.zsets, base+"slots:"+lv)
			}
		}
		rk.levels = levels
		p.keys[name] = rk
	}
	return p, nil
}

// NodeID is this pacer's node identity.
func (p *Redis) NodeID() string { return p.opts.NodeID }

// Start starts lease renewal and the decision pipelines, and returns at
// once. It fails if called twice.
func (p *Redis) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("pacing: redis pacer already started")
	}
	p.started = true
	ctx, p.stop = context.WithCancel(context.WithoutCancel(ctx))
	p.quit = make(chan struct{})
	p.wg.Add(1)
	go p.renewLoop(ctx)
	if p.opts.MaxBatch > 1 {
		for range p.opts.Pipelines {
			p.wg.Add(1)
			go p.dispatch()
		}
	}
	return nil
}

// Stop ends lease renewal and the pipelines and waits for them; idempotent.
// Later decisions fail. Held slots are not released: like a dead node's,
// they expire after LeaseTTL unless released.
func (p *Redis) Stop() {
	p.mu.Lock()
	stop, quit := p.stop, p.quit
	p.mu.Unlock()
	if stop == nil {
		return
	}
	p.stopped.Do(func() {
		stop()
		close(quit)
		p.wg.Wait()
	})
}

// Acquire implements Pacer. It fails at once with ErrUnavailable while Redis
// cannot be reached.
func (p *Redis) Acquire(ctx context.Context, key string) (Slot, error) {
	rk, ok := p.keys[key]
	if !ok {
		return nil, fmt.Errorf("acquire %q: %w", key, ErrUnknownKey)
	}
	return acquire(ctx, p, p.opts.Clock, p.m, &p.rel, rk.gate, key, p.opts.PollInterval)
}

// TryAcquire makes one decision without waiting (one script run, shared
// with concurrent decisions when batching).
func (p *Redis) TryAcquire(ctx context.Context, key string) (Decision, error) {
	rk, ok := p.keys[key]
	if !ok {
		return Decision{}, fmt.Errorf("acquire %q: %w", key, ErrUnknownKey)
	}
	p.mu.Lock()
	quit := p.quit
	p.mu.Unlock()
	if quit == nil {
		return Decision{}, fmt.Errorf("acquire %q: redis pacer not started (call Start)", key)
	}
	r := p.decide(ctx, quit, rk)
	if errors.Is(r.err, errStopped) {
		return Decision{}, fmt.Errorf("acquire %q: %w", key, r.err)
	}
	if r.err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Decision{}, ctxErr
		}
		p.markDown("acquire", r.err)
		return Decision{}, fmt.Errorf("acquire %q: %w: %w", key, ErrUnavailable, r.err)
	}
	p.markUp()
	if !r.granted {
		p.m.refusals.WithLabelValues(key, r.reason).Inc()
		return Decision{Wait: time.Duration(r.wait) * time.Microsecond, Reason: r.reason}, nil
	}
	s := &redisSlot{p: p, rk: rk, id: r.id, at: time.UnixMicro(r.now)}
	if len(rk.zsets) > 0 {
		p.mu.Lock()
		p.held[s] = struct{}{}
		p.mu.Unlock()
	}
	for _, lv := range rk.levels {
		p.m.active.WithLabelValues(lv).Inc()
	}
	return Decision{Slot: s}, nil
}

var errStopped = errors.New("redis pacer stopped")

// PauseUntil implements Pacer. The pause is stored relative to the Redis
// server's clock (t minus this node's now), so node clock skew does not
// move it; an existing longer pause is kept.
func (p *Redis) PauseUntil(ctx context.Context, key string, t time.Time) error {
	rk, ok := p.keys[key]
	if !ok {
		return fmt.Errorf("pause %q: %w", key, ErrUnknownKey)
	}
	d := t.Sub(p.opts.Clock.Now())
	if d <= 0 {
		return nil
	}
	if err := p.pause.Run(ctx, p.client, []string{rk.pause}, strconv.FormatInt(d.Microseconds(), 10)).Err(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		p.markDown("pause", err)
		return fmt.Errorf("pause %q: %w: %w", key, ErrUnavailable, err)
	}
	p.markUp()
	return nil
}

// Unavailable reports whether the pacer is failing closed right now.
func (p *Redis) Unavailable() bool { return p.down.Load() }

// markDown records a Redis error; the first of an outage logs one line.
func (p *Redis) markDown(op string, err error) {
	p.m.errors.WithLabelValues(op).Inc()
	if p.down.CompareAndSwap(false, true) {
		p.downAt.Store(p.opts.Clock.Now().UnixNano())
		p.m.unavailable.Set(1)
		p.log.Error("redis unreachable: no call may start until it answers (fail closed)", "op", op, "err", err)
	}
}

// markUp ends an outage after a successful round trip.
func (p *Redis) markUp() {
	if p.down.Load() && p.down.CompareAndSwap(true, false) {
		p.m.unavailable.Set(0)
		since := time.Unix(0, p.downAt.Load())
		p.log.Info("redis reachable again: pacing resumed", "outage", p.opts.Clock.Now().Sub(since).Round(time.Millisecond))
	}
}

// renewLoop extends the leases of held slots every RenewEvery.
func (p *Redis) renewLoop(ctx context.Context) {
	defer p.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.opts.Clock.After(p.opts.RenewEvery):
		}
		p.renewOnce(ctx)
	}
}

// renewOnce runs one renew script per slot zset holding this node's slots.
// During an outage with nothing to renew it pings, so that the fail-closed
// gauge clears when Redis is back even if no call is trying to start.
func (p *Redis) renewOnce(ctx context.Context) {
	p.renewing.Lock()
	defer p.renewing.Unlock()
	byZset := map[string][]any{}
	p.mu.Lock()
	for s := range p.held {
		for _, z := range s.rk.zsets {
			byZset[z] = append(byZset[z], s.id)
		}
	}
	p.mu.Unlock()
	if len(byZset) == 0 && p.down.Load() {
		pctx, cancel := context.WithTimeout(ctx, p.opts.OpTimeout)
		err := p.client.Ping(pctx).Err()
		cancel()
		if err == nil {
			p.markUp()
		}
		return
	}
	ttl := strconv.FormatInt(p.opts.LeaseTTL.Microseconds(), 10)
	for z, ids := range byZset {
		rctx, cancel := context.WithTimeout(ctx, p.opts.OpTimeout)
		err := p.renew.Run(rctx, p.client, []string{z}, append([]any{ttl}, ids...)...).Err()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.markDown("renew", err)
			continue
		}
		p.markUp()
	}
}

type redisSlot struct {
	p    *Redis
	rk   *redisKey
	id   string
	at   time.Time
	once sync.Once
}

func (s *redisSlot) GrantedAt() time.Time { return s.at }

// Release removes the slot from its zsets. If Redis cannot be reached the
// lease simply expires after LeaseTTL.
func (s *redisSlot) Release() {
	s.once.Do(func() {
		p := s.p
		p.renewing.RLock()
		defer p.renewing.RUnlock()
		p.mu.Lock()
		delete(p.held, s)
		p.mu.Unlock()
		for _, lv := range s.rk.levels {
			p.m.active.WithLabelValues(lv).Dec()
		}
		if len(s.rk.zsets) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), p.opts.OpTimeout)
			pipe := p.client.Pipeline()
			for _, z := range s.rk.zsets {
				pipe.ZRem(ctx, z, s.id)
			}
			_, err := pipe.Exec(ctx)
			cancel()
			if err != nil {
				p.markDown("release", err)
			} else {
				p.markUp()
			}
		}
		p.rel.notify()
	})
}
