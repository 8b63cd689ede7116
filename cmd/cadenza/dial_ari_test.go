package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/ari/aritest"
)

// fakeAsterisk starts the fake ARI with a person (a real espeak "hello"),
// a busy line and a line that never answers.
func fakeAsterisk(t *testing.T) *aritest.Server {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "dialer", "testdata", "hello.wav"))
	require.NoError(t, err)
	hello, err := audio.DecodeWAV(f)
	f.Close()
	require.NoError(t, err)
	fake := aritest.New("cadenza", "ari-secret", func(number string) aritest.Script {
		switch {
		case strings.HasSuffix(number, "1"):
			return aritest.Script{RingFor: 300 * time.Millisecond, Answer: true, Audio: hello}
		case strings.HasSuffix(number, "7"):
			return aritest.Script{RingFor: 100 * time.Millisecond, Cause: 17}
		}
		return aritest.Script{} // rings until the originate timeout
	})
	t.Cleanup(fake.Close)
	return fake
}

// `cadenza dial` through Asterisk without a config file: the same outcomes
// as through a SIP trunk, and AMD runs on the externalMedia audio.
func TestDialAdHocARI(t *testing.T) {
	t.Parallel()
	fake := fakeAsterisk(t)
	env := map[string]string{"CADENZA_ARI_PASSWORD": "ari-secret"}
	base := []string{"--ari-url", fake.URL(), "--ari-user", "cadenza", "--ari-endpoint", "PJSIP/{number}@carrier", "--from", "+15557650000", "--ring-timeout", "2s"}

	lines, stderr, err := runDialCmd(t, env, append(base, "--to", "+15550100001")...)
	require.NoError(t, err, stderr)
	require.Len(t, lines, 1)
	require.Equal(t, dialer.Human, lines[0].Disposition, rawLines(t, lines))
	require.Equal(t, "+15557650000", lines[0].CallerID)
	require.NotNil(t, lines[0].AMD)
	require.Equal(t, "human", lines[0].AMD.Verdict)

	lines, stderr, err = runDialCmd(t, env, append(base, "--to", "+15550100007")...)
	require.NoError(t, err, stderr)
	require.Equal(t, dialer.Busy, lines[0].Disposition, rawLines(t, lines))
	require.Equal(t, 17, lines[0].Q850Cause)

	lines, stderr, err = runDialCmd(t, env, append(base, "--to", "+15550100008")...)
	require.NoError(t, err, stderr)
	require.Equal(t, dialer.NoAnswer, lines[0].Disposition, rawLines(t, lines))

	recs := fake.Records()
	require.Len(t, recs, 3)
	require.Equal(t, "PJSIP/+15550100001@carrier", recs[0].Endpoint)
}

// A configured trunk with driver: ari, its password from the environment.
func TestDialConfiguredARITrunk(t *testing.T) {
	t.Parallel()
	fake := fakeAsterisk(t)
	cfg := filepath.Join(t.TempDir(), "cadenza.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`trunks:
  - name: pbx
    driver: ari
    endpoint: PJSIP/{number}@carrier
    strip_plus: true
    cps: 5
ari:
  url: `+fake.URL()+`
  username: cadenza
  password_env: PBX_ARI_PASSWORD
`), 0o600))
	lines, stderr, err := runDialCmd(t, map[string]string{"PBX_ARI_PASSWORD": "ari-secret"},
		"--config", cfg, "--trunk", "pbx", "--to", "+15550100007", "--from", "+15557650000")
	require.NoError(t, err, stderr)
	require.Equal(t, dialer.Busy, lines[0].Disposition)
	require.Equal(t, "PJSIP/15550100007@carrier", fake.Records()[0].Endpoint, "strip_plus")

	_, _, err = runDialCmd(t, map[string]string{}, "--config", cfg, "--trunk", "pbx", "--to", "+15550100007", "--from", "+15557650000")
	require.ErrorContains(t, err, "PBX_ARI_PASSWORD (ari.password_env) is not set")
}

func TestDialARIFlagErrors(t *testing.T) {
	t.Parallel()
	_, _, err := runDialCmd(t, nil, "--ari-url", "http://127.0.0.1:1/ari", "--to", "+15550100001", "--from", "+15557650000")
	require.ErrorContains(t, err, "--ari-endpoint: required")
	_, _, err = runDialCmd(t, nil, "--ari-url", "http://127.0.0.1:1/ari", "--trunk-uri", "sip:127.0.0.1", "--to", "+1555", "--from", "+1555")
	require.ErrorContains(t, err, "use one of --trunk-uri, --ari-url")
	_, _, err = runDialCmd(t, nil, "--ari-url", "http://127.0.0.1:1/ari", "--ari-user", "u", "--ari-endpoint", "PJSIP/{number}@c", "--to", "+15550100001", "--from", "+15557650000")
	require.ErrorContains(t, err, "password: required")
}

// A voicemail box behind Asterisk: AMD hears the greeting on externalMedia,
// waits for the beep, and our message goes back over the same RTP stream,
// starting after the beep ended (the fake's own clock says so).
func TestDialARIVoicemailAfterBeep(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("..", "..", "dialer", "testdata", "greet.wav"))
	require.NoError(t, err)
	greet, err := audio.DecodeWAV(f)
	f.Close()
	require.NoError(t, err)
	box := append(append([]int16{}, greet...), beepTone(1000, 400*time.Millisecond)...)
	fake := aritest.New("cadenza", "ari-secret", func(string) aritest.Script {
		return aritest.Script{RingFor: 200 * time.Millisecond, Answer: true, Audio: box, HangupAfter: 8 * time.Second}
	})
	t.Cleanup(fake.Close)

	msg := filepath.Join(t.TempDir(), "msg.wav")
	fh, err := os.Create(msg)
	require.NoError(t, err)
	require.NoError(t, audio.EncodeWAV(fh, beepTone(600, 1500*time.Millisecond)))
	require.NoError(t, fh.Close())

	lines, stderr, err := runDialCmd(t, map[string]string{"CADENZA_ARI_PASSWORD": "ari-secret"},
		"--ari-url", fake.URL(), "--ari-user", "cadenza", "--ari-endpoint", "PJSIP/{number}@carrier",
		"--from", "+15557650000", "--to", "+15550100005", "--voicemail", msg, "--amd-profile", "voicemail_drop")
	require.NoError(t, err, stderr)
	require.Equal(t, dialer.Voicemail, lines[0].Disposition, rawLines(t, lines))
	require.NotNil(t, lines[0].Voicemail)
	require.True(t, lines[0].Voicemail.Complete, rawLines(t, lines))
	rec := fake.Records()[0]
	require.Positive(t, rec.AudioEnd)
	require.GreaterOrEqual(t, rec.MessageStart, rec.AudioEnd, "never clipped: the message starts after the beep ends")
	require.Less(t, rec.MessageStart-rec.AudioEnd, 1500*time.Millisecond)
	require.InDelta(t, 1500, rec.MessageMS, 150, "the whole message arrived")
	t.Logf("beep end %v, message start %v (+%v), %d ms received", rec.AudioEnd, rec.MessageStart, rec.MessageStart-rec.AudioEnd, rec.MessageMS)
}

func beepTone(hz float64, d time.Duration) []int16 {
	out := make([]int16, int(d.Seconds()*8000))
	for i := range out {
		out[i] = int16(9000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return out
}
