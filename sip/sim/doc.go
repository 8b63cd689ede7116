// Package sim is a carrier simulator: a SIP user agent server on sipgo that
// behaves like the far end of a trunk, so the driver's tests, `cadenza dial`
// and the demo can place real calls (real SIP over UDP/TCP/TLS, real RTP
// with G.711 audio) without a carrier. It runs in real time and handles
// hundreds of simultaneous calls.
//
// # What a number does
//
// The dialed number (Request-URI user part, digits only) picks the
// behaviour; Options.Behaviors overrides exact numbers and Options.Default
// replaces the table:
//
//	prefix 9990  unavailable   503 Service Unavailable, Retry-After: 30
//	prefix 9991  reject        603 Decline
//	prefix 9992  early_media   183 with 2 s of ring-back audio, then a human answers
//	prefix 9993  invalid_sit   183 with SIT tones + "not in service" announcement, then 404
//	prefix 9994  auth          401 digest challenge (cadenza/secret, realm sim), then a human
//	prefix 9995  cps_limit     503 "CPS limit exceeded" without Retry-After
//	prefix 9996  human_hangup  a human says hello and hangs up (BYE from the far end)
//	prefix 9997  echo          answers and sends every RTP packet back until BYE (load tests)
//	prefix 9998  proxy_auth    407 proxy digest challenge (same credentials), then a human
//	last digit 0-3  human       answers, says hello, repeats it while nobody speaks (3 times at most), stays on
//	last digit 4    voicemail   1.5 s greeting, 1000 Hz beep of 500 ms, records
//	last digit 5    voicemail   3 s greeting
//	last digit 6    voicemail   6 s greeting
//	last digit 7    busy        486 Busy Here
//	last digit 8    no_answer   rings until CANCEL or NoAnswerTimeout, then 480
//	last digit 9    invalid     404 Not Found
//
// Prefixes are matched on the digits with and without a leading country
// code 1 ("+19990…" and "9990…" are both unavailable). Every call first
// rings (180) for Options.Ring.
//
// # Agents
//
// A Request-URI user starting with "agent" (sip:agent-1@127.0.0.1:5070)
// is a call-center agent's phone, the far end of the dialer's bridge
// (Connect): it answers, listens until the customer speaks and pauses (3 s
// at most), says "Hi there, how can I help?", stays AgentTalk (3 s;
// Options.AgentTalk or the Behavior's HangupAfter change it) and hangs up with BYE. Its record has
// agent_received_ms (voiced audio it received: the customer's voice,
// relayed), agent_heard_caller and agent_greeted, and the customer's
// record shows the agent's greeting as caller_voiced_ms, so a test proves
// both directions of the relay. "agent-busy…" answers 486 and
// "agent-noanswer…" rings until cancelled. Options.Behaviors still wins
// for an exact user; Options.Default does not apply to agents.
//
// # Call log
//
// Each call ends with one CallRecord, written as a JSON line to
// Options.CallLog and kept for Calls(): Call-ID, numbers, behaviour, final
// code, answer and hang-up times and who hung up; for voicemail the beep's
// start and end, when the caller's message started relative to the beep's
// end (message_start_ms, negative when it started early), how long it was
// (message_ms) and whether it was clipped (started before the beep ended);
// for every call with media, RTP packets in and out and, of those
// received, the sequence gaps the reorder buffer gave up on (rtp_lost) and
// the packets that came late or twice (rtp_late).
// "The message started" is detected by energy: the first two consecutive
// 20 ms frames of received audio above an RMS of 500.
//
// # Audio
//
// The speech in audio/ (hellos, greetings of three lengths, an
// announcement and a sample voicemail message) was made offline by
// audio/gen.sh with espeak-ng and sox: text to speech, resampled to 8 kHz
// mono 16-bit, band-passed to 300–3400 Hz and normalised to -3 dBFS. The
// files are embedded with go:embed. Beeps (any frequency and length) and
// SIT tones are synthesized in code.
package sim
