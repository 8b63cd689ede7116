package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	csip "github.com/cadenza-dialer/cadenza/sip"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Speech detection on the caller's audio: a 20 ms frame is voiced above
// this RMS (about -36 dBFS); two voiced frames in a row start speech.
const (
	voicedRMS        = 500
	voicedRun        = 2
	messageSilenceTO = 5 * time.Second // a voicemail box hangs up after this much silence following a message
	byeTimeout       = 5 * time.Second
)

// call is one inbound INVITE and its script.
type call struct {
	s        *Simulator
	req      *sip.Request
	tx       sip.ServerTransaction
	dlg      *sipgo.DialogServerSession
	b        Behavior
	rec      CallRecord
	rtp      *csip.RTPSession
	localSDP []byte

	byeFromCaller atomic.Bool
	echo          atomic.Bool // send every received chunk back

	mu          sync.Mutex // caller-audio analysis, written by the RTP goroutine
	run         int
	runStart    time.Time
	firstVoiced time.Time
	lastVoiced  time.Time
	voiced      int // samples in voiced chunks
}

func (s *Simulator) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if csip.RejectInvalid(req, tx) {
		return
	}
	callID := req.CallID().Value()
	if _, ok := req.To().Params.Get("tag"); ok {
		// re-INVITE: keep the session as it is.
		c := s.liveCall(callID)
		if c == nil || c.localSDP == nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		_ = tx.Respond(sip.NewSDPResponseFromRequest(req, c.localSDP))
		return
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, 503, "Shutting Down", nil))
		return
	}
	s.callWG.Add(1)
	s.mu.Unlock()
	defer s.callWG.Done()

	number := req.Recipient.User
	b := s.behavior(number)
	c := &call{s: s, req: req, tx: tx, b: b, rec: CallRecord{
		CallID: callID, To: number, From: req.From().Address.User, Behavior: b.Kind,
		Transport: req.Transport(), Invited: s.opts.Now(),
	}}
	if h := req.GetHeader("X-Cadenza-Attempt"); h != nil {
		c.rec.Attempt = h.Value()
	}
	if b.Kind == Auth || b.Kind == ProxyAuth {
		code, reason, chalHdr, credHdr := 401, "Unauthorized", "WWW-Authenticate", "Authorization"
		if b.Kind == ProxyAuth {
			code, reason, chalHdr, credHdr = 407, "Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization"
		}
		if !s.checkAuth(req, credHdr) {
			res := sip.NewResponseFromRequest(req, code, reason, nil)
			chal := digest.Challenge{Realm: s.opts.AuthRealm, Nonce: s.nonce(callID), Algorithm: "MD5"}
			res.AppendHeader(sip.NewHeader(chalHdr, chal.String()))
			_ = tx.Respond(res)
			return // the challenge is not a call; the retried INVITE is logged
		}
		c.rec.Authenticated = true
	}
	dlg, err := s.dialogUA.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request ("+err.Error()+")", nil))
		return
	}
	c.dlg = dlg
	s.mu.Lock()
	s.live[callID] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.live, callID)
		s.mu.Unlock()
		_ = dlg.Close()
	}()
	c.script()
	if c.rtp != nil {
		c.rtp.Close()
		st := c.rtp.Stats()
		c.rec.PacketsIn, c.rec.PacketsOut = st.Received, st.Sent
		c.rec.RTPLost, c.rec.RTPLate = st.Lost, st.Late
		c.mu.Lock()
		c.rec.CallerVoicedMS = int64(c.voiced) * 1000 / 8000
		c.mu.Unlock()
	}
	if c.rec.Hangup.IsZero() {
		c.rec.Hangup = s.opts.Now()
	}
	s.calls.add(c.rec)
}

func (s *Simulator) checkAuth(req *sip.Request, header string) bool {
	h := req.GetHeader(header)
	if h == nil {
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Username != s.opts.AuthUser || cred.Nonce != s.nonce(req.CallID().Value()) {
		return false
	}
	chal := &digest.Challenge{Realm: s.opts.AuthRealm, Nonce: cred.Nonce, Algorithm: "MD5"}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{
		Method: "INVITE", URI: cred.URI, Username: s.opts.AuthUser, Password: s.opts.AuthPassword,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	return err == nil && want.Response == cred.Response
}

// script runs the behaviour; every path sets FinalCode.
func (c *call) script() {
	_ = c.dlg.Respond(100, "Trying", nil)
	switch c.b.Kind {
	case Invalid:
		c.final(404, "Not Found")
	case Busy:
		if c.ring(c.b.Ring) {
			c.final(486, "Busy Here")
		}
	case Reject:
		if c.ring(c.b.Ring) {
			c.final(603, "Decline")
		}
	case Unavailable:
		c.final(503, "Service Unavailable", sip.NewHeader("Retry-After", strconv.Itoa(int(c.b.RetryAfter/time.Second))))
	case CPSLimit:
		c.final(503, "CPS limit exceeded")
	case NoAnswer:
		if c.ring(c.s.opts.NoAnswerTimeout) {
			c.final(480, "Temporarily Unavailable")
		}
	case InvalidSIT:
		if c.earlyMedia(c.s.clips.sitTones()) {
			c.final(404, "Not Found")
		}
	case EarlyMedia:
		ringback := tone(440, 16000, 0.2) // 2 s of ring-back tone as early media
		if c.earlyMedia(ringback) && c.answer() {
			c.human()
		}
	case Voicemail:
		if c.ring(c.b.Ring) && c.answer() {
			c.voicemail()
		}
	case Agent:
		if c.ring(c.b.Ring) && c.answer() {
			c.agent()
		}
	case Echo:
		if c.ring(c.b.Ring) && c.answer() {
			c.echo.Store(true)
			c.wait(c.b.HangupAfter)
			c.echo.Store(false)
			c.hangup()
		}
	default: // Human, Auth, ProxyAuth, HumanHangup
		if c.ring(c.b.Ring) && c.answer() {
			c.human()
		}
	}
}

// ring sends 180 and waits d; false if the caller cancelled (sipgo has
// then answered 487) or the simulator is stopping.
func (c *call) ring(d time.Duration) bool {
	_ = c.dlg.Respond(180, "Ringing", nil)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.dlg.Context().Done():
		c.cancelled()
		return false
	case <-c.s.stopCh:
		c.final(503, "Shutting Down")
		return false
	}
}

func (c *call) cancelled() {
	c.rec.FinalCode = 487
	c.rec.Cancelled = true
	c.rec.HangupBy = "caller"
	c.rec.Hangup = c.s.opts.Now()
}

func (c *call) final(code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(c.dlg.InviteRequest, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if c.dlg.Context().Err() != nil {
		c.cancelled()
		return
	}
	// Straight to the transaction: it absorbs the ACK itself, so the call
	// does not wait up to 32 s for an ACK that a broken peer never sends.
	if err := c.tx.Respond(res); err != nil {
		c.s.log.Debug("final response", "code", code, "error", err)
	}
	c.rec.FinalCode = code
	c.rec.HangupBy = "sim"
	c.rec.Hangup = c.s.opts.Now()
}

// startMedia answers the caller's SDP with one codec and opens RTP.
func (c *call) startMedia() bool {
	if c.rtp != nil {
		return true
	}
	md, err := csip.ParseSDP(c.req.Body())
	if err != nil {
		c.final(488, "Not Acceptable Here")
		return false
	}
	var pt uint8
	ok := false
	for _, p := range md.Payloads {
		if p == csip.PayloadPCMU || p == csip.PayloadPCMA {
			pt, ok = p, true
			break
		}
	}
	if !ok {
		c.final(488, "Not Acceptable Here")
		return false
	}
	conn, err := c.s.ports.Listen(c.s.ip)
	if err != nil {
		c.final(503, "No Media Ports")
		return false
	}
	c.rtp = csip.NewRTPSession(conn, c.onAudio)
	c.rtp.SetRemote(md.Addr, pt)
	c.localSDP = csip.BuildSDP(c.s.ip, c.rtp.LocalPort(), rand.Uint64()>>1, []uint8{pt}, md.TelephoneEvent >= 0)
	return true
}

// contact is our Contact for this call: the listener the INVITE came in
// on, so the caller's ACK and BYE use the same transport.
func (c *call) contact() *sip.ContactHeader {
	h := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "sim", Host: c.s.ip.String()}}
	addr := c.s.Addr()
	tp := strings.ToLower(c.req.Transport())
	if tp == "tls" {
		addr = c.s.TLSAddr()
	}
	if _, port, err := net.SplitHostPort(addr); err == nil {
		h.Address.Port, _ = strconv.Atoi(port)
	}
	if tp != "udp" {
		h.Address.UriParams = sip.NewParams()
		h.Address.UriParams.Add("transport", tp)
	}
	return h
}

// earlyMedia sends 183 with SDP and plays pcm; false if cancelled.
func (c *call) earlyMedia(pcm []int16) bool {
	if !c.startMedia() {
		return false
	}
	res := sip.NewSDPResponseFromRequest(c.dlg.InviteRequest, c.localSDP)
	res.StatusCode, res.Reason = 183, "Session Progress"
	res.AppendHeader(c.contact())
	if err := c.dlg.WriteResponse(res); err != nil {
		c.cancelled()
		return false
	}
	_, _ = c.rtp.Play(c.dlg.Context(), c.s.stopCh, pcm)
	if c.dlg.Context().Err() != nil {
		c.cancelled()
		return false
	}
	return true
}

// answer sends 200 with SDP and waits for the ACK.
func (c *call) answer() bool {
	if !c.startMedia() {
		return false
	}
	ok := sip.NewSDPResponseFromRequest(c.dlg.InviteRequest, c.localSDP)
	ok.AppendHeader(c.contact())
	if err := c.dlg.WriteResponse(ok); err != nil {
		// A BYE handled before the ACK (both arrive together, handlers run
		// concurrently) ends the dialog while we wait for the ACK: the
		// call was answered all the same.
		if c.dlg.Context().Err() != nil && !c.byeFromCaller.Load() {
			c.cancelled()
			return false
		}
		c.s.log.Debug("answer", "error", err)
	}
	c.rec.FinalCode = 200
	c.rec.Answered = c.s.opts.Now()
	return true
}

// onAudio runs on the RTP goroutine for every decoded chunk of the
// caller's audio and tracks when speech started and last happened.
func (c *call) onAudio(pcm []int16) {
	if len(pcm) == 0 {
		return
	}
	if c.echo.Load() {
		_ = c.rtp.Write(pcm)
		return
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	voiced := math.Sqrt(sum/float64(len(pcm))) > voicedRMS
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !voiced {
		c.run = 0
		return
	}
	c.voiced += len(pcm)
	if c.run == 0 {
		c.runStart = now
	}
	c.run++
	if c.run >= voicedRun {
		if c.firstVoiced.IsZero() {
			c.firstVoiced = c.runStart
		}
		c.lastVoiced = now
	}
}

func (c *call) speech() (first, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstVoiced, c.lastVoiced
}

// wait blocks for d or until the call ends; it reports whether d passed.
func (c *call) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.dlg.Context().Done():
		return false
	case <-c.s.stopCh:
		return false
	}
}

// human says hello (again, up to three times, while the caller is
// silent), then stays on the line until BYE or HangupAfter.
func (c *call) human() {
	h := fnv.New32a()
	h.Write([]byte(c.rec.To))
	pick := int(h.Sum32())
	deadline := time.Now().Add(c.b.HangupAfter)
	ctx := c.dlg.Context()
	for i := range 3 {
		c.rec.Hellos++
		if _, err := c.rtp.Play(ctx, c.s.stopCh, c.s.clips.hellos[(pick+i)%len(c.s.clips.hellos)]); err != nil {
			break
		}
		if c.b.Kind == HumanHangup {
			c.wait(time.Second)
			break
		}
		if !c.wait(c.s.opts.HelloRepeat) {
			break
		}
		if first, _ := c.speech(); !first.IsZero() {
			break
		}
	}
	if c.b.Kind != HumanHangup {
		c.wait(time.Until(deadline))
	}
	first, _ := c.speech()
	c.rec.CallerSpoke = !first.IsZero()
	c.hangup()
}

// voicemail plays the greeting and the beep, then records until the
// caller hangs up, a silence follows the message, or HangupAfter.
func (c *call) voicemail() {
	ctx := c.dlg.Context()
	greeting := c.s.clips.greetingFor(int(c.b.Greeting * 8000 / time.Second))
	if _, err := c.rtp.Play(ctx, c.s.stopCh, greeting); err != nil {
		c.finishVoicemail(time.Time{})
		return
	}
	c.rec.BeepStart = c.s.opts.Now()
	beep := tone(c.b.BeepHz, int(c.b.BeepLength*8000/time.Second), 0.5)
	if _, err := c.rtp.Play(ctx, c.s.stopCh, beep); err != nil {
		c.finishVoicemail(time.Time{})
		return
	}
	beepEnd := time.Now()
	c.rec.BeepEnd = c.s.opts.Now()
	deadline := beepEnd.Add(c.b.HangupAfter)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-c.s.stopCh:
			break loop
		case now := <-tick.C:
			first, last := c.speech()
			if now.After(deadline) || (!first.IsZero() && now.Sub(last) > messageSilenceTO) {
				break loop
			}
		}
	}
	c.finishVoicemail(beepEnd)
}

func (c *call) finishVoicemail(beepEnd time.Time) {
	first, last := c.speech()
	if !first.IsZero() && !beepEnd.IsZero() {
		ms := first.Sub(beepEnd).Milliseconds()
		c.rec.MessageStartMS = &ms
		c.rec.MessageMS = last.Sub(first).Milliseconds() + 20
		c.rec.Clipped = first.Before(beepEnd)
	} else if !first.IsZero() {
		c.rec.Clipped = true // the caller spoke while the greeting or beep played
	}
	c.hangup()
}

// hangup ends an answered call: BYE from us unless the caller sent one.
func (c *call) hangup() {
	if c.dlg.Context().Err() != nil {
		c.rec.HangupBy = "caller"
		c.rec.Hangup = c.s.opts.Now()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := c.dlg.Bye(ctx); err != nil {
		c.s.log.Debug("bye", "call_id", c.rec.CallID, "error", fmt.Sprint(err))
	}
	if c.byeFromCaller.Load() {
		c.rec.HangupBy = "caller"
	} else {
		c.rec.HangupBy = "sim"
	}
	c.rec.Hangup = c.s.opts.Now()
}
