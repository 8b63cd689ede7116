package ari

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// leg is one call through ARI. Its state changes come from the events
// goroutine (ringing, answered, destroyed) and from the dialer (Hangup,
// Play); mu guards them.
type leg struct {
	d        *Driver
	id       string
	trunk    string
	onAudio  func([]int16)
	ringWait time.Duration

	events chan dialer.Event
	done   chan struct{}
	// evMu orders sends on events with its close: media setup may report an
	// answer at the very moment the far end hangs up.
	evMu     sync.Mutex
	evClosed bool

	mu          sync.Mutex
	result      dialer.LegResult
	rang        bool
	answered    bool
	hungUpByUs  bool
	finished    bool
	media       *mediaPort
	bridgeID    string
	ringTimer   *time.Timer
	answerReady chan struct{} // closed when media is up (or failed)
	// connecting is set once Connect has begun; agent is the agent leg it
	// placed (nil before). See connect.go.
	connecting bool
	agent      *agentLeg
}

var _ dialer.Leg = (*leg)(nil)

func (l *leg) Events() <-chan dialer.Event { return l.events }
func (l *leg) Done() <-chan struct{}       { return l.done }

func (l *leg) Result() dialer.LegResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.result
}

func (l *leg) isDone() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *leg) wasAnswered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered
}

// emit sends a progress event; the buffer holds every event a leg can
// produce, so this never blocks the events goroutine.
func (l *leg) emit(t dialer.EventType) {
	l.evMu.Lock()
	defer l.evMu.Unlock()
	if l.evClosed {
		return
	}
	select {
	case l.events <- dialer.Event{Type: t, At: l.d.now()}:
	default:
		l.d.logger.Warn("ari: event buffer full; dropped", "event", t.String())
	}
}

func (l *leg) ringing() {
	l.mu.Lock()
	if l.rang || l.answered || l.finished {
		l.mu.Unlock()
		return
	}
	l.rang = true
	l.result.Timings.FirstRing = l.d.now()
	l.mu.Unlock()
	l.emit(dialer.EventRinging)
}

// answeredInStasis runs when the callee answered and the channel entered our
// app: set up external media and the bridge, then report the answer.
func (l *leg) answeredInStasis() {
	l.mu.Lock()
	if l.answered || l.finished {
		l.mu.Unlock()
		return
	}
	l.answered = true
	l.result.Answered = true
	l.result.SIPCode = 200
	l.result.Timings.Answered = l.d.now()
	if l.ringTimer != nil {
		l.ringTimer.Stop()
	}
	l.answerReady = make(chan struct{})
	l.mu.Unlock()
	go l.setupMedia()
}

func (l *leg) setupMedia() {
	defer close(l.answerReady)
	ctx, cancel := context.WithTimeout(context.Background(), 3*l.d.opts.RequestTimeout)
	defer cancel()
	if err := l.connectMedia(ctx); err != nil {
		l.d.logger.Warn("ari: media setup failed; hanging up", "channel", l.id, "err", err)
		l.mu.Lock()
		l.result.Detail = "media setup failed: " + err.Error()
		l.mu.Unlock()
		_ = l.Hangup(ctx)
		return
	}
	l.emit(dialer.EventAnswered)
}

func (l *leg) connectMedia(ctx context.Context) error {
	o := l.d.opts
	mp, err := listenMedia(o.MediaHost, o.RTPPortMin, o.RTPPortMax, l.onAudio, l.d.metrics)
	if err != nil {
		return err
	}
	l.mu.Lock()
	if l.finished {
		l.mu.Unlock()
		mp.Close()
		return errCallEnded
	}
	l.media = mp
	l.bridgeID = "br-" + l.id
	l.mu.Unlock()

	em, err := l.d.ast.ExternalMedia(ctx, ariv5.ExternalMediaOptions{
		ChannelID:     "em-" + l.id,
		App:           o.App,
		ExternalHost:  mp.Addr().String(),
		Encapsulation: "rtp",
		Transport:     "udp",
		Format:        "ulaw",
		Direction:     "both",
	})
	if err != nil {
		return fmt.Errorf("externalMedia: %w", err)
	}
	addr, port := em.ChannelVars["UNICASTRTP_LOCAL_ADDRESS"], em.ChannelVars["UNICASTRTP_LOCAL_PORT"]
	if addr == "" || port == "" { // older Asterisk: ask for the variables
		if addr, err = l.d.ast.Variable(ctx, em.ID, "UNICASTRTP_LOCAL_ADDRESS"); err != nil {
			return fmt.Errorf("read UNICASTRTP_LOCAL_ADDRESS: %w", err)
		}
		if port, err = l.d.ast.Variable(ctx, em.ID, "UNICASTRTP_LOCAL_PORT"); err != nil {
			return fmt.Errorf("read UNICASTRTP_LOCAL_PORT: %w", err)
		}
	}
	remote, err := hostPort(addr, port)
	if err != nil {
		return err
	}
	if remote.IP.IsUnspecified() { // Asterisk bound 0.0.0.0: reach it where ARI is
		remote.IP = net.ParseIP(o.MediaHost)
	}
	mp.SetRemote(remote)
	if err := l.d.ast.CreateBridge(ctx, l.bridgeID, "mixing"); err != nil {
		return fmt.Errorf("create bridge: %w", err)
	}
	if err := l.d.ast.AddToBridge(ctx, l.bridgeID, l.id, em.ID); err != nil {
		return fmt.Errorf("bridge call and media: %w", err)
	}
	return nil
}

// Play sends audio to the callee over the external media stream.
func (l *leg) Play(ctx context.Context, samples []int16) (time.Duration, error) {
	l.mu.Lock()
	ready := l.answerReady
	l.mu.Unlock()
	if ready == nil {
		return 0, errors.New("ari: call not answered")
	}
	select {
	case <-ready:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-l.done:
		return 0, errCallEnded
	}
	l.mu.Lock()
	mp := l.media
	l.mu.Unlock()
	if mp == nil || l.isDone() {
		return 0, errCallEnded
	}
	return mp.Play(ctx, samples)
}

// Hangup asks Asterisk to hang up; ChannelDestroyed then finishes the leg.
// If Asterisk cannot be reached, the leg is finished here, as unknown.
func (l *leg) Hangup(ctx context.Context) error {
	l.mu.Lock()
	if l.finished {
		l.mu.Unlock()
		return nil
	}
	l.hungUpByUs = true
	l.mu.Unlock()
	// Teardown must not die with the caller's context.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.d.opts.RequestTimeout)
	defer cancel()
	err := l.d.ast.Hangup(hctx, l.id, "normal")
	switch {
	case err == nil:
	case isNotFound(err):
		// Already gone: the destroyed event is on its way or was missed.
		go l.finishAfter(2*time.Second, dialer.LegResult{Disposition: dialer.Unknown, Detail: "channel already gone at hangup"})
		return nil
	default:
		l.finish(dialer.LegResult{Disposition: dialer.Unknown, Detail: "hangup failed: " + err.Error()})
		return fmt.Errorf("ari hangup: %w", err)
	}
	go l.finishAfter(5*time.Second, dialer.LegResult{Disposition: dialer.Unknown, Detail: "no ChannelDestroyed after hangup"})
	return nil
}

// finishAfter is the backstop for a ChannelDestroyed that never comes.
func (l *leg) finishAfter(d time.Duration, r dialer.LegResult) {
	select {
	case <-l.done:
	case <-time.After(d):
		l.finish(r)
	}
}

// ringTimedOut fires if Asterisk never ended an unanswered call.
func (l *leg) ringTimedOut() {
	if l.wasAnswered() {
		return
	}
	_ = l.Hangup(context.Background())
	l.mu.Lock()
	if !l.finished {
		l.result.Disposition = dialer.NoAnswer
		l.result.Detail = fmt.Sprintf("ring timeout after %s", l.ringWait)
	}
	l.mu.Unlock()
}

// destroyed handles ChannelDestroyed for the call channel.
func (l *leg) destroyed(cause int, causeTxt string) {
	l.mu.Lock()
	answered, byUs := l.answered, l.hungUpByUs
	l.mu.Unlock()
	r := dialer.LegResult{Q850Cause: cause}
	if answered {
		r.HangupBy = "far_end"
		if byUs {
			r.HangupBy = "us"
		}
		r.Detail = fmt.Sprintf("hangup cause %d (%s)", cause, causeTxt)
	} else {
		r.Disposition, r.Detail = classifyCause(cause, causeTxt)
	}
	l.finish(r)
}

// finish makes the result final, tears down media and the bridge, and
// closes the leg. Only the first call counts.
func (l *leg) finish(r dialer.LegResult) {
	l.mu.Lock()
	if l.finished {
		l.mu.Unlock()
		return
	}
	l.finished = true
	if l.ringTimer != nil {
		l.ringTimer.Stop()
	}
	res := l.result
	res.Answered = l.answered
	if r.Disposition != "" && (!l.answered || r.Disposition == dialer.Unknown) {
		// An answered leg's disposition is AMD's to decide, unless the leg
		// was lost: then nobody knows what the far end heard.
		res.Disposition = r.Disposition
		res.Detail = r.Detail
	}
	if res.Disposition == "" && !l.answered {
		res.Disposition = dialer.Failed
	}
	if r.Q850Cause != 0 {
		res.Q850Cause = r.Q850Cause
	}
	if r.HangupBy != "" {
		res.HangupBy = r.HangupBy
	} else if l.answered {
		res.HangupBy = "us"
		if !l.hungUpByUs {
			res.HangupBy = "far_end"
		}
	}
	if res.Detail == "" || (r.Detail != "" && !l.answered && res.Disposition == r.Disposition) {
		res.Detail = r.Detail
	}
	res.Timings.Hangup = l.d.now()
	l.result = res
	mp, bridge, agent := l.media, l.bridgeID, l.agent
	l.mu.Unlock()

	l.d.forget(l)
	l.d.metrics.active.WithLabelValues(l.trunk).Dec()
	result := string(res.Disposition)
	if res.Answered {
		result = "answered"
	}
	l.d.metrics.ended.WithLabelValues(l.trunk, result).Inc()

	if mp != nil {
		mp.Close()
	}
	// Bridge and media channel go in the background: teardown never blocks
	// the events goroutine and never runs under a cancelled context.
	if bridge != "" || agent != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), l.d.opts.RequestTimeout)
			defer cancel()
			if agent != nil { // the customer is gone: so is the agent's call
				_ = l.d.ast.Hangup(ctx, agent.id, "normal")
			}
			if bridge == "" {
				return
			}
			_ = l.d.ast.Hangup(ctx, "em-"+l.id, "normal")
			_ = l.d.ast.DestroyBridge(ctx, bridge)
		}()
	}
	l.emit(dialer.EventHangup)
	l.evMu.Lock()
	l.evClosed = true
	close(l.events)
	l.evMu.Unlock()
	close(l.done)
}
