package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file is the operators' read model: the listings of seed 001
// ("Inflight Actions", "Completed Actions"), enrollment and do-not-call
// lists, and the analytics of seed 000. Stores count attempts in SQL (one
// row per cadence and step, and per cadence for first contacts, never one
// row per attempt) by the definitions below, with the catalog split by
// CatalogCodes; AnalyticsBuilder turns those counts into rates here, once,
// so both drivers report the same numbers.
//
// Definitions (the numbers the API and the dashboard show):
//
//   - An attempt is a placed call that has an outcome: a recorded attempt
//     (ScheduleStore.ContactAttempts) on the call channel with a system
//     disposition. Calls that never
//     left (failed before the INVITE, the "placed = false" outcomes), calls
//     still in flight and SMS are not attempts.
//   - A contact is an attempt that reached the person. When an agent posted
//     a disposition from the catalog on the attempt, its Contact flag
//     decides (the agent knows whether "wrong number" reached anyone);
//     otherwise the attempt is a contact when its system disposition is
//     human. A conversion is an attempt whose agent disposition is marked
//     Conversion in the catalog; a conversion always counts as a contact too,
//     so the conversion rate never exceeds 1.
//   - Contact rate = contacts ÷ attempts; conversion rate = conversions ÷
//     contacts (0 when the divisor is 0).
//   - Average attempts before contact: over the enrollments that reached
//     their contact at least once, the number of attempts of the enrollment
//     up to and including its first contact (a contact on the first call
//     counts 1), averaged. Enrollments never contacted are left out, so the
//     number reads "how many dials a reached lead took".
//   - Total cadences counts the cadences (not deleted) that match the status
//     filter. Average steps is the mean number of steps of the current
//     version of those cadences; without a status filter it is taken over
//     the active cadences only (seed 000: "average steps of active
//     cadences").
//   - The status filter applies to each cadence's current status; attempts
//     of deleted cadences are not counted.
//   - Abandonment (47 CFR 64.1200(a)(7), 16 CFR 310.4(b)(4): at most 3 % of
//     live-answered calls per campaign over 30 days): a live answer is an
//     attempt whose system disposition is human or abandoned (a person
//     answered; abandoned means no agent reached them within 2 s, AMD
//     hang-ups on humans included, and the dialer reports it so). The
//     window is AbandonWindow ending at the filter's Now, by the action's
//     completion time: completed_at in (Now − AbandonWindow, Now]. The rate
//     is Abandoned ÷ LiveAnswers, 0 without live answers. Unlike the other
//     numbers it is not lifetime: it is the figure the law caps.

// ReadStore is what operators read: action listings, enrollment and
// do-not-call lists and analytics. Both store drivers implement it
// (engine/storetest.RunReadModel checks them).
type ReadStore interface {
	// ListActions pages through actions in the given states (all when
	// empty), oldest created first, with the columns of seed 001.
	ListActions(ctx context.Context, f ActionFilter) (items []ActionRow, next string, err error)
	// ListEnrollments pages through enrollments, oldest first.
	ListEnrollments(ctx context.Context, f EnrollmentFilter) (items []EnrollmentRow, next string, err error)
	// ListDNC pages through the do-not-call list, oldest entry first.
	ListDNC(ctx context.Context, p Page) (items []DNCEntry, next string, err error)
	// Analytics computes the numbers of seed 000 for the cadences matching
	// f; catalog says which agent dispositions are contacts and
	// conversions. A CadenceID that names no cadence is ErrNotFound.
	Analytics(ctx context.Context, f AnalyticsFilter, catalog []AgentDisposition) (Analytics, error)
	// AbandonmentHistory returns, per cadence (deleted ones left out) and
	// per UTC clock hour of completion, the live answers and abandoned
	// calls completed at or after since, ordered by cadence and hour; the
	// predictive pacer rebuilds its rolling ledger from it at start, so the
	// budget survives restarts and is the same on every node.
	AbandonmentHistory(ctx context.Context, since time.Time) ([]AbandonBucket, error)
}

// AbandonWindow is the rolling period the abandonment rate is counted over.
const AbandonWindow = 30 * 24 * time.Hour

// AbandonBucket is one cadence's live answers and abandoned calls completed
// in one clock hour. Live includes Abandoned (both are live answers).
type AbandonBucket struct {
	CadenceID string
	// Hour is the start of the hour, in UTC.
	Hour      time.Time
	Live      int
	Abandoned int
}

// Action list views of seed 001.
var (
	// InflightStates are the "Inflight Actions": waiting or being performed.
	InflightStates = []ActionState{ActionScheduled, ActionProcessing}
	// CompletedStates are the "Completed Actions".
	CompletedStates = []ActionState{ActionCompleted}
)

// ActionFilter narrows ListActions.
type ActionFilter struct {
	// States keeps actions in these states; empty keeps every state.
	States []ActionState
	// CadenceID keeps one cadence's actions; "" keeps all.
	CadenceID string
	Page
}

// ActionRow is one line of seed 001's Inflight or Completed Actions.
type ActionRow struct {
	ID           string `json:"id"`
	EnrollmentID string `json:"enrollment_id"`
	ContactID    string `json:"contact_id"`
	CadenceID    string `json:"cadence_id"`
	// CadenceVersion is the version the enrollment is pinned to.
	CadenceVersion int    `json:"cadence_version"`
	CadenceName    string `json:"cadence_name"`
	// CadenceCreatedAt is seed 001's "Created Date" (the cadence's).
	CadenceCreatedAt time.Time `json:"cadence_created_at"`
	// Phone is the target phone number.
	Phone string `json:"phone"`
	// Step is 1-based in the pinned version; StepName comes from it.
	Step     int         `json:"step"`
	StepName string      `json:"step_name"`
	Type     StepType    `json:"type"`
	State    ActionState `json:"state"`
	// CreatedAt is when the action row was scheduled.
	CreatedAt time.Time `json:"created_at"`
	// DueAt is the "Scheduled Date".
	DueAt   time.Time `json:"due_at"`
	Attempt int       `json:"attempt"`
	// RetryCount is how many times the step was retried before this
	// action (attempt - 1).
	RetryCount int `json:"retry_count"`
	// MaxRetries and RetryMinGap are the step's "Max Retry / Duration":
	// retries allowed and the minimum gap between attempts (0 for SMS).
	MaxRetries  int      `json:"max_retries"`
	RetryMinGap Duration `json:"retry_min_gap"`
	// CompletedAt is the "Completed Date" of completed actions.
	CompletedAt      *time.Time `json:"completed_at,omitempty"`
	Disposition      string     `json:"disposition,omitempty"`
	AgentDisposition string     `json:"agent_disposition,omitempty"`
}

// AllActionStates are every state, what an ActionFilter without States lists.
var AllActionStates = []ActionState{ActionScheduled, ActionProcessing, ActionCompleted, ActionCancelled}

// MergeActionRows merges lists that are each in (CreatedAt, ID) order into
// one such list of at most n rows. Stores query one state at a time, so
// that each query walks the (state, created_at, id) index, and merge.
func MergeActionRows(lists [][]ActionRow, n int) []ActionRow {
	var out []ActionRow
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.SortFunc(out, func(a, b ActionRow) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// ApplyDefinition fills the columns that come from the pinned version's
// step: its name and its retry settings. Stores call it after the query.
func (r *ActionRow) ApplyDefinition(def Definition) {
	r.RetryCount = max(r.Attempt-1, 0)
	if r.Step < 1 || r.Step > len(def.Steps) {
		return
	}
	st := def.Steps[r.Step-1]
	r.StepName = st.Name
	if st.Call != nil {
		r.MaxRetries, r.RetryMinGap = st.Call.Retry.Attempts, st.Call.Retry.MinGap
	}
}

// EnrollmentFilter narrows ListEnrollments.
type EnrollmentFilter struct {
	CadenceID string           // "" for every cadence
	Status    EnrollmentStatus // "" for every status
	Page
}

// EnrollmentRow is an enrollment with its contact's phone.
type EnrollmentRow struct {
	Enrollment
	Phone string `json:"phone"`
}

// DNCEntry is one number on the do-not-call list.
type DNCEntry struct {
	Phone     string    `json:"phone"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// AnalyticsFilter narrows Analytics.
type AnalyticsFilter struct {
	CadenceID string // "" for every cadence
	Status    Status // "" for every status
	// Now ends the abandonment window; the zero time means the wall clock
	// (the API passes its own clock).
	Now time.Time
}

// AbandonRange returns the window the abandonment numbers count, by
// completion time: (from, to].
func (f AnalyticsFilter) AbandonRange() (from, to time.Time) {
	to = f.Now
	if to.IsZero() {
		to = time.Now()
	}
	to = to.UTC()
	return to.Add(-AbandonWindow), to
}

// Abandonment is the rolling 30-day abandonment count of the definitions
// above.
type Abandonment struct {
	// LiveAnswers counts human and abandoned dispositions (a person answered).
	LiveAnswers int `json:"live_answers"`
	// Abandoned counts the live answers no agent reached in time.
	Abandoned int `json:"abandoned"`
	// AbandonRate30d = Abandoned / LiveAnswers, 0 without live answers.
	AbandonRate30d float64 `json:"abandon_rate_30d"`
}

func (a Abandonment) withRate() Abandonment {
	a.AbandonRate30d = 0
	if a.LiveAnswers > 0 {
		a.AbandonRate30d = float64(a.Abandoned) / float64(a.LiveAnswers)
	}
	return a
}

// Rates are the attempt counts and the ratios derived from them.
type Rates struct {
	Attempts    int `json:"attempts"`
	Contacts    int `json:"contacts"`
	Conversions int `json:"conversions"`
	// ContactRate = Contacts / Attempts.
	ContactRate float64 `json:"contact_rate"`
	// ConversionRate = Conversions / Contacts.
	ConversionRate float64 `json:"conversion_rate"`
}

// StepAnalytics are the rates of one step number of a cadence (across its
// versions); Name is the step's name in the current version.
type StepAnalytics struct {
	Step int    `json:"step"`
	Name string `json:"name"`
	Rates
}

// CadenceAnalytics are the rates of one cadence.
type CadenceAnalytics struct {
	CadenceID string `json:"cadence_id"`
	Name      string `json:"name"`
	Status    Status `json:"status"`
	Steps     int    `json:"steps"`
	Rates
	// AverageAttemptsBeforeContact: see the definitions above.
	AverageAttemptsBeforeContact float64 `json:"average_attempts_before_contact"`
	Abandonment
}

// Analytics are the dashboard numbers of seed 000.
type Analytics struct {
	TotalCadences int     `json:"total_cadences"`
	AverageSteps  float64 `json:"average_steps"`
	Rates
	AverageAttemptsBeforeContact float64 `json:"average_attempts_before_contact"`
	// ContactedEnrollments is the divisor of AverageAttemptsBeforeContact.
	ContactedEnrollments int `json:"contacted_enrollments"`
	// Abandonment sums the counted cadences' (the rate is over the sums).
	Abandonment
	// PerCadence lists every cadence counted, in creation order.
	PerCadence []CadenceAnalytics `json:"per_cadence"`
	// PerStep is filled when the filter names one cadence: one entry per
	// step of its current version, plus any step number only older
	// versions had.
	PerStep []StepAnalytics `json:"per_step"`
}

// CadenceFact is what analytics need of a cadence: its current definition.
type CadenceFact struct {
	ID         string
	Status     Status
	Definition Definition
}

// CatalogCodes splits a catalog for the stores' queries, which classify
// attempts in SQL by the definitions above: every code, the codes that
// count as a contact (conversions included) and the conversion codes.
func CatalogCodes(catalog []AgentDisposition) (all, contact, conversion []string) {
	all, contact, conversion = []string{}, []string{}, []string{}
	for _, d := range catalog {
		if d.Code == "" {
			continue
		}
		all = append(all, d.Code)
		if d.Contact || d.Conversion {
			contact = append(contact, d.Code)
		}
		if d.Conversion {
			conversion = append(conversion, d.Code)
		}
	}
	return all, contact, conversion
}

// AnalyticsBuilder accumulates cadences and the stores' aggregates into
// Analytics.
type AnalyticsBuilder struct {
	filter   AnalyticsFilter
	cadences []CadenceFact
	index    map[string]int
	total    Rates
	per      []Rates
	perTries []tally
	steps    map[int]*Rates
	tries    tally
	aband    Abandonment
	perAband []Abandonment
}

// tally sums attempts-to-first-contact over contacted enrollments.
type tally struct{ sum, n int }

// NewAnalyticsBuilder starts an empty computation for f.
func NewAnalyticsBuilder(f AnalyticsFilter) *AnalyticsBuilder {
	return &AnalyticsBuilder{filter: f, index: map[string]int{}, steps: map[int]*Rates{}}
}

// AddCadence counts a cadence; aggregates of cadences never added are ignored.
func (b *AnalyticsBuilder) AddCadence(c CadenceFact) {
	if _, dup := b.index[c.ID]; dup {
		return
	}
	b.index[c.ID] = len(b.cadences)
	b.cadences = append(b.cadences, c)
	b.per = append(b.per, Rates{})
	b.perTries = append(b.perTries, tally{})
	b.perAband = append(b.perAband, Abandonment{})
}

// AddAbandonment counts, for one cadence, live answers and abandoned calls
// inside the filter's abandonment window.
func (b *AnalyticsBuilder) AddAbandonment(cadenceID string, live, abandoned int) {
	i, ok := b.index[cadenceID]
	if !ok {
		return
	}
	for _, a := range []*Abandonment{&b.aband, &b.perAband[i]} {
		a.LiveAnswers += live
		a.Abandoned += abandoned
	}
}

// AddStep counts the attempts, contacts and conversions of one step number
// of a cadence.
func (b *AnalyticsBuilder) AddStep(cadenceID string, step, attempts, contacts, conversions int) {
	i, ok := b.index[cadenceID]
	if !ok {
		return
	}
	add := func(r *Rates) {
		r.Attempts += attempts
		r.Contacts += contacts
		r.Conversions += conversions
	}
	add(&b.total)
	add(&b.per[i])
	sr := b.steps[step]
	if sr == nil {
		sr = &Rates{}
		b.steps[step] = sr
	}
	add(sr)
}

// AddFirstContacts counts, for one cadence, the enrollments that reached
// their contact and the sum over them of the attempts up to and including
// the first contact.
func (b *AnalyticsBuilder) AddFirstContacts(cadenceID string, enrollments, attempts int) {
	i, ok := b.index[cadenceID]
	if !ok {
		return
	}
	b.tries.n += enrollments
	b.tries.sum += attempts
	b.perTries[i].n += enrollments
	b.perTries[i].sum += attempts
}

func (r Rates) withRatios() Rates {
	if r.Attempts > 0 {
		r.ContactRate = float64(r.Contacts) / float64(r.Attempts)
	}
	if r.Contacts > 0 {
		r.ConversionRate = float64(r.Conversions) / float64(r.Contacts)
	}
	return r
}

func (t tally) mean() float64 {
	if t.n == 0 {
		return 0
	}
	return float64(t.sum) / float64(t.n)
}

// Result returns the analytics counted so far.
func (b *AnalyticsBuilder) Result() Analytics {
	out := Analytics{TotalCadences: len(b.cadences), Rates: b.total.withRatios(),
		AverageAttemptsBeforeContact: b.tries.mean(), ContactedEnrollments: b.tries.n,
		Abandonment: b.aband.withRate(),
		PerCadence:  make([]CadenceAnalytics, 0, len(b.cadences)), PerStep: []StepAnalytics{}}
	steps, counted := 0, 0
	for i, c := range b.cadences {
		if b.filter.Status != "" || c.Status == StatusActive {
			steps += len(c.Definition.Steps)
			counted++
		}
		out.PerCadence = append(out.PerCadence, CadenceAnalytics{CadenceID: c.ID, Name: c.Definition.Name, Status: c.Status,
			Steps: len(c.Definition.Steps), Rates: b.per[i].withRatios(), AverageAttemptsBeforeContact: b.perTries[i].mean(),
			Abandonment: b.perAband[i].withRate()})
	}
	if counted > 0 {
		out.AverageSteps = float64(steps) / float64(counted)
	}
	if b.filter.CadenceID != "" && len(b.cadences) == 1 {
		def := b.cadences[0].Definition
		nums := make([]int, 0, len(def.Steps)+len(b.steps))
		for i := range def.Steps {
			nums = append(nums, i+1)
		}
		for n := range b.steps {
			if n > len(def.Steps) {
				nums = append(nums, n)
			}
		}
		slices.Sort(nums)
		for _, n := range nums {
			sa := StepAnalytics{Step: n}
			if n <= len(def.Steps) {
				sa.Name = def.Steps[n-1].Name
			}
			if r := b.steps[n]; r != nil {
				sa.Rates = r.withRatios()
			}
			out.PerStep = append(out.PerStep, sa)
		}
	}
	return out
}

// QueryStates validates the filter's states and returns the ones to query,
// each once; none means all. Both stores list actions one state at a time
// and merge the lists (MergeActionRows).
func (f ActionFilter) QueryStates() ([]ActionState, error) {
	if len(f.States) == 0 {
		return AllActionStates, nil
	}
	var out []ActionState
	for i, st := range f.States {
		switch st {
		case ActionScheduled, ActionProcessing, ActionCompleted, ActionCancelled:
		default:
			return nil, FieldErrors{{Path: "states[" + strconv.Itoa(i) + "]", Message: fmt.Sprintf("unknown action state %q", st)}}
		}
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	return out, nil
}

// ValidateStatus names an unknown enrollment status in the filter.
func (f EnrollmentFilter) ValidateStatus() error {
	switch f.Status {
	case "", EnrollmentActive, EnrollmentCompleted, EnrollmentStopped:
		return nil
	}
	return FieldErrors{{Path: "status", Message: fmt.Sprintf("unknown enrollment status %q", f.Status)}}
}

// ApplyDefinitions fills each row's step columns from the definition of the
// version it is pinned to; load returns a version's stored JSON and is
// called once per (cadence, version).
func ApplyDefinitions(rows []ActionRow, load func(cadenceID string, version int) ([]byte, error)) error {
	defs := map[string]Definition{}
	for i := range rows {
		r := &rows[i]
		key := r.CadenceID + "@" + strconv.Itoa(r.CadenceVersion)
		def, ok := defs[key]
		if !ok {
			doc, err := load(r.CadenceID, r.CadenceVersion)
			if err != nil {
				return fmt.Errorf("version %s: %w", key, err)
			}
			if err := json.Unmarshal(doc, &def); err != nil {
				return fmt.Errorf("decode version %s: %w", key, err)
			}
			defs[key] = def
		}
		r.ApplyDefinition(def)
	}
	return nil
}
