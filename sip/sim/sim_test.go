package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestBehaviorTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		number   string
		kind     Kind
		greeting time.Duration
	}{
		{"+15550000000", Human, 0},
		{"+15550000001", Human, 0},
		{"+15550000003", Human, 0},
		{"+15550000004", Voicemail, 1500 * time.Millisecond},
		{"+15550000005", Voicemail, 3 * time.Second},
		{"+15550000006", Voicemail, 6 * time.Second},
		{"+15550000007", Busy, 0},
		{"+15550000008", NoAnswer, 0},
		{"+15550000009", Invalid, 0},
		{"+19990123456", Unavailable, 0},
		{"9990123456", Unavailable, 0},
		{"+19991000000", Reject, 0},
		{"+19992000000", EarlyMedia, 0},
		{"+19993000000", InvalidSIT, 0},
		{"+19994000000", Auth, 0},
		{"+19995000000", CPSLimit, 0},
		{"+19996000000", HumanHangup, 0},
		{"+19997000000", Echo, 0},
		{"+19998000001", ProxyAuth, 0},
		{"+19999000001", Human, 0}, // unassigned prefix: last digit decides
		{"", Invalid, 0},
		{"anonymous", Invalid, 0},
	}
	for _, tc := range tests {
		b := behaviorFor(tc.number)
		require.Equal(t, tc.kind, b.Kind, tc.number)
		require.Equal(t, tc.greeting, b.Greeting, tc.number)
	}
}

func TestBehaviorOverridesAndDefaults(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Listen: "127.0.0.1:0", Behaviors: map[string]Behavior{"+15550000001": {Kind: Busy}}})
	require.NoError(t, err)
	require.Equal(t, Busy, s.behavior("+15550000001").Kind)
	b := s.behavior("+15550000004")
	require.Equal(t, Voicemail, b.Kind)
	require.Equal(t, 1000.0, b.BeepHz)
	require.Equal(t, 500*time.Millisecond, b.BeepLength)
	require.Equal(t, 200*time.Millisecond, b.Ring)
	require.Equal(t, 60*time.Second, b.HangupAfter)
	s, err = New(Options{Listen: "127.0.0.1:0", Default: Behavior{Kind: Reject, Ring: time.Second}})
	require.NoError(t, err)
	require.Equal(t, Reject, s.behavior("+15550000001").Kind)
	require.Equal(t, time.Second, s.behavior("+15550000001").Ring)
	_, err = New(Options{Listen: "0.0.0.0:5070"})
	require.ErrorContains(t, err, "concrete IP")
	_, err = New(Options{Listen: "nope"})
	require.Error(t, err)
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(1, len(pcm))))
}

func TestBundledAudio(t *testing.T) {
	t.Parallel()
	c, err := loadOnce()
	require.NoError(t, err)
	require.Len(t, c.hellos, 3)
	for _, h := range c.hellos {
		require.Greater(t, len(h), 4000, "a hello is at least half a second")
		require.Greater(t, rms(h), 1000.0, "and it is speech, not silence")
	}
	for _, n := range []int{4000, 12000, 24000, 48000, 80000} {
		g := c.greetingFor(n)
		require.Len(t, g, n)
		require.Greater(t, rms(g[:min(n, 8000)]), 500.0)
	}
	msg, err := MessageAudio()
	require.NoError(t, err)
	require.Greater(t, len(msg), 40000)
	require.NotEmpty(t, c.sitTones())
}

func TestTone(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{440, 1000, 1400, 2000} {
		pcm := tone(f, 8000, 0.5)
		crossings := 0
		for i := 1; i < len(pcm); i++ {
			if (pcm[i-1] < 0) != (pcm[i] < 0) {
				crossings++
			}
		}
		require.InDelta(t, 2*f, float64(crossings), 4, "%g Hz", f)
		require.InDelta(t, 0.5*32767/math.Sqrt2, rms(pcm), 300)
	}
}

func TestCallLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := newCallLog(&buf, 2)
	start := int64(-120)
	l.add(CallRecord{CallID: "c1", To: "+15550000004", Behavior: Voicemail, FinalCode: 200, MessageStartMS: &start, MessageMS: 1500, Clipped: true})
	l.add(CallRecord{CallID: "c2", To: "+15550000007", Behavior: Busy, FinalCode: 486})
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var m map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &m))
	require.Equal(t, "c1", m["call_id"])
	require.Equal(t, -120.0, m["message_start_ms"])
	require.Equal(t, true, m["clipped"])
	require.NotContains(t, m, "answered", "zero times are left out")
	require.NoError(t, json.Unmarshal(lines[1], &m))
	require.Equal(t, 486.0, m["final_code"])
	calls := l.snapshot()
	require.Len(t, calls, 2)
	calls[0].CallID = "changed"
	require.Equal(t, "c1", l.snapshot()[0].CallID, "snapshots are copies")
	l.add(CallRecord{CallID: "c3"})
	l.add(CallRecord{CallID: "c4"})
	calls = l.snapshot()
	require.Len(t, calls, 2, "only the last KeepCalls are kept")
	require.Equal(t, "c4", calls[1].CallID)
	require.Len(t, bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")), 4, "but every call is written")
}
