package sip_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/cadenza-dialer/cadenza/sip/sim"
	"github.com/stretchr/testify/require"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sim"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// transportCall places a human call and a far-end-hangup call over the
// trunk's transport and checks audio both ways.
func transportCall(t *testing.T, s *sim.Simulator, d *sip.Driver, trunk, transport string) {
	t.Helper()
	sink := &audioSink{}
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: trunk, To: "+15550000003", From: "+15551110000", RingTimeout: 5 * time.Second, OnAudio: sink.onAudio,
	})
	require.NoError(t, err)
	seen := waitEvent(t, leg, dialer.EventAnswered, 5*time.Second)
	require.Equal(t, dialer.EventAnswered, seen[len(seen)-1], "%+v", leg.Result())
	require.Eventually(t, func() bool { _, v := sink.stats(); return v >= 5 }, 5*time.Second, 10*time.Millisecond)
	msg, err := sim.MessageAudio()
	require.NoError(t, err)
	_, err = leg.Play(context.Background(), msg[:8000])
	require.NoError(t, err)
	require.NoError(t, leg.Hangup(context.Background()))
	rec := findCall(t, s, "+15550000003")
	require.Equal(t, transport, rec.Transport)
	require.True(t, rec.CallerSpoke)
	require.Equal(t, "caller", rec.HangupBy)

	// The far end's BYE reaches us over the same transport.
	leg, err = d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: trunk, To: "+19996000003", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 10*time.Second)
	require.True(t, res.Answered)
	require.Equal(t, "far_end", res.HangupBy)
}

func TestDriverOverTCP(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Options{}, sip.Trunk{Transport: sip.TransportTCP})
	transportCall(t, r.sim, r.drv, "sim", "TCP")
}

func TestDriverOverTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	s, err := sim.New(sim.Options{
		Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", Ring: 20 * time.Millisecond, Logger: testLogger(t),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	_, port, err := net.SplitHostPort(s.TLSAddr())
	require.NoError(t, err)
	p, _ := strconv.Atoi(port)
	d, err := sip.NewDriver(sip.Options{
		Trunks:    []sip.Trunk{{Name: "t", Host: "127.0.0.1", Port: p, Transport: sip.TransportTLS}},
		TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		Logger:    testLogger(t),
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(d.Stop)
	transportCall(t, s, d, "t", "TLS")
}

func TestDriverTLSListenerTakesFarEndBye(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	s, err := sim.New(sim.Options{
		Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", TLSConfig: conf, BYEToContact: true,
		Ring: 20 * time.Millisecond, Logger: testLogger(t),
	})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	_, port, err := net.SplitHostPort(s.TLSAddr())
	require.NoError(t, err)
	p, _ := strconv.Atoi(port)
	d, err := sip.NewDriver(sip.Options{
		Trunks:    []sip.Trunk{{Name: "t", Host: "127.0.0.1", Port: p, Transport: sip.TransportTLS}},
		TLSConfig: conf, TLSListenAddr: "127.0.0.1:0", Logger: testLogger(t),
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(d.Stop)
	// The far end hangs up with a BYE on a new TLS connection to our Contact.
	leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
		Trunk: "t", To: "+19996000004", From: "+15551110000", RingTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	res := waitDone(t, leg, 10*time.Second)
	require.True(t, res.Answered, "%+v", res)
	require.Equal(t, "far_end", res.HangupBy)

	bad, err := sip.NewDriver(sip.Options{TLSListenAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	require.ErrorContains(t, bad.Start(context.Background()), "needs a certificate")
}
