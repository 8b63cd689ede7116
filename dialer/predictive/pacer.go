package predictive

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Estimates tunes how the Pacer learns each campaign's answer behaviour.
// Zero fields take the defaults named.
type Estimates struct {
	// Alpha is the weight of one dial outcome in the exponentially weighted
	// human-answer rate and time to answer, in (0, 1]. Default 0.01 (the
	// effective memory is about 2/Alpha = 200 dials).
	Alpha float64
	// InitialHumanRate is the rate assumed before any outcome. A high guess
	// is the cautious one. Default 0.3.
	InitialHumanRate float64
	// InitialTimeToAnswer is the dial-to-answer time assumed before any
	// answer. Default 15 s.
	InitialTimeToAnswer time.Duration
	// Z sets the upper confidence bound of the human-answer rate that the
	// hard-limit guard uses: estimate + Z standard errors of the EWMA,
	// √(p(1−p)·α/(2−α)) once warmed up (an underestimate is what abandons
	// calls). Default 2 (about 97.7 % one-sided); negative means 0. The
	// target check paces on the estimate itself: the target is a mean over
	// many decisions, and a bias there would only move where the 30-day
	// rate settles, which the budget controller (see Decide) corrects anyway.
	Z float64
}

func (e Estimates) withDefaults() (Estimates, error) {
	if e.Alpha == 0 {
		e.Alpha = 0.01
	}
	if e.InitialHumanRate == 0 {
		e.InitialHumanRate = 0.3
	}
	if e.InitialTimeToAnswer == 0 {
		e.InitialTimeToAnswer = 15 * time.Second
	}
	if e.Z == 0 {
		e.Z = 2
	}
	if e.Z < 0 {
		e.Z = 0
	}
	switch {
	case !(e.Alpha > 0 && e.Alpha <= 1):
		return e, fmt.Errorf("alpha: must be in (0, 1], got %v", e.Alpha)
	case !(e.InitialHumanRate > 0 && e.InitialHumanRate <= 1):
		return e, fmt.Errorf("initial_human_rate: must be in (0, 1], got %v", e.InitialHumanRate)
	case e.InitialTimeToAnswer < 0:
		return e, fmt.Errorf("initial_time_to_answer: must be > 0, got %v", e.InitialTimeToAnswer)
	}
	return e, nil
}

// Pacer is the stateful side of predictive pacing: per campaign it learns
// the human-answer rate and time to answer from dial outcomes, keeps the
// abandonment Ledger, and turns agent counts into a Decision with Decide.
// It is safe for concurrent use.
type Pacer struct {
	cfg    Config
	est    Estimates
	ledger *Ledger
	m      *metrics

	mu        sync.Mutex
	campaigns map[string]*estimate
}

type estimate struct {
	human   float64 // EWMA of 1 (person) / 0 (anything else) per dial
	machine float64 // EWMA of 1 (machine answered) / 0 per dial
	n       float64 // dials observed, for the standard error (capped at 2/α−1)
	tta     float64 // EWMA seconds from dial to answer, answered calls only

	// Calibration: per live answer, the EWMA of abandoned (0/1) and of the
	// abandon rate the last decision predicted.
	seenAb, predAb float64
	lastPred       float64

	// answers holds the last answerSamples dial-to-answer times (seconds),
	// a ring; sorted holds the same values in order, kept up to date on
	// every insert (two binary searches and a memmove).
	answers [answerSamples]float64
	nAns    int
	next    int
	sorted  []float64
}

func (e *estimate) addAnswer(sec float64) {
	if e.nAns == answerSamples {
		old := e.answers[e.next]
		i, _ := slices.BinarySearch(e.sorted, old)
		e.sorted = slices.Delete(e.sorted, i, i+1)
	} else {
		e.nAns++
	}
	e.answers[e.next] = sec
	e.next = (e.next + 1) % answerSamples
	i, _ := slices.BinarySearch(e.sorted, sec)
	e.sorted = slices.Insert(e.sorted, i, sec)
}

// answerSamples is how many recent answer times the age model keeps.
const answerSamples = 256

// answeredBy returns the fraction of answered calls answered within age
// seconds (the empirical distribution of recent answer times). Before any
// answer it assumes answers spread evenly over twice the initial mean.
func (e *estimate) answeredBy(age, initialMean float64) float64 {
	if e.nAns == 0 {
		return min(1, age/(2*initialMean))
	}
	i, _ := slices.BinarySearch(e.sorted, math.Nextafter(age, math.Inf(1)))
	return float64(i) / float64(len(e.sorted))
}

// NewPacer returns a pacer keeping its counts in ledger. reg may be nil (no
// metrics). The metrics carry a "campaign" label holding cadence IDs: the
// number of cadences is bounded in practice (they are created by managers,
// not by traffic), and Forget deletes a campaign's series.
func NewPacer(cfg Config, est Estimates, ledger *Ledger, reg prometheus.Registerer) (*Pacer, error) {
	c, err := cfg.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("predictive pacer: %w", err)
	}
	e, err := est.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("predictive pacer: %w", err)
	}
	if ledger == nil {
		return nil, fmt.Errorf("predictive pacer: ledger: must not be nil")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Pacer{cfg: c, est: e, ledger: ledger, m: m, campaigns: make(map[string]*estimate)}, nil
}

// Config returns the pacer's configuration with defaults applied.
func (p *Pacer) Config() Config { return p.cfg }

// Ledger returns the pacer's ledger.
func (p *Pacer) Ledger() *Ledger { return p.ledger }

func (p *Pacer) campaign(c string) *estimate {
	e := p.campaigns[c]
	if e == nil {
		e = &estimate{human: p.est.InitialHumanRate, tta: p.est.InitialTimeToAnswer.Seconds()}
		p.campaigns[c] = e
	}
	return e
}

// DialOutcome is what one dial of a campaign led to, for the estimates.
type DialOutcome struct {
	// Human: a person answered.
	Human bool
	// Answered: anyone (person or machine) answered, after TimeToAnswer.
	Answered     bool
	TimeToAnswer time.Duration
}

// ObserveDial feeds one finished dial into the campaign's estimates. Every
// dial counts for the human-answer rate (the pacer needs P(person | dial));
// answered ones also for the time to answer.
func (p *Pacer) ObserveDial(campaign string, o DialOutcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.campaign(campaign)
	a := p.est.Alpha
	x := 0.0
	if o.Human {
		x = 1
	}
	e.human += a * (x - e.human)
	y := 0.0
	if o.Answered && !o.Human {
		y = 1
	}
	e.machine += a * (y - e.machine)
	e.n = min(e.n+1, 2/a-1)
	if o.Answered && o.TimeToAnswer >= 0 {
		sec := o.TimeToAnswer.Seconds()
		e.tta += a * (sec - e.tta)
		e.addAnswer(sec)
	}
}

// inFlightEquivalent converts calls dialed at the given times into fresh-dial
// equivalents. A call unanswered at age t reaches a person with
//
//	P(person | unanswered at t) = p·(1 − F(t)) / (1 − (p + m)·F(t))
//
// where p and m are the person and machine rates per dial and F the
// distribution of answer times (people and machines alike); calls that are
// never answered ring on until their timeout. Dividing by p gives how many
// fresh dials the call is worth: 1 at age 0, falling towards 0 as the call
// outlives the answer times seen. Caller holds p.mu.
func (p *Pacer) inFlightEquivalent(e *estimate, now time.Time, dialed []time.Time) float64 {
	ph := p.cautious(e)
	pm := min(max(e.machine, 0), 1-ph)
	var sum float64
	for _, t := range dialed {
		f := e.answeredBy(now.Sub(t).Seconds(), p.est.InitialTimeToAnswer.Seconds())
		den := 1 - (ph+pm)*f
		if den <= 1e-9 {
			continue
		}
		sum += (1 - f) / den
	}
	return sum
}

// RecordLive records a live-answered call in the ledger (abandoned or not)
// and refreshes the campaign's rate gauges.
//
// It also calibrates the model: per live answer it keeps exponentially
// weighted means (weight calibrationAlpha) of the abandons seen and of the
// rate the latest decision predicted. Their ratio, smoothed by a prior of
// calibrationPrior on both sides and clamped to [minCalibration,
// maxCalibration], becomes Input.Calibration: a model that underestimates
// abandons is corrected by what happens, and one that overestimates them
// (the binomial snapshot is pessimistic: answers spread over the ring time
// while agents keep freeing up) may dial somewhat more, towards the allowed rate.
// Loosening never reaches the hard-limit guard (see Decide).
func (p *Pacer) RecordLive(campaign string, at time.Time, abandoned bool) {
	p.mu.Lock()
	e := p.campaign(campaign)
	x := 0.0
	if abandoned {
		x = 1
	}
	e.seenAb += calibrationAlpha * (x - e.seenAb)
	e.predAb += calibrationAlpha * (e.lastPred - e.predAb)
	p.mu.Unlock()
	p.ledger.Record(campaign, at, abandoned)
	a, l, r := p.ledger.Rate(campaign, at)
	p.m.observeLedger(campaign, r, headroom(int64(a), int64(l), p.cfg.Limit))
}

// Calibration tuning: the memory is about 2/calibrationAlpha = 1000 live
// answers; the prior keeps a handful of abandons from swinging it.
const (
	calibrationAlpha = 0.002
	calibrationPrior = 0.005
	maxCalibration   = 20
	minCalibration   = 0.2
)

func calibration(e *estimate) float64 {
	return min(max((e.seenAb+calibrationPrior)/(e.predAb+calibrationPrior), minCalibration), maxCalibration)
}

// HumanRate returns the campaign's estimated human-answer rate and its
// upper confidence bound (estimate + Z standard errors), which Decide is
// given as Input.HumanRate and Input.HumanRateHigh.
func (p *Pacer) HumanRate(campaign string) (estimate, cautious float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.campaign(campaign)
	return e.human, p.cautious(e)
}

func (p *Pacer) cautious(e *estimate) float64 {
	h := e.human
	n := max(e.n, 1)
	return min(1, h+p.est.Z*math.Sqrt(max(h*(1-h), 0.01)/n))
}

// Window returns the campaign's mean time from dial to answer: pass it to
// agents.Roster.Stats to count the agents expected free before the calls
// dialed now are answered.
func (p *Pacer) Window(campaign string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration(p.campaign(campaign).tta * float64(time.Second))
}

// Agents is the agent side of a decision.
type Agents struct {
	// Available: free now. SoonFree: busy but expected free within Window;
	// SoonFreeSure: the part of SoonFree known to be free by then (wrap-up
	// ending). agents.Stats has all three.
	Available, SoonFree, SoonFreeSure int
}

// Decide returns how to dial campaign now in mode, from the campaign's
// estimates and 30-day ledger. inFlight holds the dial times of the
// campaign's predictive calls still ringing (not answered, not given up);
// their ages tell how likely each still is to reach a person.
func (p *Pacer) Decide(campaign string, now time.Time, mode Mode, ag Agents, inFlight []time.Time) Decision {
	p.mu.Lock()
	e := p.campaign(campaign)
	rate, high := e.human, p.cautious(e)
	equiv := p.inFlightEquivalent(e, now, inFlight)
	calib := calibration(e)
	in := Input{Mode: mode, Available: ag.Available, SoonFree: ag.SoonFree, SoonFreeSure: ag.SoonFreeSure, InFlight: equiv,
		HumanRate: rate, HumanRateHigh: high, Calibration: calib}
	p.mu.Unlock()
	a, l, r := p.ledger.Rate(campaign, now)
	in.Abandoned, in.Live = a, l
	d := Decide(p.cfg, in)
	p.mu.Lock()
	e.lastPred = d.ExpectedAbandonRate / calib // the model's own prediction, before calibration
	p.mu.Unlock()
	p.m.observeLedger(campaign, r, headroom(int64(a), int64(l), p.cfg.Limit))
	p.m.observeDecision(campaign, d)
	return d
}

// Forget drops a campaign's estimates, ledger counts and metric series.
func (p *Pacer) Forget(campaign string) {
	p.mu.Lock()
	delete(p.campaigns, campaign)
	p.mu.Unlock()
	p.ledger.Forget(campaign)
	p.m.forget(campaign)
}
