package amd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/amd/audio"
)

func TestReadLabels(t *testing.T) {
	t.Parallel()
	got, err := ReadLabels(strings.NewReader("file,label,beep_end_ms,set,greeting_end_ms\na.wav,machine,4100,train,3000\nb.wav,human,,holdout,\n"))
	require.NoError(t, err)
	require.Equal(t, []Label{
		{File: "a.wav", Label: "machine", BeepEndMs: 4100, GreetingEndMs: 3000, Set: "train"},
		{File: "b.wav", Label: "human", BeepEndMs: -1, GreetingEndMs: -1, Set: "holdout"},
	}, got)

	cases := []struct{ name, csv, want string }{
		{"empty", "", "empty file"},
		{"no label column", "file,beep_end_ms\na.wav,1\n", `no "label" column`},
		{"bad label", "file,label\na.wav,fax\n", `line 2: label "fax"`},
		{"bad beep", "file,label,beep_end_ms\na.wav,machine,soon\n", `line 2: beep_end_ms "soon"`},
		{"negative beep", "file,label,beep_end_ms\na.wav,machine,-5\n", "beep_end_ms"},
		{"no file", "file,label\n,human\n", "line 2: file: empty"},
	}
	for _, tc := range cases {
		_, err := ReadLabels(strings.NewReader(tc.csv))
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

func FuzzReadLabels(f *testing.F) {
	f.Add("file,label,beep_end_ms\na.wav,machine,4100\n")
	f.Add("label,file\nhuman,x\n")
	f.Fuzz(func(t *testing.T, s string) {
		labels, err := ReadLabels(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, l := range labels {
			_, ok := expectedVerdict(l.Label)
			require.True(t, ok)
			require.NotEmpty(t, l.File)
			require.GreaterOrEqual(t, l.BeepEndMs, int64(-1))
		}
	})
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	require.Equal(t, Percentiles{}, percentiles(nil))
	require.Equal(t, Percentiles{N: 1, P50: 7, P95: 7, Max: 7}, percentiles([]int64{7}))
	v := make([]int64, 0, 100)
	for i := 100; i >= 1; i-- {
		v = append(v, int64(i))
	}
	require.Equal(t, Percentiles{N: 100, P50: 50, P95: 95, Max: 100}, percentiles(v))
}

func writeWAV(t *testing.T, path string, pcm []int16) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, audio.EncodeWAV(&b, pcm))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
}

// A small folder scored end to end: one of each class, one of them wrong on
// purpose (a beep labelled human), and the report's JSON field names.
func TestEvaluateSmallFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	g := greeting()
	machine := concat(zeros(300), g, g, zeros(200), sine(800, 300, 6000), zeros(1500))
	beepEnd := (len(machine) - msSamples(1500)) * 1000 / sampleRate
	writeWAV(t, filepath.Join(dir, "m.wav"), machine)
	writeWAV(t, filepath.Join(dir, "h.wav"), concat(zeros(400), vowel(120, 450, 6000), zeros(3000)))
	writeWAV(t, filepath.Join(dir, "s.wav"), noise(1, 4000, 30))
	writeWAV(t, filepath.Join(dir, "i.wav"), concat(zeros(200), sit(6000), zeros(2000)))
	writeWAV(t, filepath.Join(dir, "b.wav"), concat(zeros(300), sine(1200, 400, 8000), zeros(1000)))
	labels := "file,label,beep_end_ms,set\nm.wav,machine," + strconv.Itoa(beepEnd) + ",a\nh.wav,human,,a\ns.wav,silence,,b\ni.wav,sit,,b\nb.wav,human,,b\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(labels), 0o600))

	rep, err := Evaluate(dir, balanced(t))
	require.NoError(t, err)
	require.Equal(t, 5, rep.Files)
	require.Equal(t, 4, rep.Correct)
	require.InDelta(t, 0.8, rep.Accuracy, 1e-9)
	require.InDelta(t, 0.5, rep.HumanAsMachineRate, 1e-9)
	require.Equal(t, map[string]map[string]int{
		"machine": {"machine": 1}, "human": {"human": 1, "machine": 1}, "silence": {"silence": 1}, "sit": {"intercept": 1},
	}, rep.Confusion)
	require.Equal(t, SetReport{Files: 2, Accuracy: 1, HumanAsMachineRate: 0}, rep.Sets["a"])
	require.Equal(t, 1, rep.Beep.Found)
	require.Equal(t, 1, rep.Beep.Within60)

	js, err := json.Marshal(rep)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(js, &m))
	for _, k := range []string{"accuracy", "human_as_machine_rate", "latency_ms", "confusion", "beep"} {
		require.Contains(t, m, k)
	}
	require.Contains(t, m["latency_ms"].(map[string]any)["human"], "p95")

	var text strings.Builder
	require.NoError(t, rep.WriteText(&text))
	require.Contains(t, text.String(), "accuracy 80.0% (4/5)")
	require.Contains(t, text.String(), "b.wav: human → machine (beep")
}

func TestEvaluateErrors(t *testing.T) {
	t.Parallel()
	_, err := Evaluate(t.TempDir(), balanced(t))
	require.ErrorContains(t, err, "labels.csv")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte("file,label\nx.wav,human\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.wav"), []byte("not audio"), 0o600))
	_, err = Evaluate(dir, balanced(t))
	require.ErrorContains(t, err, "x.wav")
	require.ErrorContains(t, err, "not a RIFF/WAVE file")

	p := balanced(t)
	p.MaxWords = 0
	_, err = Evaluate(dir, p)
	require.ErrorContains(t, err, "max_words")
}
