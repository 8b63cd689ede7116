package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// errLegOver is returned by Play when the call ended while playing.
var errLegOver = errors.New("sip: call is over")

// Teardown budgets: they never depend on the caller's context.
const (
	byeTimeout     = 5 * time.Second
	keepaliveEvery = time.Second // a silence packet while we only listen
	maxWaitAnswers = 20          // re-enter WaitAnswer this often (it stops after ~10 provisional responses)
	// sipgoMaxAuthAttempts mirrors sipgo v1.7.2's cap on digest retries
	// per INVITE (dialog_client.go maxAuthAttempts).
	sipgoMaxAuthAttempts = 2
)

// leg is one outbound call: one INVITE dialog and one RTP session, driven
// by one goroutine (run) through answer, talk and teardown.
type leg struct {
	d        *Driver
	tr       *trunkState
	req      dialer.OriginateRequest
	log      *slog.Logger
	sess     *sipgo.DialogClientSession
	media    *media
	localSDP []byte
	callID   string

	events    chan dialer.Event
	sentEv    [dialer.EventHangup + 1]bool
	done      chan struct{}
	over      chan struct{} // closed when signalling is over (before media teardown)
	hangupReq chan struct{}
	hangupOne sync.Once
	farBye    chan struct{}
	farOne    sync.Once

	authRetries int // INVITEs re-sent with credentials (run goroutine only)

	connecting atomic.Bool // a Connect (bridge to an agent) was started: connect.go

	mu     sync.Mutex
	result dialer.LegResult
}

var _ dialer.Leg = (*leg)(nil)

func (d *Driver) originate(ctx context.Context, req dialer.OriginateRequest) (*leg, error) {
	tr, ok := d.trunks[req.Trunk]
	if !ok {
		return nil, fmt.Errorf("sip originate: trunk %q is not configured", req.Trunk)
	}
	to, err := tr.FormatNumber(req.To)
	if err != nil {
		return nil, fmt.Errorf("sip originate: %w", err)
	}
	from := strings.TrimSpace(req.From)
	if from == "" {
		from = "anonymous"
	}
	conn, err := tr.ports.Listen(d.ip)
	if err != nil {
		return nil, fmt.Errorf("sip originate: %w", err)
	}
	callID := uuid.NewString()
	l := &leg{
		d: d, tr: tr, req: req, callID: callID,
		log:       d.log.With("trunk", tr.Name, "attempt_id", req.CallID, "call_id", callID),
		events:    make(chan dialer.Event, int(dialer.EventHangup)+1),
		done:      make(chan struct{}),
		over:      make(chan struct{}),
		hangupReq: make(chan struct{}),
		farBye:    make(chan struct{}),
	}
	l.media = newMedia(conn, req.OnAudio, d.m.counters(tr.Name))
	l.localSDP = BuildSDP(d.ip, l.media.LocalPort(), rand.Uint64()>>1, tr.codecs(), true)
	l.result.Timings.Queued = d.now()

	transport := tr.transport()
	recipient := sip.Uri{Scheme: "sip", User: to, Host: tr.Host, Port: tr.port()}
	if transport != TransportUDP {
		recipient.UriParams = sip.NewParams()
		recipient.UriParams.Add("transport", transport)
	}
	inv := sip.NewRequest(sip.INVITE, recipient)
	inv.SetTransport(strings.ToUpper(transport))
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: tr.fromDomain()}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	toHdr := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: to, Host: tr.Host}, Params: sip.NewParams()}
	cid := sip.CallIDHeader(callID)
	inv.AppendHeader(fromHdr)
	inv.AppendHeader(toHdr)
	inv.AppendHeader(&cid)
	if tr.OutboundProxy != "" {
		inv.AppendHeader(sip.NewHeader("Route", "<sip:"+tr.OutboundProxy+";lr>"))
		inv.SetDestination(tr.OutboundProxy)
	}
	inv.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
	if req.CallID != "" && headerValueOK(req.CallID) {
		inv.AppendHeader(sip.NewHeader("X-Cadenza-Attempt", req.CallID))
	}
	keys := make([]string, 0, len(req.Variables))
	for k := range req.Variables {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if headerToken(k) && headerValueOK(req.Variables[k]) {
			inv.AppendHeader(sip.NewHeader("X-"+k, req.Variables[k]))
		}
	}
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody(l.localSDP)

	d.register(callID, l)
	d.m.active.WithLabelValues(tr.Name).Inc()
	l.result.Timings.InviteSent = d.now()
	d.m.invites.WithLabelValues(tr.Name).Inc()
	// The INVITE transaction must outlive ctx (Originate's ctx only covers
	// sending): cancellation goes through Hangup or the ring timeout.
	sess, err := d.dialogUA(transport).WriteInvite(context.WithoutCancel(ctx), inv)
	if err != nil {
		d.unregister(callID)
		d.m.active.WithLabelValues(tr.Name).Dec()
		l.media.close()
		return nil, fmt.Errorf("sip originate: send INVITE to %s: %w", recipient.Addr(), err)
	}
	l.sess = sess
	l.log.Debug("INVITE sent", "to", to)
	go l.run()
	return l, nil
}

func headerValueOK(v string) bool { return !strings.ContainsAny(v, "\r\n\x00") && len(v) < 256 }

func (l *leg) Events() <-chan dialer.Event { return l.events }
func (l *leg) Done() <-chan struct{}       { return l.done }

func (l *leg) Result() dialer.LegResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.result
}

// Play sends PCM to the callee, paced in real time.
func (l *leg) Play(ctx context.Context, samples []int16) (time.Duration, error) {
	select {
	case <-l.over:
		return 0, errLegOver
	default:
	}
	return l.media.play(ctx, l.over, samples)
}

// Hangup asks the leg to end (CANCEL before answer, BYE after) and waits
// until it is over or ctx ends; teardown itself never depends on ctx.
// Called from inside OnAudio it must have a deadline: the teardown waits
// for the audio goroutine, so it completes only once Hangup returns.
func (l *leg) Hangup(ctx context.Context) error {
	l.hangupOne.Do(func() { close(l.hangupReq) })
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sip hangup: %w", ctx.Err())
	}
}

func (l *leg) emit(t dialer.EventType) {
	if l.sentEv[t] {
		return
	}
	l.sentEv[t] = true
	l.events <- dialer.Event{Type: t, At: l.d.now()} // never blocks: one slot per type
}

func (l *leg) farEndBye(req *sip.Request, tx sip.ServerTransaction) {
	if err := l.sess.ReadBye(req, tx); err != nil {
		l.log.Debug("answer BYE", "error", err)
	}
	l.farOne.Do(func() { close(l.farBye) })
}

// onResponse sees every response to our INVITE (auth retries included).
func (l *leg) onResponse(res *sip.Response) error {
	name := l.tr.Name
	switch {
	case res.StatusCode == 100:
		l.emit(dialer.EventTrying)
	case res.StatusCode == 180 || res.StatusCode == 183:
		first := l.result.Timings.FirstRing.IsZero()
		if first {
			l.setTiming(func(t *dialer.Timings) { t.FirstRing = l.d.now() })
			l.d.m.ring.WithLabelValues(name).Observe(l.d.now().Sub(l.result.Timings.InviteSent).Seconds())
		}
		l.emit(dialer.EventTrying)
		l.emit(dialer.EventRinging)
		if len(res.Body()) > 0 {
			if err := l.applyRemoteSDP(res.Body()); err == nil {
				if !l.sentEv[dialer.EventProgress] {
					l.media.keepalive() // let the far end latch onto us for early media
				}
				l.emit(dialer.EventProgress)
			}
		}
	case res.StatusCode >= 200:
		l.d.m.responses.WithLabelValues(name, statusClass(res.StatusCode)).Inc()
		if (res.StatusCode == 401 || res.StatusCode == 407) && l.tr.Password != "" && l.authRetries < sipgoMaxAuthAttempts {
			l.authRetries++
			l.d.m.invites.WithLabelValues(name).Inc() // sipgo re-sends with credentials
		}
		if res.StatusCode >= 200 && res.StatusCode < 300 {
			l.d.m.setup.WithLabelValues(name).Observe(l.d.now().Sub(l.result.Timings.InviteSent).Seconds())
		}
	}
	return nil
}

func (l *leg) setTiming(f func(*dialer.Timings)) {
	l.mu.Lock()
	f(&l.result.Timings)
	l.mu.Unlock()
}

func (l *leg) applyRemoteSDP(body []byte) error {
	md, err := ParseSDP(body)
	if err != nil {
		return err
	}
	pt, ok := md.Choose(l.tr.codecs())
	if !ok {
		return fmt.Errorf("sdp: no common codec in %v", md.Payloads)
	}
	l.media.setRemote(md.Addr, pt)
	return nil
}

// run drives the call from INVITE to teardown. It is the only writer of
// the events channel and of the dialog after WriteInvite.
func (l *leg) run() {
	defer l.d.legWG.Done()
	defer close(l.done)
	defer close(l.events)
	defer l.d.m.active.WithLabelValues(l.tr.Name).Dec()
	defer l.d.unregister(l.callID)

	ring := l.req.RingTimeout
	if ring <= 0 {
		ring = l.d.opts.DefaultRingTimeout
	}
	ringCtx, cancelRing := context.WithTimeout(context.Background(), ring)
	defer cancelRing()
	var cancelledByUs bool
	var stopWatch sync.WaitGroup
	stopWatch.Add(1)
	watchDone := make(chan struct{})
	go func() {
		defer stopWatch.Done()
		select {
		case <-l.hangupReq:
			cancelledByUs = true
			cancelRing()
		case <-l.d.stopCh:
			cancelledByUs = true
			cancelRing()
		case <-watchDone:
		}
	}()

	opts := sipgo.AnswerOptions{OnResponse: l.onResponse, Username: l.tr.Username, Password: l.tr.Password}
	var err error
	for range maxWaitAnswers {
		err = l.sess.WaitAnswer(ringCtx, opts)
		if err == nil || !strings.Contains(err.Error(), "more than 10 responses") {
			break
		}
	}
	close(watchDone)
	stopWatch.Wait()

	if err != nil {
		l.failed(err, ringCtx, cancelledByUs)
		l.finish()
		return
	}
	l.answered()
	l.finish()
}

// failed classifies an unanswered INVITE.
func (l *leg) failed(err error, ringCtx context.Context, cancelledByUs bool) {
	res := l.sess.InviteResponse
	if ringCtx.Err() != nil && res != nil && res.IsSuccess() {
		// The 200 crossed our CANCEL: the dialog exists, so ACK and BYE it.
		l.ackAndBye()
		l.setResult(func(r *dialer.LegResult) {
			r.Disposition = dialer.NoAnswer
			r.SIPCode, r.SIPReason = res.StatusCode, res.Reason
			r.Detail = "answered after we cancelled; ACK and BYE sent"
			r.HangupBy = "us"
		})
		return
	}
	var dr *sipgo.ErrDialogResponse
	var drv sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &dr) && dr.Res != nil:
		l.classify(dr.Res)
	case errors.As(err, &drv) && drv.Res != nil:
		l.classify(drv.Res)
	case ringCtx.Err() != nil:
		l.setResult(func(r *dialer.LegResult) {
			r.Disposition = dialer.NoAnswer
			r.SIPCode = 487
			r.SIPReason = "Request Terminated"
			if cancelledByUs {
				r.Detail = "cancelled before answer"
				r.HangupBy = "us"
			} else {
				r.Detail = fmt.Sprintf("ring timeout after %s", l.ringTimeout())
			}
		})
	default:
		l.setResult(func(r *dialer.LegResult) {
			r.Disposition = dialer.Failed
			r.Detail = "invite: " + err.Error()
		})
	}
}

func (l *leg) ringTimeout() time.Duration {
	if l.req.RingTimeout > 0 {
		return l.req.RingTimeout
	}
	return l.d.opts.DefaultRingTimeout
}

func (l *leg) classify(res *sip.Response) {
	hdr := func(name string) string {
		if h := res.GetHeader(name); h != nil {
			return h.Value()
		}
		return ""
	}
	f := Classify(res.StatusCode, res.Reason, hdr("Reason"), hdr("Retry-After"))
	if res.StatusCode == 401 || res.StatusCode == 407 {
		f.Detail += "; authentication failed"
	}
	l.setResult(func(r *dialer.LegResult) {
		r.Disposition = f.Disposition
		r.SIPCode, r.SIPReason = res.StatusCode, res.Reason
		r.Q850Cause = f.Q850Cause
		r.RetryAfter = f.RetryAfter
		r.Detail = f.Detail
	})
}

// answered runs an established call until either side hangs up or the
// maximum duration passes, then tears it down: BYE first, media after.
func (l *leg) answered() {
	res := l.sess.InviteResponse
	l.setResult(func(r *dialer.LegResult) {
		r.Answered = true
		r.SIPCode, r.SIPReason = res.StatusCode, res.Reason
		r.Timings.Answered = l.d.now()
	})
	sdpErr := l.applyRemoteSDP(res.Body())
	ackCtx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	err := l.sess.Ack(ackCtx)
	cancel()
	if err != nil {
		l.log.Warn("ACK failed", "error", err)
	}
	if sdpErr != nil {
		l.bye()
		l.setResult(func(r *dialer.LegResult) {
			r.Answered = false
			r.Disposition = dialer.Failed
			r.Detail = "answer without usable SDP: " + sdpErr.Error()
			r.HangupBy = "us"
		})
		return
	}
	// The first packet goes out before anyone hears of the answer: a Play
	// started on the event would otherwise hold the sender and the far
	// end's symmetric-RTP latch would wait for our first audio frame.
	l.media.keepalive()
	l.emit(dialer.EventAnswered)
	maxDur := time.NewTimer(l.tr.maxCallDuration())
	defer maxDur.Stop()
	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	by, detail := "us", ""
	for over := false; !over; {
		over = true
		select {
		case <-keepalive.C:
			l.media.idleKeepalive(keepaliveEvery)
			over = false
		case <-l.farBye:
			by, detail = "far_end", "far end hung up"
		case <-l.sess.Context().Done():
			by, detail = "far_end", "dialog ended"
		case <-l.hangupReq:
			detail = "hung up by us"
		case <-l.d.stopCh:
			detail = "driver stopping"
		case <-maxDur.C:
			detail = fmt.Sprintf("maximum call duration %s reached", l.tr.maxCallDuration())
		}
	}
	if by == "us" {
		l.bye()
	}
	l.setResult(func(r *dialer.LegResult) {
		r.HangupBy = by
		r.Detail = detail
	})
}

func (l *leg) bye() {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := l.sess.Bye(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		l.log.Debug("BYE", "error", err)
	}
}

func (l *leg) ackAndBye() {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := l.sess.Ack(ctx); err != nil {
		l.log.Debug("ACK after cancel", "error", err)
	}
	l.bye()
}

func (l *leg) setResult(f func(*dialer.LegResult)) {
	l.mu.Lock()
	f(&l.result)
	l.mu.Unlock()
}

// finish ends signalling, tears media down and emits the last event.
func (l *leg) finish() {
	close(l.over)
	l.media.close()
	_ = l.sess.Close()
	l.setResult(func(r *dialer.LegResult) { r.Timings.Hangup = l.d.now() })
	l.emit(dialer.EventHangup)
	l.log.Debug("leg over", "code", l.Result().SIPCode, "disposition", l.Result().Disposition)
}
