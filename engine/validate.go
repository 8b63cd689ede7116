package engine

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	// Business and contact time zones must load on any machine, including
	// minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// FieldError is one problem with a cadence definition or document, at a
// dotted JSON path relative to the definition: "name",
// "steps[2].routing[0].action.type". Path "" means the whole body (syntax
// errors, wrong top-level type).
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error returns "path: message", or only the message when the path is empty.
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// FieldErrors is every problem found, in document order. It implements error
// as all lines joined with "; "; use Err to turn an empty list into nil.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "; ")
}

// Err returns es as an error, or nil when es is empty (a nil FieldErrors in
// an error interface would not be nil).
func (es FieldErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Limits and defaults of a cadence definition.
const (
	// MaxNameLength caps names of cadences and steps, in characters.
	MaxNameLength = 200
	// MaxDescriptionLength caps a cadence's description, in characters.
	MaxDescriptionLength = 5000
	// MaxRuns caps Runs.Total.
	MaxRuns = 100
	// MaxRetryAttempts caps a call step's Retry.Attempts and a retry rule's MaxTimes.
	MaxRetryAttempts = 20
	// MinRingTimeout is the legal floor: a call must ring at least 15 s
	// (47 CFR 64.1200(a)(7)); it is also the default.
	MinRingTimeout = Duration(15 * time.Second)
	// MaxRingTimeout caps how long a call may ring.
	MaxRingTimeout = Duration(120 * time.Second)
	// MaxSMSLength caps an SMS text, in characters (ten concatenated segments).
	MaxSMSLength = 1600
	// MaxScriptLength caps a call script, in characters.
	MaxScriptLength = 20000
	// MaxDelay caps every delay, gap and period of a definition.
	MaxDelay = Duration(365 * 24 * time.Hour)
	// DefaultAMDProfile is the profile used when a call step names none.
	DefaultAMDProfile = "balanced"
)

// The system dispositions the dialer reports (ARCHITECTURE.md, shared
// vocabulary). Agent dispositions are catalog codes shaped like
// reDispositionCode; the engine checks them against the catalog.
const (
	DispositionHuman         = "human"
	DispositionVoicemail     = "voicemail"
	DispositionMachine       = "machine"
	DispositionNoAnswer      = "no_answer"
	DispositionBusy          = "busy"
	DispositionInvalidNumber = "invalid_number"
	DispositionRejected      = "rejected"
	DispositionFailed        = "failed"
	DispositionAbandoned     = "abandoned"
	DispositionUnknown       = "unknown"
)

// IsSystemDisposition reports whether code is one of the dispositions the
// dialer itself reports.
func IsSystemDisposition(code string) bool {
	switch code {
	case DispositionHuman, DispositionVoicemail, DispositionMachine, DispositionNoAnswer,
		DispositionBusy, DispositionInvalidNumber, DispositionRejected, DispositionFailed,
		DispositionAbandoned, DispositionUnknown:
		return true
	}
	return false
}

// callOnlyDisposition reports whether only a call can end with code: an SMS
// step is never answered, so routing an SMS step on these is a mistake.
func callOnlyDisposition(code string) bool {
	switch code {
	case DispositionHuman, DispositionVoicemail, DispositionMachine, DispositionNoAnswer,
		DispositionBusy, DispositionAbandoned:
		return true
	}
	return false
}

// Shapes checked by validation. Compiled once; never modified.
var (
	reDispositionCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	reE164Number      = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	rePoolName        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	reVariableKey     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	reFieldName       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	reEndpoint        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*/[^\s]+$`)
)

// ValidateDefinition checks d and returns every problem, in the order of the
// definition's fields (which is document order), or nil when d is valid.
//
// Zero values that have a default are valid (see Normalize): runs.total 0
// (one run), runs.after.action "" (idle), owner.assign "" (round_robin),
// harassment {} (the business rules), timing.from "" (previous_step),
// ring_timeout "0s" (15 s), amd_profile "" (balanced), on_human.action ""
// (connect; the destination defaults to the cadence queue), dial_mode ""
// (progressive when a human is connected to a queue, else agentless).
//
// Routing dispositions are checked for shape only (a system disposition or
// an agent code such as "appointment_set"): the agent catalog is the
// engine's to check. One sensible restriction: an SMS step's own rules may
// not name call-only outcomes (human, voicemail, machine, no_answer, busy,
// abandoned); cadence-wide rules may, since they also serve call steps.
// Rules that repeat an earlier rule, or that an earlier rule without
// conditions always wins over, are errors.
func ValidateDefinition(d Definition) FieldErrors {
	v := &defValidator{def: &d}
	v.definition()
	return v.errs
}

// defValidator collects errors while walking one definition.
type defValidator struct {
	def  *Definition
	errs FieldErrors
}

func (v *defValidator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// text checks a free-text field's length; required adds "required" when empty.
func (v *defValidator) text(path, s string, required bool, max int) {
	if required && strings.TrimSpace(s) == "" {
		v.add(path, "required")
		return
	}
	if !utf8.ValidString(s) {
		v.add(path, "must be valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.add(path, "must be at most %d characters (has %d)", max, n)
	}
}

// duration checks 0 ≤ d ≤ MaxDelay.
func (v *defValidator) duration(path string, d Duration) {
	switch {
	case d < 0:
		v.add(path, "must be ≥ 0s (is %s)", d)
	case d > MaxDelay:
		v.add(path, "must be at most %s (is %s)", MaxDelay, d)
	}
}

func (v *defValidator) definition() {
	d := v.def
	v.text("name", d.Name, true, MaxNameLength)
	v.text("description", d.Description, false, MaxDescriptionLength)
	if d.TimeZone != "" {
		v.timeZone("time_zone", d.TimeZone)
	}
	v.windows("cadence_hours", d.CadenceHours)
	v.windows("target_hours", d.TargetHours)
	v.runs()
	v.text("queue", d.Queue, false, MaxNameLength)
	switch d.Owner.Assign {
	case "", OwnerRoundRobin:
	case OwnerFirstToAnswer:
		if d.Queue == "" {
			v.add("owner.assign", "first_to_answer offers the first call to a queue's agents: set queue")
		}
	default:
		v.add("owner.assign", "unknown mode %q: want round_robin or first_to_answer", d.Owner.Assign)
	}
	v.harassment()
	if len(d.Steps) == 0 {
		v.add("steps", "at least one step is required")
	}
	var due Duration // earliest time after enrollment the previous step is due
	for i := range d.Steps {
		due = v.step(i, &d.Steps[i], due)
	}
	v.rules("routing", d.Routing, -1, false)
}

// timeZone checks an IANA zone name.
func (v *defValidator) timeZone(path, name string) {
	if name == "Local" {
		v.add(path, `"Local" is not an IANA time zone: name one, e.g. "America/New_York"`)
		return
	}
	if _, err := time.LoadLocation(name); err != nil {
		v.add(path, "unknown time zone %q: want an IANA name such as \"America/New_York\"", name)
	}
}

// weekdayIndex maps "mon".."sun" to 0..6, or -1.
func weekdayIndex(day string) int {
	for i, d := range [...]string{Mon, Tue, Wed, Thu, Fri, Sat, Sun} {
		if d == day {
			return i
		}
	}
	return -1
}

// ParseClock reads a window time "HH:MM" (00:00 to 24:00) as minutes after
// midnight. "24:00" is the end of the day.
func ParseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("invalid time %q: want HH:MM", s)
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[0] == '-' || s[3] == '+' || s[3] == '-' ||
		h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("invalid time %q: want HH:MM from 00:00 to 24:00", s)
	}
	return h*60 + m, nil
}

func (v *defValidator) windows(path string, ws []Window) {
	for i, w := range ws {
		p := fmt.Sprintf("%s[%d]", path, i)
		if len(w.Days) == 0 {
			v.add(p+".days", "at least one day is required (mon..sun)")
		}
		seen := [7]bool{}
		for j, day := range w.Days {
			k := weekdayIndex(day)
			switch {
			case k < 0:
				v.add(fmt.Sprintf("%s.days[%d]", p, j), "unknown day %q: want mon, tue, wed, thu, fri, sat or sun", day)
			case seen[k]:
				v.add(fmt.Sprintf("%s.days[%d]", p, j), "duplicate day %q", day)
			default:
				seen[k] = true
			}
		}
		start, err1 := ParseClock(w.Start)
		if err1 != nil {
			v.add(p+".start", "%v", err1)
		} else if start == 24*60 {
			v.add(p+".start", `"24:00" can only end a window`)
		}
		end, err2 := ParseClock(w.End)
		if err2 != nil {
			v.add(p+".end", "%v", err2)
		}
		if err1 == nil && err2 == nil && start < 24*60 && end <= start {
			v.add(p+".end", "must be after start %s (a window never crosses midnight: use two windows)", w.Start)
		}
	}
}

func (v *defValidator) runs() {
	r := v.def.Runs
	if r.Total < 0 || r.Total > MaxRuns {
		v.add("runs.total", "must be between 1 and %d (is %d)", MaxRuns, r.Total)
	}
	v.duration("runs.restart_delay", r.RestartDelay)
	switch r.After.Action {
	case "", AfterIdle:
		if r.After.Cadence != "" {
			v.add("runs.after.cadence", "only used when action is enroll")
		}
	case AfterEnroll:
		v.text("runs.after.cadence", r.After.Cadence, true, MaxNameLength)
	default:
		v.add("runs.after.action", "unknown action %q: want idle or enroll", r.After.Action)
	}
}

func (v *defValidator) harassment() {
	h := v.def.Harassment
	if h.UseBusiness {
		if h.Calls != nil {
			v.add("harassment.calls", "not allowed with use_business: the business rules apply")
		}
		if h.SMS != nil {
			v.add("harassment.sms", "not allowed with use_business: the business rules apply")
		}
		return
	}
	v.limit("harassment.calls", h.Calls)
	v.limit("harassment.sms", h.SMS)
}

func (v *defValidator) limit(path string, l *Limit) {
	if l == nil {
		return
	}
	if l.Max < 1 || l.Max > 1000 {
		v.add(path+".max", "must be between 1 and 1000 (is %d)", l.Max)
	}
	switch {
	case l.Period < Duration(time.Minute):
		v.add(path+".period", "must be at least 1m (is %s)", l.Period)
	case l.Period > MaxDelay:
		v.add(path+".period", "must be at most %s (is %s)", MaxDelay, l.Period)
	}
}

// step checks steps[i]; due is when the previous step is due at the
// earliest, counted from enrollment. It returns this step's.
func (v *defValidator) step(i int, s *Step, due Duration) Duration {
	p := fmt.Sprintf("steps[%d]", i)
	v.text(p+".name", s.Name, true, MaxNameLength)
	switch s.Type {
	case StepCall:
		if s.Call == nil {
			v.add(p+".call", "required for a call step")
		}
		if s.SMS != nil {
			v.add(p+".sms", "not allowed on a call step")
		}
	case StepSMS:
		if s.SMS == nil {
			v.add(p+".sms", "required for an sms step")
		}
		if s.Call != nil {
			v.add(p+".call", "not allowed on an sms step")
		}
	case "":
		v.add(p+".type", "required: call or sms")
	default:
		v.add(p+".type", "unknown step type %q: want call or sms", s.Type)
	}

	v.duration(p+".timing.delay", s.Timing.Delay)
	mine := due + s.Timing.Delay
	switch s.Timing.From {
	case "", FromPrevious:
	case FromEnrollment:
		mine = s.Timing.Delay
		if i > 0 && s.Timing.Delay >= 0 && s.Timing.Delay < due {
			v.add(p+".timing.delay", "%s after enrollment is before step %d (due %s after enrollment at the earliest); steps run in order",
				s.Timing.Delay, i, due)
			mine = due
		}
	default:
		v.add(p+".timing.from", "unknown value %q: want previous_step or enrollment", s.Timing.From)
	}

	if s.Call != nil {
		v.call(p+".call", s.Call)
	}
	if s.SMS != nil {
		v.sms(p+".sms", s.SMS)
	}
	isSMS := s.Type == StepSMS
	v.rules(p+".routing", s.Routing, i, isSMS)
	if s.Default != nil {
		v.action(p+".default", *s.Default, i)
	}
	return mine
}

// template checks a script or SMS text: well-formed, and only known
// variables (render.go lists them).
func (v *defValidator) template(path, tmpl string, stepVars map[string]string) {
	vars, err := parseTemplateVars(tmpl)
	if err != nil {
		v.add(path, "%v", err)
		return
	}
	reported := map[string]bool{}
	for _, tv := range vars {
		if knownTemplateVariable(tv.name, stepVars) || reported[tv.name] {
			continue
		}
		reported[tv.name] = true
		if strings.Contains(tv.name, ".") {
			v.add(path, "unknown variable {{%s}}: want contact.*, owner.*, cadence.name, step.name, step.number or contact.fields.NAME", tv.name)
		} else {
			v.add(path, "unknown variable {{%s}}: define it in the step's variables", tv.name)
		}
	}
}

// variables checks a step's variables map, keys in sorted order.
func (v *defValidator) variables(path string, vars map[string]string) {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !reVariableKey.MatchString(k) {
			v.add(path, "invalid variable name %q: want lower-case letters, digits and _", k)
			continue
		}
		v.text(path+"."+k, vars[k], false, MaxSMSLength)
	}
}

func (v *defValidator) call(p string, c *CallStep) {
	v.text(p+".script", c.Script, false, MaxScriptLength)
	v.template(p+".script", c.Script, c.Variables)
	v.variables(p+".variables", c.Variables)

	cid := c.CallerID
	switch cid.Strategy {
	case CallerIDRandom, CallerIDRotating, CallerIDLocalPresence, CallerIDSticky:
		if cid.Pool == "" {
			v.add(p+".caller_id.pool", "required: name a caller-ID pool for the %s strategy", cid.Strategy)
		} else if !rePoolName.MatchString(cid.Pool) {
			v.add(p+".caller_id.pool", "invalid pool name %q", cid.Pool)
		}
		if cid.Number != "" {
			v.add(p+".caller_id.number", "only used with the fixed strategy")
		}
	case CallerIDFixed:
		if cid.Pool != "" {
			v.add(p+".caller_id.pool", "not used with the fixed strategy")
		}
		if !reE164Number.MatchString(cid.Number) {
			v.add(p+".caller_id.number", "must be an E.164 number such as +12125550123 (is %q)", cid.Number)
		}
	case "":
		v.add(p+".caller_id.strategy", "required: random, rotating, local_presence, sticky or fixed")
	default:
		v.add(p+".caller_id.strategy", "unknown strategy %q: want random, rotating, local_presence, sticky or fixed", cid.Strategy)
	}

	if c.Voicemail.Enabled && c.Voicemail.Asset == "" {
		v.add(p+".voicemail.asset", "required when voicemail is enabled: name an uploaded audio asset")
	}
	v.text(p+".voicemail.asset", c.Voicemail.Asset, false, MaxNameLength)

	if c.Retry.Attempts < 0 || c.Retry.Attempts > MaxRetryAttempts {
		v.add(p+".retry.attempts", "must be between 0 and %d (is %d)", MaxRetryAttempts, c.Retry.Attempts)
	}
	v.duration(p+".retry.min_gap", c.Retry.MinGap)

	switch {
	case c.RingTimeout == 0:
	case c.RingTimeout < MinRingTimeout:
		v.add(p+".ring_timeout", "must be ≥ 15s (47 CFR 64.1200(a)(7)); is %s", c.RingTimeout)
	case c.RingTimeout > MaxRingTimeout:
		v.add(p+".ring_timeout", "must be at most %s (is %s)", MaxRingTimeout, c.RingTimeout)
	}
	switch c.AMDProfile {
	case "", "human_first", "balanced", "voicemail_drop":
	default:
		v.add(p+".amd_profile", "unknown profile %q: want human_first, balanced or voicemail_drop", c.AMDProfile)
	}
	v.dialMode(p+".dial_mode", c)
	v.onHuman(p+".on_human", c.OnHuman)
}

// dialMode checks a call step's dial mode: the agent-gated modes need a
// human connected to a queue (the cadence's, or a queue: destination).
func (v *defValidator) dialMode(p string, c *CallStep) {
	m := c.DialMode
	switch {
	case m == "" || m == DialAgentless:
		return
	case !m.Valid():
		v.add(p, "unknown mode %q: want agentless, preview, progressive or predictive", m)
		return
	}
	switch h := c.OnHuman; {
	case h.Action != "" && h.Action != HumanConnect:
		v.add(p, "%s dialing connects a human to an agent: needs on_human.action connect (or use agentless)", m)
	case h.Destination == "" && v.def.Queue == "":
		// on_human.destination already says a destination is required.
	case c.ConnectQueue(v.def.Queue) == "":
		v.add(p, "%s dialing needs a queue's agents: set on_human.destination to queue:NAME, or leave it empty and set the cadence queue (or use agentless)", m)
	}
}

func (v *defValidator) onHuman(p string, h OnHuman) {
	switch h.Action {
	case "", HumanConnect:
		if h.Asset != "" {
			v.add(p+".asset", "only used when action is message")
		}
		switch {
		case h.Destination == "":
			if v.def.Queue == "" {
				v.add(p+".destination", "required to connect a human: a sip: URI, queue:NAME or an endpoint such as PJSIP/agent-1 (or set the cadence queue, or use action message)")
			}
		case !validDestination(h.Destination):
			v.add(p+".destination", "invalid destination %q: want a sip: or sips: URI, queue:NAME or an endpoint such as PJSIP/agent-1", h.Destination)
		}
	case HumanMessage:
		if h.Destination != "" {
			v.add(p+".destination", "only used when action is connect")
		}
		if h.Asset == "" {
			v.add(p+".asset", "required for action message: name an uploaded audio asset")
		}
		v.text(p+".asset", h.Asset, false, MaxNameLength)
	default:
		v.add(p+".action", "unknown action %q: want connect or message", h.Action)
	}
}

// validDestination accepts sip:/sips: URIs, queue:NAME and Asterisk-style
// endpoints (PJSIP/agent-1, Local/100@agents).
func validDestination(s string) bool {
	if strings.ContainsAny(s, " \t\r\n") || utf8.RuneCountInString(s) > 500 {
		return false
	}
	for _, prefix := range []string{"sip:", "sips:", "queue:"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return rest != ""
		}
	}
	return reEndpoint.MatchString(s)
}

func (v *defValidator) sms(p string, m *SMSStep) {
	v.text(p+".template", m.Template, false, MaxNameLength)
	switch {
	case m.Template == "" && m.Text == "":
		v.add(p+".text", "required: a text, or a template")
	case m.Customize && m.Template == "":
		v.add(p+".customize", "customizes a template: set template, or turn customize off")
	case m.Customize && m.Text == "":
		v.add(p+".text", "required when customize is on")
	}
	if n := utf8.RuneCountInString(m.Text); n > MaxSMSLength {
		v.add(p+".text", "must be at most %d characters (has %d)", MaxSMSLength, n)
	} else {
		v.template(p+".text", m.Text, m.Variables)
	}
	v.variables(p+".variables", m.Variables)
}

// rules checks a list of routing rules. stepIndex is the 0-based step they
// belong to, or -1 for the cadence-wide rules.
func (v *defValidator) rules(path string, rules []Rule, stepIndex int, isSMS bool) {
	seen := map[string]int{}     // disposition + conditions → first rule
	catchAll := map[string]int{} // disposition → first rule without conditions
	for j, r := range rules {
		p := fmt.Sprintf("%s[%d]", path, j)
		switch {
		case r.Disposition == "":
			v.add(p+".disposition", "required: a system disposition (busy, no_answer, …) or an agent disposition code")
		case !reDispositionCode.MatchString(r.Disposition):
			v.add(p+".disposition", "invalid disposition %q: want a system disposition (busy, no_answer, …) or an agent disposition code (lower-case letters, digits and _)", r.Disposition)
		case isSMS && callOnlyDisposition(r.Disposition):
			v.add(p+".disposition", "an sms step never ends with %q (only calls do)", r.Disposition)
		}
		for k, c := range r.When {
			v.condition(fmt.Sprintf("%s.when[%d]", p, k), c)
		}
		key := r.Disposition + "\x00" + conditionsKey(r.When)
		if !reDispositionCode.MatchString(r.Disposition) {
			// Already reported; comparing it with other rules adds nothing.
		} else if first, dup := seen[key]; dup {
			v.add(p+".disposition", "duplicate rule: %s[%d] already routes %q under the same conditions", path, first, r.Disposition)
		} else if first, shadowed := catchAll[r.Disposition]; shadowed {
			v.add(p+".disposition", "never used: %s[%d] already matches every %q outcome (first match wins)", path, first, r.Disposition)
		} else {
			seen[key] = j
			if len(r.When) == 0 {
				catchAll[r.Disposition] = j
			}
		}
		v.action(p+".action", r.Action, stepIndex)
	}
}

// conditionsKey is an order-independent fingerprint of a rule's conditions.
// Values compare without case, as routing matches them.
func conditionsKey(cs []Condition) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Field + "\x01" + string(c.Op) + "\x01" + strings.ToLower(c.Value)
	}
	sort.Strings(parts)
	return strings.Join(parts, "\x02")
}

func (v *defValidator) condition(p string, c Condition) {
	switch c.Field {
	case "state", "timezone", "zip", "owner", "first_name", "last_name", "phone":
	case "":
		v.add(p+".field", "required: state, timezone, zip, owner, first_name, last_name, phone or fields.NAME")
	default:
		if name, ok := strings.CutPrefix(c.Field, "fields."); !ok || !reFieldName.MatchString(name) {
			v.add(p+".field", "unknown field %q: want state, timezone, zip, owner, first_name, last_name, phone or fields.NAME", c.Field)
		}
	}
	switch c.Op {
	case OpExists:
		if c.Value != "" {
			v.add(p+".value", "not used by op exists")
		}
		return
	case OpEq, OpNe, OpIn, OpContains, OpGt, OpLt:
	case "":
		v.add(p+".op", "required: eq, ne, in, contains, exists, gt or lt")
		return
	default:
		v.add(p+".op", "unknown op %q: want eq, ne, in, contains, exists, gt or lt", c.Op)
		return
	}
	switch {
	case c.Value == "":
		v.add(p+".value", "required for op %s", c.Op)
	case c.Op == OpIn:
		for _, item := range strings.Split(c.Value, ",") {
			if strings.TrimSpace(item) == "" {
				v.add(p+".value", "empty item in the comma-separated list %q", c.Value)
				break
			}
		}
	}
	v.text(p+".value", c.Value, false, 1000)
}

// action checks a routing action; stepIndex is the step it belongs to or -1.
func (v *defValidator) action(p string, a Action, stepIndex int) {
	switch a.Type {
	case ActionRetry:
		switch {
		case a.After == 0:
			v.add(p+".after", `required: how long to wait before retrying, e.g. "4h"`)
		case a.After < 0:
			v.add(p+".after", "must be > 0s (is %s)", a.After)
		case a.After > MaxDelay:
			v.add(p+".after", "must be at most %s (is %s)", MaxDelay, a.After)
		}
		if a.MaxTimes < 1 || a.MaxTimes > MaxRetryAttempts {
			v.add(p+".max_times", "must be between 1 and %d (is %d)", MaxRetryAttempts, a.MaxTimes)
		}
		v.strayAction(p, a, "after", "max_times")
	case ActionGoto:
		n := len(v.def.Steps)
		switch {
		case a.Step < 1 || a.Step > n:
			v.add(p+".step", "must be a step number from 1 to %d (is %d)", n, a.Step)
		case a.Step == stepIndex+1:
			v.add(p+".step", "goto its own step repeats it without limit: use retry with max_times")
		}
		v.strayAction(p, a, "step")
	case ActionForward:
		v.text(p+".cadence", a.Cadence, true, MaxNameLength)
		v.strayAction(p, a, "cadence")
	case ActionNext, ActionStop, ActionDNC, ActionComplete:
		v.strayAction(p, a)
	case "":
		v.add(p+".type", "required: retry, next, goto, stop, forward, dnc or complete")
	default:
		v.add(p+".type", "unknown action %q: want retry, next, goto, stop, forward, dnc or complete", a.Type)
	}
}

// strayAction reports the action fields that are set but mean nothing for
// the action's type (allowed lists the ones that do).
func (v *defValidator) strayAction(p string, a Action, allowed ...string) {
	set := []struct {
		name string
		used bool
	}{
		{"after", a.After != 0},
		{"max_times", a.MaxTimes != 0},
		{"step", a.Step != 0},
		{"cadence", a.Cadence != ""},
	}
	for _, f := range set {
		if f.used && !slices.Contains(allowed, f.name) {
			v.add(p+"."+f.name, "not used by action %s", a.Type)
		}
	}
}
