// Package sip is Cadenza's native SIP trunk driver: it places calls on SIP
// trunks with emiago/sipgo (signalling) and pion/rtp (media) and implements
// dialer.Driver.
//
// A call is one leg object with one goroutine: INVITE through sipgo's
// dialog API with an SDP offer of PCMU, PCMA and telephone-event; digest
// authentication for 401 and 407 (sipgo retries at most twice); 180/183
// progress, with early media sent to the same audio stream as the call;
// CANCEL on ring timeout or hang-up before answer (a 200 that crosses our
// CANCEL is ACKed and then ended with BYE); a maximum call duration; BYE
// from either side, and BYE before media teardown. UDP, TCP and TLS
// transports are supported; our listener takes UDP and TCP on one port,
// and TLS on Options.TLSListenAddr when set.
//
// Media is symmetric RTP on a port from the trunk's range, G.711 µ-law or
// A-law, 20 ms packets paced on the wall clock, and a small reorder buffer
// by sequence number that tolerates loss and reordering (lost packets are
// replaced by silence so the audio keeps its timing). While we only listen,
// a silence packet goes out every second without other audio (and one at
// answer and at early media) so NAT bindings, SBC latching and RTP
// timeouts stay happy.
//
// At thousands of calls: the RTP hot path allocates nothing per packet
// (send, receive, reorder, decode; see the benchmarks in
// media_bench_test.go), an in-order packet goes straight through the
// reorder buffer without a copy, and the buffers a session needs only for
// reordering or loss are made on first use. Each RTP socket asks for a
// 256 KiB receive buffer; Start reads back what the kernel granted and logs
// a warning when net.core.rmem_max caps it. Media teardown (after the BYE)
// first takes in the packets already queued in the socket, so a receive
// goroutine that runs behind under CPU pressure does not leave them unread
// and counted as lost. BenchmarkConcurrentCalls (load_test.go) measures CPU,
// memory per call and loss per direction with the simulator in a separate
// process.
//
// Connect (the dialer's Connector, connect.go) bridges an answered call
// to an agent's SIP URI as a back-to-back user agent: a second INVITE
// straight to the URI's host, then the audio of each leg relayed to the
// other (decoded and re-encoded, so PCMU and PCMA legs mix freely). A BYE
// on either leg ends both. An agent that does not answer within the
// caller's deadline (the legal 2 s) is cancelled and Connect fails.
//
// Final failures are classified by Classify into the dialer's system
// dispositions (busy, no_answer, invalid_number, rejected, failed), with the
// Q.850 cause from the Reason header and the carrier's Retry-After (or a
// default back-off for rate-limit reason phrases) in LegResult.RetryAfter.
//
// Requests that reach our listeners are checked (ValidateRequest) for what
// sipgo's parser lets through but RFC 3261 forbids, and UDP messages the
// parser rejects are answered by UnparsableFilter, so the RFC 4475 torture
// messages get a 400 (416 for an unknown URI scheme, 505 for a bad version)
// where an answer is possible; testdata/torture holds them.
//
// Trunks come from configuration (Trunk, LoadTrunks, configs/trunks.yaml);
// passwords only from the environment variable named by password_env.
package sip
