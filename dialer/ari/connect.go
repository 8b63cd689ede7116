package ari

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// Connecting a human to an agent (issue 8, "Connect").
//
// Every answered call already sits in a mixing bridge, br-<leg id>, with
// its externalMedia channel (AMD listens there, messages are played
// there). Connect originates the agent's endpoint into our Stasis app as
// channel ag-<leg id>, and when the agent answers (StasisStart) adds that
// channel to the same bridge: Asterisk mixes customer and agent, and no
// audio passes through our process.
//
// The externalMedia channel is then taken out of the bridge (not hung up:
// losing it would end the call, see handleEvent). After a connect we have
// nothing left to detect or play, and keeping it would stream the whole
// conversation to us and mix whatever our media port sends into both
// parties' audio. Its removal is best effort: if it fails the call still
// works, we just keep receiving its audio until the end.
//
// Hangups follow the bridge: the agent's ChannelDestroyed hangs the
// customer up, and the customer's end (finish) hangs the agent up.

// agentPrefix names an agent channel after its customer's leg.
const agentPrefix = "ag-"

// DefaultConnectTimeout bounds the agent's ringing when the caller's
// context has no deadline (the dialer always gives one: the legal 2 s).
const DefaultConnectTimeout = 2 * time.Second

var _ dialer.Connector = (*Driver)(nil)

// agentLeg is the agent's channel of one connect. Its fields are guarded by
// the customer leg's mu; up and gone are closed once each.
type agentLeg struct {
	id        string
	up        chan struct{} // the agent answered (StasisStart)
	gone      chan struct{} // the agent's channel was destroyed
	answered  bool
	destroyed bool
	cause     int
	causeTxt  string
	// bridged is set once the agent is in the customer's bridge: from then
	// on the agent hanging up hangs the customer up.
	bridged bool
}

// ParseAgentDestination turns a connect destination into an Asterisk dial
// string. Accepted forms:
//
//   - an Asterisk dial string "Tech/resource", e.g. "PJSIP/agent-1",
//     "PJSIP/agent-1@pbx" or "PJSIP/pbx/sip:1001@10.0.0.5", used as is;
//   - a sip: or sips: URI, e.g. "sip:1001@10.0.0.5:5060", dialed through
//     the PJSIP endpoint agentEndpoint as "PJSIP/<agentEndpoint>/<uri>"
//     (PJSIP needs an endpoint for its transport and codecs); without an
//     agentEndpoint a URI is refused.
func ParseAgentDestination(dest, agentEndpoint string) (string, error) {
	dest = strings.TrimSpace(dest)
	if dest == "" {
		return "", errors.New("empty: want PJSIP/<endpoint> or a sip: URI")
	}
	if strings.ContainsAny(dest, " \t\r\n,&") {
		// "," and "&" separate several dial strings in Asterisk: one agent only.
		return "", fmt.Errorf("%q: spaces, ',' and '&' are not allowed", dest)
	}
	lower := strings.ToLower(dest)
	if strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") {
		_, rest, _ := strings.Cut(dest, ":")
		user, host, ok := strings.Cut(rest, "@")
		if !ok || user == "" || host == "" || strings.HasPrefix(host, ":") {
			return "", fmt.Errorf("%q: want sip:user@host", dest)
		}
		if agentEndpoint == "" {
			return "", fmt.Errorf("%q: a sip: URI needs the ari agent_endpoint option (or give PJSIP/<endpoint>)", dest)
		}
		return "PJSIP/" + agentEndpoint + "/" + dest, nil
	}
	tech, resource, ok := strings.Cut(dest, "/")
	if !ok || tech == "" || resource == "" || strings.HasPrefix(resource, "/") {
		return "", fmt.Errorf("%q: want Tech/resource like PJSIP/agent-1, or a sip: URI", dest)
	}
	for _, r := range tech {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return "", fmt.Errorf("%q: technology %q is not a channel driver name", dest, tech)
		}
	}
	return dest, nil
}

// Connect implements dialer.Connector: it bridges an answered leg of this
// driver to c.OnHuman.Destination (see ParseAgentDestination) and returns
// once the agent has answered and joined the customer's bridge. If ctx ends
// first (the dialer's 2 s deadline), or the agent's call fails, the agent's
// channel is hung up and an error returned; the agent never joins after
// that. The bridge outlives ctx: it lasts until either side hangs up.
func (d *Driver) Connect(ctx context.Context, dl dialer.Leg, c dialer.Call) error {
	err := d.connect(ctx, dl, c)
	result := "connected"
	if err != nil {
		result = "failed"
	}
	d.metrics.connects.WithLabelValues(result).Inc()
	return err
}

func (d *Driver) connect(ctx context.Context, dl dialer.Leg, c dialer.Call) error {
	l, ok := dl.(*leg)
	if !ok || l.d != d {
		return errors.New("ari connect: the leg was not placed by this driver")
	}
	endpoint, err := ParseAgentDestination(c.OnHuman.Destination, d.opts.AgentEndpoint)
	if err != nil {
		return fmt.Errorf("ari connect: on_human.destination: %w", err)
	}
	if _, hasDeadline := ctx.Deadline(); !hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultConnectTimeout)
		defer cancel()
	}

	l.mu.Lock()
	ready, finished, connecting := l.answerReady, l.finished, l.connecting
	l.mu.Unlock()
	switch {
	case finished:
		return errors.New("ari connect: the call is over")
	case ready == nil:
		return errors.New("ari connect: the call is not answered")
	case connecting:
		return errors.New("ari connect: the call is already being connected")
	}
	// The bridge is made while the answer is reported; the dialer connects
	// only after that, so this wait is normally nil.
	select {
	case <-ready:
	case <-l.done:
		return errors.New("ari connect: the call is over")
	case <-ctx.Done():
		return fmt.Errorf("ari connect: waiting for the call's bridge: %w", ctx.Err())
	}

	a := &agentLeg{id: agentPrefix + l.id, up: make(chan struct{}), gone: make(chan struct{})}
	l.mu.Lock()
	if l.finished || l.connecting || l.bridgeID == "" {
		finished, bridge := l.finished, l.bridgeID
		l.mu.Unlock()
		switch {
		case finished:
			return errors.New("ari connect: the call is over")
		case bridge == "":
			return errors.New("ari connect: the call has no bridge (media setup failed)")
		}
		return errors.New("ari connect: the call is already being connected")
	}
	l.connecting = true
	l.agent = a // registered before the originate: its events must find it
	bridge := l.bridgeID
	l.mu.Unlock()

	timeout := DefaultConnectTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
	}
	_, err = d.ast.Originate(ctx, ariv5.OriginateRequest{
		Endpoint:  endpoint,
		App:       d.opts.App,
		AppArgs:   "agent",
		CallerID:  c.To, // the agent sees whom they are about to talk to
		Timeout:   max(1, int(math.Ceil(timeout.Seconds()))),
		ChannelID: a.id,
		Formats:   "ulaw",
	}, map[string]string{"CADENZA_CALL_ID": c.ID, "CADENZA_CUSTOMER_CHANNEL": l.id})
	if err != nil {
		// The request may have reached Asterisk: make sure no agent rings on.
		d.hangupAgent(a.id)
		return fmt.Errorf("ari connect: originate %s: %w", endpoint, err)
	}

	select {
	case <-a.up:
	case <-a.gone:
		l.mu.Lock()
		cause, txt := a.cause, a.causeTxt
		l.mu.Unlock()
		return fmt.Errorf("ari connect: agent %s did not answer: cause %d (%s)", endpoint, cause, txt)
	case <-l.done:
		d.hangupAgent(a.id)
		return errors.New("ari connect: the customer hung up before the agent answered")
	case <-ctx.Done():
		d.hangupAgent(a.id)
		return fmt.Errorf("ari connect: agent %s did not answer in time: %w", endpoint, ctx.Err())
	}

	if err := d.ast.AddToBridge(ctx, bridge, a.id); err != nil {
		d.hangupAgent(a.id)
		return fmt.Errorf("ari connect: add agent to bridge %s: %w", bridge, err)
	}
	l.mu.Lock()
	a.bridged = true
	agentGone, customerGone := a.destroyed, l.finished
	l.mu.Unlock()
	switch {
	case agentGone:
		return errors.New("ari connect: the agent hung up while joining")
	case customerGone: // finish saw the agent and hangs it up
		return errors.New("ari connect: the customer hung up while the agent joined")
	}

	// Best effort and off the 2 s clock: customer and agent already talk.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.RequestTimeout)
	defer cancel()
	if err := d.ast.RemoveFromBridge(rctx, bridge, "em-"+l.id); err != nil && !isNotFound(err) {
		d.logger.Warn("ari connect: could not take external media out of the bridge", "channel", l.id, "err", err)
	}
	return nil
}

// hangupAgent hangs the agent's channel up, on its own short deadline so a
// caller's expired context never leaves an agent ringing.
func (d *Driver) hangupAgent(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.RequestTimeout)
	defer cancel()
	if err := d.ast.Hangup(ctx, id, "normal"); err != nil && !isNotFound(err) {
		d.logger.Warn("ari connect: agent hangup failed", "channel", id, "err", err)
	}
}

// agentEvent handles the events of the leg's agent channel (events
// goroutine; never blocks).
func (l *leg) agentEvent(ev event) {
	l.mu.Lock()
	a := l.agent
	if a == nil || a.id != ev.Channel.ID {
		l.mu.Unlock()
		return
	}
	switch ev.Type {
	case "StasisStart":
		if !a.answered && !a.destroyed {
			a.answered = true
			close(a.up)
		}
		l.mu.Unlock()
	case "ChannelDestroyed":
		if a.destroyed {
			l.mu.Unlock()
			return
		}
		a.destroyed = true
		a.cause, a.causeTxt = ev.Cause, ev.CauseTxt
		close(a.gone)
		bridged := a.bridged
		l.mu.Unlock()
		if bridged && !l.isDone() {
			// The agent ended the conversation: end the customer's call.
			go func() { _ = l.Hangup(context.Background()) }()
		}
	default:
		l.mu.Unlock()
	}
}
