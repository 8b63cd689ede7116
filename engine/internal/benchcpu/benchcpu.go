// Package benchcpu tells benchmarks how much CPU their measured part cost
// on each side of the database connection: this process and the
// PostgreSQL server.
package benchcpu

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// Meter splits the CPU a benchmark spends between its own process (the
// engine, pgx, the benchmark) and the PostgreSQL server, so that a rate can
// be read as "how much of each side one action costs": on a shared
// two-core machine the rate alone moves with whatever else runs, the CPU per
// action much less. The server side is read from /proc, so it is only
// measured when the server runs on this machine (as under make test); it
// sums every server process alive at the end of the measurement (backends,
// WAL writer, autovacuum), counting those born meanwhile in full. Processes
// that exited meanwhile are not counted, nor is another package's load on
// the same server.
type Meter struct {
	conn  *pgx.Conn
	self0 time.Duration
	pg0   map[int]time.Duration
}

// Start begins a measurement against the server at url.
func Start(tb testing.TB, url string) *Meter {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), url)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	m := &Meter{conn: conn}
	m.pg0 = m.server(tb)
	m.self0 = selfCPU()
	return m
}

// Stop ends the measurement and reports the CPU of each side per op, in
// microseconds, as the metrics prefix+"go-cpu-µs/op" and, when the
// server's processes could be read, prefix+"pg-cpu-µs/op".
func (m *Meter) Stop(b *testing.B, ops int, prefix string) {
	b.Helper()
	self := selfCPU() - m.self0
	pg1 := m.server(b)
	if ops <= 0 {
		return
	}
	b.ReportMetric(float64(self.Microseconds())/float64(ops), prefix+"go-cpu-µs/op")
	if len(pg1) == 0 {
		return
	}
	var server time.Duration
	for pid, t := range pg1 {
		server += t - m.pg0[pid]
	}
	b.ReportMetric(float64(server.Microseconds())/float64(ops), prefix+"pg-cpu-µs/op")
}

// server reads the CPU time of every server process by pid; empty when
// /proc does not show them (a server on another machine).
func (m *Meter) server(tb testing.TB) map[int]time.Duration {
	tb.Helper()
	rows, err := m.conn.Query(tb.Context(), "SELECT pid FROM pg_stat_activity")
	require.NoError(tb, err)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(tb, err)
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		if t, ok := procCPU(int(pid)); ok {
			out[int(pid)] = t
		}
	}
	return out
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's
// times; 100 on every Linux port Go supports.
const clockTicks = 100

// procCPU is the user plus system time of a process from /proc.
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces: the fields that follow
	// start after its closing parenthesis. utime and stime are fields 14
	// and 15, the 12th and 13th after it.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * time.Second / clockTicks, true
}

// selfCPU is this process's user plus system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
