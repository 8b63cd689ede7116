package dialer

import (
	"context"
	"time"
)

// Driver places calls on one telephony back end (a SIP trunk through sipgo,
// or Asterisk through ARI). It is deliberately small: the dialer's
// orchestration does pacing, caller ID, AMD and voicemail on top of it, so a
// new back end only has to move signalling and audio.
type Driver interface {
	// Originate starts a call and returns its leg as soon as the request is
	// on the wire (INVITE sent, ARI originate accepted). Failures before that
	// (bad trunk, socket error) return an error. Everything after, including
	// a busy or a ring timeout, is reported through the Leg.
	Originate(ctx context.Context, req OriginateRequest) (Leg, error)
}

// OriginateRequest is what a driver needs to place one call.
type OriginateRequest struct {
	// CallID identifies the attempt in logs and headers.
	CallID string
	// Trunk names the configured trunk (the driver knows its settings).
	Trunk string
	// To is the E.164 destination; the driver applies the trunk's number format.
	To string
	// From is the caller ID to present, E.164.
	From string
	// RingTimeout ends the call as no_answer when it rings longer (CANCEL).
	RingTimeout time.Duration
	// Variables are sent as X- headers or channel variables.
	Variables map[string]string
	// OnAudio receives the callee's audio (early media included) as 8 kHz
	// 16-bit mono PCM, in arrival order, from one goroutine. The slice is
	// reused after the call returns: copy what you keep. It must not block.
	OnAudio func(samples []int16)
}

// EventType is a progress step of a leg.
type EventType int

// Leg progress, in the order they can happen; Hangup is always last.
const (
	EventTrying   EventType = iota + 1 // 100 Trying / ARI channel created
	EventRinging                       // 180
	EventProgress                      // 183 with early media
	EventAnswered                      // 200 OK, ACK sent, media flowing
	EventHangup                        // the leg is over; see Leg.Result
)

func (t EventType) String() string {
	switch t {
	case EventTrying:
		return "trying"
	case EventRinging:
		return "ringing"
	case EventProgress:
		return "progress"
	case EventAnswered:
		return "answered"
	case EventHangup:
		return "hangup"
	}
	return "unknown"
}

// Event is one progress step.
type Event struct {
	Type EventType
	At   time.Time
}

// Leg is one live call on a driver. All methods are safe for concurrent use.
type Leg interface {
	// Events delivers progress; it is closed after EventHangup.
	Events() <-chan Event
	// Play sends 8 kHz 16-bit mono PCM to the callee, paced in real time, and
	// returns when it has all been sent, the call ended, or ctx is done. It
	// returns how much audio went out.
	Play(ctx context.Context, samples []int16) (time.Duration, error)
	// Hangup ends the call: CANCEL before an answer, BYE after. Idempotent.
	// Teardown never depends on ctx being alive beyond a short grace.
	Hangup(ctx context.Context) error
	// Done is closed when the leg is over and Result is final.
	Done() <-chan struct{}
	// Result is the leg's signalling result; final once Done is closed.
	Result() LegResult
}

// LegResult is what signalling says about a leg. The dialer combines it with
// AMD into an Outcome.
type LegResult struct {
	// Answered is true when the far end answered (200 OK / ARI Up).
	Answered bool
	// Disposition classifies an unanswered leg (busy, no_answer, …); it is
	// empty for answered legs, whose disposition AMD decides, except
	// Unknown when an answered leg was lost (e.g. Asterisk restarted).
	Disposition Disposition
	SIPCode     int
	SIPReason   string
	Q850Cause   int
	RetryAfter  time.Duration
	// HangupBy is "us" or "far_end" for answered legs.
	HangupBy string
	Detail   string
	Timings  Timings
}
