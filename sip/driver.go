package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Driver.
type Options struct {
	// Trunks the driver can dial through, by name.
	Trunks []Trunk
	// ListenAddr is where our user agent listens (UDP and TCP on the same
	// port) for the far end's in-dialog requests (BYE); default 127.0.0.1:0.
	ListenAddr string
	// AdvertiseIP is the IP put in Contact, Via and SDP; default the
	// ListenAddr host (required when that is a wildcard address).
	AdvertiseIP string
	// TLSConfig is used for tls trunks (RootCAs, ServerName); nil means the
	// system roots.
	TLSConfig *tls.Config
	// TLSListenAddr, when set, adds a TLS listener (TLSConfig must hold a
	// certificate) that tls trunks advertise in Contact, so a carrier that
	// opens a new connection for its BYE reaches us. Without it, in-dialog
	// requests must come over the connection we opened.
	TLSListenAddr string
	// UserAgent is sent in the User-Agent header; default "cadenza".
	UserAgent string
	// DefaultRingTimeout applies when a request has none; default 60s.
	DefaultRingTimeout time.Duration
	// Logger, Registerer (nil: metrics are not exported), clock and
	// environment (for password_env; default os.Getenv).
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	Getenv     func(string) string
}

// trunkState is a configured trunk with its resolved secret and port pool.
type trunkState struct {
	Trunk
	ports *PortRange
}

// Driver places calls on SIP trunks with sipgo and pion/rtp. It implements
// dialer.Driver.
type Driver struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	m       *metrics
	trunks  map[string]*trunkState
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	udpUA   *sipgo.DialogUA
	tcpUA   *sipgo.DialogUA
	tlsUA   *sipgo.DialogUA
	ip      netip.Addr
	udpConn net.PacketConn
	tcpLn   net.Listener
	tlsLn   net.Listener

	mu       sync.Mutex
	started  bool
	stopped  bool
	legs     map[string]*leg      // by SIP Call-ID
	agents   map[string]*agentLeg // bridge legs to agents (connect.go), by SIP Call-ID
	legWG    sync.WaitGroup
	srvWG    sync.WaitGroup
	stopCh   chan struct{}
	stopped1 sync.Once
}

var _ dialer.Driver = (*Driver)(nil)

// NewDriver validates the trunks, resolves their passwords from the
// environment and prepares the user agent. Call Start before Originate.
func NewDriver(opts Options) (*Driver, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.ListenAddr == "" {
		opts.ListenAddr = "127.0.0.1:0"
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "cadenza"
	}
	if opts.DefaultRingTimeout <= 0 {
		opts.DefaultRingTimeout = 60 * time.Second
	}
	if errs := ValidateTrunks(opts.Trunks); len(errs) > 0 {
		return nil, fmt.Errorf("sip driver: %w", errors.Join(errs...))
	}
	d := &Driver{
		opts:   opts,
		log:    opts.Logger.With("component", "sip"),
		now:    opts.Now,
		trunks: make(map[string]*trunkState, len(opts.Trunks)),
		legs:   make(map[string]*leg),
		stopCh: make(chan struct{}),
	}
	for i, t := range opts.Trunks {
		if t.Password == "" && t.PasswordEnv != "" {
			t.Password = opts.Getenv(t.PasswordEnv)
			if t.Password == "" {
				return nil, fmt.Errorf("sip driver: trunks[%d].password_env: environment variable %s is empty", i, t.PasswordEnv)
			}
		}
		d.trunks[t.Name] = &trunkState{Trunk: t, ports: &PortRange{Min: t.RTPPortMin, Max: t.RTPPortMax}}
	}
	host, _, err := net.SplitHostPort(opts.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("sip driver: listen_addr %q: %w", opts.ListenAddr, err)
	}
	ipStr := opts.AdvertiseIP
	if ipStr == "" {
		ipStr = host
	}
	ip, err := netip.ParseAddr(ipStr)
	if err != nil || ip.IsUnspecified() {
		return nil, fmt.Errorf("sip driver: advertise_ip: need a concrete IP (listen address %q)", opts.ListenAddr)
	}
	d.ip = ip
	if d.m, err = newMetrics(opts.Registerer); err != nil {
		return nil, fmt.Errorf("sip driver: %w", err)
	}
	return d, nil
}

// Addr is the UDP address our user agent listens on (after Start).
func (d *Driver) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.udpConn == nil {
		return ""
	}
	return d.udpConn.LocalAddr().String()
}

// Start binds the SIP listeners and serves them in the background; it
// returns at once. ctx is not retained: Stop ends the driver.
func (d *Driver) Start(_ context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return errors.New("sip driver: already started")
	}
	udpConn, tcpLn, err := ListenUDPAndTCP(d.opts.ListenAddr)
	if err != nil {
		return fmt.Errorf("sip driver: listen %s: %w", d.opts.ListenAddr, err)
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(d.opts.UserAgent),
		sipgo.WithUserAgenTLSConfig(d.opts.TLSConfig),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(d.log),
			sip.WithTransportLayerReadFilter(UnparsableFilter(udpConn, d.log))),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(d.log),
			// Late retransmissions (a 180 after the final answer) are normal.
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				d.log.Debug("response outside a transaction", "status", r.StatusCode)
			})),
	)
	if err != nil {
		_ = udpConn.Close()
		_ = tcpLn.Close()
		return fmt.Errorf("sip driver: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(d.log))
	if err != nil {
		_ = udpConn.Close()
		_ = tcpLn.Close()
		_ = ua.Close()
		return fmt.Errorf("sip driver: server: %w", err)
	}
	if uc, ok := udpConn.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(sipReadBuffer) // signalling bursts at hundreds of calls per second
		checkReadBuffer(d.log, "SIP", uc, sipReadBuffer)
	}
	checkRTPReadBuffer(d.log, d.ip)
	port := udpConn.LocalAddr().(*net.UDPAddr).Port
	var tlsLn net.Listener
	if d.opts.TLSListenAddr != "" {
		if d.opts.TLSConfig == nil || len(d.opts.TLSConfig.Certificates) == 0 && d.opts.TLSConfig.GetCertificate == nil {
			_ = udpConn.Close()
			_ = tcpLn.Close()
			_ = ua.Close()
			return errors.New("sip driver: tls_listen_addr: TLSConfig needs a certificate")
		}
		if tlsLn, err = tls.Listen("tcp", d.opts.TLSListenAddr, d.opts.TLSConfig); err != nil {
			_ = udpConn.Close()
			_ = tcpLn.Close()
			_ = ua.Close()
			return fmt.Errorf("sip driver: listen tls %s: %w", d.opts.TLSListenAddr, err)
		}
	}
	mkUA := func(transport string, opts ...sipgo.ClientOption) (*sipgo.DialogUA, error) {
		opts = append(opts, sipgo.WithClientHostname(d.ip.String()), sipgo.WithClientLogger(d.log))
		c, err := sipgo.NewClient(ua, opts...)
		if err != nil {
			return nil, err
		}
		contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "cadenza", Host: d.ip.String(), Port: port}}
		if transport == TransportTLS && tlsLn != nil {
			contact.Address.Port = tlsLn.Addr().(*net.TCPAddr).Port
		}
		if transport != TransportUDP {
			contact.Address.UriParams = sip.NewParams()
			contact.Address.UriParams.Add("transport", transport)
		}
		return &sipgo.DialogUA{Client: c, ContactHDR: contact}, nil
	}
	if d.udpUA, err = mkUA(TransportUDP, sipgo.WithClientConnectionAddr(udpConn.LocalAddr().String()), sipgo.WithClientPort(port)); err == nil {
		if d.tcpUA, err = mkUA(TransportTCP); err == nil {
			d.tlsUA, err = mkUA(TransportTLS)
		}
	}
	if err != nil {
		_ = udpConn.Close()
		_ = tcpLn.Close()
		if tlsLn != nil {
			_ = tlsLn.Close()
		}
		_ = ua.Close()
		return fmt.Errorf("sip driver: client: %w", err)
	}
	srv.OnBye(d.onBye)
	srv.OnInvite(d.onInvite)
	srv.OnOptions(d.onOptions)
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnNoRoute(d.onNoRoute)
	d.ua, d.srv, d.udpConn, d.tcpLn, d.tlsLn = ua, srv, udpConn, tcpLn, tlsLn
	d.srvWG.Add(1)
	go func() {
		defer d.srvWG.Done()
		_ = srv.ServeUDP(udpConn)
	}()
	d.srvWG.Add(1)
	go func() {
		defer d.srvWG.Done()
		_ = srv.ServeTCP(tcpLn)
	}()
	if tlsLn != nil {
		d.srvWG.Add(1)
		go func() {
			defer d.srvWG.Done()
			_ = srv.ServeTLS(tlsLn)
		}()
	}
	if err := WaitServing(ua, udpConn.LocalAddr().String()); err != nil {
		_ = udpConn.Close()
		_ = tcpLn.Close()
		if tlsLn != nil {
			_ = tlsLn.Close()
		}
		_ = ua.Close()
		d.srvWG.Wait()
		return fmt.Errorf("sip driver: %w", err)
	}
	d.started = true
	d.log.Info("sip driver listening", "addr", udpConn.LocalAddr().String(), "trunks", len(d.trunks))
	return nil
}

// Stop hangs up every live leg (CANCEL or BYE, then media teardown), waits
// for them, and closes the listeners. It is idempotent.
func (d *Driver) Stop() {
	d.stopped1.Do(func() {
		d.mu.Lock()
		d.stopped = true
		started := d.started
		d.mu.Unlock()
		close(d.stopCh)
		d.legWG.Wait()
		if !started {
			return
		}
		_ = d.udpConn.Close()
		_ = d.tcpLn.Close()
		if d.tlsLn != nil {
			_ = d.tlsLn.Close()
		}
		CloseUA(d.ua)
		d.srvWG.Wait()
	})
}

// Originate sends an INVITE and returns the leg at once.
func (d *Driver) Originate(ctx context.Context, req dialer.OriginateRequest) (dialer.Leg, error) {
	d.mu.Lock()
	if !d.started || d.stopped {
		d.mu.Unlock()
		return nil, errors.New("sip driver: not running")
	}
	d.legWG.Add(1)
	d.mu.Unlock()
	l, err := d.originate(ctx, req)
	if err != nil {
		d.legWG.Done()
		return nil, err
	}
	return l, nil
}

func (d *Driver) dialogUA(transport string) *sipgo.DialogUA {
	switch transport {
	case TransportTCP:
		return d.tcpUA
	case TransportTLS:
		return d.tlsUA
	}
	return d.udpUA
}

func (d *Driver) register(callID string, l *leg) {
	d.mu.Lock()
	d.legs[callID] = l
	d.mu.Unlock()
}

func (d *Driver) unregister(callID string) {
	d.mu.Lock()
	delete(d.legs, callID)
	d.mu.Unlock()
}

func (d *Driver) lookup(callID string) *leg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.legs[callID]
}

func (d *Driver) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if rejectInvalid(req, tx) {
		return
	}
	l := d.lookup(req.CallID().Value())
	if l == nil {
		if a := d.lookupAgent(req.CallID().Value()); a != nil {
			a.farEndBye(req, tx)
			return
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	l.farEndBye(req, tx)
}

func (d *Driver) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if rejectInvalid(req, tx) {
		return
	}
	if req.To() != nil {
		if _, ok := req.To().Params.Get("tag"); ok {
			// A re-INVITE (session refresh, hold): we keep our media as is.
			l := d.lookup(req.CallID().Value())
			var local []byte
			switch a := d.lookupAgent(req.CallID().Value()); {
			case l != nil:
				local = l.localSDP
			case a != nil:
				local = a.localSDP
			default:
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
			res := sip.NewResponseFromRequest(req, 200, "OK", local)
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			_ = tx.Respond(res)
			return
		}
	}
	// The driver only places calls.
	_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Inbound Calls Not Accepted", nil))
}

func (d *Driver) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if rejectInvalid(req, tx) {
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
	_ = tx.Respond(res)
}

func (d *Driver) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	if rejectInvalid(req, tx) {
		return
	}
	res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
	_ = tx.Respond(res)
}

// headerToken reports whether s can be a header name (RFC 3261 token).
func headerToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.!%*_+`'~", r)) {
			return false
		}
	}
	return true
}

// WaitServing waits until sipgo's transport layer has registered the UDP
// listener at addr: requests sent before that would try to bind a second
// socket to the same address.
func WaitServing(ua *sipgo.UserAgent, addr string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("udp listener %s not serving after 2s", addr)
		}
		time.Sleep(time.Millisecond)
	}
}

// ListenUDPAndTCP binds UDP and TCP on the same address. With port 0 the
// kernel's free UDP port may be taken for TCP, so it retries with other
// ports; with a fixed port a TCP failure is an error.
func ListenUDPAndTCP(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	var lastErr error
	for range 20 {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		p := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return udp, tcp, nil
		}
		_ = udp.Close()
		lastErr = err
		if port != "0" {
			break
		}
	}
	return nil, nil, lastErr
}

// CloseUA closes a sipgo user agent for good. sipgo v1.7.2 terminates its
// transactions on Close but a transaction goroutine already under way can
// still send (a response retransmission) after the connection pool was
// cleared, which opens a fresh UDP socket nobody closes; closing the
// transport layer again after a short grace releases it.
func CloseUA(ua *sipgo.UserAgent) {
	_ = ua.Close()
	t := time.NewTimer(100 * time.Millisecond)
	<-t.C
	_ = ua.TransportLayer().Close()
}
