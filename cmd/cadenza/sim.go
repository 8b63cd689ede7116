package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/sip/sim"
	"github.com/spf13/cobra"
)

// simFlags are the flags of `cadenza sim`.
type simFlags struct {
	listen   string
	logFile  string
	rtpPorts string
	ring     time.Duration
	maxCall  time.Duration
	tlsAddr  string
	tlsCert  string
	tlsKey   string
}

func newSimCommand() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the carrier simulator: a SIP far end that answers like humans, voicemail, busy lines…",
		Long: `Run the carrier simulator, a SIP user agent server that behaves like the far end
of a trunk. The dialed number picks the behaviour by its last digit:
0-3 human, 4-6 voicemail (1.5/3/6 s greeting + beep), 7 busy, 8 no answer, 9 invalid;
prefixes 9990 503+Retry-After, 9991 reject, 9992 early media, 9993 SIT tones,
9994 digest auth (cadenza/secret), 9995 CPS limit, 9996 human hangs up, 9997 echo, 9998 proxy auth (407).
Every call is logged as one JSON line (--log, default stdout).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSim(cmd, f) },
	}
	cmd.Flags().StringVar(&f.listen, "listen", "127.0.0.1:5070", "UDP and TCP address to listen on")
	cmd.Flags().StringVar(&f.logFile, "log", "", "append the JSON call log to this file (default: stdout)")
	cmd.Flags().StringVar(&f.rtpPorts, "rtp-ports", "", "RTP port range MIN-MAX (default: any free port)")
	cmd.Flags().DurationVar(&f.ring, "ring", time.Second, "how long every call rings before it is answered or refused")
	cmd.Flags().DurationVar(&f.maxCall, "max-call", 60*time.Second, "hang up answered calls after this long")
	cmd.Flags().StringVar(&f.tlsAddr, "tls-listen", "", "also listen for SIP over TLS here (needs --tls-cert and --tls-key)")
	cmd.Flags().StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate for --tls-listen")
	cmd.Flags().StringVar(&f.tlsKey, "tls-key", "", "PEM private key for --tls-listen")
	return cmd
}

// parsePortRange reads "MIN-MAX"; "" is no range.
func parsePortRange(s string) (lo, hi int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || hi <= lo {
		return 0, 0, fmt.Errorf("--rtp-ports: want MIN-MAX within 1024-65535, got %q", s)
	}
	return lo, hi, nil
}

func runSim(cmd *cobra.Command, f simFlags) error {
	lo, hi, err := parsePortRange(f.rtpPorts)
	if err != nil {
		return err
	}
	var out io.Writer = cmd.OutOrStdout()
	if f.logFile != "" {
		file, err := os.OpenFile(f.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("--log: %w", err)
		}
		defer file.Close()
		out = file
	}
	var tlsConf *tls.Config
	if f.tlsAddr != "" {
		if f.tlsCert == "" || f.tlsKey == "" {
			return fmt.Errorf("--tls-listen: needs --tls-cert and --tls-key")
		}
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	s, err := sim.New(sim.Options{
		Listen: f.listen, Logger: logger, CallLog: out,
		RTPPortMin: lo, RTPPortMax: hi, Ring: f.ring, MaxCall: f.maxCall,
		TLSListen: f.tlsAddr, TLSConfig: tlsConf,
	})
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if err := s.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "carrier simulator listening on %s (udp, tcp)", s.Addr())
	if a := s.TLSAddr(); a != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), " and %s (tls)", a)
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "; Ctrl-C to stop")
	<-ctx.Done()
	s.Stop()
	return nil
}
