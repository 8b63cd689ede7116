package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd/audio"
)

const amdCorpus = "../../amd/testdata/corpus"

// runAMD executes "cadenza amd ARGS…" in process.
func runAMD(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newAMDCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// wavBytes builds a WAV with any header fields (to make bad files too).
func wavBytes(tag uint16, channels, rate, bits int, data []byte) []byte {
	le := binary.LittleEndian
	block := channels * bits / 8
	b := []byte("RIFF")
	b = le.AppendUint32(b, uint32(36+len(data)))
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, tag)
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*block))
	b = le.AppendUint16(b, uint16(block))
	b = le.AppendUint16(b, uint16(bits))
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

func TestAMDClassifyCorpusFiles(t *testing.T) {
	t.Parallel()
	cases := []struct{ file, verdict string }{
		{"train-human-000.wav", "human"},
		{"train-machine-054.wav", "machine"},
		{"train-sit-111.wav", "intercept"},
	}
	for _, tc := range cases {
		out, err := runAMD(t, "classify", filepath.Join(amdCorpus, tc.file))
		require.NoError(t, err, tc.file)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &got), out)
		require.Equal(t, tc.verdict, got["verdict"], out)
		require.NotEmpty(t, got["cause"])
		require.Greater(t, got["decision_ms"], 0.0)
		if tc.verdict == "machine" {
			require.Contains(t, got, "beep_end_ms", out)
			require.Contains(t, got, "drop_ms", out)
		}
	}
}

// A beep recorded at 48 kHz stereo and one in µ-law both classify.
func TestAMDClassifyOtherFormats(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stereo48 []byte
	for i := range 48000 * 2 {
		v := 0.0
		if i >= 24000 && i < 24000+19200 { // 0.5-0.9 s: 1,200 Hz
			v = 8000 * math.Sin(2*math.Pi*1200*float64(i)/48000)
		}
		stereo48 = binary.LittleEndian.AppendUint16(stereo48, uint16(int16(v)))
		stereo48 = binary.LittleEndian.AppendUint16(stereo48, uint16(int16(v)))
	}
	p48 := filepath.Join(dir, "beep48.wav")
	require.NoError(t, os.WriteFile(p48, wavBytes(1, 2, 48000, 16, stereo48), 0o600))

	law := make([]byte, 16000)
	for i := range law {
		v := int16(0)
		if i >= 4000 && i < 7200 {
			v = int16(8000 * math.Sin(2*math.Pi*700*float64(i)/8000))
		}
		law[i] = audio.ULawEncode(v)
	}
	pu := filepath.Join(dir, "beep-ulaw.wav")
	require.NoError(t, os.WriteFile(pu, wavBytes(7, 1, 8000, 8, law), 0o600))

	for _, tc := range []struct {
		path    string
		beepEnd float64
	}{{p48, 900}, {pu, 900}} {
		out, err := runAMD(t, "classify", "--profile", "voicemail_drop", tc.path)
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Equal(t, "machine", got["verdict"], out)
		require.Equal(t, "beep", got["cause"], out)
		require.Equal(t, "voicemail_drop", got["profile"])
		require.InDelta(t, tc.beepEnd, got["beep_end_ms"], 30, out)
	}
}

func TestAMDClassifyBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	cases := []struct {
		path, want string
	}{
		{write("notes.txt", []byte("this is not audio\n")), "not a RIFF/WAVE file"},
		{write("24bit.wav", wavBytes(1, 1, 8000, 24, make([]byte, 300))), "bits per sample 24"},
		{write("11k.wav", wavBytes(1, 1, 11025, 16, make([]byte, 300))), "sample rate 11025 Hz"},
		{write("float.wav", wavBytes(3, 1, 8000, 32, make([]byte, 400))), "format tag 3"},
		{filepath.Join(dir, "missing.wav"), "no such file"},
	}
	for _, tc := range cases {
		_, err := runAMD(t, "classify", tc.path)
		require.ErrorContains(t, err, tc.want, tc.path)
		require.ErrorContains(t, err, filepath.Base(tc.path))
	}
	_, err := runAMD(t, "classify", "--profile", "eager", filepath.Join(amdCorpus, "train-human-000.wav"))
	require.ErrorContains(t, err, `amd profile "eager": unknown (valid: balanced, human_first, voicemail_drop)`)
	_, err = runAMD(t, "classify")
	require.Error(t, err)
}

// eval over a few corpus files, as text and as JSON.
func TestAMDEval(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := []string{"train-human-000.wav", "train-human-001.wav", "train-machine-054.wav", "train-silence-102.wav", "train-sit-111.wav"}
	labels := "file,label,beep_end_ms,set\n"
	all, err := os.ReadFile(filepath.Join(amdCorpus, "labels.csv"))
	require.NoError(t, err)
	for _, line := range bytes.Split(all, []byte("\n")) {
		for _, f := range files {
			if bytes.HasPrefix(line, []byte(f+",")) {
				fields := bytes.Split(line, []byte(","))
				labels += string(bytes.Join(fields[:4], []byte(","))) + "\n"
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(amdCorpus, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(labels), 0o600))

	out, err := runAMD(t, "eval", dir)
	require.NoError(t, err)
	require.Contains(t, out, "confusion (rows: label, columns: verdict)")
	require.Contains(t, out, "accuracy 100.0% (5/5), human→machine 0.0%")
	require.Contains(t, out, "decision latency from answer (ms)")

	out, err = runAMD(t, "eval", "--json", "--profile", "human_first", dir)
	require.NoError(t, err)
	var rep struct {
		Profile        string                    `json:"profile"`
		Accuracy       *float64                  `json:"accuracy"`
		HumanAsMachine *float64                  `json:"human_as_machine_rate"`
		Latency        map[string]map[string]int `json:"latency_ms"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Equal(t, "human_first", rep.Profile)
	require.NotNil(t, rep.Accuracy)
	require.NotNil(t, rep.HumanAsMachine)
	require.Contains(t, rep.Latency["human"], "p50")
	require.Contains(t, rep.Latency["machine"], "p95")

	_, err = runAMD(t, "eval", t.TempDir())
	require.ErrorContains(t, err, "labels.csv")
}
