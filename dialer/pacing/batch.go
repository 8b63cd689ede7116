package pacing

import (
	"context"
	"fmt"
	"strconv"
	"sync"
)

// redisLevel is one configured limits key as the acquire script takes it.
type redisLevel struct {
	keys [3]string // state hash, grant log, slots zset
	args [4]any    // emission interval µs, tolerance µs, window cap, max channels
}

// decisionReq is one decision to make.
type decisionReq struct {
	rk  *redisKey
	res chan decisionRes // buffered 1: the dispatcher never blocks
}

// decisionRes is the script's answer to one decision.
type decisionRes struct {
	granted bool
	wait    int64 // µs
	reason  string
	now     int64  // server time, µs
	id      string // the slot id, when granted
	err     error
}

// scriptReasons maps the acquire script's result codes to reasons.
var scriptReasons = [...]string{"", ReasonCPS, ReasonWindow, ReasonChannels, ReasonPaused, ReasonWarmup}

// resChans recycles the result channels of dispatched decisions.
var resChans = sync.Pool{New: func() any { return make(chan decisionRes, 1) }}

// decide runs the acquire script for one decision: directly when batching
// is off, else through a dispatcher. Once a dispatcher has taken the request
// its result is always awaited, so a grant is never lost to a cancelled
// context (the dispatcher bounds the round trip with OpTimeout).
func (p *Redis) decide(ctx context.Context, quit chan struct{}, rk *redisKey) decisionRes {
	if p.opts.MaxBatch <= 1 {
		b := p.batchers.Get().(*batcher)
		defer p.batchers.Put(b)
		req := decisionReq{rk: rk}
		return b.run(ctx, []*decisionReq{&req})[0]
	}
	req := &decisionReq{rk: rk, res: resChans.Get().(chan decisionRes)}
	select {
	case p.reqs <- req:
	case <-ctx.Done():
		resChans.Put(req.res)
		return decisionRes{err: ctx.Err()}
	case <-quit:
		resChans.Put(req.res)
		return decisionRes{err: errStopped}
	}
	r := <-req.res
	resChans.Put(req.res)
	return r
}

// dispatch takes one waiting decision, adds whatever others are waiting
// right now (up to MaxBatch), and makes them all in one script run: batches
// form only under load, and a lone decision pays no extra latency.
func (p *Redis) dispatch() {
	defer p.wg.Done()
	b := p.newBatcher()
	batch := make([]*decisionReq, 0, p.opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case <-p.quit:
			return
		case r := <-p.reqs:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < p.opts.MaxBatch {
			select {
			case r := <-p.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.OpTimeout)
		for i, r := range b.run(ctx, batch) {
			batch[i].res <- r
		}
		cancel()
	}
}

// batcher builds script runs; it reuses its buffers, so one batcher serves
// one goroutine at a time.
type batcher struct {
	p    *Redis
	pos  []int // configured level → its 1-based index in this run, 0 if absent
	used []int // configured levels in this run, in order
	keys []string
	args []any
	res  []decisionRes
}

func (p *Redis) newBatcher() *batcher {
	return &batcher{p: p, pos: make([]int, len(p.levels))}
}

// level adds configured level i to the run being built, once, and returns
// its index in the run.
func (b *batcher) level(i int) int {
	if b.pos[i] == 0 {
		b.used = append(b.used, i)
		b.pos[i] = len(b.used)
	}
	return b.pos[i]
}

// run makes the decisions of batch, in order, in one script run (EVALSHA,
// falling back to EVAL when Redis lost the script). The result is valid
// until the next run.
func (b *batcher) run(ctx context.Context, batch []*decisionReq) []decisionRes {
	p := b.p
	n := uint64(len(batch))
	first := p.nextID.Add(n) - n + 1

	// Levels first (the script wants them before the decisions), then one
	// argument per decision: its key's level.
	for _, i := range b.used {
		b.pos[i] = 0
	}
	b.used = b.used[:0]
	glv := 0
	if p.global >= 0 {
		glv = b.level(p.global)
	}
	for _, r := range batch {
		b.level(r.rk.level)
	}
	b.keys = append(b.keys[:0], p.epochKey)
	b.args = append(b.args[:0], p.ttlArg, p.slotPrefix, first, len(b.used), glv)
	for _, i := range b.used {
		lv := &p.levels[i]
		b.keys = append(b.keys, lv.keys[:]...)
		b.args = append(b.args, lv.args[:]...)
	}
	for _, r := range batch {
		b.args = append(b.args, b.pos[r.rk.level])
	}

	if cap(b.res) < len(batch) {
		b.res = make([]decisionRes, len(batch))
	}
	out := b.res[:len(batch)]
	clear(out)
	res, err := p.acquire.Run(ctx, p.client, b.keys, b.args...).Int64Slice()
	if err == nil && len(res) != 1+2*len(batch) {
		err = fmt.Errorf("acquire script: %d results for %d decisions", len(res), len(batch))
	}
	if err != nil {
		for i := range out {
			out[i].err = err
		}
		return out
	}
	now := res[0]
	for i := range out {
		code, wait := res[1+2*i], res[2+2*i]
		switch {
		case code == 0:
			out[i] = decisionRes{granted: true, now: now, id: p.slotPrefix + strconv.FormatUint(first+uint64(i), 10)}
		case code > 0 && int(code) < len(scriptReasons):
			out[i] = decisionRes{wait: wait, reason: scriptReasons[code], now: now}
		default:
			out[i].err = fmt.Errorf("acquire script: unknown result code %d", code)
		}
	}
	return out
}
