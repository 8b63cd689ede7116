package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// Connecting a human to an agent (issue 8, "Connect").
//
// The driver acts as a back-to-back user agent: it places a second call
// (the agent leg) straight to the agent's URI — the host and port in the
// URI, not the trunk — and, once the agent answers, relays the audio both
// ways between the two legs' RTP sessions. We chose B2BUA over REFER or a
// re-INVITE that points the two media streams at each other because it
// works with every trunk: carriers rarely accept a REFER to an arbitrary
// agent URI, and a direct media path needs both ends (and any NAT between
// them) to cooperate. The cost is that our process carries the media for
// the length of the call; a G.711 relay is about 200 ns of decode and
// encode per 20 ms packet, so that is cheap.
//
// The relay works on decoded PCM: each leg's reorder buffer turns its
// packets into ordered audio (lost packets become silence), and the other
// leg's sender re-encodes it with its own sequence numbers, SSRC and
// payload type. PCMU on one side and PCMA on the other therefore just work,
// and each far end sees one consistent RTP stream.
//
// A BYE from either side ends both: the agent's BYE makes us hang the
// human up, and the human's end makes us BYE the agent. Both legs send
// their BYE before their media is torn down.

// DefaultConnectTimeout bounds an agent INVITE when the caller's context
// has no deadline (the dialer always gives one: the legal 2 s).
const DefaultConnectTimeout = 2 * time.Second

var _ dialer.Connector = (*Driver)(nil)

// Connect implements dialer.Connector: it bridges an answered leg of this
// driver to c.OnHuman.Destination (a sip: or sips: URI) and returns once
// the agent has answered and audio is relayed both ways. When ctx ends
// first (the dialer's 2 s deadline) it gives up at once and the agent's
// INVITE is cancelled in the background; the bridge never starts after
// Connect returned an error. The bridge outlives ctx: it lasts until either
// side hangs up.
func (d *Driver) Connect(ctx context.Context, dl dialer.Leg, c dialer.Call) error {
	l, ok := dl.(*leg)
	if !ok || l.d != d {
		return errors.New("sip connect: the leg was not placed by this driver")
	}
	target, err := ParseAgentURI(c.OnHuman.Destination)
	if err != nil {
		return fmt.Errorf("sip connect: on_human.destination: %w", err)
	}
	if _, hasDeadline := ctx.Deadline(); !hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultConnectTimeout)
		defer cancel()
	}
	select {
	case <-l.over:
		return errors.New("sip connect: the call is over")
	default:
	}
	if !l.Result().Answered {
		return errors.New("sip connect: the call is not answered")
	}

	if !l.connecting.CompareAndSwap(false, true) {
		return errors.New("sip connect: the call is already being connected")
	}
	// A failed attempt frees the leg for another (a Connector may try a
	// second agent within the same 2 s); the failed agent leg can no
	// longer bridge.
	connected := false
	defer func() {
		if !connected {
			l.connecting.Store(false)
		}
	}()
	d.mu.Lock()
	if !d.started || d.stopped {
		d.mu.Unlock()
		return errors.New("sip connect: driver not running")
	}
	d.legWG.Add(1)
	d.mu.Unlock()
	a, err := d.newAgentLeg(l, target, c)
	if err != nil {
		d.legWG.Done()
		return fmt.Errorf("sip connect: %w", err)
	}
	// Sending happens in run too: a slow DNS lookup or TCP connect must not
	// hold Connect past its deadline.
	go a.run()

	select {
	case err := <-a.setup:
		if err != nil {
			return fmt.Errorf("sip connect %s: %w", target.String(), err)
		}
	case <-ctx.Done():
		if a.giveUp() {
			return fmt.Errorf("sip connect %s: agent not connected in time: %w", target.String(), context.Cause(ctx))
		}
		// The bridge was made in the same instant: it stands.
	}
	connected = true
	return nil
}

// ParseAgentURI checks a connect destination: a sip: or sips: URI with a
// host (an optional user, port and transport parameter).
func ParseAgentURI(s string) (sip.Uri, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	var u sip.Uri
	if !strings.HasPrefix(strings.ToLower(s), "sip:") && !strings.HasPrefix(strings.ToLower(s), "sips:") {
		return u, fieldErr("uri", "must start with sip: or sips:, got %q", s)
	}
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return u, fieldErr("uri", "must not contain whitespace or control characters")
	}
	if err := sip.ParseUri(s, &u); err != nil {
		return u, fieldErr("uri", "%q: %v", s, err)
	}
	if u.Host == "" {
		return u, fieldErr("uri", "%q has no host", s)
	}
	if u.Port < 0 || u.Port > 65535 {
		return u, fieldErr("uri", "%q: port out of range", s)
	}
	if tp := agentTransport(u); tp != TransportUDP && tp != TransportTCP && tp != TransportTLS {
		return u, fieldErr("uri", "%q: transport must be udp, tcp or tls", s)
	}
	return u, nil
}

func agentTransport(u sip.Uri) string {
	if u.UriParams != nil {
		if v, ok := u.UriParams.Get("transport"); ok {
			return strings.ToLower(v)
		}
	}
	if u.IsEncrypted() {
		return TransportTLS
	}
	return TransportUDP
}

// agentLeg is the second call of a bridge: our INVITE to the agent, its
// RTP session, and the relay between it and the human's leg. One
// goroutine (run) drives it from INVITE to teardown.
type agentLeg struct {
	d         *Driver
	human     *leg
	log       *slog.Logger
	callID    string
	inv       *sip.Request
	transport string
	sess      *sipgo.DialogClientSession // set by run once the INVITE is sent
	media     *media
	localSDP  []byte

	// setup receives the INVITE's outcome once: nil when bridged.
	setup chan error

	mu      sync.Mutex
	aborted bool // Connect gave up: never bridge
	bridged bool // audio is relayed: Connect may no longer give up
	abort   chan struct{}

	farBye chan struct{}
	farOne sync.Once

	toAgent, toHuman relay
}

// newAgentLeg prepares the agent leg: its RTP session and its INVITE.
func (d *Driver) newAgentLeg(l *leg, target sip.Uri, c dialer.Call) (*agentLeg, error) {
	conn, err := l.tr.ports.Listen(d.ip)
	if err != nil {
		return nil, err
	}
	callID := uuid.NewString()
	a := &agentLeg{
		d: d, human: l, callID: callID,
		log:    l.log.With("agent_call_id", callID, "agent", target.String()),
		setup:  make(chan error, 1),
		abort:  make(chan struct{}),
		farBye: make(chan struct{}),
	}
	// The agent's audio goes to the human; the relay is idle until bridged.
	// Its packets are not the trunk's: no per-trunk RTP counters.
	a.media = newMedia(conn, nil, mediaCounters{})
	a.localSDP = BuildSDP(d.ip, a.media.LocalPort(), rand.Uint64()>>1, agentCodecs(uint8(l.media.sendPT.Load())), false)

	transport := agentTransport(target)
	recipient := target
	recipient.Headers = nil
	inv := sip.NewRequest(sip.INVITE, recipient)
	inv.SetTransport(strings.ToUpper(transport))
	// The agent sees the customer's number as the caller, as with any
	// inbound call it takes.
	fromUser := strings.TrimSpace(l.req.To)
	if fromUser == "" {
		fromUser = "cadenza"
	}
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: fromUser, Host: d.ip.String()}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	toHdr := &sip.ToHeader{Address: sip.Uri{Scheme: target.Scheme, User: target.User, Host: target.Host, Port: target.Port}, Params: sip.NewParams()}
	if toHdr.Address.Scheme == "" {
		toHdr.Address.Scheme = "sip"
	}
	cid := sip.CallIDHeader(callID)
	inv.AppendHeader(fromHdr)
	inv.AppendHeader(toHdr)
	inv.AppendHeader(&cid)
	inv.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
	if c.ID != "" && headerValueOK(c.ID) {
		inv.AppendHeader(sip.NewHeader("X-Cadenza-Attempt", c.ID))
	}
	if headerValueOK(l.req.To) && l.req.To != "" {
		inv.AppendHeader(sip.NewHeader("X-Cadenza-Customer", l.req.To))
	}
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody(a.localSDP)
	a.inv, a.transport = inv, transport
	return a, nil
}

// agentCodecs is our offer to the agent: both G.711 laws (the agent is not
// behind the trunk, whose codec list does not apply), the customer's first
// so that the relay is bit-exact when the agent takes it.
func agentCodecs(customer uint8) []uint8 {
	if customer == PayloadPCMA {
		return []uint8{PayloadPCMA, PayloadPCMU}
	}
	return []uint8{PayloadPCMU, PayloadPCMA}
}

// giveUp is Connect's deadline: it forbids the bridge unless it is already
// made (then it reports false and the bridge stands).
func (a *agentLeg) giveUp() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bridged {
		return false
	}
	if !a.aborted {
		a.aborted = true
		close(a.abort)
	}
	return true
}

// bridge starts the relay unless Connect gave up; false when it did.
func (a *agentLeg) bridge() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.aborted {
		return false
	}
	a.bridged = true
	a.human.media.bridged.Store(true)
	a.media.bridged.Store(true)
	toAgent := func(pcm []int16) { a.toAgent.forward(a.media, pcm) }
	toHuman := func(pcm []int16) { a.toHuman.forward(a.human.media, pcm) }
	a.human.media.tap.Store(&toAgent)
	a.media.tap.Store(&toHuman)
	return true
}

// unbridge stops the relay; the legs' own keepalives resume.
func (a *agentLeg) unbridge() {
	a.human.media.tap.Store(nil)
	a.media.tap.Store(nil)
	a.human.media.bridged.Store(false)
	a.media.bridged.Store(false)
}

func (a *agentLeg) farEndBye(req *sip.Request, tx sip.ServerTransaction) {
	if err := a.sess.ReadBye(req, tx); err != nil {
		a.log.Debug("answer agent BYE", "error", err)
	}
	a.farOne.Do(func() { close(a.farBye) })
}

// run drives the agent leg: wait for the answer (cancelled when Connect
// gives up, the human's leg ends or the driver stops), bridge, then wait
// for either side to hang up and end the other.
func (a *agentLeg) run() {
	d := a.d
	defer d.legWG.Done()
	sess, err := d.dialogUA(a.transport).WriteInvite(context.Background(), a.inv)
	if err != nil {
		a.media.close()
		a.setup <- fmt.Errorf("send INVITE to %s: %w", a.inv.Recipient.Addr(), err)
		return
	}
	a.sess = sess
	// Registered once sess is set: the BYE handler reads it after lookup.
	d.registerAgent(a.callID, a)
	defer d.unregisterAgent(a.callID)
	a.log.Debug("agent INVITE sent")

	inviteCtx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// Without any response yet a CANCEL is not allowed (RFC 3261 9.1) and
	// sipgo would wait up to Timer B (32 s) for one: give the INVITE up
	// without CANCEL then, so a dead agent host does not hold the driver.
	var heard atomic.Bool
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-a.abort:
		case <-a.human.over:
		case <-d.stopCh:
		case <-inviteCtx.Done():
			return
		}
		if heard.Load() {
			cancel(context.Canceled)
		} else {
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	}()
	defer func() { cancel(nil); <-watchDone }()
	opts := sipgo.AnswerOptions{OnResponse: func(*sip.Response) error { heard.Store(true); return nil }}
	for range maxWaitAnswers {
		err = a.sess.WaitAnswer(inviteCtx, opts)
		if err == nil || !strings.Contains(err.Error(), "more than 10 responses") {
			break
		}
	}
	if err != nil {
		if res := a.sess.InviteResponse; inviteCtx.Err() != nil && res != nil && res.IsSuccess() {
			a.ackAndBye() // the 200 crossed our CANCEL
		}
		a.setup <- agentFailure(err, inviteCtx.Err() != nil)
		a.teardown()
		return
	}
	ackCtx, cancelAck := context.WithTimeout(context.Background(), byeTimeout)
	ackErr := a.sess.Ack(ackCtx)
	cancelAck()
	if ackErr != nil {
		a.log.Warn("agent ACK failed", "error", ackErr)
	}
	if err := a.applyRemoteSDP(a.sess.InviteResponse.Body()); err != nil {
		a.bye()
		a.setup <- fmt.Errorf("agent answered without usable SDP: %w", err)
		a.teardown()
		return
	}
	if inviteCtx.Err() != nil || !a.bridge() {
		// Answered too late (Connect gave up) or the human is gone.
		a.bye()
		a.setup <- errors.New("agent answered after the call was given up")
		a.teardown()
		return
	}
	a.log.Debug("bridged")
	a.setup <- nil
	a.toAgent.keepalive(a.media) // open the agent's symmetric-RTP latch at once
	a.talk()
	a.teardown()
}

// talk relays until one side ends, then ends the other: BYE to the agent
// when the human's leg is over, a hang-up of the human's leg when the
// agent sends BYE. Idle directions get a keepalive every second.
func (a *agentLeg) talk() {
	d := a.d
	tick := time.NewTicker(keepaliveEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			a.toAgent.keepalive(a.media)
			a.toHuman.keepalive(a.human.media)
			continue
		case <-a.human.over:
			a.unbridge()
			a.bye()
			a.log.Debug("bridge over: the customer's leg ended")
		case <-a.farBye:
			a.endHuman("agent hung up")
		case <-a.sess.Context().Done():
			a.endHuman("agent dialog ended")
		case <-d.stopCh:
			// The human's leg ends on its own (driver stopping); the agent
			// gets its BYE here.
			a.unbridge()
			a.bye()
		}
		return
	}
}

func (a *agentLeg) endHuman(why string) {
	a.unbridge()
	a.log.Debug("bridge over: " + why)
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := a.human.Hangup(ctx); err != nil {
		a.log.Warn("hang up the customer after the agent left", "error", err)
	}
}

func (a *agentLeg) applyRemoteSDP(body []byte) error {
	md, err := ParseSDP(body)
	if err != nil {
		return err
	}
	pt, ok := md.Choose(agentCodecs(uint8(a.human.media.sendPT.Load())))
	if !ok {
		return fmt.Errorf("sdp: no common codec in %v", md.Payloads)
	}
	a.media.setRemote(md.Addr, pt)
	return nil
}

func (a *agentLeg) bye() {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := a.sess.Bye(ctx); err != nil {
		a.log.Debug("agent BYE", "error", err)
	}
}

func (a *agentLeg) ackAndBye() {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := a.sess.Ack(ctx); err != nil {
		a.log.Debug("agent ACK after cancel", "error", err)
	}
	a.bye()
}

// teardown releases the agent leg's media and dialog (after any BYE).
func (a *agentLeg) teardown() {
	a.unbridge()
	a.media.close()
	_ = a.sess.Close()
}

// agentFailure says why an agent did not answer, in the words of its
// final response where there was one.
func agentFailure(err error, cancelled bool) error {
	var dr *sipgo.ErrDialogResponse
	var drv sipgo.ErrDialogResponse
	var res *sip.Response
	switch {
	case errors.As(err, &dr) && dr.Res != nil:
		res = dr.Res
	case errors.As(err, &drv) && drv.Res != nil:
		res = drv.Res
	case cancelled:
		return errors.New("agent INVITE cancelled")
	default:
		return fmt.Errorf("agent INVITE: %w", err)
	}
	f := Classify(res.StatusCode, res.Reason, "", "")
	return fmt.Errorf("agent %s: %d %s", f.Disposition, res.StatusCode, res.Reason)
}

// relay is one direction of a bridge: it re-sends decoded audio on the
// other leg's RTP session. It runs on the source session's receive
// goroutine; keepalive runs on the bridge goroutine.
type relay struct {
	mu   sync.Mutex
	ts   uint32 // next RTP timestamp when the stream is continuous
	last time.Time
	used bool
}

// forward sends pcm on dst as packets of at most 20 ms. The RTP clock
// continues from the previous packet while audio flows, and follows the
// wall clock after a pause (as Play does), so the far end's playout
// neither drifts nor jumps. A Play running on dst (a prompt) has priority:
// relayed audio is dropped while it holds the sender.
func (r *relay) forward(dst *media, pcm []int16) {
	if len(pcm) == 0 || dst.remote.Load() == nil || !dst.playMu.TryLock() {
		return
	}
	defer dst.playMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	wall := dst.tsBase + uint32(now.Sub(dst.started).Nanoseconds()*sampleRate/int64(time.Second))
	ts := r.ts
	if drift := int32(wall - ts); !r.used || drift > 4*frameSamples || drift < -4*frameSamples {
		ts = wall
	}
	for len(pcm) > 0 {
		n := min(len(pcm), frameSamples)
		if err := dst.writeFrame(pcm[:n], ts, !r.used); err != nil {
			return // the leg is ending; its teardown follows
		}
		r.used = true
		ts += uint32(n)
		pcm = pcm[n:]
	}
	r.ts, r.last = ts, now
}

// keepalive sends one silence packet on dst when nothing was relayed for
// a second: the far end's RTP timeout and NAT bindings stay happy while
// the other side is silent (VAD, hold).
func (r *relay) keepalive(dst *media) {
	r.mu.Lock()
	idle := time.Since(r.last) >= keepaliveEvery
	r.mu.Unlock()
	if !idle {
		return
	}
	var silence [frameSamples]int16
	r.forward(dst, silence[:])
}

func (d *Driver) registerAgent(callID string, a *agentLeg) {
	d.mu.Lock()
	if d.agents == nil {
		d.agents = make(map[string]*agentLeg)
	}
	d.agents[callID] = a
	d.mu.Unlock()
}

func (d *Driver) unregisterAgent(callID string) {
	d.mu.Lock()
	delete(d.agents, callID)
	d.mu.Unlock()
}

func (d *Driver) lookupAgent(callID string) *agentLeg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.agents[callID]
}
