// Package dialer turns call requests into real calls and reports what happened.
// It holds the call model (Call, Outcome, Disposition), the Driver interface
// that telephony back ends (sip, dialer/ari) implement, and the orchestration
// of one call: pacing → caller ID → originate → answering-machine detection →
// voicemail or human action → hang up → outcome. It never imports the engine:
// the engine hands it Calls and consumes Outcomes.
//
// Decisions on an answered call (Dialer.Dial):
//   - human: the step's human action within the legal 2 s — "message" plays
//     OnHuman.Audio then hangs up; "connect" goes to the Options.Connector
//     (none: hang up); "" hangs up. Disposition human (abandoned when a
//     Connector fails to bridge: Call.SafeHarborAudio, when set, is played
//     first, then the call is hung up).
//   - machine: with a voicemail message, wait for the beep (or the greeting's
//     end plus a guard, or the watcher's maximum wait), play the message from
//     after the beep's end, hang up: disposition voicemail, or machine when
//     nothing could be played. Without a message: hang up at once, machine.
//   - unsure: human, except under the voicemail_drop profile (machine): AMD
//     hanging up on a person is an abandoned call in law.
//   - silence (nobody spoke): hang up, disposition machine; no message is
//     dropped into dead air.
//   - SIT tones (early media or after answer): hang up, invalid_number.
//   - the far end hung up before a verdict: human (people hang up fast,
//     machines do not; it is also the cautious choice for contact limits).
//   - the driver lost the answered leg (LegResult.Disposition unknown):
//     unknown, whatever AMD had said.
//
// A call that was never placed (pacing refused or unavailable, no caller ID,
// originate error, dialer stopping) has a zero Timings.InviteSent
// (Outcome.Placed is false) and disposition failed, or invalid_number for a
// malformed destination; the engine may retry it.
package dialer

import (
	"time"
)

// Disposition is the system disposition of a finished call, the vocabulary the
// engine routes on.
type Disposition string

// System dispositions (ARCHITECTURE.md "Shared vocabulary").
const (
	Human         Disposition = "human"          // a person answered
	Voicemail     Disposition = "voicemail"      // a machine answered and our message was left after the beep
	Machine       Disposition = "machine"        // a machine answered and no message was left
	NoAnswer      Disposition = "no_answer"      // rang out, or 480/408/487
	Busy          Disposition = "busy"           // 486/600, Q.850 17
	InvalidNumber Disposition = "invalid_number" // 404/484/604, SIT tones, Q.850 1/3/28
	Rejected      Disposition = "rejected"       // 403/603, Q.850 21
	Failed        Disposition = "failed"         // trunk or network failure, 5xx, timeouts
	Abandoned     Disposition = "abandoned"      // a human answered and no agent was connected within 2 s
	Unknown       Disposition = "unknown"        // the call may have happened (e.g. a node died)
)

// Dispositions lists every system disposition, in a stable order.
var Dispositions = []Disposition{Human, Voicemail, Machine, NoAnswer, Busy, InvalidNumber, Rejected, Failed, Abandoned, Unknown}

// Valid reports whether d is a system disposition.
func (d Disposition) Valid() bool {
	for _, v := range Dispositions {
		if d == v {
			return true
		}
	}
	return false
}

// Connected reports whether the callee's side answered (a person or a machine).
func (d Disposition) Connected() bool {
	switch d {
	case Human, Voicemail, Machine, Abandoned:
		return true
	}
	return false
}

// CallerIDStrategy chooses the presented number from a pool.
type CallerIDStrategy string

// Caller-ID strategies (the same names the engine's cadence steps use).
const (
	CallerIDRandom        CallerIDStrategy = "random"
	CallerIDRotating      CallerIDStrategy = "rotating"
	CallerIDLocalPresence CallerIDStrategy = "local_presence"
	CallerIDSticky        CallerIDStrategy = "sticky"
	CallerIDFixed         CallerIDStrategy = "fixed"
)

// HumanAction is what the dialer does when a person answers.
type HumanAction struct {
	// Kind is "connect" (bridge to Destination), "message" (play Audio and
	// hang up) or "" (hang up at once: a pure detection call, e.g. `cadenza dial`).
	Kind string
	// Destination is a SIP URI or driver endpoint for connect.
	Destination string
	// Audio is 8 kHz 16-bit mono PCM played for message.
	Audio []int16
}

// Call is one call request, independent of the engine.
type Call struct {
	// ID identifies the attempt (the engine's attempt ID); it is logged and
	// sent as a SIP header, never used as a metric label.
	ID string
	// To is the destination in E.164 (+15551234567).
	To string
	// Trunk names the configured trunk to dial through.
	Trunk string
	// CallerIDPool and CallerIDStrategy choose the presented number;
	// CallerID, when set, is used as is (strategy fixed).
	CallerIDPool     string
	CallerIDStrategy CallerIDStrategy
	CallerID         string
	// ContactKey identifies the contact for sticky caller IDs; ContactState
	// (two-letter US state) helps local presence when the area code does not.
	ContactKey   string
	ContactState string
	// RingTimeout is how long to ring before giving up (≥ 15 s by law; the
	// dialer raises shorter values to the floor).
	RingTimeout time.Duration
	// MaxDuration caps the whole call from answer to hang-up.
	MaxDuration time.Duration
	// AMDProfile names the answering-machine detection profile; "" is balanced.
	AMDProfile string
	// VoicemailAudio is 8 kHz 16-bit mono PCM to leave after the beep; nil
	// means hang up on a machine without a message.
	VoicemailAudio []int16
	// OnHuman is what to do when a person answers.
	OnHuman HumanAction
	// SafeHarborAudio is 8 kHz 16-bit mono PCM played when a "connect"
	// fails (no agent within 2 s) before hanging up: the recorded message
	// the law requires on an abandoned call (seller's name, a callback
	// number, how to opt out). nil hangs up at once.
	SafeHarborAudio []int16
	// Variables are passed to the driver (SIP X- headers, ARI channel variables).
	Variables map[string]string

	// Live-agent fields (dialer/agents reads them; the core dialer ignores
	// them). Mode is the step's dial mode: "" or "agentless", "preview",
	// "progressive", "predictive".
	Mode string
	// Queue is the agent queue for agent-gated modes and "queue:NAME"
	// connects.
	Queue string
	// Campaign groups calls for predictive pacing and abandonment
	// accounting (the engine sets the cadence ID).
	Campaign string
	// ContactName and Script are shown to the agent ("you are being
	// connected to {contact}, script: …").
	ContactName string
	Script      string
	// Owner is the contact's owner agent ID, preferred when an agent is
	// chosen for the call.
	Owner string
}

// Outcome is what happened on a call.
type Outcome struct {
	CallID      string      `json:"call_id"`
	To          string      `json:"to"`
	Trunk       string      `json:"trunk"`
	CallerID    string      `json:"caller_id"`
	Disposition Disposition `json:"disposition"`
	// SIPCode and SIPReason are the final SIP response, where there was one
	// (200 for answered calls).
	SIPCode   int    `json:"sip_code,omitempty"`
	SIPReason string `json:"sip_reason,omitempty"`
	// Q850Cause is the ISDN cause where known (Reason header, ARI hangup cause).
	Q850Cause int `json:"q850_cause,omitempty"`
	// Detail explains the disposition in words ("ring timeout after 20s",
	// "amd: machine (long greeting)").
	Detail string `json:"detail,omitempty"`
	// RetryAfter is a carrier's Retry-After (503), which pacing honours.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// Requeue, on a call that was not placed, asks the engine to try the
	// same attempt again after this long without counting it (e.g. no agent
	// of the queue became free in time). Zero: route the outcome as usual.
	Requeue time.Duration `json:"requeue,omitempty"`
	// Agent is the ID of the agent the call was connected to (or reserved
	// for), when there was one.
	Agent string `json:"agent,omitempty"`
	// AMD is the detector's verdict on an answered call.
	AMD *AMDResult `json:"amd,omitempty"`
	// Voicemail describes a message drop.
	Voicemail *VoicemailResult `json:"voicemail,omitempty"`
	// ConnectedMS is when a human was bridged to an agent, from answer.
	ConnectedMS int64 `json:"connected_ms,omitempty"`
	// SafeHarborMS is how much of the safe-harbor message was played on an
	// abandoned call (Call.SafeHarborAudio).
	SafeHarborMS int64 `json:"safe_harbor_ms,omitempty"`
	// HangupBy is "us", "far_end" or "" when the call never connected.
	HangupBy string  `json:"hangup_by,omitempty"`
	Timings  Timings `json:"timings"`
}

// AMDResult is the answering-machine detector's verdict.
type AMDResult struct {
	Verdict    string `json:"verdict"` // human | machine | silence | unsure
	Cause      string `json:"cause,omitempty"`
	DecisionMS int64  `json:"decision_ms"` // from answer
}

// VoicemailResult describes a voicemail drop.
type VoicemailResult struct {
	BeepMS            int64   `json:"beep_ms,omitempty"` // beep end, from answer; 0 when no beep was heard
	StartMS           int64   `json:"start_ms"`          // message start, from answer
	SecondsPlayed     float64 `json:"seconds_played"`    // how much of the message went out
	Complete          bool    `json:"complete"`          // the whole message was played
	FarEndHungUpFirst bool    `json:"far_end_hung_up_first"`
	// Trigger is what started the message: beep (after the beep ended),
	// silence (the greeting ended without a beep, plus a guard) or timeout
	// (the maximum wait passed).
	Trigger string `json:"trigger,omitempty"`
}

// Timings are the milestones of a call; zero times did not happen.
type Timings struct {
	Queued     time.Time `json:"queued"`
	InviteSent time.Time `json:"invite_sent,omitzero"`
	FirstRing  time.Time `json:"first_ring,omitzero"`
	Answered   time.Time `json:"answered,omitzero"`
	AMDVerdict time.Time `json:"amd_verdict,omitzero"`
	Hangup     time.Time `json:"hangup,omitzero"`
}
