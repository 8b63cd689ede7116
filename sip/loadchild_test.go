package sip_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/sip/sim"
)

// The load benchmark runs the simulator in a child process, this test
// binary again with CADENZA_SIM_CHILD=1 running only TestSimChildProcess,
// so each side's CPU and memory can be measured on its own. The child
// prints "addr HOST:PORT" and then answers one line per command read from
// stdin: "mem" (live heap and stack bytes after GC, calls already over),
// "cpu" (its CPU time
// in ns) and "stop" (stops the simulator and prints the call log's
// totals).

const simChildEnv = "CADENZA_SIM_CHILD"

func TestSimChildProcess(t *testing.T) {
	if os.Getenv(simChildEnv) != "1" {
		t.Skip("the simulator process of BenchmarkConcurrentCalls; runs only as its child")
	}
	s, err := sim.New(sim.Options{Listen: "127.0.0.1:0", Ring: time.Nanosecond, MaxCall: time.Minute,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	fmt.Printf("addr %s\n", s.Addr())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "mem":
			heap, stack := liveMemory()
			if path := os.Getenv("CADENZA_SIP_HEAP_PROFILE"); path != "" {
				if f, err := os.Create(path + ".sim"); err == nil {
					_ = pprof.WriteHeapProfile(f)
					_ = f.Close()
				}
			}
			fmt.Printf("mem %.0f %.0f %d\n", heap, stack, len(s.Calls()))
		case "cpu":
			fmt.Printf("cpu %d\n", cpuTime())
		case "stop":
			s.Stop()
			var calls, in, out, lost, late uint64
			for _, c := range s.Calls() {
				calls++
				in += c.PacketsIn
				out += c.PacketsOut
				lost += c.RTPLost
				late += c.RTPLate
			}
			fmt.Printf("totals %d %d %d %d %d\n", calls, in, out, lost, late)
			return
		}
	}
}

// simChild is the simulator process of the load benchmark.
type simChild struct {
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
}

func startSimChild(b *testing.B) *simChild {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSimChildProcess$", "-test.count", "1")
	cmd.Env = append(os.Environ(), simChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &simChild{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c.addr = c.expect(b, "addr")[0]
	return c
}

// expect reads lines until one starts with word and returns its fields.
func (c *simChild) expect(b *testing.B, word string) []string {
	b.Helper()
	for c.lines.Scan() {
		f := strings.Fields(c.lines.Text())
		if len(f) > 0 && f[0] == word {
			return f[1:]
		}
	}
	b.Fatalf("simulator process: no %q line: %v", word, c.lines.Err())
	return nil
}

func (c *simChild) ask(b *testing.B, cmd string, n int) []float64 {
	b.Helper()
	if _, err := fmt.Fprintln(c.stdin, cmd); err != nil {
		b.Fatalf("simulator process: %v", err)
	}
	f := c.expect(b, cmd)
	if len(f) != n {
		b.Fatalf("simulator process: %s: %v", cmd, f)
	}
	v := make([]float64, n)
	for i, s := range f {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			b.Fatalf("simulator process: %s: %v", cmd, err)
		}
		v[i] = x
	}
	return v
}

func (c *simChild) memory(b *testing.B) (heap, stack float64) {
	v := c.ask(b, "mem", 3)
	if v[2] != 0 {
		b.Errorf("simulator process: %v calls already over while measuring live calls", v[2])
	}
	return v[0], v[1]
}

// bothMemory measures the live memory of this process and the child at
// the same time (a full GC under load can take a while).
func bothMemory(b *testing.B, c *simChild) (heap, stack, simHeap, simStack float64) {
	b.Helper()
	type reply struct{ heap, stack float64 }
	got := make(chan reply, 1)
	go func() {
		h, s := liveMemory()
		got <- reply{h, s}
	}()
	simHeap, simStack = c.memory(b)
	r := <-got
	return r.heap, r.stack, simHeap, simStack
}

func (c *simChild) cpu(b *testing.B) time.Duration {
	return time.Duration(c.ask(b, "cpu", 1)[0])
}

// simTotals are the simulator's call log summed over all calls.
type simTotals struct{ calls, in, out, lost, late float64 }

func (c *simChild) stop(b *testing.B) simTotals {
	b.Helper()
	if _, err := fmt.Fprintln(c.stdin, "stop"); err != nil {
		b.Fatalf("simulator process: %v", err)
	}
	f := c.expect(b, "totals")
	var v [5]float64
	for i := range v {
		v[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return simTotals{v[0], v[1], v[2], v[3], v[4]}
}

// liveMemory is the heap and goroutine stack memory in use after a full
// collection.
func liveMemory() (heap, stack float64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse), float64(ms.StackInuse)
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// udpRcvbufErrors is the kernel's count of UDP datagrams dropped because a
// socket's receive buffer was full (0 where /proc/net/snmp is missing).
func udpRcvbufErrors() uint64 {
	data, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var head []string
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if h == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}
