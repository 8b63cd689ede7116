package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// This file is seed 000's "Recommended Cadences": adjustments suggested from
// performance data. Every recommendation rests on counts large enough to
// mean something: rates are compared through 95 % Wilson score intervals,
// so a cadence is called worse than another only when its best plausible
// rate is below the other's worst plausible rate. Nothing is changed: each
// recommendation says what to do and which API call would do it.

// RecommendKind names what a recommendation is about.
type RecommendKind string

// Recommendation kinds.
const (
	// RecommendDeactivate: an active cadence reaches clearly fewer people
	// per attempt than the best active one (seed 000 best practice:
	// deactivate underperforming cadences).
	RecommendDeactivate RecommendKind = "deactivate_underperformer"
	// RecommendTrimSteps: the last steps of a cadence reach almost nobody
	// (keep cadences short enough to avoid over-dialing fatigue).
	RecommendTrimSteps RecommendKind = "trim_steps"
	// RecommendVoicemailLater: the first call leaves a voicemail although
	// later calls exist (enable voicemail strategically on later attempts).
	RecommendVoicemailLater RecommendKind = "voicemail_on_later_attempts"
	// RecommendTemplate: a cadence converts clearly better than the rest;
	// save it as a template for similar leads.
	RecommendTemplate RecommendKind = "save_as_template"
)

// Recommendation is one suggested adjustment.
type Recommendation struct {
	// ID is stable for the same finding (kind, cadence, steps).
	ID          string        `json:"id"`
	Kind        RecommendKind `json:"kind"`
	CadenceID   string        `json:"cadence_id"`
	CadenceName string        `json:"cadence_name"`
	// Steps are the 1-based steps concerned, if any.
	Steps  []int  `json:"steps,omitempty"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// Evidence holds the numbers the recommendation rests on.
	Evidence map[string]float64 `json:"evidence"`
	// Action is the API call that applies it ("POST /v1/cadences/{id}/deactivate").
	Action string `json:"action"`
}

// RecommendCadence is what Recommend needs of one cadence: its definition
// and status, and its per-step analytics.
type RecommendCadence struct {
	ID         string
	Status     Status
	Definition Definition
	Rates      Rates
	PerStep    []StepAnalytics
}

// Thresholds of Recommend: below these sample sizes nothing is claimed.
const (
	recommendMinAttempts     = 100 // per cadence, to compare cadences
	recommendMinStepAttempts = 30  // per step, to call a step unproductive
	recommendMinContacts     = 30  // per cadence, to compare conversion
	recommendWeakStepShare   = 0.25
)

// Recommend derives recommendations from the cadences' numbers, most
// important first (deactivations, then trims, templates, practices).
func Recommend(cadences []RecommendCadence) []Recommendation {
	var out []Recommendation
	out = append(out, underperformers(cadences)...)
	for _, c := range cadences {
		if r, ok := trimSteps(c); ok {
			out = append(out, r)
		}
	}
	out = append(out, templates(cadences)...)
	for _, c := range cadences {
		if r, ok := voicemailLater(c); ok {
			out = append(out, r)
		}
	}
	return out
}

// wilson returns the 95 % Wilson score interval of k successes in n trials.
func wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	const z = 1.959964
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return max(0, mid-half), min(1, mid+half)
}

func underperformers(cs []RecommendCadence) []Recommendation {
	var eligible []RecommendCadence
	for _, c := range cs {
		if c.Status == StatusActive && c.Rates.Attempts >= recommendMinAttempts {
			eligible = append(eligible, c)
		}
	}
	if len(eligible) < 2 {
		return nil
	}
	best := slices.MaxFunc(eligible, func(a, b RecommendCadence) int {
		la, _ := wilson(a.Rates.Contacts, a.Rates.Attempts)
		lb, _ := wilson(b.Rates.Contacts, b.Rates.Attempts)
		return cmp.Compare(la, lb)
	})
	bestLo, _ := wilson(best.Rates.Contacts, best.Rates.Attempts)
	var out []Recommendation
	for _, c := range eligible {
		if c.ID == best.ID {
			continue
		}
		_, hi := wilson(c.Rates.Contacts, c.Rates.Attempts)
		if hi >= bestLo || c.Rates.ContactRate >= 0.5*best.Rates.ContactRate {
			continue
		}
		out = append(out, Recommendation{
			ID: recommendID(RecommendDeactivate, c.ID), Kind: RecommendDeactivate, CadenceID: c.ID, CadenceName: c.Definition.Name,
			Title: fmt.Sprintf("Deactivate or revise %q", c.Definition.Name),
			Detail: fmt.Sprintf("It reaches a person on %.1f %% of %d attempts; %q reaches %.1f %% of %d. Even at the best plausible rate (%.1f %%) it stays below the other's worst (%.1f %%).",
				100*c.Rates.ContactRate, c.Rates.Attempts, best.Definition.Name, 100*best.Rates.ContactRate, best.Rates.Attempts, 100*hi, 100*bestLo),
			Evidence: map[string]float64{"attempts": float64(c.Rates.Attempts), "contact_rate": c.Rates.ContactRate,
				"contact_rate_upper_95": hi, "best_contact_rate": best.Rates.ContactRate, "best_contact_rate_lower_95": bestLo},
			Action: "POST /v1/cadences/" + c.ID + "/deactivate",
		})
	}
	return out
}

// trimSteps finds the run of last steps each of which reaches fewer than a
// quarter of the people per attempt that the cadence's best step reaches,
// beyond doubt.
func trimSteps(c RecommendCadence) (Recommendation, bool) {
	if c.Status != StatusActive || len(c.PerStep) < 3 {
		return Recommendation{}, false
	}
	var bestLo, bestRate float64
	bestStep := 0
	for _, s := range c.PerStep {
		if s.Attempts < recommendMinStepAttempts {
			continue
		}
		if lo, _ := wilson(s.Contacts, s.Attempts); lo > bestLo {
			bestLo, bestRate, bestStep = lo, s.ContactRate, s.Step
		}
	}
	if bestStep == 0 {
		return Recommendation{}, false
	}
	steps := slices.Clone(c.PerStep)
	slices.SortFunc(steps, func(a, b StepAnalytics) int { return cmp.Compare(a.Step, b.Step) })
	var weak []int
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		if s.Step <= bestStep || s.Attempts < recommendMinStepAttempts {
			break
		}
		if _, hi := wilson(s.Contacts, s.Attempts); hi >= bestLo || s.ContactRate >= recommendWeakStepShare*bestRate {
			break
		}
		weak = append([]int{s.Step}, weak...)
	}
	if len(weak) == 0 {
		return Recommendation{}, false
	}
	ev := map[string]float64{"best_step": float64(bestStep), "best_step_contact_rate": bestRate}
	for _, n := range weak {
		for _, s := range steps {
			if s.Step == n {
				ev["step_"+strconv.Itoa(n)+"_contact_rate"] = s.ContactRate
				ev["step_"+strconv.Itoa(n)+"_attempts"] = float64(s.Attempts)
			}
		}
	}
	return Recommendation{
		ID: recommendID(RecommendTrimSteps, c.ID, weak...), Kind: RecommendTrimSteps, CadenceID: c.ID, CadenceName: c.Definition.Name, Steps: weak,
		Title: fmt.Sprintf("End %q after step %d", c.Definition.Name, weak[0]-1),
		Detail: fmt.Sprintf("Steps %v each reach under a quarter of the people per attempt that step %d reaches (%.1f %%): they add calls, and complaint risk, for few contacts.",
			weak, bestStep, 100*bestRate),
		Evidence: ev,
		Action:   "PUT /v1/cadences/" + c.ID + " (a new version without the last steps)",
	}, true
}

func templates(cs []RecommendCadence) []Recommendation {
	var eligible []RecommendCadence
	for _, c := range cs {
		if c.Rates.Contacts >= recommendMinContacts && c.Status != StatusArchived {
			eligible = append(eligible, c)
		}
	}
	if len(eligible) < 2 {
		return nil
	}
	best := slices.MaxFunc(eligible, func(a, b RecommendCadence) int {
		la, _ := wilson(a.Rates.Conversions, a.Rates.Contacts)
		lb, _ := wilson(b.Rates.Conversions, b.Rates.Contacts)
		return cmp.Compare(la, lb)
	})
	lo, _ := wilson(best.Rates.Conversions, best.Rates.Contacts)
	rest := Rates{}
	for _, c := range eligible {
		if c.ID != best.ID {
			rest.Contacts += c.Rates.Contacts
			rest.Conversions += c.Rates.Conversions
		}
	}
	_, restHi := wilson(rest.Conversions, rest.Contacts)
	if lo <= restHi {
		return nil
	}
	restRate := float64(rest.Conversions) / float64(rest.Contacts)
	return []Recommendation{{
		ID: recommendID(RecommendTemplate, best.ID), Kind: RecommendTemplate, CadenceID: best.ID, CadenceName: best.Definition.Name,
		Title: fmt.Sprintf("Save %q as a template", best.Definition.Name),
		Detail: fmt.Sprintf("It converts %.1f %% of %d contacts, against %.1f %% of %d for the other cadences together: start similar leads from it.",
			100*best.Rates.ConversionRate, best.Rates.Contacts, 100*restRate, rest.Contacts),
		Evidence: map[string]float64{"contacts": float64(best.Rates.Contacts), "conversion_rate": best.Rates.ConversionRate,
			"conversion_rate_lower_95": lo, "others_conversion_rate": restRate, "others_conversion_rate_upper_95": restHi},
		Action: "POST /v1/cadences/" + best.ID + "/template",
	}}
}

// voicemailLater is a practice check on the definition: a message on the
// very first call spends it before a callback was even possible.
func voicemailLater(c RecommendCadence) (Recommendation, bool) {
	if c.Status != StatusActive {
		return Recommendation{}, false
	}
	first, later := 0, 0
	for i, s := range c.Definition.Steps {
		if s.Call == nil {
			continue
		}
		if first == 0 {
			first = i + 1
			if !s.Call.Voicemail.Enabled {
				return Recommendation{}, false
			}
			continue
		}
		later = i + 1
		break
	}
	if first == 0 || later == 0 {
		return Recommendation{}, false
	}
	return Recommendation{
		ID: recommendID(RecommendVoicemailLater, c.ID, first), Kind: RecommendVoicemailLater, CadenceID: c.ID, CadenceName: c.Definition.Name, Steps: []int{first},
		Title:    fmt.Sprintf("Leave the voicemail of %q on a later call", c.Definition.Name),
		Detail:   fmt.Sprintf("Step %d, the first call, leaves a message although step %d calls again; a message on a later attempt follows up instead of replacing the first try.", first, later),
		Evidence: map[string]float64{"first_call_step": float64(first), "next_call_step": float64(later)},
		Action:   "PUT /v1/cadences/" + c.ID + " (voicemail off on the first call, on for a later one)",
	}, true
}

func recommendID(k RecommendKind, cadenceID string, steps ...int) string {
	id := string(k) + ":" + cadenceID
	for _, s := range steps {
		id += ":" + strconv.Itoa(s)
	}
	return id
}
