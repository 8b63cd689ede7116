package sip_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/cadenza-dialer/cadenza/sip/sim"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func benchRig(b *testing.B, simOpts sim.Options) (*sim.Simulator, *sip.Driver, *prometheus.Registry) {
	b.Helper()
	simOpts.Listen = "127.0.0.1:0"
	simOpts.Logger = slog.New(slog.DiscardHandler)
	s, err := sim.New(simOpts)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Stop)
	tr, err := sip.AdHocTrunk("sip:"+s.Addr(), "", "", "")
	if err != nil {
		b.Fatal(err)
	}
	tr.Name = "sim"
	reg := prometheus.NewRegistry()
	d, err := sip.NewDriver(sip.Options{Trunks: []sip.Trunk{tr}, Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Stop)
	return s, d, reg
}

// BenchmarkCallsPerSecond places b.N calls driver → simulator on loopback
// with up to 200 in flight and reports calls/s and the failure rate.
// busy: INVITE/100/180/486/ACK. answered: INVITE/…/200/ACK, RTP, BYE/200.
// Run: go test -run '^$' -bench CallsPerSecond -benchtime 2000x ./sip/
func BenchmarkCallsPerSecond(b *testing.B) {
	for _, tc := range []struct{ name, to string }{{"busy", "+15550000007"}, {"answered", "+15550000001"}} {
		b.Run(tc.name, func(b *testing.B) {
			_, d, _ := benchRig(b, sim.Options{Ring: time.Nanosecond})
			sem := make(chan struct{}, 200)
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
						Trunk: "sim", To: tc.to, From: "+15551110000", RingTimeout: 10 * time.Second,
					})
					if err != nil {
						failed.Add(1)
						return
					}
					if tc.name == "answered" {
						for ev := range leg.Events() {
							if ev.Type == dialer.EventAnswered {
								_ = leg.Hangup(context.Background())
							}
						}
						if !leg.Result().Answered {
							failed.Add(1)
						}
						return
					}
					<-leg.Done()
					if leg.Result().Disposition != dialer.Busy {
						failed.Add(1)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
			b.ReportMetric(100*float64(failed.Load())/float64(b.N), "%failed")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func counterSum(reg *prometheus.Registry, name, direction string) float64 {
	families, _ := reg.Gather()
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if direction != "" && !hasLabel(m, "direction", direction) {
				continue
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// BenchmarkConcurrentCalls holds CADENZA_SIP_CALLS (default 200) answered
// calls at once for 5 s with RTP both ways (we play, the simulator's echo
// behaviour returns every packet), both ends in this process, and reports
// the process CPU (percent of the machine's cores) and the packet loss.
// Run: CADENZA_SIP_CALLS=1500 go test -run '^$' -bench ConcurrentCalls -benchtime 1x ./sip/
func BenchmarkConcurrentCalls(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("CADENZA_SIP_CALLS")); err == nil && v > 0 {
		n = v
	}
	const hold = 5 * time.Second
	for range b.N {
		s, d, reg := benchRig(b, sim.Options{Ring: time.Nanosecond, MaxCall: time.Minute})
		audio := make([]int16, int(hold/time.Second)*8000)
		for i := range audio {
			audio[i] = int16((i % 40) * 400) // a loud 200 Hz sawtooth
		}
		var wg sync.WaitGroup
		var failed atomic.Int64
		ready := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				leg, err := d.Originate(context.Background(), dialer.OriginateRequest{
					Trunk: "sim", To: fmt.Sprintf("+1999700%05d", i), From: "+15551110000", RingTimeout: 30 * time.Second,
				})
				if err != nil {
					failed.Add(1)
					return
				}
				for ev := range leg.Events() {
					if ev.Type == dialer.EventAnswered {
						break
					}
				}
				if !leg.Result().Answered {
					failed.Add(1)
					return
				}
				<-ready
				if _, err := leg.Play(context.Background(), audio); err != nil {
					failed.Add(1)
				}
				// Let the last echoes come back before the BYE closes media.
				<-time.After(time.Second)
				_ = leg.Hangup(context.Background())
			}()
		}
		// Measure only the steady state: all calls up, media flowing.
		deadline := time.Now().Add(60 * time.Second)
		for counterSum(reg, "cadenza_sip_final_responses_total", "") < float64(n)-float64(failed.Load()) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cpu0, wall0 := cpuTime(), time.Now()
		close(ready)
		wg.Wait()
		cpu, wall := cpuTime()-cpu0, time.Since(wall0)
		d.Stop()
		s.Stop()
		out := counterSum(reg, "cadenza_rtp_packets_total", "out")
		in := counterSum(reg, "cadenza_rtp_packets_total", "in")
		var simIn, simOut uint64
		for _, c := range s.Calls() {
			simIn += c.PacketsIn
			simOut += c.PacketsOut
		}
		b.ReportMetric(float64(n), "calls")
		b.ReportMetric(float64(failed.Load()), "failed")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/float64(runtime.NumCPU()), "%cpu")
		b.ReportMetric(100*(out-float64(simIn))/out, "%loss-to-far")
		b.ReportMetric(100*(float64(simOut)-in)/max(1, float64(simOut)), "%loss-back")
	}
}
