// Package predictive paces live-agent outbound dialing within the legal
// abandonment budget (47 CFR 64.1200(a)(7), 16 CFR 310.4(b)(4)): at most 3 %
// of live-answered calls per campaign over 30 days may be abandoned (no agent
// within 2 s of the greeting; AMD hang-ups on humans count too).
//
// It holds three things:
//   - Ledger: per campaign (cadence ID) rolling 30-day counts of live-answered
//     and abandoned calls in hourly buckets, with the rate and the remaining
//     headroom, snapshot and restore;
//   - Decide: a pure function that turns agent counts, the human-answer rate,
//     calls in flight and the ledger into how many calls to have in flight
//     (see decide.go for the model);
//   - Pacer: a stateful, concurrency-safe wrapper that learns the answer rate
//     and time to answer from outcomes, keeps the ledger, and exports metrics.
//
// Everything runs on times passed in by the caller; nothing here reads the
// wall clock or starts goroutines.
package predictive

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Ledger window and bucket size.
const (
	// Window is the legal accounting period.
	Window = 30 * 24 * time.Hour
	// Bucket is the ledger's resolution. The window at now covers the
	// Buckets clock hours ending with the one holding now, so a record
	// leaves the window up to one Bucket early (exactly on time for records
	// made on the hour).
	Bucket = time.Hour
	// Buckets is how many buckets one campaign keeps (720): memory per
	// campaign is bounded whatever the call volume.
	Buckets = int(Window / Bucket)
)

// Ledger counts live-answered and abandoned calls per campaign over the
// rolling Window. It is safe for concurrent use.
type Ledger struct {
	mu        sync.Mutex
	campaigns map[string]*ring
}

// ring holds one campaign's buckets, indexed by bucket number mod Buckets,
// and running sums over the window ending at bucket edge, so that reading
// the rate at a time that only moves forward costs O(1) amortized instead of
// a scan of all Buckets (the pacer reads it on every decision).
type ring struct {
	b              [Buckets]bucket
	ready          bool  // edge and the sums are valid
	edge           int64 // the newest bucket number the sums were advanced to
	sumLive, sumAb int64 // over buckets n with edge−Buckets < n ≤ edge
}

func (r *ring) inWindow(n int64) bool { return r.ready && n > r.edge-int64(Buckets) && n <= r.edge }

// scan sums the buckets inside (cur − Window, cur] the slow way.
func (r *ring) scan(cur int64) (abandoned, live int64) {
	lo := cur - int64(Buckets) // exclusive
	for i := range r.b {
		b := &r.b[i]
		if b.live > 0 && b.n > lo && b.n <= cur {
			abandoned += b.abandoned
			live += b.live
		}
	}
	return abandoned, live
}

// at returns the window's sums at bucket cur, advancing the running sums
// when cur is newer than the edge. Slot s holds either bucket n or bucket
// n − Buckets (same slot), so moving the edge one bucket forward removes the
// leaving bucket or adds an entering one that was recorded ahead of time.
func (r *ring) at(cur int64) (abandoned, live int64) {
	switch {
	case !r.ready || cur-r.edge >= int64(Buckets):
		r.sumAb, r.sumLive = r.scan(cur)
		r.edge, r.ready = cur, true
	case cur < r.edge: // a look into the past: leave the sums alone
		return r.scan(cur)
	}
	for n := r.edge + 1; n <= cur; n++ {
		b := &r.b[slot(n)]
		switch {
		case b.live == 0:
		case b.n == n-int64(Buckets):
			r.sumAb -= b.abandoned
			r.sumLive -= b.live
		case b.n == n:
			r.sumAb += b.abandoned
			r.sumLive += b.live
		}
	}
	r.edge = max(r.edge, cur)
	return r.sumAb, r.sumLive
}

type bucket struct {
	n         int64 // bucket number (Unix time / Bucket); meaningful when live > 0
	live      int64
	abandoned int64
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{campaigns: make(map[string]*ring)}
}

func bucketOf(t time.Time) int64 {
	return floorDiv(t.Unix(), int64(Bucket/time.Second))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func slot(n int64) int { return int(((n % int64(Buckets)) + int64(Buckets)) % int64(Buckets)) }

// Record counts one live-answered call of campaign answered at at; abandoned
// says whether it was abandoned (an abandoned call is also a live answer, so
// it counts in both). A record older than the data already in its slot
// (more than a Window behind the newest) can no longer matter and is dropped;
// Record reports whether it was kept.
func (l *Ledger) Record(campaign string, at time.Time, abandoned bool) bool {
	n := bucketOf(at)
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.campaigns[campaign]
	if r == nil {
		r = &ring{}
		l.campaigns[campaign] = r
	}
	b := &r.b[slot(n)]
	switch {
	case b.live == 0:
		*b = bucket{n: n}
	case b.n < n:
		if r.inWindow(b.n) { // the old bucket leaves the running sums
			r.sumAb -= b.abandoned
			r.sumLive -= b.live
		}
		*b = bucket{n: n}
	case b.n > n:
		return false
	}
	b.live++
	if abandoned {
		b.abandoned++
	}
	if r.inWindow(n) {
		r.sumLive++
		if abandoned {
			r.sumAb++
		}
	}
	return true
}

// Rate returns campaign's abandoned and live-answered counts over the window
// ending at now, and abandoned ÷ live (0 when nothing was answered).
func (l *Ledger) Rate(campaign string, now time.Time) (abandoned, live int, rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, lv := l.counts(campaign, now)
	return int(a), int(lv), ratio(a, lv)
}

func ratio(a, live int64) float64 {
	if live == 0 {
		return 0
	}
	return float64(a) / float64(live)
}

// counts sums the buckets inside (now − Window, now] at bucket resolution.
func (l *Ledger) counts(campaign string, now time.Time) (abandoned, live int64) {
	r := l.campaigns[campaign]
	if r == nil {
		return 0, 0
	}
	return r.at(bucketOf(now))
}

// Headroom returns how many more calls of campaign may be abandoned now
// without the window's rate passing limit, assuming no further live answer
// other than those abandoned calls themselves (each abandoned call is a live
// answer too). With a abandoned of L live, k more abandons keep the rate at
// (a+k)/(L+k) ≤ limit, so k ≤ (limit·L − a)/(1 − limit). It is 0 when the
// rate is already at or above the limit. The bound is conservative in that
// live answers still to come only raise it; it ignores old buckets leaving
// the window, which can lower it — callers re-read it as time passes.
func (l *Ledger) Headroom(campaign string, now time.Time, limit float64) int {
	l.mu.Lock()
	a, lv := l.counts(campaign, now)
	l.mu.Unlock()
	return headroom(a, lv, limit)
}

func headroom(a, live int64, limit float64) int {
	if !(limit > 0 && limit < 1) {
		return 0
	}
	k := (limit*float64(live) - float64(a)) / (1 - limit)
	if k <= 0 {
		return 0
	}
	// The epsilon absorbs float error on exact boundaries (3 of 100 at 3 %).
	return int(math.Floor(k + 1e-9))
}

// Forget drops a campaign's counts (the cadence was deleted).
func (l *Ledger) Forget(campaign string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.campaigns, campaign)
}

// Campaigns returns the campaigns the ledger holds, sorted.
func (l *Ledger) Campaigns() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.campaigns))
	for c := range l.campaigns {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// LedgerSnapshot is a ledger as plain data, for persistence.
type LedgerSnapshot struct {
	// Campaigns in campaign order.
	Campaigns []CampaignSnapshot `json:"campaigns"`
}

// CampaignSnapshot is one campaign's non-empty buckets, oldest first.
type CampaignSnapshot struct {
	Campaign string           `json:"campaign"`
	Buckets  []BucketSnapshot `json:"buckets"`
}

// BucketSnapshot is one bucket: calls answered in [Start, Start+Bucket).
type BucketSnapshot struct {
	Start     time.Time `json:"start"`
	Live      int64     `json:"live"`
	Abandoned int64     `json:"abandoned"`
}

// Snapshot returns every campaign's buckets still inside the window at now
// (older ones are dropped: they can no longer matter).
func (l *Ledger) Snapshot(now time.Time) LedgerSnapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s LedgerSnapshot
	lo := bucketOf(now) - int64(Buckets)
	names := make([]string, 0, len(l.campaigns))
	for c := range l.campaigns {
		names = append(names, c)
	}
	slices.Sort(names)
	for _, c := range names {
		cs := CampaignSnapshot{Campaign: c}
		for _, b := range l.campaigns[c].b {
			if b.live > 0 && b.n > lo {
				cs.Buckets = append(cs.Buckets, BucketSnapshot{
					Start: time.Unix(b.n*int64(Bucket/time.Second), 0).UTC(), Live: b.live, Abandoned: b.abandoned})
			}
		}
		if len(cs.Buckets) == 0 {
			continue
		}
		slices.SortFunc(cs.Buckets, func(a, b BucketSnapshot) int { return a.Start.Compare(b.Start) })
		s.Campaigns = append(s.Campaigns, cs)
	}
	return s
}

// Restore replaces the ledger's contents with s. It validates everything
// first and changes nothing on error.
func (l *Ledger) Restore(s LedgerSnapshot) error {
	fresh := make(map[string]*ring, len(s.Campaigns))
	for i, cs := range s.Campaigns {
		if _, dup := fresh[cs.Campaign]; dup {
			return fmt.Errorf("restore ledger: campaigns[%d].campaign: duplicate %q", i, cs.Campaign)
		}
		r := &ring{}
		for j, b := range cs.Buckets {
			field := fmt.Sprintf("campaigns[%d].buckets[%d]", i, j)
			switch {
			case b.Live < 0:
				return fmt.Errorf("restore ledger: %s.live: must be ≥ 0, got %d", field, b.Live)
			case b.Abandoned < 0 || b.Abandoned > b.Live:
				return fmt.Errorf("restore ledger: %s.abandoned: must be in [0, live=%d], got %d", field, b.Live, b.Abandoned)
			case !b.Start.Truncate(Bucket).Equal(b.Start):
				return fmt.Errorf("restore ledger: %s.start: must be on a %v boundary, got %v", field, Bucket, b.Start)
			}
			if b.Live == 0 {
				continue
			}
			n := bucketOf(b.Start)
			cur := &r.b[slot(n)]
			switch {
			case cur.live == 0 || cur.n < n:
				*cur = bucket{n: n, live: b.Live, abandoned: b.Abandoned}
			case cur.n == n:
				return fmt.Errorf("restore ledger: %s.start: duplicate bucket %v", field, b.Start)
			}
		}
		fresh[cs.Campaign] = r
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.campaigns = fresh
	return nil
}
