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
// calls at once for 5 s with RTP both ways: we play a loud sawtooth, the
// simulator's echo behaviour returns every packet. The simulator runs in a
// child process (this test binary again, TestSimChildProcess) so that CPU
// and memory are measured per side:
//
//   - %cpu, %cpu-sim: each process's CPU over the first half of the hold
//     (all calls up, media flowing, nothing else), in percent of all the
//     machine's cores (the goal: both together ≤ 80 % at 1,500); µs/pkt
//     and µs/pkt-sim are that CPU per RTP packet, and %cpu-needed what
//     both sides need for n calls at 50 packets/s each way at that cost
//     (the figure to read on a machine busy with other work); allocs/pkt
//     is our side's heap allocations per RTP packet in that window;
//   - B/call, B/call-sim: then the live heap per answered call (HeapInuse
//     after GC, minus the same before the calls; the calls wait for this
//     before hanging up); stackB/call likewise for goroutine stacks;
//   - per direction, to-far (we → simulator) and back (simulator → us):
//     %loss (packets sent that the other side never read), gaps (sequence
//     gaps the reorder buffer gave up on) and late (out of turn or twice);
//   - udp-drops: the kernel's UDP receive-buffer overflows during the run
//     (/proc/net/snmp RcvbufErrors, Linux; the whole network namespace).
//
// Run: CADENZA_SIP_CALLS=1500 go test -run '^$' -bench ConcurrentCalls -benchtime 1x ./sip/
func BenchmarkConcurrentCalls(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("CADENZA_SIP_CALLS")); err == nil && v > 0 {
		n = v
	}
	const hold = 5 * time.Second
	audio := make([]int16, int(hold/time.Second)*8000)
	for i := range audio {
		audio[i] = int16((i % 40) * 400) // a loud 200 Hz sawtooth
	}
	for range b.N {
		child := startSimChild(b)
		tr, err := sip.AdHocTrunk("sip:"+child.addr, "", "", "")
		if err != nil {
			b.Fatal(err)
		}
		tr.Name = "sim"
		reg := prometheus.NewRegistry()
		d, err := sip.NewDriver(sip.Options{Trunks: []sip.Trunk{tr}, Registerer: reg, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		heap0, stack0, simHeap0, simStack0 := bothMemory(b, child)
		drops0 := udpRcvbufErrors()

		var wg sync.WaitGroup
		var failed, up atomic.Int64
		ready, measured := make(chan struct{}), make(chan struct{})
		for i := range n {
			wg.Go(func() {
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
				up.Add(1)
				<-ready
				if _, err := leg.Play(context.Background(), audio); err != nil {
					failed.Add(1)
				}
				<-measured
				// Let the last echoes come back before the BYE closes media
				// (well under the 1 s keepalive period: no keepalive races
				// the BYE).
				<-time.After(500 * time.Millisecond)
				_ = leg.Hangup(context.Background())
			})
		}
		// Measure only the steady state: all calls up, media flowing.
		deadline := time.Now().Add(60 * time.Second)
		for up.Load()+failed.Load() < int64(n) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		pkts := func() float64 { return counterSum(reg, "cadenza_rtp_packets_total", "") }
		mallocs := func() float64 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return float64(ms.Mallocs)
		}
		mallocs0 := mallocs()
		cpu0, simCPU0, wall0, pkts0 := cpuTime(), child.cpu(b), time.Now(), pkts()
		close(ready)
		// CPU over the first half of the hold: every call is live with
		// RTP both ways, and nothing else happens.
		<-time.After(hold / 2)
		cpu, simCPU, wall, pktsHalf := cpuTime()-cpu0, child.cpu(b)-simCPU0, time.Since(wall0), pkts()-pkts0
		allocsPerPkt := (mallocs() - mallocs0) / max(1, pktsHalf)
		// Then the memory the live calls hold (the calls wait for this
		// before they hang up).
		heap1, stack1, simHeap1, simStack1 := bothMemory(b, child)
		if path := os.Getenv("CADENZA_SIP_HEAP_PROFILE"); path != "" {
			writeHeapProfile(b, path) // what the live calls hold, for go tool pprof
		}
		close(measured)
		wg.Wait()
		d.Stop()
		sim := child.stop(b)
		drops := udpRcvbufErrors() - drops0

		out := counterSum(reg, "cadenza_rtp_packets_total", "out")
		in := counterSum(reg, "cadenza_rtp_packets_total", "in")
		live := float64(max(1, up.Load()))
		cores := float64(runtime.NumCPU())
		b.ReportMetric(float64(n), "calls")
		b.ReportMetric(float64(failed.Load()), "failed")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/cores, "%cpu")
		b.ReportMetric(100*simCPU.Seconds()/wall.Seconds()/cores, "%cpu-sim")
		// CPU per packet (each side handles as many as we send and
		// receive), and what n calls at 50 packets/s each way need at that
		// cost: %cpu above shrinks when other work on the machine starves
		// the benchmark, these do not.
		perPkt, simPerPkt := cpu.Seconds()/max(1, pktsHalf), simCPU.Seconds()/max(1, pktsHalf)
		b.ReportMetric(perPkt*1e6, "µs/pkt")
		b.ReportMetric(simPerPkt*1e6, "µs/pkt-sim")
		b.ReportMetric(100*(perPkt+simPerPkt)*float64(n)*100/cores, "%cpu-needed")
		b.ReportMetric(allocsPerPkt, "allocs/pkt")
		b.Logf("heap in use after GC: driver %.1f → %.1f MB, simulator %.1f → %.1f MB", heap0/1e6, heap1/1e6, simHeap0/1e6, simHeap1/1e6)
		b.ReportMetric((heap1-heap0)/live, "B/call")
		b.ReportMetric((simHeap1-simHeap0)/live, "B/call-sim")
		b.ReportMetric((stack1-stack0)/live, "stackB/call")
		b.ReportMetric((simStack1-simStack0)/live, "stackB/call-sim")
		b.ReportMetric(100*(out-sim.in)/max(1, out), "%loss-to-far")
		b.ReportMetric(sim.lost, "gaps-to-far")
		b.ReportMetric(sim.late, "late-to-far")
		b.ReportMetric(100*(sim.out-in)/max(1, sim.out), "%loss-back")
		b.ReportMetric(counterSum(reg, "cadenza_rtp_lost_packets_total", ""), "gaps-back")
		b.ReportMetric(counterSum(reg, "cadenza_rtp_late_packets_total", ""), "late-back")
		b.ReportMetric(float64(drops), "udp-drops")
		b.ReportMetric(out, "pkts-out")
		if failed.Load() == 0 && sim.calls != float64(n) {
			b.Errorf("the simulator logged %v calls, want %d", sim.calls, n)
		}
	}
}
