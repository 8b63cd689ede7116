package sim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	csip "github.com/cadenza-dialer/cadenza/sip"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Options configure a Simulator. Zero values take the documented defaults.
type Options struct {
	// Listen is the UDP and TCP address (same port); default 127.0.0.1:5070.
	Listen string
	// TLSListen and TLSConfig, when both set, add a TLS listener.
	TLSListen string
	TLSConfig *tls.Config
	// RTPPortMin/RTPPortMax bound the simulator's RTP ports (0: any).
	RTPPortMin, RTPPortMax int
	// Logger for diagnostics; CallLog receives one JSON object per call.
	Logger  *slog.Logger
	CallLog io.Writer
	// KeepCalls bounds the records Calls() returns: at least the last
	// KeepCalls (default 10,000) are kept.
	KeepCalls int
	// Behaviors overrides the number table for exact numbers (as dialed,
	// e.g. "+15550000001"); Default, when its Kind is set, replaces the
	// table for every other number.
	Behaviors map[string]Behavior
	Default   Behavior
	// Ring is how long every call rings before its answer or final
	// response (default 200 ms); a Behavior's Ring overrides it.
	Ring time.Duration
	// NoAnswerTimeout ends a ringing no-answer call with 480 (default 120 s).
	NoAnswerTimeout time.Duration
	// MaxCall bounds answered calls; the simulator sends BYE (default 60 s).
	MaxCall time.Duration
	// HelloRepeat is how long a human waits in silence before saying hello
	// again (default 2.5 s); at most three hellos.
	HelloRepeat time.Duration
	// AgentTalk is how long an agent's phone stays on the line after its
	// greeting before it hangs up (default AgentTalk, 3 s).
	AgentTalk time.Duration
	// BYEToContact sends our in-dialog requests (BYE) to the caller's
	// Contact, opening a new connection for TCP and TLS, as some carriers
	// do; by default they go back where the INVITE came from.
	BYEToContact bool
	// AuthUser and AuthPassword are the credentials the auth behaviour
	// accepts (default "cadenza" / "secret"); AuthRealm defaults to "sim".
	AuthUser, AuthPassword, AuthRealm string
	// Now stamps the call log (default time.Now); audio runs in real time.
	Now func() time.Time
}

// Simulator is a SIP UAS that behaves like the far end of a trunk.
type Simulator struct {
	opts   Options
	log    *slog.Logger
	clips  *clips
	calls  *callLog
	ports  *csip.PortRange
	secret []byte
	ip     netip.Addr

	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	dialogUA *sipgo.DialogUA
	udp      net.PacketConn
	tcp      net.Listener
	tlsLn    net.Listener

	mu       sync.Mutex
	started  bool
	stopping bool
	live     map[string]*call // by Call-ID, for re-INVITEs
	wg       sync.WaitGroup   // serve loops
	callWG   sync.WaitGroup
	stopCh   chan struct{}
	stopOnce sync.Once
}

// New checks the options and loads the bundled audio.
func New(opts Options) (*Simulator, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:5070"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Ring <= 0 {
		opts.Ring = 200 * time.Millisecond
	}
	if opts.NoAnswerTimeout <= 0 {
		opts.NoAnswerTimeout = 120 * time.Second
	}
	if opts.MaxCall <= 0 {
		opts.MaxCall = 60 * time.Second
	}
	if opts.HelloRepeat <= 0 {
		opts.HelloRepeat = 2500 * time.Millisecond
	}
	if opts.AgentTalk <= 0 {
		opts.AgentTalk = AgentTalk
	}
	if opts.AuthUser == "" {
		opts.AuthUser = "cadenza"
	}
	if opts.AuthPassword == "" {
		opts.AuthPassword = "secret"
	}
	if opts.AuthRealm == "" {
		opts.AuthRealm = "sim"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.KeepCalls <= 0 {
		opts.KeepCalls = 10000
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("sim: listen %q: %w", opts.Listen, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() {
		return nil, fmt.Errorf("sim: listen %q: need a concrete IP address", opts.Listen)
	}
	c, err := loadOnce()
	if err != nil {
		return nil, fmt.Errorf("sim: bundled audio: %w", err)
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	return &Simulator{
		opts: opts, log: opts.Logger.With("component", "sim"), clips: c,
		calls: newCallLog(opts.CallLog, opts.KeepCalls), secret: secret, ip: ip,
		ports:  &csip.PortRange{Min: opts.RTPPortMin, Max: opts.RTPPortMax},
		live:   map[string]*call{},
		stopCh: make(chan struct{}),
	}, nil
}

// Start binds the listeners and serves in the background; it returns at
// once. Stop ends the simulator (ctx is not retained).
func (s *Simulator) Start(_ context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("sim: already started")
	}
	udp, tcp, err := csip.ListenUDPAndTCP(s.opts.Listen)
	if err != nil {
		return fmt.Errorf("sim: listen %s: %w", s.opts.Listen, err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("cadenza-sim"), sipgo.WithUserAgenTLSConfig(s.opts.TLSConfig),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(s.log),
			sip.WithTransportLayerReadFilter(csip.UnparsableFilter(udp, s.log))),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(s.log),
			// Late retransmissions (a 180 after the final answer) are normal.
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				s.log.Debug("response outside a transaction", "status", r.StatusCode)
			})))
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		return fmt.Errorf("sim: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		_ = ua.Close()
		return fmt.Errorf("sim: %w", err)
	}
	if uc, ok := udp.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(4 << 20)
	}
	csip.CheckRTPReadBuffer(s.log, s.ip)
	port := udp.LocalAddr().(*net.UDPAddr).Port
	var tlsLn net.Listener
	if s.opts.TLSListen != "" && s.opts.TLSConfig != nil {
		if tlsLn, err = tls.Listen("tcp", s.opts.TLSListen, s.opts.TLSConfig); err != nil {
			_ = udp.Close()
			_ = tcp.Close()
			_ = ua.Close()
			return fmt.Errorf("sim: listen tls: %w", err)
		}
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(s.ip.String()),
		sipgo.WithClientConnectionAddr(udp.LocalAddr().String()), sipgo.WithClientLogger(s.log))
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		if tlsLn != nil {
			_ = tlsLn.Close()
		}
		_ = ua.Close()
		return fmt.Errorf("sim: %w", err)
	}
	// RewriteContact sends our in-dialog requests (BYE) to where the
	// INVITE came from, over the same connection for TCP and TLS, as a
	// carrier would for a caller behind NAT.
	s.dialogUA = &sipgo.DialogUA{Client: client, RewriteContact: !s.opts.BYEToContact, ContactHDR: sip.ContactHeader{
		Address: sip.Uri{Scheme: "sip", User: "sim", Host: s.ip.String(), Port: port},
	}}
	srv.OnInvite(s.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		if c := s.liveCall(req.CallID().Value()); c != nil {
			_ = c.dlg.ReadAck(req, tx)
		}
	})
	srv.OnBye(s.onBye)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		if csip.RejectInvalid(req, tx) {
			return
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnNoRoute(func(req *sip.Request, tx sip.ServerTransaction) {
		if csip.RejectInvalid(req, tx) {
			return
		}
		res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
		_ = tx.Respond(res)
	})
	s.ua, s.srv, s.udp, s.tcp, s.tlsLn = ua, srv, udp, tcp, tlsLn
	s.serve(func() { _ = srv.ServeUDP(udp) })
	s.serve(func() { _ = srv.ServeTCP(tcp) })
	if tlsLn != nil {
		s.serve(func() { _ = srv.ServeTLS(tlsLn) })
	}
	if err := csip.WaitServing(ua, udp.LocalAddr().String()); err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		if tlsLn != nil {
			_ = tlsLn.Close()
		}
		_ = ua.Close()
		s.wg.Wait()
		return fmt.Errorf("sim: %w", err)
	}
	s.started = true
	s.log.Info("carrier simulator listening", "addr", udp.LocalAddr().String())
	return nil
}

func (s *Simulator) serve(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// Addr is the UDP (and TCP) address the simulator listens on.
func (s *Simulator) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp == nil {
		return ""
	}
	return s.udp.LocalAddr().String()
}

// TLSAddr is the TLS listener's address, or "".
func (s *Simulator) TLSAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// Calls returns a snapshot of the call log (at least the last KeepCalls).
func (s *Simulator) Calls() []CallRecord { return s.calls.snapshot() }

// Stop ends live calls (BYE or a final response), then closes the
// listeners. It is idempotent and waits.
func (s *Simulator) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopping = true
		started := s.started
		s.mu.Unlock()
		close(s.stopCh)
		s.callWG.Wait()
		if !started {
			return
		}
		_ = s.udp.Close()
		_ = s.tcp.Close()
		if s.tlsLn != nil {
			_ = s.tlsLn.Close()
		}
		csip.CloseUA(s.ua)
		s.wg.Wait()
	})
}

// behavior resolves the script for a dialed number.
func (s *Simulator) behavior(number string) Behavior {
	b, ok := s.opts.Behaviors[number]
	if !ok {
		if ab, agent := agentBehavior(number, s.opts.AgentTalk); agent {
			b = ab // agents (sip:agent-1@sim) answer bridge INVITEs, whatever Default says
		} else if s.opts.Default.Kind != "" {
			b = s.opts.Default
		} else {
			b = behaviorFor(number)
		}
	}
	if b.Ring <= 0 {
		b.Ring = s.opts.Ring
	}
	if b.BeepHz <= 0 {
		b.BeepHz = 1000
	}
	if b.BeepLength <= 0 {
		b.BeepLength = 500 * time.Millisecond
	}
	if b.Greeting <= 0 {
		b.Greeting = 1500 * time.Millisecond
	}
	if b.RetryAfter <= 0 {
		b.RetryAfter = 30 * time.Second
	}
	if b.HangupAfter <= 0 {
		b.HangupAfter = s.opts.MaxCall
	}
	return b
}

// nonce is stateless: an HMAC of the Call-ID, so the retried INVITE (a new
// transaction) can be checked without remembering the challenge.
func (s *Simulator) nonce(callID string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(callID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (s *Simulator) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if csip.RejectInvalid(req, tx) {
		return
	}
	c := s.liveCall(req.CallID().Value())
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	c.byeFromCaller.Store(true)
	if err := c.dlg.ReadBye(req, tx); err != nil {
		s.log.Debug("bye", "call_id", c.rec.CallID, "error", err)
	}
}

func (s *Simulator) liveCall(callID string) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[callID]
}
