package sim

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// CallRecord is one line of the call log: what really happened on the line.
type CallRecord struct {
	CallID    string `json:"call_id"`
	To        string `json:"to"`
	From      string `json:"from"`
	Behavior  Kind   `json:"behavior"`
	Transport string `json:"transport"`
	// Attempt is the dialer's attempt ID from the X-Cadenza-Attempt header.
	Attempt string `json:"attempt,omitempty"`
	// FinalCode is the final response we sent (200, 486, 487 after CANCEL…).
	FinalCode int       `json:"final_code"`
	Invited   time.Time `json:"invited"`
	Answered  time.Time `json:"answered,omitzero"`
	Hangup    time.Time `json:"hangup,omitzero"`
	// HangupBy is "caller" (BYE or CANCEL from the dialer), "sim" (our BYE
	// or final response) or "" when nothing was established.
	HangupBy      string `json:"hangup_by,omitempty"`
	Cancelled     bool   `json:"cancelled,omitempty"`
	Authenticated bool   `json:"authenticated,omitempty"`
	// Voicemail: when the beep played, when the caller's message started
	// relative to the beep's end (negative: it started before), how long it
	// was, and whether it started before the beep ended (clipped).
	BeepStart      time.Time `json:"beep_start,omitzero"`
	BeepEnd        time.Time `json:"beep_end,omitzero"`
	MessageStartMS *int64    `json:"message_start_ms,omitempty"`
	MessageMS      int64     `json:"message_ms,omitempty"`
	Clipped        bool      `json:"clipped,omitempty"`
	// Human: how often we said hello, and whether the caller spoke.
	Hellos      int  `json:"hellos,omitempty"`
	CallerSpoke bool `json:"caller_spoke,omitempty"`
	// CallerVoicedMS is how much non-silent audio the caller sent in all.
	CallerVoicedMS int64 `json:"caller_voiced_ms,omitempty"`
	// Agent (a bridge leg from the dialer): how much voiced audio the agent
	// received (the customer's voice, relayed), whether it heard the
	// customer before it greeted, and when it greeted.
	AgentReceivedMS  int64     `json:"agent_received_ms,omitempty"`
	AgentHeardCaller bool      `json:"agent_heard_caller,omitempty"`
	AgentGreeted     time.Time `json:"agent_greeted,omitzero"`
	// RTP packets received from and sent to the caller, and of those
	// received, the gaps the reorder buffer gave up on (lost) and the ones
	// that came after their turn or twice (late).
	PacketsIn  uint64 `json:"rtp_packets_in"`
	PacketsOut uint64 `json:"rtp_packets_out"`
	RTPLost    uint64 `json:"rtp_lost,omitempty"`
	RTPLate    uint64 `json:"rtp_late,omitempty"`
}

// callLog writes records as JSON lines and keeps the last max of them for
// Calls(), so a long-running simulator does not grow without bound.
type callLog struct {
	max  int
	mu   sync.Mutex
	w    io.Writer
	enc  *json.Encoder
	keep []CallRecord
	err  error
}

func newCallLog(w io.Writer, max int) *callLog {
	l := &callLog{w: w, max: max}
	if w != nil {
		l.enc = json.NewEncoder(w)
	}
	return l
}

func (l *callLog) add(r CallRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keep = append(l.keep, r)
	if l.max > 0 && len(l.keep) >= 2*l.max {
		l.keep = append([]CallRecord(nil), l.keep[len(l.keep)-l.max:]...)
	}
	if l.enc != nil && l.err == nil {
		l.err = l.enc.Encode(r) // the first write error stops logging, not calls
	}
}

func (l *callLog) snapshot() []CallRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]CallRecord(nil), l.keep...)
}
