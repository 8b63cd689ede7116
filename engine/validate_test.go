package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// validDefinition is a small valid definition that leaves every default
// implicit (it is not normalized).
func validDefinition() Definition {
	return Definition{
		Name:         "Test cadence",
		TimeZone:     "America/New_York",
		CadenceHours: []Window{{Days: []string{Mon, Tue, Wed, Thu, Fri}, Start: "09:00", End: "17:00"}},
		Queue:        "sales",
		Steps: []Step{
			{
				Name: "Call 1", Type: StepCall,
				Call: &CallStep{
					Script:   "Hi {{contact.first_name}}",
					CallerID: CallerID{Strategy: CallerIDRandom, Pool: "main"},
				},
				Routing: []Rule{{Disposition: DispositionBusy, Action: Action{Type: ActionRetry, After: Duration(4 * time.Hour), MaxTimes: 2}}},
			},
			{
				Name: "Call 2", Type: StepCall, Timing: Timing{Delay: Duration(4 * time.Hour)},
				Call: &CallStep{
					CallerID:  CallerID{Strategy: CallerIDRotating, Pool: "rotation"},
					Voicemail: Voicemail{Enabled: true, Asset: "vm-final"},
				},
			},
			{
				Name: "Text", Type: StepSMS, Timing: Timing{Delay: Duration(24 * time.Hour)},
				SMS: &SMSStep{Text: "Hi {{contact.first_name}}"},
			},
		},
	}
}

func hoursDur(n float64) Duration { return Duration(time.Duration(n * float64(time.Hour))) }

// TestValidateDefinition covers every rule with a valid and an invalid case;
// want is the complete list of errors, in order.
func TestValidateDefinition(t *testing.T) {
	t.Parallel()
	call0 := func(d *Definition) *CallStep { return d.Steps[0].Call }
	tests := []struct {
		name string
		edit func(d *Definition)
		want []string
	}{
		{"valid as is", func(*Definition) {}, nil},

		// Cadence details.
		{"name required", func(d *Definition) { d.Name = "  " }, []string{"name: required"}},
		{"name 200 characters ok", func(d *Definition) { d.Name = strings.Repeat("é", 200) }, nil},
		{"name too long", func(d *Definition) { d.Name = strings.Repeat("x", 201) },
			[]string{"name: must be at most 200 characters (has 201)"}},
		{"name not UTF-8", func(d *Definition) { d.Name = "\xff" }, []string{"name: must be valid UTF-8"}},
		{"description too long", func(d *Definition) { d.Description = strings.Repeat("x", 5001) },
			[]string{"description: must be at most 5000 characters (has 5001)"}},
		{"time zone empty ok", func(d *Definition) { d.TimeZone = "" }, nil},
		{"time zone UTC ok", func(d *Definition) { d.TimeZone = "UTC" }, nil},
		{"time zone unknown", func(d *Definition) { d.TimeZone = "Europe/Atlantis" },
			[]string{`time_zone: unknown time zone "Europe/Atlantis": want an IANA name such as "America/New_York"`}},
		{"time zone Local", func(d *Definition) { d.TimeZone = "Local" },
			[]string{`time_zone: "Local" is not an IANA time zone: name one, e.g. "America/New_York"`}},

		// Windows.
		{"window to 24:00 ok", func(d *Definition) { d.TargetHours = []Window{{Days: []string{Sat}, Start: "00:00", End: "24:00"}} }, nil},
		{"window without days", func(d *Definition) { d.CadenceHours[0].Days = nil },
			[]string{"cadence_hours[0].days: at least one day is required (mon..sun)"}},
		{"window bad and duplicate days", func(d *Definition) {
			d.TargetHours = []Window{{Days: []string{"Mon", Tue, Tue}, Start: "09:00", End: "17:00"}}
		},
			[]string{
				`target_hours[0].days[0]: unknown day "Mon": want mon, tue, wed, thu, fri, sat or sun`,
				`target_hours[0].days[2]: duplicate day "tue"`,
			}},
		{"window bad clock", func(d *Definition) { d.CadenceHours[0].Start, d.CadenceHours[0].End = "9:00", "17:60" },
			[]string{
				`cadence_hours[0].start: invalid time "9:00": want HH:MM`,
				`cadence_hours[0].end: invalid time "17:60": want HH:MM from 00:00 to 24:00`,
			}},
		{"window signed clock", func(d *Definition) { d.CadenceHours[0].Start = "+9:00" },
			[]string{`cadence_hours[0].start: invalid time "+9:00": want HH:MM from 00:00 to 24:00`}},
		{"window crosses midnight", func(d *Definition) { d.CadenceHours[0].Start, d.CadenceHours[0].End = "22:00", "02:00" },
			[]string{"cadence_hours[0].end: must be after start 22:00 (a window never crosses midnight: use two windows)"}},
		{"window empty", func(d *Definition) { d.CadenceHours[0].Start, d.CadenceHours[0].End = "09:00", "09:00" },
			[]string{"cadence_hours[0].end: must be after start 09:00 (a window never crosses midnight: use two windows)"}},
		{"window starting at 24:00", func(d *Definition) { d.CadenceHours[0].Start, d.CadenceHours[0].End = "24:00", "24:00" },
			[]string{`cadence_hours[0].start: "24:00" can only end a window`}},

		// Runs.
		{"runs default ok", func(d *Definition) { d.Runs = Runs{} }, nil},
		{"runs 100 with restart ok", func(d *Definition) { d.Runs = Runs{Total: 100, RestartDelay: hoursDur(24)} }, nil},
		{"runs total out of range", func(d *Definition) { d.Runs.Total = 101 }, []string{"runs.total: must be between 1 and 100 (is 101)"}},
		{"runs total negative", func(d *Definition) { d.Runs.Total = -1 }, []string{"runs.total: must be between 1 and 100 (is -1)"}},
		{"runs restart delay negative", func(d *Definition) { d.Runs.RestartDelay = hoursDur(-1) }, []string{"runs.restart_delay: must be ≥ 0s (is -1h)"}},
		{"runs restart delay too long", func(d *Definition) { d.Runs.RestartDelay = Duration(366 * 24 * time.Hour) },
			[]string{"runs.restart_delay: must be at most 365d (is 366d)"}},
		{"after enroll ok", func(d *Definition) { d.Runs.After = AfterRuns{Action: AfterEnroll, Cadence: "cad_2"} }, nil},
		{"after enroll without cadence", func(d *Definition) { d.Runs.After = AfterRuns{Action: AfterEnroll} },
			[]string{"runs.after.cadence: required"}},
		{"after idle with cadence", func(d *Definition) { d.Runs.After = AfterRuns{Action: AfterIdle, Cadence: "cad_2"} },
			[]string{"runs.after.cadence: only used when action is enroll"}},
		{"after unknown", func(d *Definition) { d.Runs.After.Action = "restart" },
			[]string{`runs.after.action: unknown action "restart": want idle or enroll`}},

		// Owner.
		{"owner first to answer ok", func(d *Definition) { d.Owner.Assign = OwnerFirstToAnswer }, nil},
		{"owner first to answer needs queue", func(d *Definition) {
			d.Owner.Assign, d.Queue = OwnerFirstToAnswer, ""
			for i := range d.Steps[:2] {
				d.Steps[i].Call.OnHuman.Destination = "PJSIP/agent-1"
			}
		}, []string{"owner.assign: first_to_answer offers the first call to a queue's agents: set queue"}},
		{"owner unknown", func(d *Definition) { d.Owner.Assign = "random" },
			[]string{`owner.assign: unknown mode "random": want round_robin or first_to_answer`}},

		// Harassment.
		{"harassment business ok", func(d *Definition) { d.Harassment = Harassment{UseBusiness: true} }, nil},
		{"harassment own ok", func(d *Definition) {
			d.Harassment = Harassment{Calls: &Limit{Max: 3, Period: hoursDur(24)}, SMS: &Limit{Max: 1, Period: Duration(time.Minute)}}
		}, nil},
		{"harassment both", func(d *Definition) {
			d.Harassment = Harassment{UseBusiness: true, Calls: &Limit{Max: 3, Period: hoursDur(24)}, SMS: &Limit{Max: 2, Period: hoursDur(24)}}
		}, []string{
			"harassment.calls: not allowed with use_business: the business rules apply",
			"harassment.sms: not allowed with use_business: the business rules apply",
		}},
		{"harassment limits", func(d *Definition) {
			d.Harassment = Harassment{Calls: &Limit{Max: 0, Period: Duration(30 * time.Second)}, SMS: &Limit{Max: 1001, Period: Duration(400 * 24 * time.Hour)}}
		}, []string{
			"harassment.calls.max: must be between 1 and 1000 (is 0)",
			"harassment.calls.period: must be at least 1m (is 30s)",
			"harassment.sms.max: must be between 1 and 1000 (is 1001)",
			"harassment.sms.period: must be at most 365d (is 400d)",
		}},

		// Steps.
		{"no steps", func(d *Definition) { d.Steps = nil }, []string{"steps: at least one step is required"}},
		{"step name", func(d *Definition) { d.Steps[1].Name = "" }, []string{"steps[1].name: required"}},
		{"step type missing", func(d *Definition) { d.Steps[0].Type = "" }, []string{"steps[0].type: required: call or sms"}},
		{"step type unknown", func(d *Definition) { d.Steps[0].Type = "email" },
			[]string{`steps[0].type: unknown step type "email": want call or sms`}},
		{"call step without call", func(d *Definition) { d.Steps[0].Call = nil }, []string{"steps[0].call: required for a call step"}},
		{"call step with sms", func(d *Definition) { d.Steps[0].SMS = &SMSStep{Text: "x"} }, []string{"steps[0].sms: not allowed on a call step"}},
		{"sms step without sms", func(d *Definition) { d.Steps[2].SMS = nil }, []string{"steps[2].sms: required for an sms step"}},
		{"sms step with call", func(d *Definition) { d.Steps[2].Call = d.Steps[1].Call },
			[]string{"steps[2].call: not allowed on an sms step"}},

		// Timing.
		{"timing from unknown", func(d *Definition) { d.Steps[1].Timing.From = "after" },
			[]string{`steps[1].timing.from: unknown value "after": want previous_step or enrollment`}},
		{"timing delay negative", func(d *Definition) { d.Steps[1].Timing.Delay = hoursDur(-1) },
			[]string{"steps[1].timing.delay: must be ≥ 0s (is -1h)"}},
		{"timing delay too long", func(d *Definition) { d.Steps[1].Timing.Delay = Duration(400 * 24 * time.Hour) },
			[]string{"steps[1].timing.delay: must be at most 365d (is 400d)"}},
		{"enrollment timing in order ok", func(d *Definition) {
			for i, h := range []float64{0, 0, 2} {
				d.Steps[i].Timing = Timing{Delay: hoursDur(h), From: FromEnrollment}
			}
		}, nil},
		{"enrollment timing out of order", func(d *Definition) {
			for i, h := range []float64{1, 0.5, 2} {
				d.Steps[i].Timing = Timing{Delay: hoursDur(h), From: FromEnrollment}
			}
		}, []string{"steps[1].timing.delay: 30m after enrollment is before step 1 (due 1h after enrollment at the earliest); steps run in order"}},
		{"enrollment timing after relative steps", func(d *Definition) {
			// Step 2 is due 4h after enrollment at the earliest; step 3 at 3h cannot follow it.
			d.Steps[2].Timing = Timing{Delay: hoursDur(3), From: FromEnrollment}
		}, []string{"steps[2].timing.delay: 3h after enrollment is before step 2 (due 4h after enrollment at the earliest); steps run in order"}},

		// Call steps.
		{"script unclosed", func(d *Definition) { call0(d).Script = "Hi {{contact.first_name" },
			[]string{`steps[0].call.script: unclosed "{{" at character 4`}},
		{"script unknown variables", func(d *Definition) {
			call0(d).Script = "{{contact.frist_name}} {{offer}} {{offer}} {{contact.fields.plan}} {{step.number}}"
		}, []string{
			"steps[0].call.script: unknown variable {{contact.frist_name}}: want contact.*, owner.*, cadence.name, step.name, step.number or contact.fields.NAME",
			"steps[0].call.script: unknown variable {{offer}}: define it in the step's variables",
		}},
		{"script step variable ok", func(d *Definition) {
			call0(d).Script, call0(d).Variables = "{{ offer }}", map[string]string{"offer": "10%"}
		}, nil},
		{"variables bad key and long value", func(d *Definition) {
			call0(d).Variables = map[string]string{"Offer": "x", "b": strings.Repeat("x", 1601)}
		}, []string{
			`steps[0].call.variables: invalid variable name "Offer": want lower-case letters, digits and _`,
			"steps[0].call.variables.b: must be at most 1600 characters (has 1601)",
		}},
		{"caller id strategies ok", func(d *Definition) {
			call0(d).CallerID = CallerID{Strategy: CallerIDLocalPresence, Pool: "local"}
			d.Steps[1].Call.CallerID = CallerID{Strategy: CallerIDFixed, Number: "+442071838750"}
		}, nil},
		{"caller id strategy missing", func(d *Definition) { call0(d).CallerID = CallerID{} },
			[]string{"steps[0].call.caller_id.strategy: required: random, rotating, local_presence, sticky or fixed"}},
		{"caller id strategy unknown", func(d *Definition) { call0(d).CallerID.Strategy = "round_robin" },
			[]string{`steps[0].call.caller_id.strategy: unknown strategy "round_robin": want random, rotating, local_presence, sticky or fixed`}},
		{"caller id pool missing, stray number", func(d *Definition) { call0(d).CallerID = CallerID{Strategy: CallerIDSticky, Number: "+12125550123"} },
			[]string{
				"steps[0].call.caller_id.pool: required: name a caller-ID pool for the sticky strategy",
				"steps[0].call.caller_id.number: only used with the fixed strategy",
			}},
		{"caller id pool name", func(d *Definition) { call0(d).CallerID.Pool = "my pool" },
			[]string{`steps[0].call.caller_id.pool: invalid pool name "my pool"`}},
		{"caller id fixed", func(d *Definition) {
			call0(d).CallerID = CallerID{Strategy: CallerIDFixed, Pool: "main", Number: "2125550123"}
		},
			[]string{
				"steps[0].call.caller_id.pool: not used with the fixed strategy",
				`steps[0].call.caller_id.number: must be an E.164 number such as +12125550123 (is "2125550123")`,
			}},
		{"voicemail asset kept while off ok", func(d *Definition) { call0(d).Voicemail = Voicemail{Asset: "vm-intro"} }, nil},
		{"voicemail without asset", func(d *Definition) { call0(d).Voicemail = Voicemail{Enabled: true} },
			[]string{"steps[0].call.voicemail.asset: required when voicemail is enabled: name an uploaded audio asset"}},
		{"retry ok", func(d *Definition) { call0(d).Retry = Retry{Attempts: 20, MinGap: Duration(5 * time.Minute)} }, nil},
		{"retry out of range", func(d *Definition) { call0(d).Retry = Retry{Attempts: 21, MinGap: Duration(-time.Minute)} },
			[]string{
				"steps[0].call.retry.attempts: must be between 0 and 20 (is 21)",
				"steps[0].call.retry.min_gap: must be ≥ 0s (is -1m)",
			}},
		{"ring timeout 15s and 120s ok", func(d *Definition) {
			call0(d).RingTimeout, d.Steps[1].Call.RingTimeout = MinRingTimeout, MaxRingTimeout
		}, nil},
		{"ring timeout below the law", func(d *Definition) { call0(d).RingTimeout = Duration(14 * time.Second) },
			[]string{"steps[0].call.ring_timeout: must be ≥ 15s (47 CFR 64.1200(a)(7)); is 14s"}},
		{"ring timeout negative", func(d *Definition) { call0(d).RingTimeout = Duration(-time.Second) },
			[]string{"steps[0].call.ring_timeout: must be ≥ 15s (47 CFR 64.1200(a)(7)); is -1s"}},
		{"ring timeout too long", func(d *Definition) { call0(d).RingTimeout = Duration(121 * time.Second) },
			[]string{"steps[0].call.ring_timeout: must be at most 2m (is 2m1s)"}},
		{"amd profile", func(d *Definition) { call0(d).AMDProfile = "fast" },
			[]string{`steps[0].call.amd_profile: unknown profile "fast": want human_first, balanced or voicemail_drop`}},
		{"on human destinations ok", func(d *Definition) {
			d.Queue = ""
			call0(d).OnHuman = OnHuman{Action: HumanConnect, Destination: "sips:ai@bots.example.com"}
			d.Steps[1].Call.OnHuman = OnHuman{Destination: "Local/100@agents"}
		}, nil},
		{"on human message ok", func(d *Definition) { call0(d).OnHuman = OnHuman{Action: HumanMessage, Asset: "msg"} }, nil},
		{"on human connect without queue or destination", func(d *Definition) {
			d.Queue = ""
			d.Steps[1].Call.OnHuman.Destination = "queue:closers"
		}, []string{"steps[0].call.on_human.destination: required to connect a human: a sip: URI, queue:NAME or an endpoint such as PJSIP/agent-1 (or set the cadence queue, or use action message)"}},
		{"on human bad destination and stray asset", func(d *Definition) {
			call0(d).OnHuman = OnHuman{Action: HumanConnect, Destination: "tel:+12125550123", Asset: "x"}
		}, []string{
			"steps[0].call.on_human.asset: only used when action is message",
			`steps[0].call.on_human.destination: invalid destination "tel:+12125550123": want a sip: or sips: URI, queue:NAME or an endpoint such as PJSIP/agent-1`,
		}},
		{"on human empty queue name", func(d *Definition) { call0(d).OnHuman.Destination = "queue:" },
			[]string{`steps[0].call.on_human.destination: invalid destination "queue:": want a sip: or sips: URI, queue:NAME or an endpoint such as PJSIP/agent-1`}},
		{"on human message", func(d *Definition) { call0(d).OnHuman = OnHuman{Action: HumanMessage, Destination: "queue:x"} },
			[]string{
				"steps[0].call.on_human.destination: only used when action is connect",
				"steps[0].call.on_human.asset: required for action message: name an uploaded audio asset",
			}},
		{"on human unknown", func(d *Definition) { call0(d).OnHuman.Action = "transfer" },
			[]string{`steps[0].call.on_human.action: unknown action "transfer": want connect or message`}},

		// Dial modes.
		{"dial modes with the cadence queue ok", func(d *Definition) {
			call0(d).DialMode, d.Steps[1].Call.DialMode = DialPreview, DialPredictive
		}, nil},
		{"dial mode progressive to a queue destination ok", func(d *Definition) {
			d.Queue = ""
			call0(d).DialMode, call0(d).OnHuman.Destination = DialProgressive, "queue:closers"
			d.Steps[1].Call.OnHuman.Destination = "sip:ai@bots.example.com"
		}, nil},
		{"dial mode agentless to a queue ok", func(d *Definition) { call0(d).DialMode = DialAgentless }, nil},
		{"dial mode agentless message ok", func(d *Definition) {
			call0(d).DialMode, call0(d).OnHuman = DialAgentless, OnHuman{Action: HumanMessage, Asset: "msg"}
		}, nil},
		{"dial mode unknown", func(d *Definition) { call0(d).DialMode = "autodial" },
			[]string{`steps[0].call.dial_mode: unknown mode "autodial": want agentless, preview, progressive or predictive`}},
		{"dial mode preview with a message", func(d *Definition) {
			call0(d).DialMode, call0(d).OnHuman = DialPreview, OnHuman{Action: HumanMessage, Asset: "msg"}
		}, []string{"steps[0].call.dial_mode: preview dialing connects a human to an agent: needs on_human.action connect (or use agentless)"}},
		{"dial mode predictive to a SIP URI", func(d *Definition) {
			d.Steps[1].Call.DialMode, d.Steps[1].Call.OnHuman.Destination = DialPredictive, "sip:closers@pbx.example.com"
		}, []string{"steps[1].call.dial_mode: predictive dialing needs a queue's agents: set on_human.destination to queue:NAME, or leave it empty and set the cadence queue (or use agentless)"}},
		{"dial mode without any queue reports the destination once", func(d *Definition) {
			d.Queue = ""
			call0(d).DialMode = DialProgressive
			d.Steps[1].Call.OnHuman.Destination = "queue:closers"
		}, []string{"steps[0].call.on_human.destination: required to connect a human: a sip: URI, queue:NAME or an endpoint such as PJSIP/agent-1 (or set the cadence queue, or use action message)"}},

		// SMS steps.
		{"sms template only ok", func(d *Definition) { d.Steps[2].SMS = &SMSStep{Template: "intro"} }, nil},
		{"sms customized ok", func(d *Definition) {
			d.Steps[2].SMS = &SMSStep{Template: "intro", Customize: true, Text: "{{x}}", Variables: map[string]string{"x": "1"}}
		}, nil},
		{"sms empty", func(d *Definition) { d.Steps[2].SMS = &SMSStep{} }, []string{"steps[2].sms.text: required: a text, or a template"}},
		{"sms customize without template", func(d *Definition) { d.Steps[2].SMS.Customize = true },
			[]string{"steps[2].sms.customize: customizes a template: set template, or turn customize off"}},
		{"sms customize without text", func(d *Definition) { d.Steps[2].SMS = &SMSStep{Template: "t", Customize: true} },
			[]string{"steps[2].sms.text: required when customize is on"}},
		{"sms 1600 characters ok", func(d *Definition) { d.Steps[2].SMS.Text = strings.Repeat("é", 1600) }, nil},
		{"sms too long", func(d *Definition) { d.Steps[2].SMS.Text = strings.Repeat("é", 1601) },
			[]string{"steps[2].sms.text: must be at most 1600 characters (has 1601)"}},
		{"sms template malformed", func(d *Definition) { d.Steps[2].SMS.Text = "Hi {{}}" },
			[]string{`steps[2].sms.text: empty variable "{{}}" at character 4`}},

		// Routing.
		{"agent disposition ok", func(d *Definition) {
			d.Routing = []Rule{{Disposition: "appointment_set", Action: Action{Type: ActionComplete}}}
		}, nil},
		{"disposition missing and malformed", func(d *Definition) {
			d.Steps[1].Routing = []Rule{{Action: Action{Type: ActionNext}}, {Disposition: "No Answer", Action: Action{Type: ActionNext}}}
		}, []string{
			"steps[1].routing[0].disposition: required: a system disposition (busy, no_answer, …) or an agent disposition code",
			`steps[1].routing[1].disposition: invalid disposition "No Answer": want a system disposition (busy, no_answer, …) or an agent disposition code (lower-case letters, digits and _)`,
		}},
		{"sms step routes call-only disposition", func(d *Definition) {
			d.Steps[2].Routing = []Rule{
				{Disposition: DispositionNoAnswer, Action: Action{Type: ActionNext}},
				{Disposition: DispositionFailed, Action: Action{Type: ActionNext}},
				{Disposition: "replied", Action: Action{Type: ActionStop}},
			}
		}, []string{`steps[2].routing[0].disposition: an sms step never ends with "no_answer" (only calls do)`}},
		{"cadence-wide rules may name call dispositions", func(d *Definition) {
			d.Routing = []Rule{{Disposition: DispositionHuman, Action: Action{Type: ActionStop}}}
		}, nil},
		{"duplicate rule, conditions in another order", func(d *Definition) {
			when := []Condition{{Field: "state", Op: OpEq, Value: "FL"}, {Field: "zip", Op: OpExists}}
			d.Steps[1].Routing = []Rule{
				{Disposition: DispositionBusy, When: when, Action: Action{Type: ActionStop}},
				{Disposition: DispositionBusy, When: []Condition{when[1], when[0]}, Action: Action{Type: ActionNext}},
			}
		}, []string{`steps[1].routing[1].disposition: duplicate rule: steps[1].routing[0] already routes "busy" under the same conditions`}},
		{"rule shadowed by catch-all", func(d *Definition) {
			d.Routing = []Rule{
				{Disposition: "callback", Action: Action{Type: ActionNext}},
				{Disposition: "callback", When: []Condition{{Field: "state", Op: OpEq, Value: "MD"}}, Action: Action{Type: ActionStop}},
			}
		}, []string{`routing[1].disposition: never used: routing[0] already matches every "callback" outcome (first match wins)`}},
		{"conditions ok", func(d *Definition) {
			d.Steps[0].Routing[0].When = []Condition{
				{Field: "fields.plan_tier", Op: OpIn, Value: "gold, silver"},
				{Field: "phone", Op: OpContains, Value: "+1212"},
				{Field: "zip", Op: OpGt, Value: "10000"},
				{Field: "owner", Op: OpNe, Value: "a"},
				{Field: "timezone", Op: OpLt, Value: "B"},
				{Field: "first_name", Op: OpExists},
			}
		}, nil},
		{"conditions invalid", func(d *Definition) {
			d.Steps[0].Routing[0].When = []Condition{
				{Field: "city", Op: OpEq, Value: "x"},
				{Field: "fields.bad name", Op: "like", Value: "x"},
				{Field: "state", Op: OpEq},
				{Field: "zip", Op: OpExists, Value: "x"},
				{Field: "state", Op: OpIn, Value: "FL,,OK"},
				{},
			}
		}, []string{
			`steps[0].routing[0].when[0].field: unknown field "city": want state, timezone, zip, owner, first_name, last_name, phone or fields.NAME`,
			`steps[0].routing[0].when[1].field: unknown field "fields.bad name": want state, timezone, zip, owner, first_name, last_name, phone or fields.NAME`,
			`steps[0].routing[0].when[1].op: unknown op "like": want eq, ne, in, contains, exists, gt or lt`,
			"steps[0].routing[0].when[2].value: required for op eq",
			"steps[0].routing[0].when[3].value: not used by op exists",
			`steps[0].routing[0].when[4].value: empty item in the comma-separated list "FL,,OK"`,
			"steps[0].routing[0].when[5].field: required: state, timezone, zip, owner, first_name, last_name, phone or fields.NAME",
			"steps[0].routing[0].when[5].op: required: eq, ne, in, contains, exists, gt or lt",
		}},

		// Actions.
		{"every action ok", func(d *Definition) {
			d.Routing = []Rule{
				{Disposition: "a", Action: Action{Type: ActionRetry, After: hoursDur(1), MaxTimes: 20}},
				{Disposition: "b", Action: Action{Type: ActionNext}},
				{Disposition: "c", Action: Action{Type: ActionGoto, Step: 3}},
				{Disposition: "d", Action: Action{Type: ActionStop}},
				{Disposition: "e", Action: Action{Type: ActionForward, Cadence: "cad_9"}},
				{Disposition: "f", Action: Action{Type: ActionDNC}},
				{Disposition: "g", Action: Action{Type: ActionComplete}},
			}
			d.Steps[1].Default = &Action{Type: ActionGoto, Step: 1}
		}, nil},
		{"action type missing and unknown", func(d *Definition) {
			d.Steps[2].Routing = []Rule{{Disposition: "failed", Action: Action{Type: "foo"}}}
			d.Steps[2].Default = &Action{}
		}, []string{
			`steps[2].routing[0].action.type: unknown action "foo": want retry, next, goto, stop, forward, dnc or complete`,
			"steps[2].default.type: required: retry, next, goto, stop, forward, dnc or complete",
		}},
		{"retry needs after and max_times", func(d *Definition) { d.Steps[0].Routing[0].Action = Action{Type: ActionRetry, Step: 2} },
			[]string{
				`steps[0].routing[0].action.after: required: how long to wait before retrying, e.g. "4h"`,
				"steps[0].routing[0].action.max_times: must be between 1 and 20 (is 0)",
				"steps[0].routing[0].action.step: not used by action retry",
			}},
		{"retry bounds", func(d *Definition) {
			d.Steps[0].Routing[0].Action = Action{Type: ActionRetry, After: hoursDur(-1), MaxTimes: 21}
			d.Steps[1].Default = &Action{Type: ActionRetry, After: Duration(400 * 24 * time.Hour), MaxTimes: 1}
		}, []string{
			"steps[0].routing[0].action.after: must be > 0s (is -1h)",
			"steps[0].routing[0].action.max_times: must be between 1 and 20 (is 21)",
			"steps[1].default.after: must be at most 365d (is 400d)",
		}},
		{"goto range and self", func(d *Definition) {
			d.Steps[0].Routing = []Rule{
				{Disposition: "a", Action: Action{Type: ActionGoto}},
				{Disposition: "b", Action: Action{Type: ActionGoto, Step: 4}},
				{Disposition: "c", Action: Action{Type: ActionGoto, Step: 1, Cadence: "x"}},
			}
		}, []string{
			"steps[0].routing[0].action.step: must be a step number from 1 to 3 (is 0)",
			"steps[0].routing[1].action.step: must be a step number from 1 to 3 (is 4)",
			"steps[0].routing[2].action.step: goto its own step repeats it without limit: use retry with max_times",
			"steps[0].routing[2].action.cadence: not used by action goto",
		}},
		{"forward needs cadence; stray fields", func(d *Definition) {
			d.Routing = []Rule{
				{Disposition: "a", Action: Action{Type: ActionForward, After: hoursDur(1)}},
				{Disposition: "b", Action: Action{Type: ActionDNC, MaxTimes: 1, Step: 1, Cadence: "x", After: hoursDur(1)}},
			}
		}, []string{
			"routing[0].action.cadence: required",
			"routing[0].action.after: not used by action forward",
			"routing[1].action.after: not used by action dnc",
			"routing[1].action.max_times: not used by action dnc",
			"routing[1].action.step: not used by action dnc",
			"routing[1].action.cadence: not used by action dnc",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := validDefinition()
			tc.edit(&d)
			errs := ValidateDefinition(d)
			got := make([]string, len(errs))
			for i, e := range errs {
				got[i] = e.Error()
			}
			if tc.want == nil {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	errs := FieldErrors{{Path: "name", Message: "required"}, {Message: "invalid JSON at line 1, column 2: x"}}
	require.Equal(t, "name: required; invalid JSON at line 1, column 2: x", errs.Error())
	require.NoError(t, FieldErrors(nil).Err())
	var target FieldErrors
	require.True(t, errors.As(errs.Err(), &target))
	require.Len(t, target, 2)
}

func TestParseClock(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"00:00": 0, "09:30": 570, "23:59": 1439, "24:00": 1440} {
		got, err := ParseClock(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "9:00", "24:01", "12:60", "-1:00", "ab:cd", "12:00:00", "1200", "+1:00", "12:+1"} {
		_, err := ParseClock(in)
		require.Error(t, err, in)
	}
}

func TestIsSystemDisposition(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"human", "voicemail", "machine", "no_answer", "busy", "invalid_number", "rejected", "failed", "abandoned", "unknown"} {
		require.True(t, IsSystemDisposition(code), code)
	}
	for _, code := range []string{"", "converted", "Busy", "no answer"} {
		require.False(t, IsSystemDisposition(code), code)
	}
}

// TestParseDurationEdges covers the forms Duration reads and the canonical
// form it writes, which the byte-identical round trip depends on.
func TestParseDurationEdges(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"0s": "0s", "90m": "1h30m", "24h": "1d", "1d12h": "1d12h", "3d": "3d", "1.5h": "1h30m",
		"-4h": "-4h", " 15s ": "15s", "1500ms": "1s500ms", "100000d": "100000d",
	} {
		d, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, d.String(), in)
		again, err := ParseDuration(d.String())
		require.NoError(t, err, in)
		require.Equal(t, d, again, in)
	}
	for _, in := range []string{"", "-", "4 hours", "3w", "1.5d", "d", "-d", "3d-2h", "1h2d", "100001d", "100000d2562047h"} {
		_, err := ParseDuration(in)
		require.Error(t, err, in)
	}
}
