package predictive

import (
	"fmt"
	"math"
)

// Mode is a call step's dial mode as far as pacing is concerned.
type Mode string

// Dial modes the pacer decides for. Preview (the agent accepts before we
// dial) paces like progressive once the agent is reserved; agentless calls
// need no pacer at all.
const (
	// Progressive dials one call per available agent, each reserving its
	// agent first: a human answer always finds its agent, nothing is abandoned
	// for lack of one.
	Progressive Mode = "progressive"
	// Predictive dials more calls than agents, expecting most not to reach a
	// person, within the abandonment budget.
	Predictive Mode = "predictive"
)

// Config tunes Decide. Zero fields take the defaults named.
type Config struct {
	// Target is the 30-day abandonment rate the pacer steers to, a ceiling
	// below Limit that leaves a margin for the model's errors (see Decide).
	// Default 0.025.
	Target float64
	// Limit is the legal 30-day ceiling. Default 0.03.
	Limit float64
	// MaxRatio caps predictive calls in flight per effective agent. Default 3.
	MaxRatio float64
	// SoonFreeWeight is how much one agent estimated to be free within the
	// answer window counts as an available one, in [0, 1]. The estimate is
	// a mean, so about half of those agents are really free in time.
	// Default 0.5. Agents whose free time is known (Input.SoonFreeSure)
	// count fully.
	SoonFreeWeight float64
	// MinHeadroom: when fewer than this many abandons fit under Limit over
	// the window (Ledger.Headroom), fall back to progressive. It is also the
	// warm-up: a new campaign dials progressively until enough live answers
	// (about MinHeadroom/Limit) earn it a budget. Default 2.
	MinHeadroom int
	// MinHumanRate floors the human-answer probability used, so a rate
	// estimated near zero cannot unleash MaxRatio dials. Default 0.05.
	MinHumanRate float64
	// MaxBatchRate caps the abandon rate a decision may plan for while the
	// 30-day window is below Target (the unspent budget), in [Target, Limit).
	// Default Target + (Limit − Target)/2 (2.75 % with the defaults). Set it
	// to Target to never plan above Target. See Decide for why a cap below
	// Limit keeps every later window under Limit.
	MaxBatchRate float64
}

// WithDefaults returns c with zero fields set to their defaults, or an error
// naming the first invalid field.
func (c Config) WithDefaults() (Config, error) {
	if c.Target == 0 {
		c.Target = 0.025
	}
	if c.Limit == 0 {
		c.Limit = 0.03
	}
	if c.MaxRatio == 0 {
		c.MaxRatio = 3
	}
	if c.SoonFreeWeight == 0 {
		c.SoonFreeWeight = 0.5
	}
	if c.MinHeadroom == 0 {
		c.MinHeadroom = 2
	}
	if c.MinHumanRate == 0 {
		c.MinHumanRate = 0.05
	}
	if c.MaxBatchRate == 0 && c.Target > 0 && c.Limit > c.Target {
		c.MaxBatchRate = c.Target + (c.Limit-c.Target)/2
	}
	if c.MaxBatchRate == 0 {
		c.MaxBatchRate = c.Target
	}
	switch {
	case !(c.Limit > 0 && c.Limit < 1):
		return c, fmt.Errorf("limit: must be in (0, 1), got %v", c.Limit)
	case !(c.Target > 0 && c.Target <= c.Limit):
		return c, fmt.Errorf("target: must be in (0, limit=%v], got %v", c.Limit, c.Target)
	case !(c.MaxRatio >= 1 && c.MaxRatio <= 100):
		return c, fmt.Errorf("max_ratio: must be in [1, 100], got %v", c.MaxRatio)
	case !(c.SoonFreeWeight >= 0 && c.SoonFreeWeight <= 1):
		return c, fmt.Errorf("soon_free_weight: must be in [0, 1], got %v", c.SoonFreeWeight)
	case c.MinHeadroom < 0:
		return c, fmt.Errorf("min_headroom: must be ≥ 0, got %d", c.MinHeadroom)
	case !(c.MinHumanRate > 0 && c.MinHumanRate <= 1):
		return c, fmt.Errorf("min_human_rate: must be in (0, 1], got %v", c.MinHumanRate)
	case !(c.MaxBatchRate >= c.Target && (c.MaxBatchRate < c.Limit || c.MaxBatchRate == c.Target)):
		return c, fmt.Errorf("max_batch_rate: must be in [target=%v, limit=%v), got %v", c.Target, c.Limit, c.MaxBatchRate)
	}
	return c, nil
}

// Input is one pacing decision's view of a campaign.
type Input struct {
	// Mode is the step's configured dial mode.
	Mode Mode
	// Available counts agents free now (not reserved, not on a call).
	Available int
	// SoonFree counts busy agents expected free within the typical time
	// from dial to answer (agents.Roster.Stats with the pacer's window).
	SoonFree int
	// SoonFreeSure is the part of SoonFree whose free time is known (wrap-up
	// ending in the window); it counts fully, the rest at SoonFreeWeight.
	SoonFreeSure int
	// InFlight counts predictive calls dialing and not yet answered (calls
	// with a reserved agent are not counted: their agent is not Available),
	// in fresh-dial equivalents: a call that has rung for a while without
	// an answer is less likely to reach a person than a new one, so the
	// Pacer counts each as P(person | unanswered at its age) ÷ HumanRate.
	// A plain count is the cautious value.
	InFlight float64
	// HumanRate is the probability that one dial reaches a person: the
	// estimate, used to aim at the allowed rate.
	HumanRate float64
	// HumanRateHigh is an upper confidence bound of HumanRate, used by the
	// hard-limit guard (an underestimate is what abandons calls). 0 (unset)
	// or a value below HumanRate reads as HumanRate.
	HumanRateHigh float64
	// Abandoned and Live are the ledger's 30-day counts (Ledger.Rate).
	Abandoned, Live int
	// Calibration multiplies the model's expected abandons; 0 (unset)
	// reads as 1. The Pacer sets it from the abandons seen against those
	// predicted (see Pacer.RecordLive). Values below 1 loosen only the
	// target check, never the hard-limit guard.
	Calibration float64
}

// Decision is how to dial now.
type Decision struct {
	// Mode is the mode actually used: Progressive when configured, or as a
	// fallback when the budget is low.
	Mode Mode
	// Reason says why, in a word: "configured", "warmup_or_budget",
	// "over_target", "no_agents", "ok".
	Reason string
	// Target is how many predictive calls should be in flight (0 in
	// progressive mode).
	Target int
	// Dial is how many calls to start now. Predictive: Target − InFlight
	// (rounded to the nearest call).
	// Progressive: one per available agent, each reserving it first, minus
	// predictive calls still in flight (their answers need those agents).
	Dial int
	// Agents is the effective agent count the model used
	// (Available + SoonFreeSure + SoonFreeWeight·(SoonFree − SoonFreeSure)).
	Agents float64
	// Ratio is Target ÷ Agents (0 when Agents is 0).
	Ratio float64
	// ExpectedAbandonRate is the model's abandon rate for Target calls in
	// flight: E[abandoned] ÷ E[live answers].
	ExpectedAbandonRate float64
	// AllowedRate is the batch abandon rate the decision had to stay under.
	AllowedRate float64
}

// Decide is the pacing model, a pure function of its inputs.
//
// The model. With N predictive calls in flight each reaching a person with
// probability p, the number of human answers is H ~ Binomial(N, p). They are
// met by A = Available + SoonFreeSure + w·(SoonFree − SoonFreeSure) agents
// (w = SoonFreeWeight). Answers beyond A find no agent
// and are abandoned, so a batch of N calls abandons O(N) = E[(H − A)⁺] calls
// out of E[H] = N·p live answers, a rate r(N) = O(N) / (N·p). For a
// fractional A = k + f, O is the linear interpolation (1−f)·O(k) +
// f·O(k+1), exact because H is an integer.
//
// r is non-decreasing in N: adding one call adds p·P(H_N ≥ A) to O, and that
// increment grows with N, so O(N)/N is the mean of a non-decreasing sequence.
// Decide therefore binary-searches the largest N in [Available, MaxRatio·A]
// with r(N) ≤ τ (p = HumanRate, the estimate: the target is a mean) and
// W + 3·√W ≤ Headroom(Limit) − MinHeadroom, where W is O(N) computed with
// p = HumanRateHigh and only the agents free now (no credit for soon-free
// ones, which are an estimate): the abandons of everything in flight, with a
// Poisson-like three-sigma margin, must fit under the hard limit with
// MinHeadroom to spare even if the answer rate is at its upper bound and no
// busy agent frees up in time. N = Available is always allowed: H ≤ N ≤
// Available leaves no overflow.
//
// The allowed rate τ (allowedRate) follows the ledger's 30-day rate, the
// budget: at Target it is Target. Above Target it shrinks linearly to 0 at
// Limit, so new calls pull the window back down before it reaches the limit.
// Below Target the window has unspent budget, and τ rises linearly to
// MaxBatchRate at Target − (Limit − Target) (2 % with the defaults): the
// 30-day rate is then steered to Target from both sides instead of settling
// wherever the model's bias leaves it. Spending old budget is safe because
// τ never exceeds MaxBatchRate < Limit: budget earned by old calls leaves the
// window with them, but a window made only of batches planned at ≤
// MaxBatchRate is itself expected at ≤ MaxBatchRate, and the margin to Limit,
// the throttle above Target and the hard guard absorb the model's errors.
//
// The model can be wrong (agents counted as soon free who are not, a wrong
// answer rate): Input.Calibration scales O(N) in the target check, and
// max(Calibration, 1) in the hard-limit guard.
//
// Fallbacks: Progressive when configured; when the rate is at or above
// Limit, or fewer than MinHeadroom abandons fit under Limit (this is also the
// warm-up of a new campaign, which has no live answers and so no budget), the
// decision is progressive with zero predictive calls — the only dialing
// left is one call per reserved agent, which cannot abandon for lack of an
// agent and whose live answers rebuild the budget.
func Decide(cfg Config, in Input) Decision {
	sure := min(max(in.SoonFreeSure, 0), max(in.SoonFree, 0))
	d := Decision{Agents: float64(max(in.Available, 0)+sure) + cfg.SoonFreeWeight*float64(max(in.SoonFree, 0)-sure)}
	inFlight := 0
	if in.InFlight > 0 {
		inFlight = int(math.Round(in.InFlight))
	}
	progressive := func(reason string) Decision {
		d.Mode, d.Reason = Progressive, reason
		d.Dial = max(0, in.Available-inFlight)
		return d
	}
	if in.Mode != Predictive {
		return progressive("configured")
	}
	rate := ratio(int64(in.Abandoned), int64(in.Live))
	room := headroom(int64(in.Abandoned), int64(in.Live), cfg.Limit)
	switch {
	case rate >= cfg.Limit || room < cfg.MinHeadroom:
		return progressive("warmup_or_budget")
	}
	d.Mode, d.Reason = Predictive, "ok"
	d.AllowedRate = allowedRate(cfg, rate)
	if rate > cfg.Target {
		d.Reason = "over_target"
	}
	if d.Agents <= 0 {
		d.Reason = "no_agents"
		return d
	}
	p := min(max(in.HumanRate, cfg.MinHumanRate), 1)
	pHigh := min(max(in.HumanRateHigh, p), 1)
	lo := max(in.Available, 0)
	hi := max(int(math.Floor(cfg.MaxRatio*d.Agents)), lo)
	budget := float64(room - cfg.MinHeadroom)
	calib := in.Calibration
	if calib <= 0 {
		calib = 1
	}
	guardCalib := max(calib, 1)
	now := float64(max(in.Available, 0))
	ok := func(n int) bool {
		// Hard limit: only agents free now count, no soon-free credit.
		// overflow ≤ n·p: when even that fits, skip the sum.
		if worst := guardCalib * float64(n) * pHigh; worst+3*math.Sqrt(worst) > budget {
			worst = guardCalib * overflow(n, pHigh, now)
			if worst+3*math.Sqrt(worst) > budget {
				return false
			}
		}
		return calib*overflow(n, p, d.Agents) <= d.AllowedRate*float64(n)*p
	}
	for lo < hi { // invariant: ok(lo)
		mid := lo + (hi-lo+1)/2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	d.Target = lo
	d.Dial = max(0, d.Target-inFlight)
	d.Ratio = float64(d.Target) / d.Agents
	if d.Target > 0 {
		d.ExpectedAbandonRate = calib * overflow(d.Target, p, d.Agents) / (float64(d.Target) * p)
	}
	return d
}

// allowedRate is τ, the abandon rate a decision may plan for when the
// window's rate is rate (see Decide): MaxBatchRate up to Target − (Limit −
// Target), Target at Target, 0 at Limit, linear in between.
func allowedRate(cfg Config, rate float64) float64 {
	band := cfg.Limit - cfg.Target
	switch {
	case rate >= cfg.Limit:
		return 0
	case rate > cfg.Target:
		return cfg.Target * (cfg.Limit - rate) / band
	case band <= 0 || rate <= cfg.Target-band:
		return cfg.MaxBatchRate
	}
	return cfg.Target + (cfg.MaxBatchRate-cfg.Target)*(cfg.Target-rate)/band
}

// overflow returns E[(H − a)⁺] for H ~ Binomial(n, p) and a real a ≥ 0.
func overflow(n int, p, a float64) float64 {
	k := math.Floor(a)
	f := a - k
	o := overflowInt(n, p, int(k))
	if f == 0 {
		return o
	}
	return (1-f)*o + f*overflowInt(n, p, int(k)+1)
}

// overflowInt returns E[(H − k)⁺] for H ~ Binomial(n, p) and an integer k,
// summing only the tail on the far side of k from the mean, where terms
// decay geometrically, so the cost is about the tail's width, not n:
//
//	k ≥ mean: Σ_{h>k} (h−k)·P(H=h)
//	k < mean: E[H] − k + Σ_{h<k} (k−h)·P(H=h)
//
// Probabilities start from log P(H=h₀) (math.Lgamma) and follow the ratio
// P(h+1)/P(h) = (n−h)/(h+1) · p/(1−p), so nothing underflows mid-sum.
func overflowInt(n int, p float64, k int) float64 {
	switch {
	case n <= 0 || k >= n:
		return 0
	case k < 0:
		k = 0
	}
	if p <= 0 {
		return 0
	}
	if p >= 1 {
		return float64(n - k)
	}
	mean := float64(n) * p
	if k == 0 {
		return mean
	}
	odds := p / (1 - p)
	const eps = 1e-13
	if float64(k) >= mean {
		var sum float64
		pm := math.Exp(logPMF(n, p, k+1))
		for h := k + 1; h <= n; h++ {
			term := float64(h-k) * pm
			sum += term
			if pm == 0 || term < eps*sum {
				break
			}
			pm *= float64(n-h) / float64(h+1) * odds
		}
		return sum
	}
	var sum float64
	pm := math.Exp(logPMF(n, p, k-1))
	for h := k - 1; h >= 0; h-- {
		term := float64(k-h) * pm
		sum += term
		if pm == 0 || term < eps*(sum+1) {
			break
		}
		pm *= float64(h) / float64(n-h+1) / odds
	}
	return mean - float64(k) + sum
}

// logPMF is log P(H = h) for H ~ Binomial(n, p), 0 < p < 1, 0 ≤ h ≤ n.
func logPMF(n int, p float64, h int) float64 {
	ln, _ := math.Lgamma(float64(n + 1))
	lh, _ := math.Lgamma(float64(h + 1))
	lr, _ := math.Lgamma(float64(n - h + 1))
	return ln - lh - lr + float64(h)*math.Log(p) + float64(n-h)*math.Log1p(-p)
}
